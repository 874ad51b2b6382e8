"""Puts the events a process receives back in id order, once each.

Event ids come from the log in insertion order, but transactions commit — and publish — in
their own order, from several workers, through a broker that may drop messages when it is
down. A client resumes with the last id it saw, so it must never see id N+1 before N if N is
coming. The sequencer holds an event whose predecessor is missing for a short `hold`; when the
hold expires the hub reads the missing range from the log and then releases everything held.
Anything at or below the released high-water mark that arrives later is delivered at once
(late beats lost); duplicates (the broker and a log read can both bring an event) are dropped.
"""

from __future__ import annotations

from collections import deque
from typing import Generic, Protocol, TypeVar


class HasId(Protocol):
    @property
    def id(self) -> int | None: ...


E = TypeVar("E", bound=HasId)


class Sequencer(Generic[E]):
    def __init__(self, high: int, hold: float, memory: int = 8192) -> None:
        self.high = high  # every id at or below was delivered or given up on
        self.hold = hold
        self.deadline: float | None = None
        self._held: dict[int, E] = {}
        self._seen: set[int] = set()
        self._order: deque[int] = deque()
        self._memory = memory

    def _remember(self, event_id: int) -> None:
        self._seen.add(event_id)
        self._order.append(event_id)
        if len(self._order) > self._memory:
            self._seen.discard(self._order.popleft())

    @property
    def held(self) -> int:
        return len(self._held)

    @property
    def held_up_to(self) -> int:
        return max(self._held, default=self.high)

    def push(self, event: E, now: float) -> list[E]:
        """The events that may go out now, in order (possibly none, possibly several)."""
        event_id = event.id
        assert event_id is not None
        if event_id in self._seen or event_id in self._held:
            return []
        if event_id <= self.high:
            self._remember(event_id)
            return [event]
        if event_id != self.high + 1 and self.hold > 0:
            self._held[event_id] = event
            if self.deadline is None:
                self.deadline = now + self.hold
            return []
        self._remember(event_id)
        self.high = event_id
        ready = [event]
        while self.high + 1 in self._held:
            self.high += 1
            ready.append(self._held.pop(self.high))
            self._remember(self.high)
        if not self._held:
            self.deadline = None
        return ready

    def expired(self, now: float) -> bool:
        return self.deadline is not None and now >= self.deadline

    def discard_held(self, keep: set[int]) -> list[int]:
        """Drop held events whose ids are not in `keep` (the log does not know them)."""
        dropped = [i for i in self._held if i not in keep]
        for event_id in dropped:
            del self._held[event_id]
        if not self._held:
            self.deadline = None
        return dropped

    def release(self) -> list[E]:
        """Give up waiting: everything held goes out in order; the gaps are skipped."""
        ready = [self._held[i] for i in sorted(self._held)]
        self._held.clear()
        self.deadline = None
        for event in ready:
            assert event.id is not None
            self._remember(event.id)
            self.high = max(self.high, event.id)
        return ready
