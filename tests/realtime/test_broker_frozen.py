"""A frozen Redis (SIGSTOP: connections open, nothing answers) must not hold up writes: events
are published from a bounded background queue, and /healthz answers quickly that the broker
is unreachable. A private redis-server is started for this, so the shared one is untouched."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as redis

from forum.app import create_app
from forum.settings import Settings
from realtime.broker import RedisBroker
from tests.helpers import bearer, categories, make_user
from tests.realtime.support import free_port

REDIS_SERVER = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="needs redis-server")


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    assert REDIS_SERVER is not None
    process = subprocess.Popen(
        [
            REDIS_SERVER,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"redis://127.0.0.1:{port}/0", process
    finally:
        with_cont = process.poll() is None
        if with_cont:
            os.kill(process.pid, signal.SIGCONT)
            process.terminate()
        process.wait(timeout=10)


async def _answering(url: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        async with asyncio.timeout(10):
            while True:
                try:
                    if await client.ping():
                        return
                except redis.ConnectionError:
                    await asyncio.sleep(0.05)
    finally:
        await client.aclose()


@pytest.fixture
async def frozen_client(
    settings: Settings, private_redis: tuple[str, subprocess.Popen[bytes]]
) -> AsyncIterator[tuple[httpx.AsyncClient, subprocess.Popen[bytes]]]:
    url, process = private_redis
    await _answering(url)
    application = create_app(dataclasses.replace(settings, broker_url=url), manage_db=False)
    transport = httpx.ASGITransport(app=application)
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        yield client, process
        os.kill(process.pid, signal.SIGCONT)  # let the shutdown drain


async def test_writes_do_not_wait_for_a_frozen_redis(
    frozen_client: tuple[httpx.AsyncClient, subprocess.Popen[bytes]], db: str
) -> None:
    client, process = frozen_client
    cats = await categories()
    alice = await make_user("alice")
    headers = await bearer(alice)
    first = await client.post(
        "/api/v1/topics",
        json={"category": cats["iot"].slug, "title": "Seals at the border", "body": "one"},
        headers=headers,
    )
    assert first.status_code == 201, first.text
    topic_id = first.json()["id"]

    os.kill(process.pid, signal.SIGSTOP)  # connections stay open; nothing answers
    # Each write used to take 10 s (a 5 s socket timeout, retried once) after its commit.
    async with asyncio.timeout(5):
        for n in range(5):
            reply = await client.post(
                f"/api/v1/topics/{topic_id}/posts", json={"body": f"reply {n}"}, headers=headers
            )
            assert reply.status_code == 201
        health = await client.get("/healthz")
    assert health.status_code == 503 or health.json()["broker"] == "unreachable"


async def test_the_background_publisher_returns_at_once_and_keeps_order(
    private_redis: tuple[str, subprocess.Popen[bytes]],
) -> None:
    url, process = private_redis
    await _answering(url)
    broker = RedisBroker(url)
    await broker.connect()
    received: list[int] = []

    async def listen() -> None:
        async for event in broker.subscribe(on_ready=ready.set):
            received.append(int(event["id"]))
            if len(received) == 20:
                return

    ready = asyncio.Event()
    listener = asyncio.create_task(listen())
    await ready.wait()
    for n in range(20):
        await broker.publish({"id": n, "type": "test"})
    async with asyncio.timeout(10):
        await listener
    assert received == list(range(20))

    os.kill(process.pid, signal.SIGSTOP)
    async with asyncio.timeout(2):  # the queue takes them; nothing waits for Redis
        for n in range(100):
            await broker.publish({"id": n, "type": "test"})
    assert broker.pending() >= 90
    os.kill(process.pid, signal.SIGCONT)
    await broker.disconnect()
