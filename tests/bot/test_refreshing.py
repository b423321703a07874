"""The refresh loop both stored-settings classes share: other workers' changes arrive, a failing read
is logged and retried, and stop() ends the loop."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict

from bot.refreshing import RefreshingSettings


class Store:
    def __init__(self) -> None:
        self.values: Dict[str, Any] = {}
        self.failing = False

    async def overrides(self) -> Dict[str, Any]:
        if self.failing:
            raise RuntimeError("database away")
        return dict(self.values)


class Counter(RefreshingSettings):
    what = "counter settings"

    def __init__(self, store: Store) -> None:
        super().__init__(store, refresh_seconds=0.01)  # type: ignore[arg-type]
        self.applied = []

    @staticmethod
    def _own(overrides: Dict[str, Any]) -> Dict[str, Any]:
        return {k: v for k, v in overrides.items() if k.startswith("counter.")}

    def _apply(self, overrides: Dict[str, Any]) -> None:
        self.applied.append(overrides)
        self._applied = dict(overrides)


async def until(condition) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not within two seconds")


async def test_changes_arrive_only_when_they_differ_and_stop_ends_the_loop(caplog):
    store = Store()
    settings = Counter(store)
    await settings.load()
    assert settings.applied == [{}]
    settings.start()
    task = settings._task
    assert task is not None and task.get_name() == "counter settings refresh"
    settings.start()
    assert settings._task is task   # one loop, however often started
    store.values = {"counter.step": 2, "other": "not ours"}
    await until(lambda: len(settings.applied) == 2)
    assert settings.applied[-1] == {"counter.step": 2}
    store.failing = True
    with caplog.at_level(logging.ERROR):
        await until(lambda: "could not refresh counter settings" in caplog.text)
    assert [r.name for r in caplog.records if "could not refresh" in r.message][0] == __name__
    store.failing = False
    store.values["counter.step"] = 3
    await until(lambda: settings.applied[-1] == {"counter.step": 3})
    assert len(settings.applied) == 3   # unchanged reads applied nothing
    await settings.stop()
    assert task.cancelled() and settings._task is None
    await settings.stop()
