"""The numbers that bound a WebSocket connection, and the token bucket that rate-limits it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import Enum


@dataclass(frozen=True)
class Limits:
    # Frames waiting to be written to one client; a client that lets it fill is closed (1013).
    queue_size: int = 1024
    # Client frames per second (refill) and the burst a client may send at once.
    rate: float = 20.0
    burst: int = 40
    # Dropped frames (forgiven at half the rate) after which a client is closed (1008).
    abuse: int = 60
    max_channels: int = 100
    # Catch-up: at most this many events per subscribe, from the last `retention` of the log.
    replay_limit: int = 500
    retention: timedelta = field(default=timedelta(days=7))
    # How long to wait for a missing event id before reading it from the log (or giving up).
    hold: float = 0.3
    # The hub reads the log this often for events the broker did not bring (lost or down).
    poll_interval: float = 2.0
    close_timeout: float = 5.0
    typing_interval: float = 2.0
    presence_debounce: float = 0.5
    presence_refresh: float = 20.0
    presence_ttl: float = 60.0
    # Reader counts sent per second at most, per topic (see presence.Presence._report).
    presence_frames_per_second: float = 5000.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Limits:
        """FORUM_WS_QUEUE_SIZE (frames, at least 8) and FORUM_WS_POLL_SECONDS (at least 0.1)."""
        from forum.settings import SettingsError

        env = os.environ if env is None else env
        limits = cls()
        try:
            if value := env.get("FORUM_WS_QUEUE_SIZE"):
                limits = replace(limits, queue_size=max(8, int(value)))
            if value := env.get("FORUM_WS_POLL_SECONDS"):
                limits = replace(limits, poll_interval=max(0.1, float(value)))
        except ValueError as exc:
            raise SettingsError(f"FORUM_WS_QUEUE_SIZE / FORUM_WS_POLL_SECONDS: {exc}") from exc
        return limits


class Verdict(Enum):
    ACCEPT = "accept"
    WARN = "warn"  # dropped; tell the client once
    DROP = "drop"  # dropped silently (already told)
    ABUSE = "abuse"  # close the connection


class TokenBucket:
    """`rate` frames per second with bursts of `burst`; persistent excess becomes abuse."""

    __slots__ = ("rate", "burst", "abuse", "tokens", "strikes", "stamp", "warned")

    def __init__(self, rate: float, burst: int, abuse: int, now: float) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.abuse = float(abuse)
        self.tokens = float(burst)
        self.strikes = 0.0
        self.stamp = now
        self.warned = False

    def take(self, now: float) -> Verdict:
        elapsed = max(0.0, now - self.stamp)
        self.stamp = now
        self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        self.strikes = max(0.0, self.strikes - elapsed * self.rate / 2)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            if self.strikes == 0.0:
                self.warned = False
            return Verdict.ACCEPT
        self.strikes += 1.0
        if self.strikes > self.abuse:
            return Verdict.ABUSE
        if not self.warned:
            self.warned = True
            return Verdict.WARN
        return Verdict.DROP
