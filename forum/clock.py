"""The time that deadlines read, behind one small interface so that a test moves time instead
of sleeping past a deadline.

Code that bounds something by elapsed time (a token bucket, a wall-clock lapse) takes a
`Clock` and reads it; by default it is `SYSTEM`, the real clocks. Timers that the event loop
itself runs (`call_later`, `asyncio.timeout`) keep the loop's time: a test waits for what they
do instead.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never goes back: for intervals and rates."""
        ...

    def time(self) -> float:
        """Seconds since the epoch (wall-clock time): for timestamps stored with a row."""
        ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()


SYSTEM: Clock = SystemClock()
