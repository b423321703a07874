"""Whether any console is connected to any worker, for workers that share events through Redis.

A worker that shares Socket.IO through Redis cannot see the consoles connected to other workers,
so it used to assume there were some: every customer turn then read the conversation's summary
from the database and published two or three events to Redis that nobody received, in a listener
that fell behind under load.

Each worker with consoles connected keeps an entry in one Redis sorted set (its id, scored by
when the entry lapses) and renews it while they stay; the last one leaving removes it. An entry
of a worker that died lapses within `LAPSE_SECONDS`. Asking is one ZCOUNT of the live entries.

Why nothing is missed: a console registers here before it loads the queue, and a worker asks
after it committed the change it would announce. So if the question missed the console, the
registration came after the commit, and the queue the console loads already shows the change.
A worker that cannot reach Redis assumes there are listeners (the old behaviour).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any, Optional

log = logging.getLogger(__name__)

LAPSE_SECONDS = 60.0
RENEW_SECONDS = 20.0


class ConsoleCensus:
    def __init__(self, redis: Any, channel: str) -> None:
        self.redis = redis                       # redis.asyncio.Redis
        self.key = f"{channel}:consoles"
        self.member = uuid.uuid4().hex           # this worker
        self.local = 0                           # consoles connected to this worker
        # Writes one at a time, each writing what `local` is then: a withdrawal and a
        # registration sent together could otherwise reach Redis in either order.
        self._writing = asyncio.Lock()
        self._renewing: Optional[asyncio.Task] = None

    @classmethod
    def from_url(cls, url: str, channel: str) -> "ConsoleCensus":
        import redis.asyncio as aioredis

        return cls(aioredis.Redis.from_url(url), channel)

    async def connected(self) -> None:
        """Call before the console loads anything: when this returns, every worker can see it."""
        self.local += 1
        await self._write()
        if self._renewing is None or self._renewing.done():
            self._renewing = asyncio.get_running_loop().create_task(self._renew())

    async def disconnected(self) -> None:
        self.local = max(0, self.local - 1)
        if self.local == 0:
            await self._write()

    async def anyone(self) -> bool:
        """True if a console is connected to this or any other worker (or Redis cannot say)."""
        if self.local:
            return True
        try:
            return await self.redis.zcount(self.key, time.time(), "+inf") > 0
        except Exception as exc:   # Redis unreachable: announce anyway, as before the census
            log.warning("console census unavailable (%s); publishing events anyway", type(exc).__name__)
            return True

    async def _write(self) -> None:
        async with self._writing:
            try:
                if self.local:
                    await self.redis.zadd(self.key, {self.member: time.time() + LAPSE_SECONDS})
                else:
                    await self.redis.zrem(self.key, self.member)
                    await self.redis.zremrangebyscore(self.key, "-inf", time.time())   # workers that died
            except Exception:
                # Registering failed (Redis is unreachable, so their emits would not get through
                # either): other workers may skip events for this worker's consoles until the next
                # renewal. Withdrawing failed: the entry lapses by itself.
                log.exception("could not update the console census")

    async def _renew(self) -> None:
        while self.local:
            await asyncio.sleep(RENEW_SECONDS)
            if self.local:
                await self._write()

    async def close(self) -> None:
        if self._renewing is not None:
            self._renewing.cancel()
        if self.local:
            self.local = 0
            await self._write()
        try:
            await self.redis.close()
        except Exception:
            pass
