"""GET /healthz tells an operator whether the database and the broker answer."""

from __future__ import annotations

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
