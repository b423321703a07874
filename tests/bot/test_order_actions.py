"""The bot's custom actions (bot/actions/) through rasa-sdk's executor, as Baton runs them.

The calls are the rasa-sdk protocol's JSON; the shop's orders come from a dictionary here (the
end-to-end tests, tests/e2e/test_dialogue.py, use the demo CRM and an HTTP CRM).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional

import pytest
import yaml

from bot.actions.answers import RETURN_WINDOW_DAYS, answer, on_day, returnable_after
from bot.actions.orders import MAX_FAILED_CHECKS, NO_MATCH, TOO_MANY, clean_order_number, question_of
from bot.actions.returns import days_in
from bot.custom_actions import ActionRunner
from bot.settings import PROJECT_ROOT
from bot.shop_data import CrmUnavailable, Identity, Order, same_order_number

NOW = datetime.now(timezone.utc)
DOMAIN = yaml.safe_load((PROJECT_ROOT / "data" / "domain.yml").read_text())


def ago(days: float) -> str:
    return (NOW - timedelta(days=days)).isoformat()


ORDERS = {
    "ada@example.com": [
        {"number": "12345", "status": "shipped", "items": [{"name": "Rain jacket", "qty": 1}], "placed_at": ago(3),
         "carrier": "DHL", "tracking_number": "JD01", "tracking_url": "https://t.example/JD01",
         "shipped_at": ago(2), "estimated_delivery": ago(-1)},
        {"number": "12001", "status": "delivered", "items": [{"name": "Wool socks", "qty": 3}], "placed_at": ago(40),
         "delivered_at": ago(37)},
    ],
}
SHOP_IDS = {"C-1001": "ada@example.com"}


class DictCrm:
    """Orders by e-mail or shop id, as a CRM would answer them."""

    def __init__(self, fail: Optional[Exception] = None, delay: float = 0.0) -> None:
        self.fail, self.delay = fail, delay
        self.asked: List[tuple] = []

    async def orders(self, shop_customer_id, email) -> List[Dict[str, Any]]:
        self.asked.append((shop_customer_id, email))
        await asyncio.sleep(self.delay)
        if self.fail:
            raise self.fail
        return list(ORDERS.get(SHOP_IDS.get(shop_customer_id) or email or "", []))


def runner(crm=None, verified: bool = False, timeout: float = 2.0) -> ActionRunner:
    async def identity(tracker_key: str) -> Identity:
        return Identity(True, "C-1001", None) if verified else Identity.anonymous()

    return ActionRunner(["bot.actions"], crm or DictCrm(), identity, timeout)


def call(action: str, slots: Dict[str, Any], events: Optional[List[Dict[str, Any]]] = None,
         active_loop: Optional[str] = "order_form", entities=()) -> Dict[str, Any]:
    """One rasa-sdk action call: what Rasa's RemoteAction sends."""
    all_slots = {"order_id": None, "email": None, "order_checks_failed": None, "requested_slot": None, **slots}
    events = events or []
    events += [{"event": "slot", "name": k, "value": v} for k, v in slots.items()]
    return {"next_action": action, "sender_id": "conversation-unit", "version": "3.6.21", "domain": DOMAIN,
            "tracker": {"sender_id": "conversation-unit", "slots": all_slots, "events": events, "paused": False,
                        "followup_action": None, "latest_action_name": "action_listen",
                        "active_loop": {"name": active_loop} if active_loop else {},
                        "latest_message": {"text": "x", "intent": {"name": "order_status"},
                                           "entities": [dict(e) for e in entities]}}}


def asked_with(intent: str) -> List[Dict[str, Any]]:
    """The events of a conversation whose order form was started by a message with this intent."""
    return [{"event": "user", "text": "…", "parse_data": {"intent": {"name": intent}}},
            {"event": "action", "name": "order_form"}, {"event": "active_loop", "name": "order_form"}]


def texts(result: Dict[str, Any]) -> str:
    return " ".join(r.get("text") or r.get("response") or "" for r in result["responses"])


def slots_set(result: Dict[str, Any]) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in result["events"] if e["event"] == "slot"}


# ---- the order form ---------------------------------------------------------------------------

async def test_a_verified_customer_is_asked_nothing():
    result = await runner(verified=True).run(call("validate_order_form", {}))
    assert slots_set(result) == {"requested_slot": None}


async def test_anyone_else_proves_the_order_with_its_number_and_e_mail():
    crm = DictCrm()
    matched = await runner(crm).run(call("validate_order_form", {"order_id": "#12345", "email": "Ada@Example.com"}))
    assert slots_set(matched) == {"order_id": "12345", "email": "ada@example.com"} and not matched["responses"]
    assert crm.asked == [(None, "ada@example.com")]   # looked up by the e-mail, never by the number alone


async def test_a_wrong_e_mail_gets_no_details_and_no_hint():
    for number in ("12345", "99999"):   # an order that exists, and one that does not: the same answer
        result = await runner().run(call("validate_order_form", {"order_id": number, "email": "eve@example.com"}))
        assert slots_set(result) == {"order_id": None, "email": None, "order_checks_failed": 1}
        assert texts(result) == NO_MATCH
        assert "Rain jacket" not in str(result) and "shipped" not in str(result)


async def test_after_too_many_wrong_pairs_the_form_stops_asking():
    slots = {"order_id": "12345", "email": "eve@example.com", "order_checks_failed": MAX_FAILED_CHECKS - 1}
    result = await runner().run(call("validate_order_form", slots))
    assert slots_set(result)["requested_slot"] is None and slots_set(result)["order_checks_failed"] == MAX_FAILED_CHECKS
    answered = await runner().run(call("action_answer_order", {**slots, "order_checks_failed": MAX_FAILED_CHECKS},
                                       active_loop=None))
    assert texts(answered) == TOO_MANY


async def test_malformed_answers_are_asked_again():
    result = await runner().run(call("validate_order_form", {"order_id": "12", "email": "not-an-email"}))
    assert slots_set(result) == {"order_id": None, "email": None}
    assert [r["response"] for r in result["responses"]] == ["utter_order_id_invalid", "utter_email_invalid"]


# ---- the answer ---------------------------------------------------------------------------------

@pytest.mark.parametrize("intent,expected", [
    ("order_status", "Order 12345 (Rain jacket) shipped on "),
    ("track_shipment", "Order 12345 (Rain jacket) is on its way with DHL"),
    ("delivery_time", "Order 12345 (Rain jacket) is on its way and should arrive tomorrow"),
])
async def test_the_answer_is_the_question_the_customer_asked(intent, expected):
    result = await runner().run(call("action_answer_order", {"order_id": "12345", "email": "ada@example.com"},
                                     events=asked_with(intent), active_loop=None))
    assert texts(result).startswith(expected), texts(result)


async def test_a_verified_customer_gets_their_latest_order_or_none_of_someone_elses():
    latest = await runner(verified=True).run(call("action_answer_order", {}, events=asked_with("order_status")))
    assert texts(latest).startswith("Your most recent order: Order 12345")
    other = await runner(verified=True).run(call("action_answer_order", {"order_id": "23456"}))
    assert texts(other) == "I can't find order 23456 on your account. Could you check the number?"


async def test_return_eligibility_from_the_order_date():
    result = await runner().run(call("action_answer_order", {"order_id": "12001", "email": "ada@example.com"},
                                     events=asked_with("start_return"), active_loop=None))
    assert "37 days ago" in texts(result) and f"return window is {RETURN_WINDOW_DAYS} days" in texts(result)


async def test_a_crm_that_fails_or_hangs_fails_the_action():
    with pytest.raises(CrmUnavailable):
        await runner(DictCrm(fail=CrmUnavailable("CRM answered HTTP 503"))).run(
            call("action_answer_order", {"order_id": "12345", "email": "ada@example.com"}))
    with pytest.raises(TimeoutError):
        await runner(DictCrm(delay=5), timeout=0.2).run(
            call("validate_order_form", {"order_id": "12345", "email": "ada@example.com"}))


async def test_return_questions_that_say_how_long_ago():
    assert [days_in(v) for v in ("40 days", "6 weeks", "2 months", "1 day", "soon")] == [40, 42, 60, 1, None]
    late = await runner().run(call("action_return_eligibility", {}, active_loop=None,
                                   entities=[{"entity": "duration", "value": "40 days"}]))
    assert "40 days ago is most likely past it" in texts(late)
    recent = await runner().run(call("action_return_eligibility", {}, active_loop=None,
                                     entities=[{"entity": "duration", "value": "2 weeks"}]))
    assert texts(recent).startswith("Yes: items can be returned within 30 days")
    neither = await runner().run(call("action_return_eligibility", {}, active_loop=None))
    assert [r["response"] for r in neither["responses"]] == ["utter_return_policy"]


# ---- helpers and sentences ------------------------------------------------------------------------

def test_which_question_started_the_form():
    from rasa_sdk import Tracker

    def tracker(events):
        return Tracker("s", {}, {}, events, False, None, {}, "action_listen")

    assert question_of(tracker(asked_with("track_shipment"))) == "tracking"
    # Later messages ("12345", an e-mail) never change the question, whatever NLU made of them.
    later = asked_with("start_return") + [{"event": "user", "parse_data": {"intent": {"name": "track_shipment"}}}]
    assert question_of(tracker(later)) == "return"
    assert question_of(tracker([])) == "status"


def test_order_numbers_as_customers_type_them():
    assert clean_order_number(" #a12345 ") == "A12345" and clean_order_number("12") is None
    assert same_order_number("#12345", "12345") and not same_order_number("12345", "123456")
    assert not same_order_number("", "")


def test_sentences_for_each_state_of_an_order():
    today = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)

    def order(**kw) -> Order:
        return Order(number="1001", items=[{"name": "Boots"}], **kw)

    assert on_day(today + timedelta(days=1), today) == "tomorrow (Wed 2 Dec)"
    assert on_day(today - timedelta(days=10), today) == "on Sat 21 Nov"
    delivered = order(status="delivered", carrier="UPS", delivered_at=today - timedelta(days=1))
    assert answer("status", delivered, today) == "Order 1001 (Boots) was delivered yesterday (Mon 30 Nov)."
    missing = answer("tracking", delivered, today)
    assert "check with your neighbours" in missing and "investigation with UPS" in missing
    assert answer("return", delivered, today).startswith("Yes: Order 1001 (Boots) was delivered yesterday")
    assert "until Wed 30 Dec" in answer("return", delivered, today)
    waiting = order(status="processing", placed_at=today, estimated_delivery=today + timedelta(days=4))
    assert answer("tracking", waiting, today).startswith("Order 1001 (Boots) hasn't shipped yet")
    assert answer("delivery", waiting, today) == "Order 1001 (Boots) should arrive on Sat 5 Dec."
    assert answer("return", waiting, today).startswith("Order 1001 (Boots) hasn't been delivered yet")
    assert "was cancelled" in answer("tracking", order(status="cancelled"), today)
    assert returnable_after(30).startswith("Yes") and "most likely past it" in returnable_after(31)


def test_orders_from_a_crm_that_leaves_things_out():
    assert Order.from_json({"status": "shipped"}) is None   # no number: not an order
    sparse = Order.from_json({"number": 77120, "items": "boots", "placed_at": "not a date"})
    assert sparse.number == "77120" and sparse.status == "unknown" and sparse.items == [] and sparse.placed_at is None
    assert answer("status", sparse, NOW).startswith("Order 77120 is being prepared")
