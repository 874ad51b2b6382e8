"""Sliding-window rate limits counted in the database, so every worker and host agrees.

Each counted attempt is one `RateHit` row under a key such as `login:<email>` or
`reset-ip:<address>`; a limit is "at most N hits under this key within the last W".

    if await ratelimit.exceeded(f"access-ip:{ip}", 10, timedelta(hours=1)):
        raise RateLimited(_("Too many requests. Try again later."), retry_after=3600)
    await ratelimit.hit(f"access-ip:{ip}")

`take()` does both in the race-free order (write the hit, then count) for limits that must
hold under concurrent requests, such as failed logins.
"""

from __future__ import annotations

import hashlib
import math
import random
from datetime import UTC, datetime, timedelta

from tortoise import connections

from forum.models import RateHit
from forum.queries.sql import execute

KEY_LENGTH = 200  # RateHit.key
# Rows older than this are of no use to any limit; they are deleted now and then.
LONGEST_WINDOW = timedelta(days=1)
PRUNE_ONE_IN = 200


def _stored(key: str) -> str:
    """The key as stored: long keys (an email can be 254 characters) are hashed to fit, and
    so are keys with a NUL (which PostgreSQL cannot store)."""
    if len(key) <= KEY_LENGTH and "\x00" not in key:
        return key
    prefix = key.split(":", 1)[0][:50]
    return f"{prefix}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


async def hit(key: str) -> int:
    """Count one attempt under `key`; returns the hit's id (for `release`)."""
    row = await RateHit.create(key=_stored(key))
    await _prune_now_and_then()
    return int(row.id)


async def hit_all(keys: list[str]) -> None:
    """Count one attempt under each of `keys` (one post against its short and hourly
    limits) in one INSERT: one commit and one round trip, not one per key (Tortoise's
    `bulk_create` is a transaction around `executemany`: three round trips on PostgreSQL)."""
    if not keys:
        return
    now = datetime.now(UTC)
    rows = ", ".join("(?, ?)" for _key in keys)
    values = [value for key in keys for value in (_stored(key), now)]
    query = f"INSERT INTO rate_hits (key, created_at) VALUES {rows}"  # noqa: S608 - placeholders
    await execute(connections.get("default"), query, *values)
    await _prune_now_and_then()


async def _prune_now_and_then() -> None:
    if random.randrange(PRUNE_ONE_IN) == 0:
        await prune()


async def count(key: str, window: timedelta) -> int:
    """Every hit under `key` within `window` (for reports and tests; limits use `_nth_newest`,
    which reads no more rows than the limit)."""
    since = datetime.now(UTC) - window
    return await RateHit.filter(key=_stored(key), created_at__gte=since).count()


async def _nth_newest(key: str, n: int, window: timedelta, now: datetime) -> datetime | None:
    """When the n-th newest hit under `key` within `window` was counted, or None when fewer
    were: one step down the (key, created_at) index, however many hits a busy key holds."""
    found = await (
        RateHit.filter(key=_stored(key), created_at__gte=now - window)
        .order_by("-created_at")
        .offset(n - 1)
        .limit(1)
        .only("id", "created_at")
    )
    return found[0].created_at if found else None


async def exceeded(key: str, limit: int, window: timedelta) -> bool:
    """True once `limit` hits have been counted under `key` within `window`."""
    return await _nth_newest(key, limit, window, datetime.now(UTC)) is not None


async def retry_after(key: str, limit: int, window: timedelta) -> int:
    """Seconds until fewer than `limit` hits are counted under `key` within `window`: when the
    limit-th newest hit leaves the window (at least 1)."""
    return (await wait_for(key, limit, window)) or 1


async def wait_for(key: str, limit: int, window: timedelta) -> int | None:
    """None while fewer than `limit` hits are counted under `key` within `window`; once the
    limit is reached, the seconds until the limit-th newest hit leaves the window (at least
    1): whether it is exceeded and the Retry-After, in one read."""
    now = datetime.now(UTC)
    nth = await _nth_newest(key, limit, window, now)
    if nth is None:
        return None
    return max(math.ceil((nth + window - now).total_seconds()), 1)


async def take(key: str, limit: int, window: timedelta) -> int | None:
    """Count one attempt if fewer than `limit` were counted within `window`.

    Returns the hit's id, or None (and nothing stays recorded) when the limit was reached.
    The hit is written before counting, so concurrent attempts cannot all slip under it.
    """
    hit_id = await hit(key)
    if await _nth_newest(key, limit + 1, window, datetime.now(UTC)) is not None:
        await release(hit_id)
        return None
    return hit_id


async def release(hit_id: int) -> None:
    """Take back one hit: the attempt it counted turned out not to count (it succeeded)."""
    await RateHit.filter(id=hit_id).delete()


async def clear(key: str) -> None:
    await RateHit.filter(key=_stored(key)).delete()


async def clear_prefix(prefix: str) -> None:
    """Forget every key that starts with `prefix` (short keys only: stored as they are)."""
    await RateHit.filter(key__startswith=prefix).delete()


async def prune(older_than: timedelta = LONGEST_WINDOW) -> int:
    """Delete hits too old for any limit; returns how many went."""
    return await RateHit.filter(created_at__lt=datetime.now(UTC) - older_than).delete()
