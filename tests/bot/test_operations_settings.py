"""Operations settings: checked, stored and audited, applied to the running parts at once, shared."""

from __future__ import annotations

import uuid

import pytest

from bot.domain import Role
from bot.events import EventBus
from bot.operations_settings import OperationsError, OperationsSettings
from bot.settings import Settings
from bot.tagging import Tagging
from bot.waiting.room import WaitingRoom


class Assigner:
    enabled = False


async def staff() -> int:
    return 1


@pytest.fixture
def parts(store, bus):
    room = WaitingRoom(store.waiting, store.reporting, store.conversations, bus, staff, lambda c: False)
    tagging = Tagging(store.tags, bus)
    assigner = Assigner()
    base = OperationsSettings.base_from(Settings(secret_key="x"))
    return room, tagging, assigner, base


async def admin(store):
    return await store.accounts.create(f"admin-{uuid.uuid4().hex[:6]}", "Ari", Role.ADMIN, "!", 5)


async def test_changes_apply_at_once_and_are_audited(store, bus, parts):
    room, tagging, assigner, base = parts
    ops = OperationsSettings(base, store.settings, room, tagging, assigner, bus)
    await ops.load()
    ari = await admin(store)
    current = await ops.update(ari, {"business_hours": {"mon": "09:00-17:00"}, "business_timezone": "Europe/Berlin",
                                     "max_wait_seconds": 120, "auto_assign": True,
                                     "tag_rules": {"complaint": "Angry customer"},
                                     "widget": {"title": "Help desk", "color": "#123abc"},
                                     "wait_texts": {"waiting_headline": "Hang on, {position} ahead"}})
    assert room.config.hours.zone == "Europe/Berlin" and not room.config.hours.always_open
    assert room.config.max_wait_seconds == 120 and room.config.texts.waiting_headline == "Hang on, {position} ahead"
    assert assigner.enabled is True and tagging.rules == {"complaint": "angry-customer"}
    assert ops.widget_defaults() == {"title": "Help desk", "color": "#123abc"}
    assert current["business_hours"]["mon"] == "09:00-17:00" and current["business_hours"]["tue"] == "closed"
    [entry] = [e for e in await store.settings.audit_log(20) if e["action"] == "operations_settings"][:1]
    assert entry["user"] == ari.username and entry["detail"]["changes"]["ops.auto_assign"] == {"from": None, "to": True}
    # Another worker, started fresh on the same database, applies what was stored.
    room2 = WaitingRoom(store.waiting, store.reporting, store.conversations, bus, staff, lambda c: False)
    assigner2 = Assigner()
    other = OperationsSettings(base, store.settings, room2, Tagging(store.tags, bus), assigner2, EventBus())
    await other.load()
    assert assigner2.enabled is True and room2.config.max_wait_seconds == 120


@pytest.mark.parametrize("change,problem", [
    ({"business_hours": {"mon": "9 to 5"}}, "not a span"),
    ({"business_timezone": "Atlantis/Capital"}, "unknown time zone"),
    ({"max_wait_seconds": 5}, "from 30"),
    ({"auto_assign": "yes"}, "true or false"),
    ({"widget": {"color": "red"}}, "colour like"),
    ({"widget": {"logo": "x"}}, "widget is an object"),
    ({"wait_texts": {"handoff": "You are {place}"}}, "unknown placeholder"),
    ({"tag_rules": {"complaint": "no/slashes"}}, "tag"),
    ({"colour": "#fff"}, "unknown setting"),
    ({}, "nothing to change"),
])
async def test_bad_settings_are_refused_and_nothing_changes(store, bus, parts, change, problem):
    room, tagging, assigner, base = parts
    ops = OperationsSettings(base, store.settings, room, tagging, assigner, bus)
    before = room.config
    with pytest.raises(OperationsError, match=problem):
        await ops.update(await admin(store), change)
    assert room.config == before and assigner.enabled is False
