"""Tortoise's SQLite client with its statements run on the event loop's own thread.

Tortoise talks to SQLite through aiosqlite: every statement is handed to aiosqlite's thread,
and its result comes back through the event loop. Under load the loop is busy with page views,
so each statement of a write waited for the loop to come round (tens of milliseconds), and
Tortoise's one connection lock made the next write wait for all of that: a reply took seconds
and a batch of read positions waited seconds for the lock (ARCHITECTURE.md, Speed). A SQLite
statement itself takes microseconds, and a commit's fsync (WAL, `synchronous=FULL`: every
committed reply survives a power cut) about 0.4 ms on this machine, far less than the hop, so
here they run inline, as the hot reads already do (`forum/queries/sql.py`): a transaction runs
from BEGIN to COMMIT without leaving the loop, unless the action awaits something else.

Another process holding the write lock makes a statement wait in SQLite's busy handler, on the
loop's thread, for at most `BUSY_TIMEOUT` seconds; with every transaction this short, that
wait is short too. PostgreSQL is unaffected (asyncpg is truly asynchronous).

The configuration names this module as the SQLite engine (`forum.db.tortoise_config`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from tortoise.backends.sqlite.client import SqliteClient

from forum.queries.sql import committed

BUSY_TIMEOUT = 5.0


class InlineCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def close(self) -> None:
        self._cursor.close()

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount


class InlineConnection:
    """The part of `aiosqlite.Connection` that Tortoise uses, done at once on this thread.

    After anything that may have committed (a statement outside a transaction, COMMIT), the
    loop's read-only connection is told to look at `data_version` again before its next read:
    it reads the version once per batch of callbacks, and a commit made inline happens inside
    the batch."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection

    def _after(self) -> None:
        if not self._conn.in_transaction:
            committed()

    @property
    def total_changes(self) -> int:
        return self._conn.total_changes

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> InlineCursor:
        if sql == "BEGIN":
            # Take the write lock at the start: a deferred transaction that read first and
            # then writes after another process committed fails at once (SQLITE_BUSY, no busy
            # wait), while an immediate one waits its turn. Transactions here are short.
            sql = "BEGIN IMMEDIATE"
        try:
            return InlineCursor(self._conn.execute(sql, tuple(parameters or ())))
        finally:
            self._after()

    async def execute_fetchall(
        self, sql: str, parameters: Iterable[Any] | None = None
    ) -> list[sqlite3.Row]:
        try:
            return self._conn.execute(sql, tuple(parameters or ())).fetchall()
        finally:
            self._after()

    async def execute_insert(
        self, sql: str, parameters: Iterable[Any] | None = None
    ) -> sqlite3.Row | None:
        try:
            cursor = self._conn.execute(sql, tuple(parameters or ()))
            row: sqlite3.Row | None = cursor.execute("SELECT last_insert_rowid()").fetchone()
            return row
        finally:
            self._after()

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> InlineCursor:
        try:
            return InlineCursor(self._conn.executemany(sql, [tuple(p) for p in parameters]))
        finally:
            self._after()

    async def executescript(self, script: str) -> InlineCursor:
        try:
            return InlineCursor(self._conn.executescript(script))
        finally:
            self._after()

    async def commit(self) -> None:
        self._conn.commit()
        committed()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self._conn.close()


class InlineSqliteClient(SqliteClient):
    async def create_connection(self, with_db: bool) -> None:
        if self._connection:
            return
        raw = sqlite3.connect(
            self.filename, isolation_level=None, timeout=BUSY_TIMEOUT, check_same_thread=False
        )
        raw.row_factory = sqlite3.Row
        connection = InlineConnection(raw)
        self._connection = connection  # type: ignore[assignment]
        for pragma, value in self.pragmas.items():
            await connection.execute(f"PRAGMA {pragma}={value}")
        await self._post_connect()


client_class = InlineSqliteClient
