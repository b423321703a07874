"""Baton's domain, as typed dataclasses shared by channels, the flow and the console."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple


class ConversationStatus(str, enum.Enum):
    BOT = "bot"            # the bot answers
    QUEUED = "queued"      # waiting for a person
    ASSIGNED = "assigned"  # a person owns it; the bot is silent
    RESOLVED = "resolved"  # closed; the next customer message reopens it with the bot


class Role(str, enum.Enum):
    """What a console user may do. Agents take over, trainers teach the bot, admins do both and manage."""

    AGENT = "agent"
    TRAINER = "trainer"
    ADMIN = "admin"

    @property
    def takes_conversations(self) -> bool:
        return self in (Role.AGENT, Role.ADMIN)


# Who may do what, named once for the HTTP routes and the Socket.IO events alike.
AGENT_ROLES = frozenset({Role.AGENT, Role.ADMIN})
TRAINER_ROLES = frozenset({Role.TRAINER, Role.ADMIN})
ADMIN_ROLES = frozenset({Role.ADMIN})
ANY_ROLE = frozenset(Role)


class SenderKind(str, enum.Enum):
    CUSTOMER = "customer"
    BOT = "bot"
    AGENT = "agent"
    SYSTEM = "system"
    NOTE = "note"  # internal: never delivered to the customer


class HandoffReason(str, enum.Enum):
    LOW_CONFIDENCE = "low_confidence"
    AMBIGUOUS = "ambiguous"
    REPEATED_FALLBACK = "repeated_fallback"
    HUMAN_REQUESTED = "human_requested"
    ALWAYS_HUMAN_INTENT = "always_human_intent"
    BUSINESS_RULE = "business_rule"
    MULTIPLE_REQUESTS = "multiple_requests"   # one message, several things to answer: not half-answered
    BOT_ERROR = "bot_error"
    BOT_TIMEOUT = "bot_timeout"
    BOT_UNAVAILABLE = "bot_unavailable"
    AGENT_TAKEOVER = "agent_takeover"    # not the policy's: an agent stepped into a live bot conversation


class Verdict(str, enum.Enum):
    ANSWER = "answer"        # let the bot reply
    REPHRASE = "rephrase"    # a miss: ask the customer to say it differently
    HANDOFF = "handoff"      # a person takes over


@dataclass(frozen=True)
class NluParse:
    """What Rasa understood of one customer message."""

    text: str
    intent: Optional[str]
    confidence: float
    ranking: List[Dict[str, Any]] = field(default_factory=list)
    entities: List[Dict[str, Any]] = field(default_factory=list)
    raw: Dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_rasa(cls, parse: Dict[str, Any]) -> "NluParse":
        intent = parse.get("intent") or {}
        ranking = [
            {"name": r.get("name"), "confidence": float(r.get("confidence") or 0.0)}
            for r in parse.get("intent_ranking") or []
        ]
        entities = [
            {k: e.get(k) for k in ("entity", "value", "start", "end", "confidence_entity", "extractor")
             if e.get(k) is not None}
            for e in parse.get("entities") or []
        ]
        return cls(
            text=parse.get("text") or "",
            intent=intent.get("name"),
            confidence=float(intent.get("confidence") or 0.0),
            ranking=ranking,
            entities=entities,
            raw=parse,
        )

    def top_two_margin(self) -> Optional[float]:
        """Confidence gap between the best and second-best real intents."""
        real = [r for r in self.ranking if r["name"] != "nlu_fallback"]
        if len(real) < 2:
            return None
        return real[0]["confidence"] - real[1]["confidence"]

    def as_annotation(self) -> Dict[str, Any]:
        return {
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "ranking": self.ranking[:5],
            "entities": self.entities,
        }


@dataclass(frozen=True)
class CustomerClaims:
    """What a channel says about who is writing.

    `verified` only when something the shop controls vouched for it (an identity signed with the
    shop's secret, an authenticated backend); otherwise it is what the customer claims, shown to
    agents as such and never used to look up CRM data. A channel that proves one detail (Twilio
    the sender's number, an authenticated mail server the sender's address) verifies only that
    detail; a verified phone or e-mail links the customer's identities across channels.
    """

    name: Optional[str] = None
    email: Optional[str] = None
    shop_customer_id: Optional[str] = None
    verified: bool = False      # the whole identity (the shop's authenticated backend said so)
    id_verified: bool = False   # only the shop customer id (its signature matched)
    phone: Optional[str] = None          # E.164, e.g. "+15550100"
    phone_verified: bool = False         # the provider proved the number (a signed Twilio webhook)
    email_verified: bool = False         # only the e-mail (the receiving mail server authenticated the sender)

    def is_empty(self) -> bool:
        return not (self.name or self.email or self.shop_customer_id or self.phone)


@dataclass(frozen=True)
class InboundMessage:
    """One customer message, normalised from whatever channel it came in on."""

    channel: str
    external_id: str                    # who, in the channel's terms (session id, phone number…)
    text: str
    channel_message_id: Optional[str] = None  # idempotency key (per sender), when the channel gives one
    metadata: Dict[str, Any] = field(default_factory=dict)
    customer: CustomerClaims = field(default_factory=CustomerClaims)


@dataclass(frozen=True)
class OutboundMessage:
    """One message for a customer, in channel-neutral terms; each channel renders what it can."""

    conversation_id: int
    message_id: int
    sender: SenderKind
    text: str = ""
    buttons: List[Dict[str, Any]] = field(default_factory=list)
    image: Optional[str] = None
    custom: Optional[Dict[str, Any]] = None
    agent_name: Optional[str] = None
    in_reply_to_id: Optional[int] = None
    # The satisfaction question, for channels that show it as a control; the text says it for the rest.
    rating_request: Optional[Dict[str, Any]] = None

    @classmethod
    def from_view(cls, view) -> "OutboundMessage":
        payload = view.payload or {}
        return cls(conversation_id=view.conversation_id, message_id=view.id, sender=view.sender,
                   text=view.text or "", buttons=list(payload.get("buttons") or []),
                   image=payload.get("image"), custom=payload.get("custom"),
                   agent_name=view.agent.display_name if view.agent else None,
                   in_reply_to_id=view.in_reply_to_id, rating_request=payload.get("rating_request"))


@dataclass(frozen=True)
class BotReply:
    """One thing to say to the customer, in Rasa's output shape, channel-neutral."""

    text: str = ""
    buttons: List[Dict[str, Any]] = field(default_factory=list)
    image: Optional[str] = None
    custom: Optional[Dict[str, Any]] = None

    @classmethod
    def from_rasa(cls, message: Dict[str, Any]) -> "BotReply":
        return cls(
            text=message.get("text") or "",
            buttons=list(message.get("buttons") or []),
            image=message.get("image"),
            custom=message.get("custom"),
        )

    def payload(self) -> Optional[Dict[str, Any]]:
        payload: Dict[str, Any] = {}
        if self.buttons:
            payload["buttons"] = self.buttons
        if self.image:
            payload["image"] = self.image
        if self.custom is not None:
            payload["custom"] = self.custom
        return payload or None

    def is_empty(self) -> bool:
        return not (self.text or self.buttons or self.image or self.custom)


@dataclass(frozen=True)
class AwaitedSlot:
    """What the bot asked for and is waiting on: a form's requested slot, and the entities that fill it.

    "12345" after "What's your order number?" is an answer, whatever intent NLU guesses for it.
    """

    form: str
    slot: str
    entities: Tuple[str, ...] = ()

    def answered_by(self, parse: "NluParse") -> bool:
        return any(e.get("entity") in self.entities and e.get("value") for e in parse.entities)


@dataclass(frozen=True)
class HandoffDecision:
    """The policy's verdict on one customer message, with the reason it gives."""

    verdict: Verdict
    reason: Optional[HandoffReason] = None
    detail: str = ""
    priority: int = 0
    answers_slot: Optional[str] = None   # answered because it fills the slot the bot asked for

    @property
    def hands_off(self) -> bool:
        return self.verdict is Verdict.HANDOFF
