"""A clock a test moves by hand (forum.clock.Clock), instead of sleeping past a deadline."""

from __future__ import annotations

import time


class ManualClock:
    """Starts at the real time and moves only when `advance` is called."""

    def __init__(self) -> None:
        self._monotonic = time.monotonic()
        self._time = time.time()

    def monotonic(self) -> float:
        return self._monotonic

    def time(self) -> float:
        return self._time

    def advance(self, seconds: float) -> None:
        self._monotonic += seconds
        self._time += seconds
