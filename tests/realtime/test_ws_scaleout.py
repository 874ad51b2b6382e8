"""Many processes behave like one: events cross workers through Redis, and when Redis goes away
posting still works and clients still get every event from the log.

These need the real Redis (FORUM_TEST_REDIS_URL, which CI sets); each test uses its own pub/sub
channel so parallel runs on one Redis never hear each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE

from forum.actions.posts import do_create_post
from forum.actions.topics import do_create_topic
from forum.db import close_db, tortoise_config
from forum.models import Topic
from forum.settings import Settings
from realtime.limits import Limits
from tests.helpers import bearer, categories, make_user, relax_moderation
from tests.realtime.support import client, eventually, free_port, serving
from tests.served import forum_serve, healthy, two_servers

REDIS_URL = os.environ.get("FORUM_TEST_REDIS_URL", "")
pytestmark = pytest.mark.skipif(not REDIS_URL, reason="set FORUM_TEST_REDIS_URL")


def private_channel(url: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}channel=forum-test-{uuid.uuid4().hex}"


@dataclass
class SharedForum:
    database_url: str
    headers: dict[str, str]
    topic_id: int


@pytest.fixture
async def shared_forum(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[SharedForum]:
    """One SQLite database that several server processes open."""
    path = tmp_path / "shared.sqlite3"
    shutil.copy(sqlite_template, path)
    url = f"sqlite://{path}"
    EXECUTOR_CACHE.clear()
    await Tortoise.init(config=tortoise_config(url))
    try:
        await relax_moderation()
        cats = await categories()
        alice = await make_user("alice")
        topic, _ = await do_create_topic(alice, cats["cybersecurity"], "Across workers", "x")
        headers = await bearer(alice)
    finally:
        await close_db()
    yield SharedForum(url, headers, topic.id)


def ws_url(address: str) -> str:
    return f"ws://{address}/ws"


async def test_a_post_made_through_one_process_reaches_clients_of_another(
    shared_forum: SharedForum, tmp_path: Path
) -> None:
    broker = private_channel(REDIS_URL)
    async with two_servers(tmp_path, shared_forum.database_url, broker) as (a, b):
        channel = f"topic:{shared_forum.topic_id}"
        async with (
            client(ws_url(a), headers=shared_forum.headers) as on_a,
            client(ws_url(b), headers=shared_forum.headers) as on_b,
            httpx.AsyncClient(headers=shared_forum.headers) as http,
        ):
            await on_a.subscribe(channel)
            await on_b.subscribe(channel)
            for address, body in ((a, "through A"), (b, "through B")):
                created = await http.post(
                    f"http://{address}/api/v1/topics/{shared_forum.topic_id}/posts",
                    json={"body": body},
                )
                assert created.status_code == 201, created.text
                (seen_on_a,) = await on_a.events(1)
                (seen_on_b,) = await on_b.events(1)
                assert seen_on_a == seen_on_b
                assert seen_on_a["data"]["post_id"] == created.json()["id"]


def worker_count(process: subprocess.Popen[bytes]) -> int:
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    return sum(
        b"multiprocessing" in Path(f"/proc/{pid}/cmdline").read_bytes()
        and b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
        for pid in children
    )


async def test_forum_serve_with_workers_shares_events_and_closes_with_1012(
    shared_forum: SharedForum, tmp_path: Path
) -> None:
    broker = private_channel(REDIS_URL)
    with forum_serve(tmp_path, "workers", shared_forum.database_url, broker, "--workers", "2") as (
        address,
        process,
    ):
        await healthy(address, process)
        await eventually(lambda: worker_count(process) >= 2, within=10)
        channel = f"topic:{shared_forum.topic_id}"
        async with contextlib.AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(
                    client(ws_url(address), headers=shared_forum.headers)
                )
                for _ in range(4)
            ]
            for ws in clients:
                await ws.subscribe(channel)
            async with httpx.AsyncClient(headers=shared_forum.headers) as http:
                for n in range(2):
                    created = await http.post(
                        f"http://{address}/api/v1/topics/{shared_forum.topic_id}/posts",
                        json={"body": f"post {n}"},
                    )
                    assert created.status_code == 201, created.text
            for ws in clients:
                assert len(await ws.events(2)) == 2
            process.terminate()
            assert [await ws.close_code(within=10) for ws in clients] == [1012] * 4


class RedisProxy:
    """A TCP relay in front of the real Redis, to take Redis away and bring it back."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._relays: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def stop(self) -> None:
        """Refuse new connections and cut the open ones, as a Redis that died would."""
        if self._server is None:
            return
        self._server.close()
        self._server = None
        for writer in self._writers:
            writer.transport.abort()
        await asyncio.gather(*self._relays, return_exceptions=True)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._relays.add(task)
        self._writers.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
            self._writers.add(up_writer)
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        except OSError:
            writer.transport.abort()
        finally:
            self._relays.discard(task)

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        sink.transport.abort()


async def test_without_redis_posting_works_and_clients_still_get_every_event(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    target = httpx.URL(REDIS_URL)
    proxy = RedisProxy((target.host or "127.0.0.1", target.port or 6379))
    await proxy.start()
    database = target.path.strip("/") or "0"
    broker = private_channel(f"redis://127.0.0.1:{proxy.port}/{database}")
    settings = dataclasses.replace(settings, broker_url=broker)
    cats = await categories()
    alice = await make_user("alice")
    topic, _ = await do_create_topic(alice, cats["cybersecurity"], "Redis goes away", "x")
    category = cats["cybersecurity"]
    try:
        async with (
            serving(settings, limits=Limits(poll_interval=0.5)) as served,
            client(served, headers=await bearer(alice)) as ws,
        ):
            _, answer = await ws.subscribe(f"topic:{topic.id}")
            await do_create_post(alice, topic, category, "with redis")
            assert [f["data"]["number"] for f in await ws.events(1)] == [2]

            await proxy.stop()
            started = asyncio.get_running_loop().time()
            await do_create_post(alice, topic, category, "redis is down")
            assert asyncio.get_running_loop().time() - started < 1.0  # posting is not held up
            assert [f["data"]["number"] for f in await ws.events(1)] == [3]  # from the log
            async with client(served, headers=await bearer(alice)) as late:
                replayed, _ = await late.subscribe(f"topic:{topic.id}", since=answer["last_id"])
                assert [f["data"]["number"] for f in replayed] == [2, 3]

            await proxy.start()
            await eventually(lambda: served.hub.broker_live, within=5)
            failures = len([r for r in caplog.records if "publish failed" in r.getMessage()])
            assert failures >= 1
            await do_create_post(alice, topic, category, "redis is back")
            assert [f["data"]["number"] for f in await ws.events(1)] == [4]
            assert failures == len(  # Redis carried this one again
                [r for r in caplog.records if "publish failed" in r.getMessage()]
            )
            assert await ws.silence() == []
            assert await Topic.filter(id=topic.id).values_list("post_count", flat=True) == [4]
    finally:
        await proxy.stop()
