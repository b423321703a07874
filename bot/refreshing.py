"""Settings kept as overrides in the database and applied to the running parts of this worker.

A change made in the console is applied at once by the worker that took it; every other worker
reads the stored overrides again every `refresh_seconds` and applies them when they differ. The
handoff settings (live_settings.py) and the operations settings (operations_settings.py) share
this loop; each says which stored keys are its own and how to apply them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, Optional

from bot.store.models import SettingsStore


class RefreshingSettings:
    #: names the refresh task and its log line
    what = "settings"

    def __init__(self, store: SettingsStore, refresh_seconds: float = 15.0) -> None:
        self.store = store
        self.refresh_seconds = refresh_seconds
        self._applied: Dict[str, Any] = {}
        self._task: Optional[asyncio.Task] = None

    @staticmethod
    def _own(overrides: Dict[str, Any]) -> Dict[str, Any]:
        """The stored overrides that are this class's, as `_apply` takes them."""
        raise NotImplementedError

    def _apply(self, overrides: Dict[str, Any]) -> None:
        """Apply these overrides to the running parts and remember them in `_applied`, in the form
        that `_own` gives the stored ones: the refresh applies again only what compares unequal."""
        raise NotImplementedError

    async def load(self) -> None:
        self._apply(self._own(await self.store.overrides()))

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._refresh(), name=f"{self.what} refresh")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _refresh(self) -> None:
        """Other workers' changes arrive here within `refresh_seconds`."""
        while True:
            await asyncio.sleep(self.refresh_seconds)
            try:
                overrides = self._own(await asyncio.shield(self.store.overrides()))
            except Exception:
                # logged under the settings' own module, where their other warnings are
                logging.getLogger(type(self).__module__).exception("could not refresh %s", self.what)
                continue
            if overrides != self._applied:
                self._apply(overrides)
