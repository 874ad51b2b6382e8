"""Reading the event log: replays for reconnecting clients, and what the broker did not bring.

Retention: a client can catch up on the events of the last `Limits.retention` (7 days) that are
still in the table, at most `Limits.replay_limit` (500) per subscribe. A `since` older than
that — its first following event is older than the retention, or the rows after it were pruned
— or a gap of more events than the limit gets `{"type":"resync","channel":...}`: the client
reloads what it shows instead of replaying. Rows older than the retention may therefore be
deleted at any time without breaking a client.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.expressions import Q

from forum.models import Event
from realtime.channels import LiveEvent

_FIELDS = ("id", "type", "channel", "category_id", "user_id", "payload")


def _live(row: dict[str, Any]) -> LiveEvent:
    payload = row["payload"]
    if isinstance(payload, str):  # drivers differ in decoding JSON columns
        import json

        payload = json.loads(payload)
    return LiveEvent(
        int(row["id"]),
        row["type"],
        row["channel"],
        row["category_id"],
        row["user_id"],
        payload if isinstance(payload, dict) else {},
    )


def _audience(keys: list[str]) -> Q:
    """Rows any of these routing keys hears (see realtime.channels.routes)."""
    plain = [k for k in keys if k != "latest"]
    query = Q(channel__in=plain) if plain else Q(id__lt=0)
    if "latest" in keys:
        # 'category;' sorts right after every 'category:...': a range the channel index serves.
        latest = Q(type="topic.created", channel__gte="category:", channel__lt="category;")
        query = query | latest
    return query


async def replay(keys: list[str], since: int, upto: int, limit: int) -> list[LiveEvent] | None:
    """Events after `since` up to `upto` for these keys in id order; None when over `limit`."""
    if upto <= since or not keys:
        return []
    rows = (
        await Event.filter(_audience(keys), id__gt=since, id__lte=upto)
        .order_by("id")
        .limit(limit + 1)
        .values(*_FIELDS)
    )
    if len(rows) > limit:
        return None
    return [_live(row) for row in rows]


async def beyond_log(since: int, retention: timedelta) -> bool:
    """Is `since` older than the retained log (so a replay could miss events)?"""
    first = await Event.filter(id__gt=since).order_by("id").first().values("id", "created_at")
    if first is None:
        return False  # nothing happened after it
    created: datetime = first["created_at"]
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    if created < datetime.now(UTC) - retention:
        return True
    # The rows right after `since` are gone (pruned) if nothing at or below it remains.
    return bool(first["id"] > since + 1 and not await Event.filter(id__lte=since).exists())


async def exists_at_or_after(event_id: int) -> bool:
    return await Event.filter(id__gte=event_id).exists()


async def last_id() -> int:
    rows = await Event.all().order_by("-id").limit(1).values("id")
    return int(rows[0]["id"]) if rows else 0


async def after(high: int, upto: int | None = None, limit: int = 1000) -> list[LiveEvent]:
    """Events after `high` (up to `upto`), in id order: what the broker may have missed."""
    query = Event.filter(id__gt=high)
    if upto is not None:
        query = query.filter(id__lte=upto)
    rows = await query.order_by("id").limit(limit).values(*_FIELDS)
    return [_live(row) for row in rows]
