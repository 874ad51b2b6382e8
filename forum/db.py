"""Database configuration, start-up and shutdown, and a query counter for tests and benchmarks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tortoise import Tortoise, connections
from tortoise.backends.base.config_generator import expand_db_url

from forum.settings import SettingsError

APP_LABEL = "forum"
MODELS_MODULE = "forum.models"
KNOWLEDGE_MODELS = "knowledge.models"  # the knowledge space's tables, in the same app
READINESS_MODELS = "readiness.models"  # the readiness self-assessment's tables
MIGRATIONS_MODULE = "forum.migrations"


def tortoise_config(database_url: str) -> dict[str, Any]:
    url = database_url
    scheme = urlsplit(url).scheme
    if scheme in {"postgresql", "asyncpg"}:
        url = "postgres" + url[len(scheme) :]
    connection: str | dict[str, Any] = url
    if scheme == "sqlite":
        path = url[len("sqlite://") :].split("?", 1)[0]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Statements on the event loop's thread, not aiosqlite's (see forum/sqlite_inline.py).
        connection = expand_db_url(url)
        connection["engine"] = "forum.sqlite_inline"
    elif scheme in {"postgres", "postgresql", "asyncpg"}:
        connection = expand_db_url(url)
        connection["credentials"]["reset"] = _released
    return {
        "connections": {"default": connection},
        "apps": {
            APP_LABEL: {
                "models": [MODELS_MODULE, KNOWLEDGE_MODELS, READINESS_MODELS],
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def _released(connection: Any) -> None:
    """What asyncpg runs as a pooled connection goes back, after its own part (an open
    transaction rolled back, listeners dropped): nothing more. Its default sends
    `pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`, one more round trip after
    every query, for session state the forum never leaves on a connection: its advisory locks
    are the transaction's (`pg_advisory_xact_lock`), it never LISTENs or SETs on a pooled
    connection, and its cursors live inside transactions."""


async def init_db(database_url: str) -> None:
    """Connect and prove the connection works, or raise SettingsError with one clear line."""
    try:
        # The lifespan runs in its own task; requests run in others and must see this context.
        await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)
        await connections.get("default").execute_query("SELECT 1")
    except Exception as exc:  # any driver error means the same thing to an operator
        await close_db()
        raise SettingsError(f"cannot reach the database {_redact(database_url)}: {exc}") from exc


async def close_db() -> None:
    from forum.queries.sql import close_pg_readers, close_readers

    with contextlib.suppress(Exception):  # a database gone away: they are dropped below
        await close_pg_readers()
    close_readers()
    with contextlib.suppress(Exception):  # closing a connection that never opened is fine
        await Tortoise.close_connections()


async def migrate(database_url: str) -> list[str]:
    """Apply every committed migration; returns the names applied."""
    from tortoise.migrations.api import migrate as run_migrations

    applied: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(f"{app_label}.{name}")

    try:
        await run_migrations(config=tortoise_config(database_url), progress=progress)
    finally:
        await close_db()
    return applied


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


BACKGROUND = "background:"  # the name prefix of the app's own periodic tasks


def _in_background() -> bool:
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running loop
        return False
    return task is not None and task.get_name().startswith(BACKGROUND)


class QueryCounter(logging.Handler):
    """Counts the SQL statements Tortoise sends (it logs each one at DEBUG)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith(("Created connection", "Closed connection")):
            return
        if _in_background():  # the app's own loops (outbox, digests, ...): not the request's
            return
        self.statements.append(message)

    @property
    def count(self) -> int:
        return len(self.statements)


@contextmanager
def count_queries() -> Iterator[QueryCounter]:
    logger = logging.getLogger("tortoise.db_client")
    counter = QueryCounter()
    previous = logger.level
    logger.addHandler(counter)
    logger.setLevel(logging.DEBUG)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(previous)
