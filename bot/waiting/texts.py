"""What a waiting customer reads. Honest by rule: an estimate is a range and says it is one,
and nobody is promised a person when nobody is there.

Admins may change these sentences (the widget's texts); `{position}`, `{estimate}`,
`{next_opening}` and `{email}` are filled in where a sentence uses them.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, Dict, Mapping

from bot.waiting.estimate import WaitRange

ESTIMATE_NOTE = "an estimate, not a promise"
PLACEHOLDERS = ("position", "estimate", "next_opening", "email")


@dataclass(frozen=True)
class WaitTexts:
    handoff: str = ("I'm bringing in a person from our team who can help. "
                    "You are number {position} in the queue{estimate}.")
    handoff_nobody_online: str = ("Nobody from our team is online right now, so I can't promise a quick answer. "
                                  "You are number {position} in the queue. You can leave a message and your "
                                  "e-mail address, and we'll get back to you.")
    handoff_closed: str = ("Our team is away right now{next_opening}. You are number {position} in the queue. "
                           "You can leave a message and your e-mail address, and we'll get back to you.")
    moved_back: str = ("Someone with an urgent request was placed ahead of you: "
                       "you are now number {position} in the queue.")
    still_waiting: str = "Thanks, we've added that to your conversation. You are number {position} in the queue{estimate}."
    long_wait_offer: str = ("Sorry for the long wait. If you'd rather not wait, leave a message and your e-mail "
                            "address, and we'll get back to you.")
    message_left: str = "Thanks, we have your message. We'll answer at {email}."
    # The widget's waiting state (header and banner).
    waiting_headline: str = "Waiting for a person"
    waiting_detail: str = "You are number {position} in the queue{estimate}."
    unavailable_headline: str = "Nobody is available right now"
    assigned_headline: str = "{agent} is here to help"
    connecting_headline: str = "Connecting you with a person…"

    def fill(self, template: str, position: int = 0, estimate: str = "", next_opening: str = "",
             email: str = "", agent: str = "") -> str:
        # str.format would read attributes and indexes from admin-written text; only plain names here.
        values = {"position": str(position), "estimate": estimate, "next_opening": next_opening, "email": email,
                  "agent": agent}
        return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)

    @staticmethod
    def estimate_clause(estimate: "WaitRange | None") -> str:
        return f" ({estimate.text()}; {ESTIMATE_NOTE})" if estimate is not None else ""

    @staticmethod
    def opening_clause(next_opening: str) -> str:
        return f"; we're back {next_opening}" if next_opening else ""

    def as_json(self) -> Dict[str, str]:
        return dataclasses.asdict(self)

    @classmethod
    def with_overrides(cls, overrides: Mapping[str, Any]) -> "WaitTexts":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in overrides.items() if k in known and isinstance(v, str) and v.strip()})
