"""Topic view counts, buffered in memory and flushed in batches.

Counting a view must not turn every page read into a database write. Each process adds its
own increments with `views = views + n`, so several workers never overwrite each other.

A view is one viewer's: a member counts once per topic per hour, a visitor once per topic per
browser session (the CSRF cookie every browser keeps) within the hour, however often they
reload (a client keeping no cookies: once per address and user agent). Who saw what lately
is kept in memory only (hashes of viewer and topic, at most `MAX_SEEN`, the oldest forgotten
first), never written; each worker keeps its own, so with N workers a reload may count at
most N times an hour.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, OrderedDict
from collections.abc import Sequence

from starlette.requests import HTTPConnection
from tortoise import connections

from forum.auth import CSRF_COOKIE, identity
from forum.clock import SYSTEM, Clock
from forum.queries.sql import execute, placeholders

VIEW_WINDOW = 3600.0  # seconds in which one viewer's reloads of a topic are one view
MAX_SEEN = 100_000  # (viewer, topic) pairs remembered; about 10 MB at most


def viewer_keys(conn: HTTPConnection) -> tuple[str, ...]:
    """Who is looking: a member by id; a visitor by their browser's CSRF cookie (the one this
    response sets, on a first visit). A request that came without the cookie (a browser's
    very first, or a script that keeps none) is also known by its address and user agent, so
    a cookie-less client reloading counts once an hour, not every time."""
    ident = identity(conn)
    if ident.user is not None:
        return (f"u:{ident.user.id}",)
    cookie = f"c:{ident.csrf_cookie}" if ident.csrf_cookie else ""
    if conn.cookies.get(CSRF_COOKIE) and cookie:
        return (cookie,)
    address = conn.client.host if conn.client else ""
    anonymous = f"a:{address} {conn.headers.get('user-agent', '')[:200]}"
    return (anonymous, cookie) if cookie else (anonymous,)


class ViewBuffer:
    def __init__(self, clock: Clock = SYSTEM) -> None:
        self._pending: Counter[int] = Counter()
        self._seen: OrderedDict[int, float] = OrderedDict()  # hash(viewer, topic) -> until
        self._clock = clock

    @staticmethod
    def viewers(conn: HTTPConnection) -> tuple[str, ...]:
        return viewer_keys(conn)

    def hit(self, topic_id: int, viewers: Sequence[str] = ()) -> bool:
        """Count a view of the topic unless one of `viewers` (see `viewer_keys`) was counted
        for it within the hour; without viewers, always. True when counted."""
        now = self._clock.monotonic()
        seen = self._seen
        while seen:  # every entry lasts as long, so the oldest come first
            oldest, until = next(iter(seen.items()))
            if until > now and len(seen) < MAX_SEEN:
                break
            del seen[oldest]
        keys = [hash((viewer, topic_id)) for viewer in viewers]
        if any(key in seen for key in keys):
            return False
        for key in keys:
            seen[key] = now + VIEW_WINDOW
        self._pending[topic_id] += 1
        return True

    async def flush(self) -> int:
        """Add the pending counts, one statement for every 200 topics (a statement per topic
        made hundreds of commits, each a wait for the write lock and for the event loop)."""
        pending, self._pending = self._pending, Counter()
        items = sorted(pending.items())
        try:
            while items:
                chunk = items[:200]
                cases = " ".join("WHEN ? THEN CAST(? AS INTEGER)" for _ in chunk)
                sql = (
                    f"UPDATE topics SET views = views + CASE id {cases} END"
                    f" WHERE id IN ({placeholders(len(chunk))})"
                )
                args = [v for item in chunk for v in item] + [topic_id for topic_id, _n in chunk]
                await execute(connections.get("default"), sql, *args)
                del items[:200]
        except BaseException:
            self._pending.update(dict(items))  # counted at the next flush
            raise
        return sum(pending.values())

    async def run(self, interval: float = 5.0) -> None:
        while True:
            await asyncio.sleep(interval)
            with contextlib.suppress(Exception):
                await self.flush()
