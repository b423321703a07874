"""Return questions that say how long ago ("can I return boots I bought 40 days ago?").

The shop's 30-day policy answers them without looking anything up; with an order number the
order form checks the order's own delivery date instead (bot/actions/orders.py).
"""

from __future__ import annotations

import re
from typing import Any, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.actions.answers import returnable_after

_DURATION = re.compile(r"(\d{1,4})\s*(day|week|month|year)s?", re.IGNORECASE)
_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}


def days_in(value: Any) -> Optional[int]:
    """"40 days" -> 40, "6 weeks" -> 42, "2 months" -> 60."""
    found = _DURATION.search(str(value or ""))
    return int(found.group(1)) * _DAYS[found.group(2).lower()] if found else None


class ActionReturnEligibility(Action):
    def name(self) -> Text:
        return "action_return_eligibility"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        days = next((d for d in map(days_in, tracker.get_latest_entity_values("duration")) if d is not None), None)
        if days is None:
            dispatcher.utter_message(response="utter_return_policy")
        else:
            dispatcher.utter_message(text=returnable_after(days))
        return []
