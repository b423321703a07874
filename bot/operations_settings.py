"""Operations settings admins change in the console, applied live: business hours, the wait,
the widget's texts and colour defaults, auto-assignment and tag rules.

Like the handoff settings (live_settings.py) they override the config file and environment, are
stored in the database (`setting_overrides`, keys prefixed `ops.`), audited (who changed what,
when), applied at once in this worker, and picked up by other workers within `refresh_seconds`.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from typing import Any, Callable, Dict

from bot.events import DomainEvent, EventBus, EventName
from bot.refreshing import RefreshingSettings
from bot.store.models import SettingsStore
from bot.tagging import TagError, Tagging, clean_rules
from bot.views import UserView
from bot.waiting.hours import BusinessHours, HoursError
from bot.waiting.room import WaitingRoom
from bot.waiting.texts import PLACEHOLDERS, WaitTexts

log = logging.getLogger(__name__)

PREFIX = "ops."
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
WIDGET_KEYS = ("title", "color", "greeting")


class OperationsError(Exception):
    pass


def _hours(value: Any, settings: Dict[str, Any]) -> Dict[str, str]:
    try:
        return BusinessHours.parse(value or {}, settings.get("business_timezone", "UTC")).as_json()["hours"]
    except HoursError as exc:
        raise OperationsError(f"business_hours: {exc}")


def _zone(value: Any, settings: Dict[str, Any]) -> str:
    if not isinstance(value, str):
        raise OperationsError("business_timezone must be a time zone name like Europe/Berlin")
    try:
        BusinessHours.parse({}, value)
    except HoursError as exc:
        raise OperationsError(f"business_timezone: {exc}")
    return value


def _seconds(low: float, high: float):
    def check(value: Any, settings: Dict[str, Any]) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise OperationsError(f"must be a number of seconds from {low:g} to {high:g}")
        return float(value)

    return check


def _flag(value: Any, settings: Dict[str, Any]) -> bool:
    if not isinstance(value, bool):
        raise OperationsError("must be true or false")
    return value


def _tag_rules(value: Any, settings: Dict[str, Any]) -> Dict[str, str]:
    try:
        return clean_rules(value or {})
    except TagError as exc:
        raise OperationsError(f"tag_rules: {exc.message}")


def _widget(value: Any, settings: Dict[str, Any]) -> Dict[str, str]:
    if not isinstance(value, dict) or set(value) - set(WIDGET_KEYS):
        raise OperationsError(f"widget is an object with {', '.join(WIDGET_KEYS)}")
    clean = {}
    for key, text in value.items():
        if text in (None, ""):
            continue
        if not isinstance(text, str) or len(text) > (300 if key == "greeting" else 80) or "\x00" in text:
            raise OperationsError(f"widget.{key} must be a short text")
        if key == "color" and not COLOR.match(text):
            raise OperationsError("widget.color is a colour like #4f46e5")
        clean[key] = text.strip()
    return clean


def _texts(value: Any, settings: Dict[str, Any]) -> Dict[str, str]:
    known = {f.name for f in dataclasses.fields(WaitTexts)}
    if not isinstance(value, dict) or set(value) - known:
        raise OperationsError(f"wait_texts names sentences among {', '.join(sorted(known))}")
    clean = {}
    for key, text in value.items():
        if text in (None, ""):
            continue
        if not isinstance(text, str) or len(text) > 500 or "\x00" in text:
            raise OperationsError(f"wait_texts.{key} must be a text of at most 500 characters")
        unknown = set(re.findall(r"\{(\w+)\}", text)) - set(PLACEHOLDERS) - {"agent"}
        if unknown:
            raise OperationsError(f"wait_texts.{key}: unknown placeholder {{{sorted(unknown)[0]}}}")
        clean[key] = text
    return clean


VALIDATORS: Dict[str, Callable[[Any, Dict[str, Any]], Any]] = {
    "business_timezone": _zone,          # before the hours: they are read in it
    "business_hours": _hours,
    "max_wait_seconds": _seconds(30, 7 * 86400),
    "wait_notice_interval_seconds": _seconds(30, 86400),
    "auto_assign": _flag,
    "tag_rules": _tag_rules,
    "widget": _widget,
    "wait_texts": _texts,
}


class OperationsSettings(RefreshingSettings):
    what = "operations settings"

    def __init__(self, base: Dict[str, Any], store: SettingsStore, room: WaitingRoom, tagging: Tagging,
                 auto_assigner: Any, bus: EventBus, refresh_seconds: float = 15.0) -> None:
        super().__init__(store, refresh_seconds)
        self.base = base                  # from Settings: defaults < baton.yml < environment
        self.room = room
        self.tagging = tagging
        self.auto_assigner = auto_assigner
        self.bus = bus

    @classmethod
    def base_from(cls, settings: Any) -> Dict[str, Any]:
        return {"business_timezone": settings.business_timezone, "business_hours": dict(settings.business_hours),
                "max_wait_seconds": settings.max_wait_seconds,
                "wait_notice_interval_seconds": settings.wait_notice_interval_seconds,
                "auto_assign": settings.auto_assign, "tag_rules": dict(settings.tag_rules), "widget": {},
                "wait_texts": {}}

    def current(self) -> Dict[str, Any]:
        effective = {**self.base, **self._applied}
        return {**effective, "overridden": sorted(self._applied), "wait_text_defaults": WaitTexts().as_json()}

    def widget_defaults(self) -> Dict[str, str]:
        return dict({**self.base, **self._applied}.get("widget") or {})

    def _apply(self, overrides: Dict[str, Any]) -> None:
        values: Dict[str, Any] = {}
        merged = {**self.base}
        for key in VALIDATORS:   # in order: the time zone before the hours
            if key in overrides:
                try:
                    values[key] = VALIDATORS[key](overrides[key], {**merged, **values})
                except OperationsError as exc:
                    log.warning("ignoring stored setting %s: %s", key, exc)
        effective = {**self.base, **values}
        hours = BusinessHours.parse(effective["business_hours"], effective["business_timezone"])
        self.room.config = dataclasses.replace(
            self.room.config, hours=hours, max_wait_seconds=effective["max_wait_seconds"],
            notice_interval_seconds=effective["wait_notice_interval_seconds"],
            texts=WaitTexts.with_overrides(effective["wait_texts"]))
        self.tagging.rules = dict(effective["tag_rules"])
        if self.auto_assigner is not None:
            self.auto_assigner.enabled = bool(effective["auto_assign"])
        self._applied = values   # stored values are the cleaned ones: a refresh finds them equal

    @staticmethod
    def _own(overrides: Dict[str, Any]) -> Dict[str, Any]:
        return {k[len(PREFIX):]: v for k, v in overrides.items() if k.startswith(PREFIX)}

    async def update(self, user: UserView, changes: Dict[str, Any]) -> Dict[str, Any]:
        if not isinstance(changes, dict) or not changes:
            raise OperationsError("nothing to change")
        unknown = sorted(set(changes) - set(VALIDATORS))
        if unknown:
            raise OperationsError(f"unknown setting {unknown[0]!r}; settable: {', '.join(VALIDATORS)}")
        context = {**self.base, **self._applied}
        clean: Dict[str, Any] = {}
        for key in VALIDATORS:
            if key in changes:
                clean[key] = VALIDATORS[key](changes[key], {**context, **clean})
        if "business_timezone" in clean and "business_hours" not in clean:
            VALIDATORS["business_hours"](context["business_hours"], {**context, **clean})
        await self.store.put({PREFIX + k: v for k, v in clean.items()}, user.id, "operations_settings")
        self._apply({**self._applied, **clean})
        self.bus.publish(DomainEvent(EventName.OPERATIONS_CHANGED, 0, actor_id=user.id, data=self.current()))
        return self.current()
