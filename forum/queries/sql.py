"""Hand-written SQL for the hottest read paths, on SQLite and PostgreSQL alike.

Building ORM objects costs ~10x the query itself on a topic page, so hot reads fetch plain rows
here and turn them into small dataclasses. Write `?` placeholders; they become `$n` on
PostgreSQL.

On SQLite, a read outside any transaction goes to a read-only `sqlite3` connection on the event
loop's own thread: these are indexed reads of a few rows that take microseconds, while a hop to
aiosqlite's thread costs a hundred. WAL mode lets this reader see every committed write. Reads
inside `forum.events.atomic()` use the transaction's connection, so they see its own writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Hashable
from datetime import UTC, datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any, TypeVar

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.fields import JSONField
from tortoise.models import Model

from forum.events import in_atomic

_log = logging.getLogger("tortoise.db_client")  # counted like every other query
_readers: dict[str, _Reader] = {}
_bound: _Reader | None = None  # the reader of the file behind "default", once known
_pg: _PgReaders | None = None  # PostgreSQL's readers behind "default", once known
_known = False  # whether _bound and _pg say what answers reads (see _resolve)
_dialect = ""  # the default connection's, once asked

_PLACEHOLDER = re.compile(r"\?")


@lru_cache(maxsize=256)
def postgres_placeholders(query: str) -> str:
    """The query with its `?` placeholders written as PostgreSQL's `$1, $2, ...`."""
    counter = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda _m: f"${next(counter)}", query)


_ANSWERS = 2048  # remembered answers per database file
_ANSWER_ROWS = 64  # longer answers are not remembered


class _Reader:
    """A read-only connection to one SQLite file that remembers small answers until anything
    commits.

    `PRAGMA data_version` changes whenever another connection, in this process or another,
    commits to the file; every write goes through other connections (this one is query-only),
    so an answer given at the current version is still the database's answer.

    The version is read once per batch of event-loop callbacks, not once per query: the reads
    of one batch then happen at one instant, as if the requests had arrived a few microseconds
    earlier. Read-your-writes still holds: whatever waited for a commit (in this process, an
    aiosqlite result delivered through the loop; in another, a response the client read before
    sending its next request) resumes from a callback queued after that commit, so after the
    expiry queued with the earlier reading of the version.
    """

    def __init__(self, filename: str) -> None:
        self.connection = sqlite3.connect(filename, isolation_level=None, check_same_thread=False)
        self.connection.execute("PRAGMA query_only = ON")
        self.version = -1
        self.answers: dict[tuple[str, tuple[Any, ...]], list[dict[str, Any]]] = {}
        # What callers made of remembered answers (`keep`), dropped with them; `generation`
        # counts the droppings, so a value made before one is never kept after it.
        self.derived: dict[Hashable, Any] = {}
        self.generation = 0
        self.fresh = False  # the version was read in the current batch of callbacks
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = 0

    def _expire(self) -> None:
        self.fresh = False

    def _check_version(self) -> None:
        if self.fresh:
            return
        version = self.connection.execute("PRAGMA data_version").fetchone()[0]
        if version != self.version:
            self.answers.clear()
            self.derived.clear()
            self.generation += 1
            self.version = version
        loop, thread = self.loop, threading.get_ident()
        # A thread runs one loop at a time: the remembered one, if it runs in this thread, is
        # the running loop (asyncio.get_running_loop() would cost a system call every time).
        if loop is None or thread != self.thread or not loop.is_running():
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop: read the version on every query
            self.loop, self.thread = loop, thread
        self.fresh = True
        loop.call_soon(self._expire)

    def rows(self, query: str, args: tuple[Any, ...], remember: bool) -> list[dict[str, Any]]:
        self._check_version()
        key = (query, args)
        try:
            answer = self.answers.get(key) if remember else None
        except TypeError:  # an unhashable argument: ask without remembering
            remember = False
        if not remember:
            return self._ask(query, args)
        if answer is None:
            answer = self._ask(query, args)
            if len(answer) <= _ANSWER_ROWS:
                if len(self.answers) >= _ANSWERS:
                    del self.answers[next(iter(self.answers))]  # the oldest
                self.answers[key] = answer
        return list(answer)  # rows are shared between callers: read them, never change them

    def _ask(self, query: str, args: tuple[Any, ...]) -> list[dict[str, Any]]:
        # Plain tuples zipped with the column names: ~40% cheaper than dict(sqlite3.Row) for
        # a page of posts (20 rows of 19 columns: 68 against 113 us here).
        cursor = self.connection.execute(query, args)
        rows = cursor.fetchall()
        if not rows:
            return []
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in rows]

    def close(self) -> None:
        self.answers.clear()
        self.derived.clear()
        self.generation += 1
        self.connection.close()


def _reader(filename: str) -> _Reader:
    reader = _readers.get(filename)
    if reader is None:
        reader = _readers[filename] = _Reader(filename)
    return reader


def committed() -> None:
    """Something committed on this thread (`forum/sqlite_inline.py`): the next read asks
    `data_version` again instead of trusting the reading of the current batch of callbacks."""
    for reader in _readers.values():
        reader.fresh = False


def close_readers() -> None:
    """Forget the default connection's readers (`forum.db.close_db`, before Tortoise closes
    its own): SQLite's are closed here, PostgreSQL's by `close_pg_readers()`."""
    global _bound, _pg, _known, _dialect
    _bound, _known, _dialect = None, False, ""
    for reader in _readers.values():
        reader.close()
    _readers.clear()
    if _pg is not None:
        _pg.closed = True  # any still out are closed as they come back
        _pg.terminate()  # close_pg_readers() closed them politely first, where it could
        _pg = None


async def close_pg_readers() -> None:
    if _pg is not None:
        await _pg.close()


class _PgReaders:
    """Connections of their own for hot reads on PostgreSQL, outside any transaction.

    Through Tortoise's pool a read paid ~85 us of this process's CPU, ~50 us of it asyncpg's:
    the rest went to acquiring and releasing a pooled connection (a shielded task each time)
    and to checking the event loop. These connections are handed out from a plain list: a
    read takes one and gives it back when its answer is in; when all `LIMIT` are out, reads
    wait their turn, first come first served (sending them to the pool instead tripled the
    p99 under load: they queued behind the writes there). A connection that failed or was
    cancelled mid-read is closed, never handed out again. Reads see every committed write, as
    on any other connection (READ COMMITTED), so a request sees what the one before it wrote.
    """

    LIMIT = 8  # per process, beside the pool (writes, transactions)

    def __init__(self, arguments: dict[str, Any]) -> None:
        self.arguments = arguments  # asyncpg.connect's, as Tortoise opened its pool with
        self.idle: list[Any] = []
        self.waiting: deque[asyncio.Future[Any]] = deque()
        self.current: set[Any] = set()  # opened on the current loop, idle or out
        self.connecting = 0  # being opened
        self.closed = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = 0

    @classmethod
    def of(cls, client: BaseDBAsyncClient) -> _PgReaders | None:
        """Readers connecting as the client's pool does, or None before its pool exists (its
        connection template is filled when the pool is created, emptied when it closes)."""
        import inspect

        import asyncpg

        template = getattr(client, "_template", None)
        if not template:
            return None
        accepted = inspect.signature(asyncpg.connect).parameters
        arguments = {k: v for k, v in template.items() if k in accepted and k != "loop"}
        arguments["password"] = getattr(client, "password", None)  # kept out of the template
        return cls(arguments)

    @property
    def open(self) -> int:
        return len(self.current) + self.connecting

    def _check_loop(self) -> None:
        """Drop connections of another event loop (asyncpg's are bound to the loop they were
        opened on; a test suite runs many). As in `_Reader`, the running loop is asked only
        when the remembered one is not running in this thread."""
        loop, thread = self.loop, threading.get_ident()
        if loop is not None and thread == self.thread and loop.is_running():
            return
        running = asyncio.get_running_loop()
        if running is not loop:
            self.terminate()
            self.current.clear()  # any still out belong to the old loop: closed when back
            self.connecting = 0
            for turn in self.waiting:  # the old loop's: they will never run here
                if not turn.done():
                    turn.cancel()
            self.waiting.clear()
        self.loop, self.thread = running, thread

    async def _take(self) -> Any:
        import asyncpg

        while self.idle:
            connection = self.idle.pop()
            if not connection.is_closed():
                return connection
            self._drop(connection)  # the server closed it while idle (a restart)
        if self.open < self.LIMIT:
            self.connecting += 1
            try:
                connection = await asyncpg.connect(**self.arguments)
            except BaseException:
                self._wake()
                raise
            finally:
                self.connecting = max(self.connecting - 1, 0)  # 0 if the loop changed meanwhile
            self.current.add(connection)
            return connection
        assert self.loop is not None
        turn = self.loop.create_future()
        self.waiting.append(turn)
        try:
            return await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # handed something as it was cancelled
                if turn.exception() is None:
                    self._give_back(turn.result())
                else:
                    self._wake()  # its turn to open one passes to the next in line
            raise

    def _give_back(self, connection: Any) -> None:
        if self.closed or connection not in self.current:  # closed, or of a loop gone by
            self._drop(connection)
            return
        while self.waiting:
            turn = self.waiting.popleft()
            if not turn.done():
                turn.set_result(connection)
                return
        self.idle.append(connection)

    def _wake(self) -> None:
        """A connection was closed: the first waiter may open another."""
        while self.waiting:
            turn = self.waiting.popleft()
            if not turn.done():
                turn.set_exception(_Retry())
                return

    def _lose(self, connection: Any) -> None:
        """Close a connection that is out, and let the next in line open another."""
        self._drop(connection)
        self._wake()

    def _drop(self, connection: Any) -> None:
        self.current.discard(connection)
        with contextlib.suppress(RuntimeError):  # its loop is closed: nothing left to stop
            connection.terminate()

    async def rows(self, query: str, args: tuple[Any, ...]) -> list[dict[str, Any]]:
        import asyncpg

        self._check_loop()
        while True:
            try:
                connection = await self._take()
                break
            except _Retry:
                continue
        try:
            records = await connection.fetch(query, *args)
        except asyncpg.PostgresError as exc:  # the server refused the statement
            if connection.is_closed():  # and went away (shutting down, say)
                self._lose(connection)
            else:
                self._give_back(connection)
            translated = _translated(exc)
            if translated is exc:
                raise
            raise translated from exc
        except BaseException:  # lost, or cancelled mid-read: never handed out again
            self._lose(connection)
            raise
        self._give_back(connection)
        return [dict(record) for record in records]

    def terminate(self) -> None:
        idle, self.idle = self.idle, []
        for connection in idle:
            self._drop(connection)

    async def close(self) -> None:
        """Close the idle connections; those still out are closed as they come back."""
        self.closed = True
        idle, self.idle = self.idle, []
        self.current.difference_update(idle)
        try:
            for connection in idle:
                try:
                    await asyncio.wait_for(connection.close(), 5)
                except Exception:  # closing is best effort: the server drops it either way
                    self._drop(connection)
        finally:
            for connection in idle:
                if not connection.is_closed():
                    self._drop(connection)


class _Retry(Exception):
    """A waiting read may open a connection of its own: one was closed."""


def _translated(exc: Exception) -> Exception:
    """An asyncpg error as Tortoise would have raised it for the same read."""
    import asyncpg
    from tortoise.exceptions import IntegrityError, OperationalError

    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return IntegrityError(exc)
    if isinstance(exc, asyncpg.SyntaxOrAccessError | asyncpg.exceptions.DataError):
        return OperationalError(exc)
    return exc


def _resolve() -> None:
    """Learn once what answers reads on the default connection: asking Tortoise for it checks
    the event loop, a system call per query, and it stays the same until close_readers()."""
    global _bound, _pg, _known, _dialect
    conn = connections.get("default")
    dialect = _dialect = conn.capabilities.dialect
    filename = str(getattr(conn, "filename", ""))
    if dialect == "sqlite" and filename not in ("", ":memory:"):
        _bound = _reader(filename)
    elif dialect == "postgres":
        _pg = _PgReaders.of(conn)  # asyncpg's client, once its pool is open
        if _pg is None:
            return  # asked again on the next read
    _known = True


def _sqlite_reader() -> _Reader | None:
    """The reader that answers a read asked now, or None: PostgreSQL, an in-memory SQLite
    database, or inside a transaction (whose own connection must answer)."""
    if in_atomic():
        return None
    if not _known:
        _resolve()
    return _bound


async def fetch(query: str, *args: Any, remember: bool = True) -> list[dict[str, Any]]:
    """The rows a query answers, as dicts shared with other callers (never change them).

    `remember=False` for large answers that are cached where they are shaped (pages of posts).
    """
    if not in_atomic():
        if not _known:
            _resolve()
        if _bound is not None or _pg is not None:
            if _pg is not None:
                query = postgres_placeholders(query)
            # Logged (and counted by the query-count tests) whether or not the answer was
            # remembered: the count describes the reads the code asks for.
            if _log.isEnabledFor(logging.DEBUG):
                _log.debug("%s: %s", query, list(args))
            if _bound is not None:
                return _bound.rows(query, args, remember)
            assert _pg is not None
            return await _pg.rows(query, args)
    # In a transaction (its own connection answers), in memory, or before the pool exists:
    # Tortoise asks, and logs it.
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        query = postgres_placeholders(query)
    rows: list[dict[str, Any]] = await conn.execute_query_dict(query, list(args))
    return rows


def remembers() -> bool:
    """Whether a read asked now may be answered from a remembered answer (SQLite, outside a
    transaction; see `_Reader`). A query that is the same for every viewer then pays for
    asking apart from the viewer's own part: every viewer shares its remembered answer. On
    PostgreSQL every query is a round trip, and one statement for both is cheaper."""
    return _sqlite_reader() is not None


def snapshot() -> int | None:
    """The generation of the answers a read asked now gets where answers are remembered
    (SQLite, outside a transaction: `_Reader`), else None.

    A value made only from what reads answered at one snapshot (a list's shape, built
    categories) may be kept with `keep(snap, key, value)` and found again with
    `kept(snap, key)` until the next commit anywhere drops the remembered answers, and it with
    them. Take the snapshot before the reads the value is made of."""
    reader = _sqlite_reader()
    if reader is None:
        return None
    reader._check_version()
    return reader.generation


def kept(snap: int | None, key: Hashable) -> Any:
    """What `keep` kept under `key` at this snapshot, or None (see `snapshot`)."""
    reader = _at(snap)
    return None if reader is None else reader.derived.get(key)


def keep(snap: int | None, key: Hashable, value: Any) -> None:
    """Keep a value made of reads answered at `snap` until the next commit; ignored when a
    commit came since (or where answers are not remembered). The value is shared: whoever
    finds it reads it, never changes it."""
    reader = _at(snap)
    if reader is None:
        return
    if len(reader.derived) >= _ANSWERS:
        del reader.derived[next(iter(reader.derived))]  # the oldest
    reader.derived[key] = value


def _at(snap: int | None) -> _Reader | None:
    """The reader, if its answers are still those of `snap` (no commit came since)."""
    reader = _bound
    if snap is None or reader is None:
        return None
    reader._check_version()
    return reader if reader.generation == snap else None


def on_postgres() -> bool:
    """Whether reads go to PostgreSQL, where a statement written for it alone may be sent."""
    if not _dialect:
        _resolve()
    return _dialect == "postgres"


async def execute(conn: BaseDBAsyncClient, query: str, *args: Any) -> list[dict[str, Any]]:
    """A hand-written statement (`?` placeholders) on `conn`, a transaction's or the default
    connection, answering its rows (`RETURNING`). Datetimes are passed as Tortoise stores them
    on SQLite (`str(datetime)`)."""
    if conn.capabilities.dialect == "postgres":
        return await conn.execute_query_dict(postgres_placeholders(query), list(args))
    values = [str(a) if isinstance(a, datetime) else a for a in args]
    return await conn.execute_query_dict(query, values)


def in_list(values: list[int]) -> str:
    """Placeholders for an IN (...) list of known length."""
    return placeholders(len(values))


def placeholders(count: int) -> str:
    """`count` placeholders for an IN (...) list (NULL for none: matches nothing)."""
    return ",".join("?" * count) or "NULL"


M = TypeVar("M", bound=Model)


@lru_cache(maxsize=64)
def columns(model: type[Model]) -> tuple[str, ...]:
    """Every stored column of a model (after Tortoise is initialised: includes FK ids)."""
    return tuple(model._meta.fields_db_projection.values())


@lru_cache(maxsize=64)
def _row_values(model: type[Model], prefix: str) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """The model's column values out of a row, in `columns()` order, as a tuple."""
    names = [prefix + column for column in columns(model)]
    if len(names) == 1:  # itemgetter of one name gives the value, not a tuple
        return lambda row: (row[names[0]],)
    return itemgetter(*names)


def _build(model: type[M], values: tuple[Any, ...]) -> M:
    return model._init_from_db(**dict(zip(columns(model), values, strict=True)))


# Built instances by model and the exact column values they were built from. Building one
# (type conversion, datetime parsing) costs tens of microseconds; the same session, user and
# topic rows come back on request after request. The memo is a pure function of the row, so it
# never goes stale; callers get a copy, never the shared instance.
_BUILT: dict[tuple[type[Model], tuple[Any, ...]], Model] = {}
_BUILT_SIZE = 4096


def from_row(model: type[M], row: dict[str, Any], prefix: str = "", memo: bool = True) -> M:
    """A model instance from a raw row: built through Tortoise's own fast path the first time
    these exact values are seen, copied from that build afterwards (`memo=False`: built, and
    not kept, for a row that will not come again soon)."""
    values = _row_values(model, prefix)(row)
    if not memo:
        return _build(model, values)
    key = (model, values)
    try:
        built = _BUILT[key]
    except KeyError:
        built = _build(model, values)
        if len(_BUILT) >= _BUILT_SIZE:
            _BUILT.clear()
        _BUILT[key] = built
    except TypeError:  # an unhashable column value: build without the memo
        return _build(model, values)
    return _copy(built)  # type: ignore[return-value]


_ATTACH_SLOTS: dict[tuple[type[Model], str], str | None] = {}


def attach(instance: Model, field: str, related: Model) -> None:
    """`instance.<field> = related`, for a related row read together with the instance (its
    foreign key already names it).

    Tortoise's setter checks the type and sets the key on every call: a few microseconds that
    every request paid twice (session -> user, topic -> category). The first attach of a model's
    field goes through the setter and learns where it keeps the object; later ones store it
    there directly. Should a Tortoise version keep it elsewhere, the setter is always used.
    """
    key = (instance.__class__, field)
    slot = _ATTACH_SLOTS.get(key, "")
    if slot:
        instance.__dict__[slot] = related
        return
    setattr(instance, field, related)
    if slot == "":
        kept = [name for name, value in instance.__dict__.items() if value is related]
        _ATTACH_SLOTS[key] = kept[0] if len(kept) == 1 else None


@lru_cache(maxsize=64)
def _mutable_fields(model: type[Model]) -> tuple[str, ...]:
    """Fields whose values a caller could change in place (JSON lists and dicts)."""
    fields = model._meta.fields_map
    return tuple(name for name, field in fields.items() if isinstance(field, JSONField))


def _copy(built: Model) -> Model:
    instance = built.__class__.__new__(built.__class__)
    state = instance.__dict__
    state.update(built.__dict__)
    state["_await_when_save"] = {}
    for name in _mutable_fields(built.__class__):
        state[name] = _json_copy(state[name])
    return instance


def _json_copy(value: Any) -> Any:
    """A JSON value's own copy (lists and dicts of numbers, text, None and booleans): what
    `deepcopy` makes, without its memo and dispatch (most such fields are small or empty)."""
    if isinstance(value, list):
        return [_json_copy(item) for item in value]
    if isinstance(value, dict):
        return {key: _json_copy(item) for key, item in value.items()}
    return value


def select_list(model: type[Model], alias: str, prefix: str = "") -> str:
    return ", ".join(f"{alias}.{column} AS {prefix}{column}" for column in columns(model))


def as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def as_bool(value: Any) -> bool:
    return bool(value)
