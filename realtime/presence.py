"""Presence, "N members reading this topic": ephemeral, shared between workers through the broker.

Each process announces which signed-in users it has subscribed to a topic (debounced, and
again every `presence_refresh` seconds); every process keeps the latest announcement of every
node for `presence_ttl` seconds, so a worker that dies is forgotten. The count is the number of
distinct users across nodes. Nothing is stored. Typing notices travel the same way but need no
state here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

Publish = Callable[[dict[str, Any]], Awaitable[None]]
# Tells a topic's local readers its new count; returns how many frames that took.
Changed = Callable[[int, int], int]


class Presence:
    def __init__(
        self,
        node: str,
        publish: Publish,
        changed: Changed,
        *,
        debounce: float,
        ttl: float,
        frames_per_second: float = 5000.0,
    ) -> None:
        self.node = node
        self._publish = publish
        self._changed = changed
        self._debounce = debounce
        self._ttl = ttl
        self._local: dict[int, Counter[int]] = {}
        self._remote: dict[int, dict[str, tuple[frozenset[int], float]]] = {}
        self._totals: dict[int, int] = {}
        self._dirty: set[int] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        # Pacing what readers are told (see _report): counts waiting to go out, the timers
        # that will send them, and until when each topic's last report keeps it quiet.
        self._rate = frames_per_second
        self._reports: dict[int, int] = {}
        self._report_timers: dict[int, asyncio.TimerHandle] = {}
        self._quiet_until: dict[int, float] = {}

    def join(self, topic_id: int, user_id: int) -> None:
        readers = self._local.setdefault(topic_id, Counter())
        readers[user_id] += 1
        if readers[user_id] == 1:
            self._mark(topic_id)

    def leave(self, topic_id: int, user_id: int) -> None:
        readers = self._local.get(topic_id)
        if readers is None or readers[user_id] <= 0:
            return
        readers[user_id] -= 1
        if readers[user_id] == 0:
            del readers[user_id]
            if not readers:
                del self._local[topic_id]
            self._mark(topic_id)

    def total(self, topic_id: int) -> int | None:
        return self._totals.get(topic_id)

    def quiet_until(self, topic_id: int) -> float:
        """The event loop's time at which the topic's quiet time ends (see _report); 0.0 when
        a report would go out at once."""
        return self._quiet_until.get(topic_id, 0.0)

    def refresh(self, now: float) -> None:
        """Announce every local topic again and forget nodes that stopped announcing."""
        for topic_id in list(self._local):
            self._mark(topic_id)
        for topic_id, nodes in list(self._remote.items()):
            for node, (_users, expires) in list(nodes.items()):
                if expires <= now:
                    del nodes[node]
            self._recount(topic_id)

    def receive(self, data: dict[str, Any], now: float) -> None:
        topic_id, node, users = data.get("topic_id"), data.get("node"), data.get("users")
        if (
            not isinstance(topic_id, int)
            or not isinstance(node, str)
            or not isinstance(users, list)
        ):
            return
        nodes = self._remote.setdefault(topic_id, {})
        if users:
            nodes[node] = (frozenset(u for u in users if isinstance(u, int)), now + self._ttl)
        else:
            nodes.pop(node, None)
        self._recount(topic_id)

    def _recount(self, topic_id: int) -> None:
        nodes = self._remote.get(topic_id, {})
        if not nodes:
            self._remote.pop(topic_id, None)
        readers: set[int] = set()
        for users, _expires in nodes.values():
            readers |= users
        total = len(readers)
        if self._totals.get(topic_id, 0) == total and (total or topic_id not in self._totals):
            return
        if total:
            self._totals[topic_id] = total
        else:
            self._totals.pop(topic_id, None)
        self._report(topic_id, total)

    def _report(self, topic_id: int, total: int) -> None:
        """Tell the topic's readers its count, at a pace that bounds the cost.

        Every change of the count is a frame to every local reader of the topic: when
        thousands of readers come back at once (a restart), each debounced announcement
        changes the count again, and reporting each one would cost readers x announcements
        frames, the square of the crowd. So after a report that took n frames the topic stays
        quiet for n / frames_per_second seconds, and the latest count goes out when that
        ends: a topic's reports never take more than that many frames a second, a small topic
        is told at once, and the last count is never lost. A new reader is sent the current
        count when it subscribes (Hub._send_presence), without waiting.
        """
        self._reports[topic_id] = total
        if topic_id in self._report_timers:
            return  # a report is due; it will carry this count
        loop = asyncio.get_running_loop()
        wait = self._quiet_until.get(topic_id, 0.0) - loop.time()
        if wait > 0:
            self._report_timers[topic_id] = loop.call_later(wait, self._send_report, topic_id)
        else:
            self._send_report(topic_id)

    def _send_report(self, topic_id: int) -> None:
        self._report_timers.pop(topic_id, None)
        total = self._reports.pop(topic_id, None)
        if total is None:
            return
        frames = self._changed(topic_id, total)
        if frames:
            now = asyncio.get_running_loop().time()
            self._quiet_until[topic_id] = now + frames / self._rate
        else:
            self._quiet_until.pop(topic_id, None)
        if len(self._quiet_until) > 1000:  # forget topics whose quiet time is over
            now = asyncio.get_running_loop().time()
            self._quiet_until = {t: q for t, q in self._quiet_until.items() if q > now}

    def _mark(self, topic_id: int) -> None:
        self._dirty.add(topic_id)
        if self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._debounce, self._flush)

    def _flush(self) -> None:
        self._timer = None
        topics, self._dirty = self._dirty, set()
        task = asyncio.get_running_loop().create_task(self._announce(topics))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _announce(self, topics: set[int]) -> None:
        for topic_id in sorted(topics):
            users = sorted(self._local.get(topic_id, ()))
            try:
                await self._publish(
                    {
                        "ephemeral": True,
                        "type": "presence",
                        "channel": f"topic:{topic_id}",
                        "data": {"node": self.node, "topic_id": topic_id, "users": users},
                    }
                )
            except Exception as exc:  # presence is best effort
                log.warning("presence announce failed: %s", exc)

    async def flush(self) -> None:
        """Announce pending changes now (at shutdown, so other nodes forget us at once)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        topics, self._dirty = self._dirty, set()
        if topics:
            await self._announce(topics)

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for timer in self._report_timers.values():
            timer.cancel()
        self._report_timers.clear()
        self._reports.clear()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
