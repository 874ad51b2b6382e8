"""Read positions recorded by page views, buffered in memory and written in batches.

A member's first view of a topic (the common case in a living forum: every new post makes a
topic new again) used to write its read position before answering, and every write emptied the
SQLite reader's remembered answers for every viewer. Page views now `note()` the position here;
`flush()` writes all that are pending in one transaction, every `FLUSH_SECONDS` and at
shutdown, with an upsert that only ever moves a position forwards.

Until a position is stored, pages and lists merge it in (`position()` / `positions()`): the
viewer's next page and the unread counts on their lists reflect their reading at once. Other
workers hear of it through the broker (`reads.noted`, not logged: the database is the record
once flushed) and merge it in the same way, so the next request may land on any worker. A
position is kept in the overlay for `KEEP_SECONDS` after it was last noted, long after the
flush that stores it; since positions only grow, taking the larger of the stored and the noted
one is always right.

An explicit "mark read" (`POST /api/v1/topics/{id}/read`) does not go through here: it answers
only once `forum.actions.reading.do_mark_read` has stored it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from forum.clock import SYSTEM, Clock
from forum.queries.sql import execute

log = logging.getLogger(__name__)

MESSAGE_TYPE = "reads.noted"
KEEP_SECONDS = 120.0
FLUSH_SECONDS = 2.0
CHUNK = 200  # positions per statement

Key = tuple[int, int]  # (user id, topic id)
Publish = Callable[[dict[str, Any]], Awaitable[None]]

_UPSERT = (
    "INSERT INTO topic_users (user_id, topic_id, last_read_post_number, updated_at)"
    " VALUES ({values}) ON CONFLICT (user_id, topic_id) DO UPDATE"
    " SET last_read_post_number = excluded.last_read_post_number,"
    " updated_at = excluded.updated_at"
    " WHERE topic_users.last_read_post_number < excluded.last_read_post_number"
)


class ReadBuffer:
    """Pending read positions of this process, and every worker's recently noted ones."""

    def __init__(self, publish: Publish | None = None, clock: Clock = SYSTEM) -> None:
        self._pending: dict[Key, int] = {}
        self._noted: dict[Key, tuple[int, float]] = {}  # key -> (number, monotonic time)
        self._by_user: dict[int, set[int]] = {}  # user id -> topic ids in _noted
        self._publish = publish  # None: this process only
        self._clock = clock  # when positions were noted, to forget them KEEP_SECONDS later
        self._last_prune = clock.monotonic()

    def set_publisher(self, publish: Publish | None) -> None:
        self._publish = publish

    # -- reading ---------------------------------------------------------------------------------

    def position(self, user_id: int, topic_id: int) -> int | None:
        """The highest position noted for the user in the topic and not yet known stored."""
        noted = self._noted.get((user_id, topic_id))
        return noted[0] if noted else None

    def positions(self, user_id: int, topic_ids: Iterable[int]) -> dict[int, int]:
        """`position()` for several topics of one user (only those with one)."""
        topics = self._by_user.get(user_id)
        if not topics:
            return {}
        found = {}
        for topic_id in topics.intersection(topic_ids):
            found[topic_id] = self._noted[(user_id, topic_id)][0]
        return found

    def merged(self, user_id: int, topic_id: int, stored: int | None) -> int | None:
        """The read position to show: the larger of the stored and the noted one."""
        noted = self.position(user_id, topic_id)
        if noted is None:
            return stored
        return noted if stored is None or noted > stored else stored

    # -- writing ---------------------------------------------------------------------------------

    async def note(self, user_id: int, topic_id: int, number: int) -> None:
        """Record that the user read the topic up to `number` (written at the next flush)."""
        key = (user_id, topic_id)
        if self._remember(key, number):
            self._pending[key] = max(number, self._pending.get(key, 0))
            if self._publish is not None:
                message = {"type": MESSAGE_TYPE, "reads": [[user_id, topic_id, number]]}
                await self._publish(message)

    def heard(self, message: dict[str, Any]) -> None:
        """A `reads.noted` message from the broker (another worker's, or our own echoed)."""
        for item in message.get("reads") or ():
            with contextlib.suppress(TypeError, ValueError):
                user_id, topic_id, number = (int(x) for x in item)
                self._remember((user_id, topic_id), number)

    def _remember(self, key: Key, number: int) -> bool:
        now = self._clock.monotonic()
        noted = self._noted.get(key)
        if noted is not None and noted[0] >= number:
            return False
        self._noted[key] = (number, now)
        self._by_user.setdefault(key[0], set()).add(key[1])
        if now - self._last_prune > KEEP_SECONDS / 4:
            self._prune(now)
        return True

    def _prune(self, now: float) -> None:
        self._last_prune = now
        old = [key for key, (_n, at) in self._noted.items() if now - at > KEEP_SECONDS]
        for key in old:
            if key in self._pending:
                continue  # not stored yet: keep showing it
            del self._noted[key]
            topics = self._by_user.get(key[0])
            if topics is not None:
                topics.discard(key[1])
                if not topics:
                    del self._by_user[key[0]]

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def flush(self) -> int:
        """Store every pending position in one transaction; on failure they stay pending."""
        if not self._pending:
            return 0
        pending, self._pending = self._pending, {}
        try:
            await _store(pending)
        except BaseException:
            for key, number in pending.items():  # retried at the next flush, nothing lost
                self._pending[key] = max(number, self._pending.get(key, 0))
            raise
        return len(pending)

    async def run(self, interval: float = FLUSH_SECONDS) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.flush()
            except Exception as exc:
                log.warning("read positions not stored yet (retrying): %s", exc)


async def store_position(user_id: int, topic_id: int, number: int) -> None:
    """Store one read position now (one statement; never moves it backwards), in the current
    transaction if there is one."""
    # Inside a transaction Tortoise hands out the transaction's connection under this name.
    await _upsert(connections.get("default"), [((user_id, topic_id), number)])


_active = ReadBuffer()  # the serving app's (installed in its lifespan); queries merge it in


def install(buffer: ReadBuffer) -> None:
    global _active
    _active = buffer


def current() -> ReadBuffer:
    """The read positions the running app has noted (queries merge them in)."""
    return _active


async def _store(pending: dict[Key, int]) -> None:
    """Upsert the positions; a row whose user or topic is gone by now is dropped."""
    items = sorted(pending.items())  # one order for every writer: no deadlock between workers
    try:
        async with in_transaction() as tx:
            for start in range(0, len(items), CHUNK):
                await _upsert(tx, items[start : start + CHUNK])
    except IntegrityError:
        for item in items:  # one at a time, so one vanished topic does not hold up the rest
            with contextlib.suppress(IntegrityError):
                async with in_transaction() as tx:
                    await _upsert(tx, [item])


async def _upsert(tx: BaseDBAsyncClient, items: list[tuple[Key, int]]) -> None:
    now = datetime.now(UTC)
    args: list[Any] = []
    for (user_id, topic_id), number in items:
        args += [user_id, topic_id, number, now]
    await execute(tx, _UPSERT.format(values="), (".join(["?, ?, ?, ?"] * len(items))), *args)
