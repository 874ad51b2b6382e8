"""Hand-written SQL for the hottest read paths, on SQLite and PostgreSQL alike.

Building ORM objects costs ~10x the query itself on a topic page, so hot reads fetch plain rows
here and turn them into small dataclasses. Write `?` placeholders; they become `$n` on
PostgreSQL.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from tortoise import connections

_PLACEHOLDER = re.compile(r"\?")


def _dialect() -> str:
    return str(connections.get("default").capabilities.dialect)


@lru_cache(maxsize=256)
def _for_postgres(query: str) -> str:
    counter = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda _m: f"${next(counter)}", query)


async def fetch(query: str, *args: Any) -> list[dict[str, Any]]:
    conn = connections.get("default")
    if _dialect() == "postgres":
        query = _for_postgres(query)
    rows: list[dict[str, Any]] = await conn.execute_query_dict(query, list(args))
    return rows


def in_list(values: list[int]) -> str:
    """Placeholders for an IN (...) list of known length."""
    return ",".join("?" * len(values)) or "NULL"


def as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def as_bool(value: Any) -> bool:
    return bool(value)
