"""Is a request addressed to the forum's own origin? And, when not, one clear log line.

`FORUM_BASE_URL` names where members reach the forum; emails link there and a
cookie-authenticated WebSocket handshake must come from a page of that origin. When it is not
set, `forum serve` derives it from the `--host`/`--port` it was started with, and a page is
accepted from whatever host the browser used to reach this server (its `Origin` equals the
handshake's own `Host`), so `PORT=8810 make run` opened as `localhost:8810` works. When it is
set and a request names another host, the log says so once per address (a forum behind a
proxy that rewrites `Host`, or opened at an address it was not told about).
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

log = logging.getLogger("forum.origin")

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_WARNED: set[tuple[str, str]] = set()
_WARNED_MAX = 64  # a client sending a new Host each time fills it once, then nothing is logged


def normalized(url: str) -> str:
    """`scheme://host[:port]` in lower case, the scheme's default port left out; "" when
    `url` is not a URL with a host."""
    parts = urlsplit(url.strip().lower())
    try:
        port = parts.port
    except ValueError:
        return ""
    host = parts.hostname or ""
    if not parts.scheme or not host:
        return ""
    if ":" in host:
        host = f"[{host}]"
    default = _DEFAULT_PORTS.get(parts.scheme)
    return f"{parts.scheme}://{host}" + ("" if port in (None, default) else f":{port}")


def same_origin(origin: str | None, expected: str) -> bool:
    return bool(origin) and normalized(origin or "") == normalized(expected)


def origin_is_host(origin: str | None, host: str | None) -> bool:
    """Whether a browser's `Origin` names the host (and port) the request was sent to: the
    page that opened the socket came from this very server, whatever its name."""
    if not origin or not host:
        return False
    scheme = urlsplit(origin.strip().lower()).scheme
    if scheme not in ("http", "https"):
        return False
    return normalized(origin) == normalized(f"{scheme}://{host}")


def allowed(origin: str | None, host: str | None, expected: str, *, configured: bool) -> bool:
    """The one rule: `expected` (FORUM_BASE_URL's origin), or, when that was derived rather
    than configured, the host the request reached."""
    if same_origin(origin, expected):
        return True
    return not configured and origin_is_host(origin, host)


def host_matches(host: str | None, expected_origin: str) -> bool:
    if not host:
        return True  # HTTP/1.0 without Host: nothing to compare
    scheme = urlsplit(expected_origin).scheme
    return normalized(f"{scheme}://{host}") == normalized(expected_origin)


def warn_once(what: str, seen: str, expected: str) -> None:
    """Log, once per (header, value), that a request named another address than
    FORUM_BASE_URL's: the likely cause of a refused live connection or of wrong links."""
    key = (what, seen[:200])
    if key in _WARNED or len(_WARNED) >= _WARNED_MAX:
        return
    _WARNED.add(key)
    log.warning(
        "a request's %s is %r but FORUM_BASE_URL is %s: %s. Set FORUM_BASE_URL to the address"
        " members use (or leave it unset to follow `forum serve --host/--port`)",
        what,
        seen[:200],
        expected,
        "its live updates (WebSocket) are refused"
        if what == "Origin"
        else "links in emails point elsewhere and live updates from there are refused",
    )


def forget_warnings() -> None:
    """For tests: warn again."""
    _WARNED.clear()
