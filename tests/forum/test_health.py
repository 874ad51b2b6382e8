"""GET /healthz tells an operator whether the database and the broker answer."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator

import httpx


async def test_healthz_reports_database_and_broker(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "broker": "ok",
        "broker_backend": "memory",
    }


async def test_every_response_carries_the_security_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    csp = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


async def test_a_body_over_one_mebibyte_is_refused_with_413(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/topics",
        content=b"x" * (1024 * 1024 + 1),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


async def test_a_streamed_body_over_one_mebibyte_without_a_length_is_refused_with_413(
    client: httpx.AsyncClient,
) -> None:
    """Chunked: no Content-Length announces the size, so the limit counts while reading."""

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):  # 40 x 64 KiB = 2.5 MiB, more than the limit
            yield b"x" * 65536

    response = await client.post(
        "/api/v1/topics", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


@contextlib.asynccontextmanager
async def _writes_blocked(database_url: str) -> AsyncIterator[None]:
    """Another process holds the database's write lock (reads still answer): a stuck writer,
    or what a read-only or full database looks like to a write."""
    if database_url.startswith("sqlite://"):
        holder = sqlite3.connect(database_url[len("sqlite://") :], isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    import asyncpg

    conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        async with conn.transaction():
            await conn.execute("LOCK TABLE site_settings IN EXCLUSIVE MODE")
            yield
    finally:
        await conn.close()


async def test_healthz_reports_the_database_down_while_writes_fail(
    client: httpx.AsyncClient, db: str
) -> None:
    """`SELECT 1` answers while writes wait for a lock that never comes: /healthz says 503
    within its bound, and 200 again once writes go through."""
    assert (await client.get("/healthz")).status_code == 200
    async with _writes_blocked(db):
        assert (await client.get("/")).status_code == 200  # reads still answer
        started = time.monotonic()
        response = await client.get("/healthz")
        # Bounded: the probe's 2 s, plus on SQLite a background writer of this process (the
        # outbox) that may spend its own 5 s busy wait on the loop's thread meanwhile.
        assert time.monotonic() - started < 15
        assert response.status_code == 503
        assert response.json()["status"] == "degraded"
        assert response.json()["database"].startswith("writes fail: "), response.json()
    after = await client.get("/healthz")
    assert after.status_code == 200 and after.json()["database"] == "ok"
