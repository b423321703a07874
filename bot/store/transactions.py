"""A transaction's body as one plain function of an ORM session, run where it costs least.

On SQLite the pool's single connection lives on aiosqlite's thread. A transaction written as a
coroutine held it from BEGIN to COMMIT across every wait of the server's loop between its
statements, and each hand-over to the next transaction waited for the loop again: measured under
load, the connection was checked out 94 % of the time, and it set the pace. Here a body runs on
that thread in one trip (`OneTripConnection.run_here`), and bodies that queue up meanwhile run
right after it on the same thread, up to `_BATCH` of them per checkout, without handing the
connection back through the loop in between. On PostgreSQL (a pool of connections, asyncpg)
bodies run through `AsyncConnection.run_sync`, on up to `_LANES` connections at once.

Either way, bodies that were waiting together are committed together (`_group_committed`: one
BEGIN and one COMMIT for the group), and each caller hears back only after that COMMIT. A body
commits on success and rolls back on any exception, which reaches its caller and nobody else.
It must return plain values (views), not ORM rows, and must not change its arguments.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections import deque
from typing import Any, Callable, Deque, List, Optional, Tuple, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from bot.store.sqlite_driver import OneTripDbapi

T = TypeVar("T")
_BATCH = 32   # bodies per checkout, so other users of the connection wait at most this many


class _BodySession:
    """What a body gets as its session: the connection at once, an ORM session only when first used.

    Most of a turn's bodies run Core statements on `connection()` alone, and making, committing and
    closing a Session for them cost about a third of their time. The ORM session, when a body does
    use it, joins the transaction `_committed` began on the connection (SQLAlchemy 1.4: a session
    bound to a connection already in a transaction neither commits nor rolls that transaction back).
    """

    __slots__ = ("_connection", "_session")

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._session: "Session | None" = None

    def connection(self) -> Connection:
        return self._connection

    def __getattr__(self, name: str) -> Any:
        if self._session is None:
            self._session = Session(bind=self._connection, expire_on_commit=False, future=True)
        return getattr(self._session, name)

    def _finish(self, ok: bool) -> None:
        if self._session is not None:
            try:
                if ok:
                    self._session.flush()   # what the body left pending goes into its transaction
            finally:
                self._session.close()


def _committed(connection: Connection, body: Callable[..., T], *args: Any) -> T:
    # Bound to a connection it did not open: commit ends the transaction, not the connection.
    transaction = connection.begin()
    session = _BodySession(connection)
    try:
        result = body(session, *args)
        session._finish(True)
        transaction.commit()
        return result
    except BaseException:
        try:
            session._finish(False)
        finally:
            if transaction.is_active:   # a failed ORM flush has rolled it back already
                transaction.rollback()
        raise


def _settle(future: "asyncio.Future", ok: bool, value: Any) -> None:
    if future.done():
        return   # the caller gave up waiting (its transaction still ran, as a shielded call's would)
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


_Job = Tuple["asyncio.Future", Callable[..., Any], tuple]


class _SqliteQueue:
    """One engine's queue of bodies for its single connection."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = weakref.ref(engine)   # the engine keys this queue: no reference back to it
        self._jobs: Deque[_Job] = deque()
        self._lock = threading.Lock()   # the loop adds jobs, the database thread takes them
        self._draining = False
        self.task: "asyncio.Task | None" = None   # the latest drain, so closing can wait for it

    async def run(self, body: Callable[..., T], args: tuple) -> T:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._lock:
            self._jobs.append((future, body, args))
            start, self._draining = not self._draining, True
        if start:
            self.task = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        """Check the connection out and run queued bodies on its thread until none is left."""
        more = True
        while more:
            try:
                engine = self._engine()
                if engine is None:
                    raise RuntimeError("the database engine is gone")
                async with engine.connect() as connection:
                    raw = (await connection.get_raw_connection()).dbapi_connection
                    sync = connection.sync_connection
                    more = await raw.run_here(lambda: self._run_jobs(sync))
            except BaseException as exc:   # no connection (database gone, pool timeout): fail what waits
                with self._lock:
                    jobs, self._draining = list(self._jobs), False
                    self._jobs.clear()
                for future, _, _ in jobs:
                    _settle(future, False, exc)
                if not isinstance(exc, Exception):
                    raise
                return

    def _run_jobs(self, connection: Connection) -> bool:
        """On the database thread. True when jobs are left for another checkout."""
        ran = 0
        while ran < _BATCH:
            with self._lock:
                if not self._jobs:
                    self._draining = False
                    return False
                jobs = [self._jobs.popleft() for _ in range(min(len(self._jobs), _BATCH - ran))]
            ran += len(jobs)
            try:
                outcomes = _outcomes(connection, jobs)
            except BaseException as exc:
                outcomes = [(False, exc)] * len(jobs)
                raise
            finally:
                for (future, _, _), outcome in zip(jobs, outcomes):
                    future.get_loop().call_soon_threadsafe(_settle, future, *outcome)
        return True


def _outcomes(connection: Connection, jobs: List[_Job]) -> List[Tuple[bool, Any]]:
    """Run the bodies that were waiting together; (True, result) or (False, exception) for each."""
    if len(jobs) > 1:
        grouped = _group_committed(connection, jobs)
        if grouped is not None:
            return grouped
    outcomes = []
    for _, body, args in jobs:
        try:
            outcomes.append((True, _committed(connection, body, *args)))
        except BaseException as exc:   # whatever it is, it is this caller's, not the queue's
            outcomes.append((False, exc))
    return outcomes


def _group_committed(connection: Connection, jobs: List[_Job]) -> Optional[List[Tuple[bool, Any]]]:
    """Group commit: the bodies that queued up meanwhile, in order, in one transaction, one COMMIT.

    Each SQLite COMMIT waits for the disk (fsync, synchronous=FULL) and writes every page the
    transaction changed to the WAL again; with several worker processes it also holds the file's
    gate (bot/store/process_gate.py) while it waits, so the commits, not the CPU, had set the pace
    (two workers left half a core idle). On PostgreSQL each transaction alone paid a checkout,
    BEGIN and COMMIT round trips and a commit on the server. Bodies that arrived while the
    connection was busy now share one; nobody hears back before that COMMIT returns, so a
    customer's message is still committed before it is acknowledged. If any body raises, or the
    COMMIT fails, the whole group is rolled back and each body runs again in a transaction of its
    own (None here), so a failure is exactly the failing body's, as before; bodies are functions
    of the database and their arguments, which they do not change, so running one again is safe.
    """
    transaction = connection.begin()
    results = []
    try:
        for _, body, args in jobs:
            session = _BodySession(connection)
            try:
                results.append(body(session, *args))
            except BaseException:
                session._finish(False)
                raise
            session._finish(True)
        transaction.commit()
    except BaseException as exc:
        try:
            if transaction.is_active:
                transaction.rollback()
        except Exception:
            connection.rollback()
        if not isinstance(exc, Exception):
            raise   # cancelled, or the process is ending: not a body's failure to run again
        return None   # each body gets its own answer, alone
    return [(True, result) for result in results]


class _PooledQueue:
    """Bodies for an engine with a pool of connections (PostgreSQL), run in groups on up to `lanes` at once.

    A body alone on a pooled connection paid a checkout, BEGIN and COMMIT round trips, and a commit
    on the server. Under load bodies wait for a lane anyway, so each lane takes everything waiting
    and runs it as one group (`_outcomes`): one checkout, one BEGIN, one COMMIT. With a lane free, a
    body runs at once, alone, as before. Everything here runs on the server's loop.
    """

    def __init__(self, engine: AsyncEngine, lanes: int) -> None:
        self._engine = weakref.ref(engine)
        self._lanes = lanes
        self._jobs: Deque[_Job] = deque()
        self.tasks: "set[asyncio.Task]" = set()

    async def run(self, body: Callable[..., T], args: tuple) -> T:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._jobs.append((future, body, args))
        if len(self.tasks) < self._lanes:
            task = loop.create_task(self._drain())
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return await future

    async def _drain(self) -> None:
        while self._jobs:
            jobs = [self._jobs.popleft() for _ in range(min(len(self._jobs), _BATCH))]
            try:
                engine = self._engine()
                if engine is None:
                    raise RuntimeError("the database engine is gone")
                async with engine.connect() as connection:
                    outcomes = await connection.run_sync(_outcomes, jobs)
            except BaseException as exc:   # no connection (database gone, pool timeout): fail this group
                outcomes = [(False, exc)] * len(jobs)
                if not isinstance(exc, Exception):
                    for (future, _, _), outcome in zip(jobs, outcomes):
                        _settle(future, *outcome)
                    raise
            for (future, _, _), outcome in zip(jobs, outcomes):
                _settle(future, *outcome)


_LANES = 4   # groups in flight at once per PostgreSQL engine (its pool holds more connections for the rest)
_queues: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()


async def in_transaction(engine: AsyncEngine, body: Callable[..., T], *args: Any) -> T:
    """`body(session, *args)` in one transaction, committed; returns what the body returns."""
    queue = _queues.get(engine)
    if queue is None:
        sqlite = isinstance(engine.dialect.dbapi, OneTripDbapi)
        queue = _queues[engine] = _SqliteQueue(engine) if sqlite else _PooledQueue(engine, _LANES)
    return await queue.run(body, args)


async def settle(engine: AsyncEngine) -> None:
    """Wait until the engine's queued transactions are done and its connection is back (before dispose)."""
    queue = _queues.get(engine)
    if isinstance(queue, _PooledQueue):
        while queue.tasks:
            await asyncio.gather(*[asyncio.shield(t) for t in list(queue.tasks)], return_exceptions=True)
        return
    while queue is not None and queue.task is not None and not queue.task.done():
        await asyncio.shield(queue.task)
