"""Topic view counts, buffered in memory and flushed in batches.

Counting a view must not turn every page read into a database write. Each process adds its
own increments with `views = views + n`, so several workers never overwrite each other.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

from tortoise.expressions import F

from forum.models import Topic


class ViewBuffer:
    def __init__(self) -> None:
        self._pending: Counter[int] = Counter()

    def hit(self, topic_id: int) -> None:
        self._pending[topic_id] += 1

    async def flush(self) -> int:
        pending, self._pending = self._pending, Counter()
        for topic_id, n in pending.items():
            await Topic.filter(id=topic_id).update(views=F("views") + n)
        return sum(pending.values())

    async def run(self, interval: float = 5.0) -> None:
        while True:
            await asyncio.sleep(interval)
            with contextlib.suppress(Exception):
                await self.flush()
