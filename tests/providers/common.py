"""What every fake provider shares: a real aiohttp server on a free port, outages, recorded calls."""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Dict, List, Optional

import aiohttp
from aiohttp import web

from tests.support import free_port


class FakeProvider:
    def __init__(self) -> None:
        self.app = web.Application()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.outage = 0            # answer this many API calls with an error (503) before recovering
        self.refused = 0           # how many calls the outage refused
        self.late_answer = 0.0     # record a message, then answer only after this many seconds
        self.sent: List[Dict[str, Any]] = []   # every message Baton got through to the provider
        self.public_url = ""       # the address Baton is known by (what the provider signs)
        self.baton_url = ""        # where that address really leads (the proxy's upstream)
        self._runner: Optional[web.AppRunner] = None
        self._changed = asyncio.Condition()
        self._tasks: set = set()

    async def start(self) -> "FakeProvider":
        self._runner = web.AppRunner(self.app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()

    def forward(self, public_url: str, baton_url: str) -> None:
        self.public_url, self.baton_url = public_url.rstrip("/"), baton_url.rstrip("/")

    def upstream(self, url: str) -> str:
        """The address a public URL reaches (what the proxy in front of Baton does)."""
        return self.baton_url + url[len(self.public_url):] if url.startswith(self.public_url) else url

    def in_outage(self) -> bool:
        if self.outage > 0:
            self.outage -= 1
            self.refused += 1
            return True
        return False

    async def record(self, message: Dict[str, Any]) -> None:
        async with self._changed:
            self.sent.append(message)
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[Dict[str, Any]], bool], timeout: float = 30.0,
                       count: int = 1) -> List[Dict[str, Any]]:
        """Wait until `count` recorded messages match; returns them."""
        async def matched() -> List[Dict[str, Any]]:
            async with self._changed:
                await self._changed.wait_for(lambda: len([m for m in self.sent if predicate(m)]) >= count)
                return [m for m in self.sent if predicate(m)]

        return await asyncio.wait_for(matched(), timeout)

    def later(self, coro) -> None:
        """Run after the current answer went out (providers call back asynchronously)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def post(self, url: str, **kwargs: Any) -> tuple:
        async with aiohttp.ClientSession() as http:
            async with http.post(self.upstream(url), **kwargs) as response:
                return response.status, await response.text()
