"""Topic view counts, buffered in memory and flushed in batches.

Counting a view must not turn every page read into a database write. Each process adds its
own increments with `views = views + n`, so several workers never overwrite each other.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

from tortoise import connections

from forum.queries.sql import execute, placeholders


class ViewBuffer:
    def __init__(self) -> None:
        self._pending: Counter[int] = Counter()

    def hit(self, topic_id: int) -> None:
        self._pending[topic_id] += 1

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
