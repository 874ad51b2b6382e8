"""The /ws endpoint: check the handshake, then read the client's frames until it leaves.

Identity comes from forum.middleware.AuthMiddleware (session cookie or bearer token). A browser
sends its cookie with a WebSocket opened by any page, so a cookie-authenticated handshake from
another origin is refused before it is accepted (the client sees HTTP 403). Frames are read one
at a time through a token bucket; what the server sends goes through the hub (straight to the
transport, or a bounded queue for a socket that does not drain).
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from forum.auth import identity
from forum.origins import allowed, warn_once
from forum.settings import Settings
from realtime import protocol
from realtime.hub import Connection, Hub, as_message
from realtime.limits import TokenBucket, Verdict
from realtime.protocol import Ping, ProtocolError, Subscribe, Typing, Unsubscribe

log = logging.getLogger(__name__)

PING_INTERVAL = 20.0  # uvicorn pings every client this often ...
PING_TIMEOUT = 20.0  # ... and closes it (1011) when no pong comes back in time


def server_options(
    *, ping_interval: float = PING_INTERVAL, ping_timeout: float = PING_TIMEOUT
) -> dict[str, Any]:
    """uvicorn settings for /ws: the sans-I/O websockets implementation, 64 KiB frames (larger
    ones are closed with 1009), protocol-level heartbeats, and no per-message compression
    (it would compress each fanned-out frame once per connection)."""
    return {
        "ws": "websockets-sansio",
        "ws_max_size": protocol.MAX_FRAME_BYTES,
        "ws_per_message_deflate": False,
        "ws_ping_interval": ping_interval,
        "ws_ping_timeout": ping_timeout,
    }


def origin_allowed(websocket: WebSocket, settings: Settings) -> bool:
    """A cookie-authenticated handshake must come from a page of the forum: FORUM_BASE_URL's
    origin, or, when that was not set but derived from `forum serve --host/--port`, the host
    the browser reached (`Origin` naming the handshake's own `Host`). A refusal is logged
    once per origin, saying what to set."""
    origin = websocket.headers.get("origin")
    host = websocket.headers.get("host")
    if allowed(origin, host, settings.origin, configured=settings.base_url_configured):
        return True
    warn_once("Origin", origin or "(none)", settings.origin)
    return False


async def websocket_endpoint(websocket: WebSocket) -> None:
    hub: Hub = websocket.app.state.hub
    settings: Settings = websocket.app.state.settings
    ident = identity(websocket)
    if ident.session is not None and not origin_allowed(websocket, settings):
        await websocket.close(code=protocol.CLOSE_POLICY)  # before accept: HTTP 403
        return
    await websocket.accept()
    if not hub.accepting:  # starting or stopping: come back in a moment
        await websocket.close(protocol.CLOSE_TRY_AGAIN, "not ready")
        return
    conn = hub.connect(websocket, ident.user, ident.session.id if ident.session else None)
    try:
        await _read(hub, conn, websocket)
    except Exception:
        log.exception("WebSocket handler failed")
        hub.close(conn, protocol.CLOSE_ERROR, "server error")
    finally:
        await hub.disconnect(conn)


def _reply(hub: Hub, conn: Connection, text: str) -> None:
    if not conn.push(as_message(text)):
        hub.close(conn, protocol.CLOSE_TRY_AGAIN, "slow consumer")


async def _read(hub: Hub, conn: Connection, websocket: WebSocket) -> None:
    limits, clock = hub.limits, hub.clock
    bucket = TokenBucket(limits.rate, limits.burst, limits.abuse, clock.monotonic())
    typed: dict[int, float] = {}
    while not conn.closing:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        verdict = bucket.take(clock.monotonic())
        if verdict is Verdict.ABUSE:
            hub.close(conn, protocol.CLOSE_POLICY, "rate limit exceeded")
            return
        if verdict is Verdict.WARN:
            _reply(hub, conn, protocol.error("rate_limited", "Slow down."))
        if verdict is not Verdict.ACCEPT:
            continue
        text = message.get("text")
        if text is None:
            _reply(hub, conn, protocol.error("bad_request", "Send JSON in text frames."))
            continue
        if protocol.too_large(text):
            hub.close(conn, protocol.CLOSE_TOO_BIG, "frame too large")
            return
        try:
            frame = protocol.parse_frame(text)
        except ProtocolError as exc:
            _reply(hub, conn, protocol.error("bad_request", str(exc)))
            continue
        if isinstance(frame, Ping):
            _reply(hub, conn, protocol.PONG)
        elif isinstance(frame, Subscribe):
            await hub.subscribe(conn, frame.channels, frame.since)
        elif isinstance(frame, Unsubscribe):
            hub.unsubscribe(conn, frame.channels)
        elif isinstance(frame, Typing):
            now = clock.monotonic()
            if now - typed.get(frame.topic_id, float("-inf")) < limits.typing_interval:
                continue  # typing notices are best effort: extra ones are dropped quietly
            if len(typed) > 100:
                typed.clear()
            typed[frame.topic_id] = now
            problem = await hub.typing(conn, frame.topic_id)
            if problem is not None:
                _reply(hub, conn, protocol.error("forbidden", problem, f"topic:{frame.topic_id}"))


route = WebSocketRoute("/ws", websocket_endpoint, name="ws")
