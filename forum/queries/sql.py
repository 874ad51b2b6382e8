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

import logging
import re
import sqlite3
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

from tortoise import connections
from tortoise.models import Model

from forum.events import in_atomic

_log = logging.getLogger("tortoise.db_client")  # counted like every other query
_readers: dict[str, sqlite3.Connection] = {}

_PLACEHOLDER = re.compile(r"\?")


def _dialect() -> str:
    return str(connections.get("default").capabilities.dialect)


@lru_cache(maxsize=256)
def _for_postgres(query: str) -> str:
    counter = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda _m: f"${next(counter)}", query)


def _reader(filename: str) -> sqlite3.Connection:
    reader = _readers.get(filename)
    if reader is None:
        reader = sqlite3.connect(filename, isolation_level=None, check_same_thread=False)
        reader.row_factory = sqlite3.Row
        reader.execute("PRAGMA query_only = ON")
        _readers[filename] = reader
    return reader


def close_readers() -> None:
    for reader in _readers.values():
        reader.close()
    _readers.clear()


async def fetch(query: str, *args: Any) -> list[dict[str, Any]]:
    conn = connections.get("default")
    dialect = _dialect()
    if dialect == "postgres":
        query = _for_postgres(query)
    elif dialect == "sqlite" and not in_atomic():
        filename = str(getattr(conn, "filename", ""))
        if filename and filename != ":memory:":
            if _log.isEnabledFor(logging.DEBUG):
                _log.debug("%s: %s", query, list(args))
            return [dict(row) for row in _reader(filename).execute(query, args).fetchall()]
    rows: list[dict[str, Any]] = await conn.execute_query_dict(query, list(args))
    return rows


def in_list(values: list[int]) -> str:
    """Placeholders for an IN (...) list of known length."""
    return ",".join("?" * len(values)) or "NULL"


M = TypeVar("M", bound=Model)


@lru_cache(maxsize=64)
def columns(model: type[Model]) -> tuple[str, ...]:
    """Every stored column of a model (after Tortoise is initialised: includes FK ids)."""
    return tuple(model._meta.fields_db_projection.values())


def from_row(model: type[M], row: dict[str, Any], prefix: str = "") -> M:
    """Build a model instance from a raw row through Tortoise's own fast path."""
    return model._init_from_db(**{column: row[prefix + column] for column in columns(model)})


def select_list(model: type[Model], alias: str, prefix: str = "") -> str:
    return ", ".join(f"{alias}.{column} AS {prefix}{column}" for column in columns(model))


def as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def as_bool(value: Any) -> bool:
    return bool(value)
