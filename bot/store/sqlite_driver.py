"""SQLAlchemy's aiosqlite adapter, with each statement run in one trip to the connection's thread.

aiosqlite runs every call on a thread of its own, and SQLAlchemy's adapter makes four such
calls per statement (open a cursor, execute, fetch the rows, close the cursor). Each trip is a
queue hand-off to that thread and a wake-up of the server's loop on the way back: measured on a
customer's turn (nine statements), those trips were most of the turn's database CPU. Here the
four steps run as one function on the same thread, on the same connection, in the same order,
so results, errors and transactions are exactly aiosqlite's; only the trips are fewer.
Server-side cursors (streamed results) keep SQLAlchemy's own code.

A whole transaction can go in one trip too (`OneTripConnection.run_here`, used by
`bot.store.transactions`): its statements, already on that thread, then run directly.

With a gate (`bot.store.process_gate`, for several worker processes on one file), each
transaction holds it from its first statement to its commit or rollback, taken and released on
that same thread.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Tuple, TypeVar

from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection, AsyncAdapt_aiosqlite_cursor, AsyncAdapt_aiosqlite_dbapi,
)

from bot.store.process_gate import ProcessGate

T = TypeVar("T")

# description, rows, lastrowid, rowcount
_Outcome = Tuple[Optional[tuple], list, int, int]


def _execute(connection: Any, operation: str, parameters: Optional[Sequence[Any]]) -> _Outcome:
    """On aiosqlite's thread: what SQLAlchemy's adapter does in four trips."""
    cursor = connection.cursor()
    try:
        if parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        if cursor.description:
            return cursor.description, cursor.fetchall(), -1, -1
        return None, [], cursor.lastrowid, cursor.rowcount
    finally:
        cursor.close()


def _executemany(connection: Any, operation: str, seq_of_parameters: Sequence[Any]) -> _Outcome:
    cursor = connection.cursor()
    try:
        cursor.executemany(operation, seq_of_parameters)
        return None, [], cursor.lastrowid, cursor.rowcount
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()

    def _run(self, fn, *args) -> None:
        aio = self._connection   # aiosqlite.Connection; its `_conn` is only touched on its own thread
        gate = self._adapt_connection._gate
        if gate is not None:
            fn = _gated(gate, fn)
        try:
            if _on_thread_of(aio):
                description, rows, lastrowid, rowcount = fn(aio._conn, *args)
            else:
                description, rows, lastrowid, rowcount = self.await_(aio._execute(lambda: fn(aio._conn, *args)))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
            return
        self.description, self._rows, self.lastrowid, self.rowcount = description, rows, lastrowid, rowcount

    def execute(self, operation, parameters=None):
        self._run(_execute, operation, parameters)

    def executemany(self, operation, seq_of_parameters):
        self._run(_executemany, operation, seq_of_parameters)


def _gated(gate: ProcessGate, fn):
    def run(connection: Any, *args: Any) -> _Outcome:
        gate.enter()   # a no-op while this transaction holds it
        return fn(connection, *args)

    return run


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("_gate",)

    def cursor(self, server_side=False):
        if server_side:
            return super().cursor(server_side=True)
        return OneTripCursor(self)

    async def run_here(self, work: Callable[[], T]) -> T:
        """Run `work` on this connection's thread: every statement, commit and rollback it makes
        through this connection runs there directly, so the connection is held for the time the
        work takes, not for every wait of the server's loop between its statements."""
        return await self._connection._execute(work)

    def commit(self):
        self._end("commit")

    def rollback(self):
        self._end("rollback")

    def close(self):
        try:
            super().close()
        finally:
            if self._gate is not None:
                self._gate.close()

    def _end(self, how: str) -> None:
        """Commit or roll back: directly when already on the connection's thread, else in one trip there."""
        try:
            if _on_thread_of(self._connection):
                self._finish(how)
            elif self._gate is None:
                getattr(super(), how)()
            else:   # the gate is released on the thread that took it, right after the commit
                self.await_(self._connection._execute(lambda: self._finish(how)))
        except Exception as error:
            self._handle_exception(error)

    def _finish(self, how: str) -> None:
        try:
            getattr(self._connection._conn, how)()
        finally:
            if self._gate is not None:
                self._gate.leave()


def _on_thread_of(aio: Any) -> bool:
    return threading.current_thread() is aio._thread


class OneTripDbapi(AsyncAdapt_aiosqlite_dbapi):
    """Pass as `module=` to `create_async_engine` for a `sqlite+aiosqlite` URL."""

    gate_path: Optional[Path] = None   # set: every connection's transactions take this file's lock

    def connect(self, *arg, **kw):
        if kw.get("async_fallback"):
            return super().connect(*arg, **kw)
        adapted = super().connect(*arg, **kw)
        connection = OneTripConnection(self, adapted._connection)
        connection._gate = ProcessGate(self.gate_path) if self.gate_path is not None else None
        return connection


def one_trip_dbapi(gate_path: Optional[Path] = None) -> OneTripDbapi:
    import sqlite3

    import aiosqlite

    dbapi = OneTripDbapi(aiosqlite, sqlite3)
    dbapi.gate_path = gate_path
    return dbapi
