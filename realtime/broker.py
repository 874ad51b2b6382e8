"""Carries committed events live between processes; a backend is picked by URL.

`memory://` serves one process; `redis://` serves many. Both round-trip events through JSON so
they behave the same. The broker is only the live path: the `events` table is the record.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

CHANNEL = "forum:events"


class Broker(Protocol):
    url: str

    async def connect(self) -> None: ...
    async def disconnect(self) -> None: ...
    async def publish(self, event: dict[str, Any]) -> None: ...
    def subscribe(self) -> AsyncIterator[dict[str, Any]]: ...
    async def healthy(self) -> bool: ...


class MemoryBroker:
    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._queues: set[asyncio.Queue[str]] = set()

    async def connect(self) -> None:
        return None

    async def disconnect(self) -> None:
        self._queues.clear()

    async def publish(self, event: dict[str, Any]) -> None:
        message = json.dumps(event, separators=(",", ":"), default=str)
        for queue in self._queues:
            queue.put_nowait(message)

    async def subscribe(self) -> AsyncIterator[dict[str, Any]]:
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._queues.add(queue)
        try:
            while True:
                yield json.loads(await queue.get())
        finally:
            self._queues.discard(queue)

    async def healthy(self) -> bool:
        return True


class RedisBroker:
    def __init__(self, url: str) -> None:
        import redis.asyncio as redis

        self.url = url
        self._redis = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)

    async def connect(self) -> None:
        await self._redis.ping()

    async def disconnect(self) -> None:
        await self._redis.aclose()

    async def publish(self, event: dict[str, Any]) -> None:
        # Losing Redis must not lose a post: the event is already in the log, and
        # clients catch up from there when the broker returns.
        try:
            await self._redis.publish(
                CHANNEL, json.dumps(event, separators=(",", ":"), default=str)
            )
        except Exception as exc:
            log.warning("broker publish failed (clients will catch up from the log): %s", exc)

    async def subscribe(self) -> AsyncIterator[dict[str, Any]]:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(CHANNEL)
        try:
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    yield json.loads(message["data"])
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def healthy(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except Exception:
            return False


def create_broker(url: str) -> Broker:
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryBroker(url)
    if scheme in {"redis", "rediss"}:
        return RedisBroker(url)
    raise ValueError(f"unknown broker URL scheme {scheme!r}")
