"""A fake engine for fast unit tests of Baton's own logic (the end-to-end suite uses the real Rasa).

Parses come from a script (text → intent and confidence); replies from a script per intent.
Every call is recorded, so tests can check what the flow asked of the bot.
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional, Tuple

from bot.domain import AwaitedSlot, BotReply, NluParse
from bot.engine import ActionFailed, BotCrashed, BotTimeout, BotUnavailable

DEFAULT_SCRIPT: Dict[str, Tuple[str, float]] = {
    "hi": ("greet", 0.99),
    "where is my order 12345?": ("order_status", 0.97),
    "i want to talk to a person": ("request_human", 0.98),
    "this is outrageous": ("complaint", 0.95),
    "what about a chargeback": ("payment_failed", 0.96),
    "asdfgh": ("affirm", 0.31),
    "qwerty zxcv": ("deny", 0.28),
    "boots or shoes": ("product_availability", 0.55),
    "silence please": ("affirm", 0.99),
}

DEFAULT_REPLIES: Dict[str, List[BotReply]] = {
    "greet": [BotReply(text="Hi! How can I help?", buttons=[{"title": "Track my order",
                                                                 "payload": "/order_status"}])],
    "order_status": [BotReply(text="Let me check that order for you.")],
    "product_availability": [BotReply(text="Most items are in stock.")],
    "payment_failed": [BotReply(text="Sorry about the payment.")],
    "nlu_fallback": [BotReply(text="Sorry, I didn't quite get that. Could you rephrase?")],
}


class FakeEngine:
    def __init__(self, script: Optional[Dict[str, Tuple[str, float]]] = None,
                 replies: Optional[Dict[str, List[BotReply]]] = None) -> None:
        self.script = dict(DEFAULT_SCRIPT if script is None else script)
        self.replies = dict(DEFAULT_REPLIES if replies is None else replies)
        self.status = "ready"
        self.error: Optional[str] = None
        self.intents = sorted({intent for intent, _ in self.script.values()})
        self.calls: List[Tuple[str, Any]] = []
        self.fail_respond: Optional[str] = None     # "crash" | "timeout" | "unavailable" | "action"
        self.awaited: Optional[AwaitedSlot] = None   # what the bot "asked for" (an active form's slot)
        self.fail_parse: Optional[str] = None
        self._loaded = asyncio.Event()
        self._loaded.set()

    # ---- lifecycle, as RasaEngine ---------------------------------------------------

    def start_loading(self) -> None:
        self.status = "loading"
        self._loaded.clear()

    def finish_loading(self, ok: bool = True) -> None:
        self.status = "ready" if ok else "failed"
        self._loaded.set()

    async def wait_ready(self, timeout: Optional[float] = None) -> bool:
        try:
            await asyncio.wait_for(self._loaded.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return self.status == "ready"

    # ---- calls ------------------------------------------------------------------------

    def _fail(self, kind: Optional[str]) -> None:
        if kind == "action":
            raise ActionFailed("custom action action_answer_order failed: CrmUnavailable: injected")
        if kind == "crash":
            raise BotCrashed("RuntimeError: injected")
        if kind == "timeout":
            raise BotTimeout("no answer within 1s")
        if kind == "unavailable" or self.status != "ready":
            raise BotUnavailable(self.error or "the model is still loading")

    async def parse(self, text: str) -> NluParse:
        self.calls.append(("parse", text))
        self._fail(self.fail_parse)
        intent, confidence = self.script.get(text.lower(), ("nlu_fallback", 0.2))
        ranking = [{"name": intent, "confidence": confidence},
                   {"name": "other", "confidence": round(max(0.0, 1 - confidence) / 2, 4)}]
        entities = [{"entity": "order_id", "value": "12345", "start": 18, "end": 23}] if "12345" in text else []
        raw = {"text": text, "intent": {"name": intent, "confidence": confidence},
               "intent_ranking": ranking, "entities": entities}
        return NluParse(text=text, intent=intent, confidence=confidence, ranking=ranking, entities=entities, raw=raw)

    async def respond(self, key: str, parse: NluParse, metadata=None, force_intent=None) -> List[BotReply]:
        self.calls.append(("respond", (key, parse.text, force_intent)))
        kind, self.fail_respond = self.fail_respond, None
        self._fail(kind)
        return list(self.replies.get(force_intent or parse.intent, []))

    async def record_customer_message(self, key: str, parse: NluParse, metadata=None, pause: bool = False) -> None:
        self.calls.append(("record_customer", (key, parse.text, pause)))

    async def record_agent_message(self, key: str, text: str, agent_name: str) -> None:
        self.calls.append(("record_agent", (key, text, agent_name)))

    async def pause(self, key: str) -> None:
        self.calls.append(("pause", key))

    async def resume(self, key: str) -> None:
        self.calls.append(("resume", key))

    async def memory(self, key: str) -> Dict[str, Any]:
        return {"paused": False, "slots": {}}

    async def awaiting(self, key: str) -> Optional[AwaitedSlot]:
        self.calls.append(("awaiting", key))
        return self.awaited

    def called(self, name: str) -> List[Any]:
        return [args for call, args in self.calls if call == name]
