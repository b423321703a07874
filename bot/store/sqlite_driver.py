"""SQLAlchemy's aiosqlite adapter, with each statement run in one trip to the connection's thread.

aiosqlite runs every call on a thread of its own, and SQLAlchemy's adapter makes four such
calls per statement (open a cursor, execute, fetch the rows, close the cursor). Each trip is a
queue hand-off to that thread and a wake-up of the server's loop on the way back: measured on a
customer's turn (nine statements), those trips were most of the turn's database CPU. Here the
four steps run as one function on the same thread, on the same connection, in the same order,
so results, errors and transactions are exactly aiosqlite's; only the trips are fewer.
Server-side cursors (streamed results) keep SQLAlchemy's own code.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection, AsyncAdapt_aiosqlite_cursor, AsyncAdapt_aiosqlite_dbapi,
)

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
        try:
            description, rows, lastrowid, rowcount = self.await_(aio._execute(lambda: fn(aio._conn, *args)))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
            return
        self.description, self._rows, self.lastrowid, self.rowcount = description, rows, lastrowid, rowcount

    def execute(self, operation, parameters=None):
        self._run(_execute, operation, parameters)

    def executemany(self, operation, seq_of_parameters):
        self._run(_executemany, operation, seq_of_parameters)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    def cursor(self, server_side=False):
        if server_side:
            return super().cursor(server_side=True)
        return OneTripCursor(self)


class OneTripDbapi(AsyncAdapt_aiosqlite_dbapi):
    """Pass as `module=` to `create_async_engine` for a `sqlite+aiosqlite` URL."""

    def connect(self, *arg, **kw):
        if kw.get("async_fallback"):
            return super().connect(*arg, **kw)
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


def one_trip_dbapi() -> OneTripDbapi:
    import sqlite3

    import aiosqlite

    return OneTripDbapi(aiosqlite, sqlite3)
