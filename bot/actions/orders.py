"""Order questions answered from the shop's data: the order form's validation and its answer.

`order_form` (data/domain.yml) asks for what it needs: nothing from a customer the shop vouched
for (their own orders are looked up), the order number and the e-mail it was placed with from
anyone else; a pair that does not match is asked for again, without saying which part was wrong
or whether such an order exists. `action_answer_order` then answers the question that started
the form (status, tracking, delivery date, return) from the CRM.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from rasa_sdk.forms import REQUESTED_SLOT

from bot.actions.answers import answer
from bot.custom_actions import current_shop
from bot.shop_data import Order, same_order_number

FORM = "order_form"
ORDER_NUMBER = re.compile(r"#?[A-Za-z]{0,3}\d{4,6}")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
MAX_FAILED_CHECKS = 3   # wrong number/e-mail pairs per conversation before the bot stops trying

# The intent that started the form -> the question it answers.
QUESTIONS = {"order_status": "status", "track_shipment": "tracking", "delivery_time": "delivery",
             "start_return": "return", "return_policy": "return"}

NO_MATCH = ("I couldn't find an order with that number and e-mail address. Please check both (the e-mail is the "
            "one you ordered with) and try again.")
TOO_MANY = ("I couldn't match that order number and e-mail address, and I can't check any more orders in this "
            "chat. Please type \"agent\" and a person from our team will help you.")


def clean_order_number(value: Any) -> Optional[str]:
    text = str(value or "").strip().lstrip("#").strip().upper()
    return text if ORDER_NUMBER.fullmatch(text) else None


def question_of(tracker: Tracker) -> str:
    """The question the customer asked: the intent of their message that started the order form."""
    events = tracker.events
    for i in range(len(events) - 1, -1, -1):
        if events[i].get("event") == "active_loop" and events[i].get("name") == FORM:
            asked = next((e for e in reversed(events[:i]) if e.get("event") == "user"), None)
            intent = ((asked or {}).get("parse_data") or {}).get("intent") or {}
            return QUESTIONS.get(intent.get("name"), "status")
    return "status"


class ValidateOrderForm(FormValidationAction):
    """Asks a verified customer nothing; checks anyone else's order number and e-mail together.

    The check is part of the form: a pair that does not match empties both slots, so the form asks
    again, and after MAX_FAILED_CHECKS it stops (`action_answer_order` then says why).
    """

    def name(self) -> Text:
        return "validate_order_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> List[Text]:
        if (await current_shop().identity()).verified:
            return []   # the shop vouched for them: answered from their own orders
        return domain_slots

    def validate_order_id(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                          domain: DomainDict) -> Dict[Text, Any]:
        number = clean_order_number(value)
        if number is None:
            dispatcher.utter_message(response="utter_order_id_invalid")
        return {"order_id": number}

    def validate_email(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: DomainDict) -> Dict[Text, Any]:
        email = str(value or "").strip().lower()
        if not EMAIL.fullmatch(email):
            dispatcher.utter_message(response="utter_email_invalid")
            return {"email": None}
        return {"email": email}

    async def get_validation_events(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> List[EventType]:
        events = await super().get_validation_events(dispatcher, tracker, domain)
        checked = {e["name"] for e in events if e.get("event") == "slot"}
        if not checked & {"order_id", "email"} or (await current_shop().identity()).verified:
            return events
        values = {**tracker.slots, **{e["name"]: e["value"] for e in events if e.get("event") == "slot"}}
        number, email = values.get("order_id"), values.get("email")
        if not (number and email) or await current_shop().order_owned_by(number, email) is not None:
            return events
        failed = int(tracker.get_slot("order_checks_failed") or 0) + 1
        cleared = events + [SlotSet("order_id", None), SlotSet("email", None),
                            SlotSet("order_checks_failed", failed)]
        if failed >= MAX_FAILED_CHECKS:
            return cleared + [SlotSet(REQUESTED_SLOT, None)]   # stop asking; the answer says why
        dispatcher.utter_message(text=NO_MATCH)
        return cleared


class ActionAnswerOrder(Action):
    def name(self) -> Text:
        return "action_answer_order"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        shop = current_shop()
        question = question_of(tracker)
        number = clean_order_number(tracker.get_slot("order_id"))
        today = datetime.now(timezone.utc)
        if (await shop.identity()).verified:
            orders = await shop.my_orders()
            order = self._theirs(orders, number)
            if order is None:
                dispatcher.utter_message(text=(
                    f"I can't find order {number} on your account. Could you check the number?" if number
                    else "I can't find any orders on your account."))
                return [SlotSet("order_id", None)]
            latest = "" if number else "Your most recent order: "
            dispatcher.utter_message(text=latest + answer(question, order, today))
            return [SlotSet("order_id", order.number)]

        if int(tracker.get_slot("order_checks_failed") or 0) >= MAX_FAILED_CHECKS:
            dispatcher.utter_message(text=TOO_MANY)
            return [SlotSet("order_id", None), SlotSet("email", None)]
        email = tracker.get_slot("email")
        order = await shop.order_owned_by(number, email) if number and email else None
        if order is None:   # the form checked the pair; the CRM changed its mind since
            dispatcher.utter_message(text=NO_MATCH)
            return [SlotSet("order_id", None), SlotSet("email", None)]
        dispatcher.utter_message(text=answer(question, order, today))
        return []

    @staticmethod
    def _theirs(orders: List[Order], number: Optional[str]) -> Optional[Order]:
        if number:
            return next((o for o in orders if same_order_number(o.number, number)), None)
        return orders[0] if orders else None
