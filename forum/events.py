"""Transactions that publish their events only after the outermost commit.

Tortoise has no on-commit hook, so `atomic()` buffers the events recorded inside it and hands
them to the broker once the outermost transaction has committed; a rollback drops them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from tortoise.transactions import in_transaction

from forum.models import Event
from realtime.broker import Broker

_pending: ContextVar[list[Event] | None] = ContextVar("pending_events", default=None)
_broker: Broker | None = None


def set_broker(broker: Broker | None) -> None:
    global _broker
    _broker = broker


def get_broker() -> Broker | None:
    return _broker


def in_atomic() -> bool:
    return _pending.get() is not None


@asynccontextmanager
async def atomic() -> AsyncIterator[None]:
    if _pending.get() is not None:  # nested: the outermost block publishes
        async with in_transaction():
            yield
        return
    token = _pending.set([])
    try:
        async with in_transaction():
            yield
        events = _pending.get() or []
    finally:
        _pending.reset(token)
    for event in events:
        await publish(event)


async def record_event(
    type: str,
    channel: str,
    payload: dict[str, Any],
    *,
    category_id: int | None = None,
    user_id: int | None = None,
) -> Event:
    """Append an event to the log inside the current `atomic()` block."""
    pending = _pending.get()
    if pending is None:
        raise RuntimeError("record_event must run inside forum.events.atomic()")
    event = await Event.create(
        type=type, channel=channel, payload=payload, category_id=category_id, user_id=user_id
    )
    pending.append(event)
    return event


def event_message(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "channel": event.channel,
        "category_id": event.category_id,
        "user_id": event.user_id,
        "data": event.payload,
    }


async def publish(event: Event) -> None:
    if _broker is not None:
        await _broker.publish(event_message(event))
