"""What the bot says about an order: status, tracking, delivery date, whether it can still be returned.

Plain functions of an order and today's date, so every sentence is tested without a CRM.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from bot.shop_data import Order

RETURN_WINDOW_DAYS = 30   # the shop's policy (utter_return_policy says the same)
SHIPPED = {"shipped", "in_transit", "in transit", "out_for_delivery", "out for delivery", "dispatched"}
DELIVERED = {"delivered"}
CANCELLED = {"cancelled", "canceled", "refunded"}

AGENT_HINT = 'type "agent" and a person from our team will look into it'


def day(when: datetime) -> str:
    """"Mon 24 Oct"."""
    return f"{when:%a} {when.day} {when:%b}"


def on_day(when: datetime, today: datetime) -> str:
    """"today (Tue 1 Dec)", "tomorrow (Wed 2 Dec)", "on Mon 24 Oct"."""
    relative = {0: "today", 1: "tomorrow", -1: "yesterday"}.get((when.date() - today.date()).days)
    return f"{relative} ({day(when)})" if relative else f"on {day(when)}"


def _name(order: Order) -> str:
    items = order.item_names()
    return f"Order {order.number}" + (f" ({items})" if items else "")


def _tracking(order: Order) -> str:
    # No full stop after a link: some chat widgets would make it part of the address.
    if not order.tracking_number:
        return ""
    if order.tracking_url:
        return f" Tracking number {order.tracking_number}: {order.tracking_url}"
    return f" Tracking number {order.tracking_number}."


def _eta(order: Order, today: datetime) -> str:
    if order.estimated_delivery is None or order.estimated_delivery.date() < today.date():
        return ""
    return f" Expected delivery {on_day(order.estimated_delivery, today)}."


def status(order: Order, today: datetime) -> str:
    name = _name(order)
    if order.status in DELIVERED:
        when = f" {on_day(order.delivered_at, today)}" if order.delivered_at else ""
        return f"{name} was delivered{when}."
    if order.status in CANCELLED:
        return f"{name} was cancelled. If you have questions about it, {AGENT_HINT}."
    if order.status in SHIPPED:
        when = f" {on_day(order.shipped_at, today)}" if order.shipped_at else ""
        carrier = f" with {order.carrier}" if order.carrier else ""
        return f"{name} shipped{when}{carrier}.{_eta(order, today)}{_tracking(order)}"
    placed = f" was placed {on_day(order.placed_at, today)} and" if order.placed_at else ""
    return (f"{name}{placed} is being prepared: orders leave our warehouse within 1–2 business days, and we "
            f"e-mail you the tracking link when it ships.{_eta(order, today)}")


def tracking(order: Order, today: datetime) -> str:
    name = _name(order)
    carrier = order.carrier or "the courier"
    if order.status in DELIVERED:
        when = f" {on_day(order.delivered_at, today)}" if order.delivered_at else ""
        return (f"{name} was delivered{when}, according to {carrier}. If you can't find it, check with your "
                "neighbours and around your door or safe place; couriers sometimes mark a parcel delivered shortly "
                "before it arrives, so give it until the end of the day. If it still hasn't turned up, type "
                f"\"agent\" and we'll open an investigation with {carrier}.{_tracking(order)}")
    if order.status in SHIPPED:
        return f"{name} is on its way with {carrier}.{_eta(order, today)}{_tracking(order)}"
    if order.status in CANCELLED:
        return status(order, today)
    return (f"{name} hasn't shipped yet, so there is no tracking number yet; we e-mail it to you as soon as the "
            f"parcel leaves our warehouse.{_eta(order, today)}")


def delivery(order: Order, today: datetime) -> str:
    name = _name(order)
    if order.status in DELIVERED or order.status in CANCELLED:
        return status(order, today)
    if order.estimated_delivery is not None and order.estimated_delivery.date() >= today.date():
        shipped = "is on its way and " if order.status in SHIPPED else ""
        return f"{name} {shipped}should arrive {on_day(order.estimated_delivery, today)}."
    return (f"{name} hasn't got a delivery date yet: orders leave our warehouse within 1–2 business days and "
            "standard delivery takes 3–5 business days after that.")


def return_deadline(order: Order) -> Optional[datetime]:
    return order.delivered_at + timedelta(days=RETURN_WINDOW_DAYS) if order.delivered_at else None


def returnable(order: Order, today: datetime) -> str:
    name = _name(order)
    if order.status in CANCELLED:
        return status(order, today)
    deadline = return_deadline(order)
    if order.status not in DELIVERED or deadline is None:
        return (f"{name} hasn't been delivered yet. Once it arrives you have {RETURN_WINDOW_DAYS} days to "
                "return it, free of charge.")
    ago = (today.date() - order.delivered_at.date()).days
    if today.date() <= deadline.date():
        return (f"Yes: {name} was delivered {on_day(order.delivered_at, today)}, so you can return it until "
                f"{day(deadline)}. Go to My Account → Orders, choose the order and click \"Return items\" "
                "for a free return label.")
    return (f"{name} was delivered {on_day(order.delivered_at, today)}, {ago} days ago. Our return window is "
            f"{RETURN_WINDOW_DAYS} days from delivery, so it can't be returned as standard any more. If something "
            f"is faulty, {AGENT_HINT}.")


def returnable_after(days: int) -> str:
    """A return question that says how long ago ("boots I bought 40 days ago"), without an order."""
    if days <= RETURN_WINDOW_DAYS:
        return (f"Yes: items can be returned within {RETURN_WINDOW_DAYS} days of delivery, so something you got "
                f"{days} days ago can still go back, free of charge. Go to My Account → Orders, choose the order "
                "and click \"Return items\".")
    return (f"Our return window is {RETURN_WINDOW_DAYS} days from delivery, so an item bought {days} days ago is "
            f"most likely past it. If it was delivered less than {RETURN_WINDOW_DAYS} days ago, tell me the order "
            f"number and I'll check; if it's faulty, {AGENT_HINT}.")


ANSWERS = {"status": status, "tracking": tracking, "delivery": delivery, "return": returnable}


def answer(question: str, order: Order, today: datetime) -> str:
    return ANSWERS.get(question, status)(order, today)
