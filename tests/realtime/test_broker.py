"""Brokers carry events between processes; both backends round-trip through JSON alike."""

from __future__ import annotations

import asyncio
import os

import pytest

from realtime.broker import Broker, MemoryBroker, RedisBroker, create_broker

REDIS_URL = os.environ.get("FORUM_TEST_REDIS_URL", "")
BACKENDS = ["memory"] + (["redis"] if REDIS_URL else [])


def make(kind: str) -> tuple[Broker, Broker]:
    """A publisher and a subscriber, as two workers would hold them."""
    if kind == "memory":
        shared = MemoryBroker()
        return shared, shared
    return RedisBroker(REDIS_URL), RedisBroker(REDIS_URL)


@pytest.mark.parametrize("kind", BACKENDS)
async def test_a_published_event_reaches_a_subscriber_as_plain_json(kind: str) -> None:
    publisher, subscriber = make(kind)
    await publisher.connect()
    await subscriber.connect()
    stream = subscriber.subscribe()
    try:
        first = asyncio.ensure_future(anext(stream))
        # Publish until the subscription has registered and the event arrives (a message
        # published before it registers is not for it), at most 5 s.
        async with asyncio.timeout(5):
            while not first.done():
                await publisher.publish({"id": 7, "type": "post.created", "data": {"ids": (1, 2)}})
                await asyncio.wait({first}, timeout=0.05)
        event = first.result()
        assert event == {"id": 7, "type": "post.created", "data": {"ids": [1, 2]}}
        assert await subscriber.healthy()
    finally:
        await stream.aclose()
        await publisher.disconnect()
        if subscriber is not publisher:
            await subscriber.disconnect()


async def test_publishing_to_an_unreachable_redis_does_not_raise() -> None:
    broker = RedisBroker("redis://127.0.0.1:1/0")
    await broker.publish({"id": 1})
    assert await broker.healthy() is False
    await broker.disconnect()


def test_unknown_schemes_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown broker URL scheme"):
        create_broker("kafka://localhost")
