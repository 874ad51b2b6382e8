"""The HTTP protocol `forum serve` gives uvicorn: its httptools protocol with bounds on a
request's head (the request line and headers) and on the time its body takes, which uvicorn
leaves unbounded there.

- Size: a head over `FORUM_MAX_HEADER_BYTES` (32 KiB) is answered 431 and the connection
  ends; what the client still sends is read and dropped for a moment first, so it reads the
  answer rather than a reset.
- Time: a head must arrive whole within `FORUM_HEADER_TIMEOUT_SECONDS` (10 s) of the
  connection opening or of its first byte (later requests on a kept-alive connection; the
  wait between them is uvicorn's keep-alive timeout). Otherwise 408 and the connection ends
  (a connection that sent nothing is just closed). One header line every few seconds no
  longer holds a connection open for ever.
- Body time: once the head is in, a body (Content-Length above 0, or chunked) may pause at
  most `FORUM_BODY_IDLE_SECONDS` (10 s) between two chunks and take at most
  `FORUM_BODY_TIMEOUT_SECONDS` (60 s) in all; otherwise 408 and the connection ends (the
  application, still waiting for the body, is told the client went away). Time while
  uvicorn has stopped reading because the application has not taken the body yet does not
  count against the client.

It reads uvicorn internals checked against 0.54 (`pyproject.toml` pins uvicorn below 0.55).
"""

from __future__ import annotations

import asyncio
import logging
from functools import lru_cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

log = logging.getLogger(__name__)

PROTOCOL = "forum.serving:BoundedHttpToolsProtocol"  # given to uvicorn.run(http=...)
LINGER_SECONDS = 1.0  # after refusing: drop what still comes, then close


@lru_cache(maxsize=1)
def limits() -> tuple[int, float, float, float]:
    """(largest head in bytes, seconds a head may take, longest pause in a body, seconds a
    body may take), from the environment of the worker (uvicorn's workers are separate
    processes, started with `forum serve`'s environment)."""
    from forum.settings import Settings

    s = Settings.from_env()
    return s.max_header_bytes, s.header_timeout_seconds, s.body_idle_seconds, s.body_timeout_seconds


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_head, self.head_timeout, self.body_idle, self.body_timeout = limits()
        self.in_head = True  # reading a request line and headers
        self.head_bytes = 0
        self.head_timer: asyncio.TimerHandle | None = None
        self.head_too_large = False
        self.refused = False
        # The body's clock: when its last chunk came, when it must be complete.
        self.body_timer: asyncio.TimerHandle | None = None
        self.body_seen = 0.0
        self.body_deadline = 0.0

    # The head's clock: from the connection, or from a later request's first byte.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        self._stop_body_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_head = True
        self.head_bytes = 0
        if self.head_timer is None:
            self._start_head_timer()

    def on_headers_complete(self) -> None:
        self.in_head = False
        self._stop_head_timer()
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > self.max_head:
            self.head_too_large = True
            # httptools turns this into HttpParserError: uvicorn answers with
            # send_400_response, which answers 431 instead (below).
            raise ValueError("request head too large")
        super().on_headers_complete()
        if self._expects_body() and not (self.parser.should_upgrade() and self._should_upgrade()):
            now = self.loop.time()
            self.body_seen, self.body_deadline = now, now + self.body_timeout
            self.body_timer = self.loop.call_later(self.body_idle, self._body_check)

    def on_body(self, body: bytes) -> None:
        self.body_seen = self.loop.time()
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._stop_body_timer()
        super().on_message_complete()

    def _expects_body(self) -> bool:
        for name, value in self.headers:
            if name == b"content-length" and value.strip() not in (b"", b"0"):
                return True
            if name == b"transfer-encoding" and b"chunked" in value.lower():
                return True
        return False

    def _stop_body_timer(self) -> None:
        if self.body_timer is not None:
            self.body_timer.cancel()
            self.body_timer = None

    def _body_check(self) -> None:
        self.body_timer = None
        if self.transport.is_closing() or self.refused:
            return
        now = self.loop.time()
        if self.flow.read_paused:  # the application has not taken what came: not the client
            self.body_seen = now
            self.body_deadline = max(self.body_deadline, now + self.body_idle)
        elif now >= self.body_deadline or now - self.body_seen >= self.body_idle:
            cycle = self.cycle
            if cycle is not None and cycle.response_started:
                self.transport.close()  # answered without the body; nothing more to say
                return
            if cycle is not None:  # the application's receive() now says the client left,
                cycle.disconnected = True  # and whatever it sends is dropped
                cycle.message_event.set()
            self._refuse(408, "The request body took too long to arrive.")
            return
        wake = min(self.body_seen + self.body_idle, self.body_deadline)
        self.body_timer = self.loop.call_later(max(0.0, wake - now), self._body_check)

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return  # lingering: the answer is sent, the rest is dropped
        super().data_received(data)
        if self.in_head and not self.transport.is_closing():
            self.head_bytes += len(data)
            if self.head_bytes > self.max_head:
                self._refuse(431, "Request header fields too large.")

    def send_400_response(self, msg: str) -> None:
        if self.head_too_large:
            self._refuse(431, "Request header fields too large.")
        else:
            super().send_400_response(msg)

    def _start_head_timer(self) -> None:
        self.head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if self.transport.is_closing() or not self.in_head:
            return
        if self.head_bytes:
            self._refuse(408, "The request took too long to arrive.")
        else:
            self.transport.close()

    def _refuse(self, status: int, message: str) -> None:
        """Answer `status` with Connection: close, end the writing side, and drop what the
        client still sends for LINGER_SECONDS before closing (closing with unread data
        would reset the connection, and the client might never read the answer)."""
        if self.refused:
            return
        self.refused = True
        self._stop_head_timer()
        self._stop_body_timer()
        peer = f"{self.client[0]}:{self.client[1]}" if self.client else "?"
        log.info("%s refused: %d %s", peer, status, message)
        body = message.encode()
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head.extend([name, b": ", value, b"\r\n"])
        head.extend(
            [
                b"content-type: text/plain; charset=utf-8\r\n",
                b"content-length: %d\r\n" % len(body),
                b"connection: close\r\n\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(head))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)
