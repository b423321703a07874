"""`GET /api/config`: the values the console's JavaScript would otherwise copy from Python.

Labels for handoff reasons, the confidence colours and the message limits change with
the code or the deployment's settings; served from here, the console follows both
instead of drifting from them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Dict, Mapping

from aiohttp import web

from agent_console.auth import json_response, requires
from bot import agent_actions
from bot.domain import ANY_ROLE, HandoffReason

# What an agent reads in the queue and above the message that triggered the handoff.
HANDOFF_REASON_LABELS: Mapping[HandoffReason, str] = {
    HandoffReason.LOW_CONFIDENCE: "Bot unsure (low confidence)",
    HandoffReason.AMBIGUOUS: "Ambiguous — two intents too close",
    HandoffReason.REPEATED_FALLBACK: "Bot didn't understand, repeatedly",
    HandoffReason.HUMAN_REQUESTED: "Customer asked for a human",
    HandoffReason.ALWAYS_HUMAN_INTENT: "Topic always handled by a human",
    HandoffReason.BUSINESS_RULE: "Business rule",
    HandoffReason.MULTIPLE_REQUESTS: "Several requests in one message",
    HandoffReason.BOT_ERROR: "Bot error",
    HandoffReason.BOT_TIMEOUT: "Bot timed out",
    HandoffReason.BOT_UNAVAILABLE: "Bot unavailable",
    HandoffReason.AGENT_TAKEOVER: "Taken over by an agent",
}


def amber_below(threshold: float) -> float:
    """Where a confidence chip turns from amber to green.

    Red below the policy's threshold: on confidence alone the policy would have handed
    off. Amber from the threshold to halfway between it and 1.0: the bot answered, but
    close to the line. The band narrows as the threshold rises (0.9 -> 0.95, 0.55 ->
    0.775), so a strict deployment still shows green for its confident answers.
    """
    return round(threshold + (1.0 - threshold) / 2, 4)


@dataclass(frozen=True)
class ClientConfig:
    handoff_reasons: Dict[str, str]
    confidence_threshold: float
    confidence_amber_below: float
    max_agent_message_chars: int
    max_customer_message_chars: int


def client_config(confidence_threshold: float, max_customer_message_chars: int) -> ClientConfig:
    return ClientConfig(
        handoff_reasons={reason.value: label for reason, label in HANDOFF_REASON_LABELS.items()},
        confidence_threshold=confidence_threshold,
        confidence_amber_below=amber_below(confidence_threshold),
        # Read on every request, not bound at import: the limit shown is the one enforced.
        max_agent_message_chars=agent_actions.MAX_AGENT_TEXT,
        max_customer_message_chars=max_customer_message_chars,
    )


@requires(ANY_ROLE)
async def get_config(request: web.Request) -> web.Response:
    services = request.app["services"]
    # The running policy's threshold, which is what decides handoffs in this process.
    config = client_config(services.flow.policy.config.confidence_threshold,
                           services.settings.max_message_chars)
    return json_response(asdict(config))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/config", get_config)
