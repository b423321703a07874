"""Handoff settings that trainers and admins change in the console, applied without a restart.

They are stored in the database (overriding the config file and environment), audited, and
applied to the running policy at once; other workers pick them up within `refresh_seconds`.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Dict

from bot.events import DomainEvent, EventBus, EventName
from bot.handoff import HandoffPolicy, PolicyConfig
from bot.refreshing import RefreshingSettings
from bot.store.models import SettingsStore
from bot.views import UserView

log = logging.getLogger(__name__)


class SettingsError(Exception):
    pass


def _unit(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
        raise SettingsError(f"{name} must be a number between 0 and 1")
    return round(float(value), 4)


def _words(value: Any, name: str) -> tuple:
    if not isinstance(value, list) or not all(isinstance(v, str) and 0 < len(v.strip()) <= 100 for v in value) \
            or len(value) > 200:
        raise SettingsError(f"{name} must be a list of words or phrases")
    return tuple(dict.fromkeys(v.strip() for v in value))


def _misses(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10:
        raise SettingsError(f"{name} must be a whole number from 1 to 10")
    return value


VALIDATORS = {
    "confidence_threshold": _unit,
    "ambiguity_margin": _unit,
    "review_margin": _unit,
    "max_consecutive_misses": _misses,
    "always_human_intents": _words,
    "business_rule_keywords": _words,
}


class LiveSettings(RefreshingSettings):
    def __init__(self, base: PolicyConfig, base_review_margin: float, store: SettingsStore, policy: HandoffPolicy,
                 flow, bus: EventBus, refresh_seconds: float = 15.0) -> None:
        super().__init__(store, refresh_seconds)
        self.base = base
        self.base_review_margin = base_review_margin
        self.policy = policy
        self.flow = flow
        self.bus = bus

    def current(self) -> Dict[str, Any]:
        config = self.policy.config
        return {"confidence_threshold": config.confidence_threshold, "ambiguity_margin": config.ambiguity_margin,
                "max_consecutive_misses": config.max_consecutive_misses,
                "always_human_intents": list(config.always_human_intents),
                "business_rule_keywords": list(config.business_rule_keywords),
                "review_margin": self.flow.review_margin, "overridden": sorted(self._applied)}

    def _apply(self, overrides: Dict[str, Any]) -> None:
        values = {}
        for key, value in overrides.items():
            if key in VALIDATORS:
                try:
                    values[key] = VALIDATORS[key](value, key)
                except SettingsError as exc:
                    log.warning("ignoring stored setting %s: %s", key, exc)
        if "business_rule_keywords" in values:
            values["business_rule_keywords"] = tuple(k.lower() for k in values["business_rule_keywords"])
        if "confidence_threshold" in values:
            values["intent_thresholds"] = {}   # one threshold set in the console means one threshold
        review_margin = values.pop("review_margin", self.base_review_margin)
        self.policy.config = dataclasses.replace(self.base, **values)
        self.flow.review_margin = review_margin
        self._applied = dict(overrides)

    @staticmethod
    def _own(overrides: Dict[str, Any]) -> Dict[str, Any]:
        """Only the handoff settings: other settings (operations) share the table."""
        return {k: v for k, v in overrides.items() if k in VALIDATORS}

    async def update(self, user: UserView, changes: Dict[str, Any]) -> Dict[str, Any]:
        unknown = sorted(set(changes) - set(VALIDATORS))
        if unknown:
            raise SettingsError(f"unknown setting {unknown[0]!r}; settable: {', '.join(sorted(VALIDATORS))}")
        if not changes:
            raise SettingsError("nothing to change")
        clean = {key: VALIDATORS[key](value, key) for key, value in changes.items()}
        stored = {k: list(v) if isinstance(v, tuple) else v for k, v in clean.items()}
        await self.store.put(stored, user.id, "handoff_settings")
        self._apply({**self._applied, **stored})
        self.bus.publish(DomainEvent(EventName.SETTINGS_CHANGED, 0, actor_id=user.id, data=self.current()))
        return self.current()
