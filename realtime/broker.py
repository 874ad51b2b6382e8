"""Carries committed events live between processes; a backend is picked by URL.

`memory://` serves one process; `redis://` serves many. Both round-trip events through JSON so
they behave the same. The broker is only the live path: the `events` table is the record.

Redis pub/sub ignores the database number, so the channel is named after it
(`forum:events:<db>`); `?channel=name` in the URL picks another (two forums, or test runs, on
one Redis).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncGenerator, Callable
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

log = logging.getLogger(__name__)

CHANNEL = "forum:events"
OUTGOING_MAX = 10_000  # events waiting to be published; beyond, live delivery gives up
PUBLISH_TIMEOUT = 2.0  # seconds for one publish (a frozen Redis: give up, the log has it)
HEALTH_TIMEOUT = 1.0
NOW_TIMEOUT = 0.5  # publish_now: a page view waits at most this long for a frozen Redis

OnReady = Callable[[], None] | None


class Broker(Protocol):
    url: str

    async def connect(self) -> None: ...
    async def disconnect(self) -> None: ...
    async def publish(self, event: dict[str, Any]) -> None: ...
    async def publish_now(self, event: dict[str, Any]) -> None:
        """Published before returning (briefly bounded): what the next request, perhaps on
        another worker, must already know (a read position)."""
        ...

    def subscribe(self, on_ready: OnReady = None) -> AsyncGenerator[dict[str, Any], None]:
        """Events as published; `on_ready()` runs each time the subscription is (re)made."""
        ...

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

    async def publish_now(self, event: dict[str, Any]) -> None:
        await self.publish(event)

    async def subscribe(self, on_ready: OnReady = None) -> AsyncGenerator[dict[str, Any], None]:
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._queues.add(queue)
        if on_ready is not None:
            on_ready()
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
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
        from redis.exceptions import ConnectionError as RedisConnectionError

        self.url = url
        parts = urlsplit(url)
        query = parse_qsl(parts.query)
        chosen = [value for key, value in query if key == "channel"]
        database = parts.path.strip("/") or "0"
        self.channel = chosen[-1] if chosen else f"{CHANNEL}:{database}"
        rest = urlencode([(key, value) for key, value in query if key != "channel"])
        # One quick retry on a fresh connection: after Redis restarts, every pooled connection
        # is dead and would otherwise fail its first command. No long back-off: a post must
        # not wait for Redis, the log already has its event.
        self._redis = redis.Redis.from_url(
            urlunsplit(parts._replace(query=rest)),
            socket_connect_timeout=2,
            socket_timeout=5,
            retry=Retry(NoBackoff(), 1),
            retry_on_error=[RedisConnectionError],
        )

        # Publishing happens in the background, in order, from a bounded queue: a request
        # that committed never waits for Redis (a frozen Redis held every write for 10 s).
        self._outgoing: asyncio.Queue[str] | None = None
        self._sender: asyncio.Task[None] | None = None
        self._dropped = 0

    async def connect(self) -> None:
        await asyncio.wait_for(self._redis.ping(), timeout=HEALTH_TIMEOUT * 2)
        self.start()

    def start(self) -> None:
        """Start the background publisher (`connect` does; tests may skip the ping)."""
        if self._sender is None:
            self._outgoing = asyncio.Queue(maxsize=OUTGOING_MAX)
            self._sender = asyncio.create_task(self._send_loop(), name="redis-publisher")

    async def disconnect(self) -> None:
        if self._sender is not None and self._outgoing is not None:
            with contextlib.suppress(TimeoutError):  # what is left is in the log anyway
                await asyncio.wait_for(self._outgoing.join(), timeout=2)
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
            self._sender = self._outgoing = None
        await self._redis.aclose()

    async def publish(self, event: dict[str, Any]) -> None:
        # Losing Redis must not lose a post: the event is already in the log, and
        # clients catch up from there when the broker returns.
        message = json.dumps(event, separators=(",", ":"), default=str)
        if self._outgoing is None:  # not started (a script): publish now, bounded
            await self._send(message)
            return
        try:
            self._outgoing.put_nowait(message)
        except asyncio.QueueFull:
            self._dropped += 1
            if self._dropped == 1 or self._dropped % 1000 == 0:
                log.warning(
                    "broker publish queue full: %s events not sent live (clients catch up"
                    " from the log)",
                    self._dropped,
                )

    async def publish_now(self, event: dict[str, Any]) -> None:
        await self._send(json.dumps(event, separators=(",", ":"), default=str), NOW_TIMEOUT)

    async def _send(self, message: str, within: float = PUBLISH_TIMEOUT) -> None:
        try:
            await asyncio.wait_for(self._redis.publish(self.channel, message), timeout=within)
        except Exception as exc:
            log.warning("broker publish failed (clients will catch up from the log): %r", exc)

    async def _send_loop(self) -> None:
        assert self._outgoing is not None
        while True:
            message = await self._outgoing.get()
            try:
                await self._send(message)
            finally:
                self._outgoing.task_done()

    def pending(self) -> int:
        """Events waiting to be published."""
        return self._outgoing.qsize() if self._outgoing is not None else 0

    async def subscribe(self, on_ready: OnReady = None) -> AsyncGenerator[dict[str, Any], None]:
        pubsub = self._redis.pubsub()
        try:
            await pubsub.subscribe(self.channel)
            async for message in pubsub.listen():
                kind = message.get("type")
                if kind == "message":
                    try:
                        event = json.loads(message["data"])
                    except ValueError:
                        log.warning("ignoring a message that is not JSON on %s", self.channel)
                        continue
                    if isinstance(event, dict):
                        yield event
                elif kind == "subscribe" and on_ready is not None:
                    on_ready()  # also after redis-py reconnected and resubscribed by itself
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def healthy(self) -> bool:
        try:
            return bool(await asyncio.wait_for(self._redis.ping(), timeout=HEALTH_TIMEOUT))
        except Exception:
            return False


def create_broker(url: str) -> Broker:
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryBroker(url)
    if scheme in {"redis", "rediss"}:
        return RedisBroker(url)
    raise ValueError(f"unknown broker URL scheme {scheme!r}")
