"""Fixtures: a migrated database per test (SQLite always, PostgreSQL when configured),
the real ASGI app with its lifespan, and helpers to make users and log them in."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from tortoise import Tortoise, connections
from tortoise.backends.base.executor import EXECUTOR_CACHE

from forum.app import create_app
from forum.db import close_db, migrate, tortoise_config
from forum.settings import Settings
from forum.web.fragments import clear_cache
from tests.helpers import relax_moderation
from tests.mail import SMTPServer

PG_URL = os.environ.get("FORUM_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("FORUM_TEST_REDIS_URL", "")
BACKENDS = ["sqlite"] + (["postgres"] if PG_URL else [])
TEST_SECRET = "test-secret-key"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "forum.sqlite3"
    asyncio.run(migrate(f"sqlite://{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_migrated() -> str:
    async def reset_and_migrate() -> None:
        await Tortoise.init(config=tortoise_config(PG_URL))
        conn = connections.get("default")
        await conn.execute_script("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        await close_db()
        await migrate(PG_URL)

    asyncio.run(reset_and_migrate())
    return PG_URL


async def _truncate_all() -> None:
    conn = connections.get("default")
    rows = await conn.execute_query_dict(
        "SELECT tablename FROM pg_tables"
        " WHERE schemaname = 'public' AND tablename <> 'tortoise_migrations'"
    )
    names = ", ".join(f'"{r["tablename"]}"' for r in rows)
    if names:
        await conn.execute_script(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_migrated"))
    template: Path = request.getfixturevalue("sqlite_template")
    path = tmp_path / "forum.sqlite3"
    shutil.copy(template, path)
    return f"sqlite://{path}"


@pytest.fixture
async def db(database_url: str, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    # Tortoise caches SQL per connection name; tests switch dialects under one name.
    EXECUTOR_CACHE.clear()
    clear_cache()
    await Tortoise.init(config=tortoise_config(database_url))
    if database_url.startswith("postgres"):
        await _truncate_all()
    if request.node.get_closest_marker("moderation_defaults") is None:
        await relax_moderation()
    try:
        yield database_url
    finally:
        await close_db()


@pytest.fixture
def settings(db: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=db,
        broker_url="memory://",
        smtp_url=f"file://{tmp_path}/outbox",
        secret_key=TEST_SECRET,
        base_url="http://testserver",
        var_dir=tmp_path / "var",
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings, manage_db=False)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _no_stray_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("FORUM_DATABASE_URL", "FORUM_BROKER_URL", "FORUM_SMTP_URL", "FORUM_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    yield


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    """A real SMTP server on 127.0.0.1; `smtp.inbox` holds what it received."""
    server = SMTPServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
