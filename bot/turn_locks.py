"""One turn at a time per customer, in this process and across worker processes.

A customer's second message waits for the first's answer: Rasa's tracker takes one turn at a
time, and replies must go out in order. Inside a process that is an asyncio lock per customer.
With several workers (`baton serve --workers N`) the same customer can reach any of them (the
kernel spreads connections, and webhooks come from the provider's addresses, not the
customer's), so each customer also maps to one byte of a shared lock file (65,536 slots): a
worker holds that byte for the turn. Taking a free byte is one system call on the loop; only
when another worker holds it does the wait move to a thread. The locks are Linux's open file
description locks (F_OFD_SETLK): they belong to this object's own opening of the file, so two
servers in one process exclude each other as two processes do, customers of one server that
share a slot share one hold of the byte (a count), and a worker that dies releases all it held.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import os
import struct
import weakref
import zlib
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator, Dict, Optional

SLOTS = 65_536


def _byte_lock(fd: int, kind: int, slot: int, wait: bool = False) -> None:
    # struct flock: type, whence, start, length, pid (0: the lock belongs to the open file description)
    fcntl.fcntl(fd, fcntl.F_OFD_SETLKW if wait else fcntl.F_OFD_SETLK,
                struct.pack("hhqqi4x", kind, os.SEEK_SET, slot, 1, 0))


class _Slot:
    __slots__ = ("holders", "acquiring")

    def __init__(self) -> None:
        self.holders = 0                     # this process's turns holding the byte
        self.acquiring = asyncio.Lock()      # one taker of the byte at a time in this process


class TurnLocks:
    def __init__(self, lock_dir: Optional[Path] = None) -> None:
        self._locks: "weakref.WeakValueDictionary[tuple, asyncio.Lock]" = weakref.WeakValueDictionary()
        self._fd = -1
        self._slots: Dict[int, _Slot] = {}   # kept: a slot dropped while a taker waits on it would split the count
        # Waits for another worker's byte get threads of their own, not the loop's default pool.
        self._waiters: Optional[ThreadPoolExecutor] = None
        if lock_dir is not None:
            self._fd = os.open(Path(lock_dir) / "turns.lock", os.O_RDWR | os.O_CREAT, 0o600)

    @property
    def shared(self) -> bool:
        return self._fd >= 0

    def local(self, channel: str, external_id: str) -> asyncio.Lock:
        key = (channel, external_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    @asynccontextmanager
    async def hold(self, channel: str, external_id: str) -> AsyncIterator[None]:
        async with self.local(channel, external_id):
            if not self.shared:
                yield
                return
            slot = zlib.crc32(f"{channel}\x00{external_id}".encode()) % SLOTS
            await self._enter(slot)
            try:
                yield
            finally:
                self._leave(slot)

    async def _enter(self, slot: int) -> None:
        # Shielded: a caller cancelled while another worker holds the byte must not leave a
        # thread that takes it later with nobody to give it back.
        taking = asyncio.ensure_future(self._take(slot))
        try:
            await asyncio.shield(taking)
        except asyncio.CancelledError:
            taking.add_done_callback(lambda t: t.cancelled() or t.exception() or self._leave(slot))
            raise

    async def _take(self, slot: int) -> None:
        state = self._slots.get(slot)
        if state is None:
            state = self._slots[slot] = _Slot()
        async with state.acquiring:
            if state.holders == 0:
                try:
                    _byte_lock(self._fd, fcntl.F_WRLCK, slot)
                except OSError as exc:
                    if exc.errno not in (errno.EACCES, errno.EAGAIN):
                        raise
                    if self._waiters is None:
                        self._waiters = ThreadPoolExecutor(16, thread_name_prefix="baton-turn-lock")
                    await asyncio.get_running_loop().run_in_executor(
                        self._waiters, _byte_lock, self._fd, fcntl.F_WRLCK, slot, True)
            state.holders += 1

    def _leave(self, slot: int) -> None:
        state = self._slots[slot]
        state.holders -= 1
        if state.holders == 0:
            _byte_lock(self._fd, fcntl.F_UNLCK, slot)

    def close(self) -> None:
        if self._waiters is not None:
            self._waiters.shutdown(wait=False)
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
