"""The /ws wire protocol: JSON text frames, parsed and validated here, encoded here.

Client → server: subscribe {channels, since?}, unsubscribe {channels}, ping, typing {topic}.
Server → client: event, subscribed, error {code: forbidden|bad_request|rate_limited}, pong,
resync. Anything else a client sends is a `bad_request` error; the connection stays usable.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

MAX_FRAME_BYTES = 64 * 1024
MAX_CHANNELS_PER_FRAME = 50
MAX_EVENT_ID = 2**63 - 1

# Close codes (RFC 6455 §7.4.1). 1008 policy: cross-origin, abuse, access revoked;
# 1009 too big; 1011 server error; 1012 restart (shutdown); 1013 try again later (too slow).
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_ERROR = 1011
CLOSE_RESTART = 1012
CLOSE_TRY_AGAIN = 1013

_TOPIC = re.compile(r"topic:([1-9][0-9]{0,9})")
_CATEGORY = re.compile(r"category:([a-z0-9][a-z0-9-]{0,63})")
SIMPLE_CHANNELS = ("latest", "user", "staff")


class ProtocolError(Exception):
    """A frame the server cannot accept; answered with an error frame, never a crash."""


@dataclass(frozen=True, slots=True)
class Channel:
    """A channel as a client names it: topic:<id>, category:<slug>, latest, user or staff."""

    name: str
    kind: str
    topic_id: int | None = None
    slug: str | None = None


@dataclass(frozen=True, slots=True)
class Subscribe:
    channels: tuple[Channel, ...]
    since: int | None


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    channels: tuple[Channel, ...]


@dataclass(frozen=True, slots=True)
class Ping:
    pass


@dataclass(frozen=True, slots=True)
class Typing:
    topic_id: int


ClientFrame = Subscribe | Unsubscribe | Ping | Typing


def too_large(text: str) -> bool:
    # A character is at most 4 bytes in UTF-8: encode only when the length is ambiguous.
    if len(text) * 4 <= MAX_FRAME_BYTES:
        return False
    return len(text) > MAX_FRAME_BYTES or len(text.encode("utf-8")) > MAX_FRAME_BYTES


def parse_channel(name: object) -> Channel:
    if not isinstance(name, str) or len(name) > 100:
        raise ProtocolError("A channel is a short string.")
    if name in SIMPLE_CHANNELS:
        return Channel(name, name)
    if match := _TOPIC.fullmatch(name):
        return Channel(name, "topic", topic_id=int(match.group(1)))
    if match := _CATEGORY.fullmatch(name):
        return Channel(name, "category", slug=match.group(1))
    raise ProtocolError(f"Unknown channel {name!r}.")


def _channels(frame: dict[str, Any]) -> tuple[Channel, ...]:
    raw = frame.get("channels")
    if not isinstance(raw, list) or not raw:
        raise ProtocolError('"channels" must be a non-empty list.')
    if len(raw) > MAX_CHANNELS_PER_FRAME:
        raise ProtocolError(f"At most {MAX_CHANNELS_PER_FRAME} channels per frame.")
    return tuple({c.name: c for c in map(parse_channel, raw)}.values())


def _int(value: object, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ProtocolError(f'"{what}" must be an integer from {low} to {high}.')
    return value


def parse_frame(text: str) -> ClientFrame:
    try:
        frame = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError("Frames are JSON objects.") from exc
    if not isinstance(frame, dict):
        raise ProtocolError("Frames are JSON objects.")
    kind = frame.get("type")
    if kind == "ping":
        return Ping()
    if kind == "subscribe":
        since = frame.get("since")
        return Subscribe(
            _channels(frame), None if since is None else _int(since, "since", 0, MAX_EVENT_ID)
        )
    if kind == "unsubscribe":
        return Unsubscribe(_channels(frame))
    if kind == "typing":
        return Typing(_int(frame.get("topic"), "topic", 1, 2**31 - 1))
    raise ProtocolError('"type" must be subscribe, unsubscribe, ping or typing.')


def encode(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False, default=str)


def error(code: str, message: str, channel: str | None = None) -> str:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if channel is not None:
        frame["channel"] = channel
    return encode(frame)


PONG = encode({"type": "pong"})


def subscribed(channels: list[str], last_id: int) -> str:
    return encode({"type": "subscribed", "channels": channels, "last_id": last_id})


def resync(channel: str) -> str:
    return encode({"type": "resync", "channel": channel})


def event(event_id: int | None, channel: str, name: str, data: dict[str, Any]) -> str:
    if event_id is None:  # ephemeral (typing, presence): never a catch-up position
        return encode({"type": "event", "channel": channel, "name": name, "data": data})
    return encode({"type": "event", "id": event_id, "channel": channel, "name": name, "data": data})
