"""What the current request is, for code far from it: the client's address for audit rows.

`AuthMiddleware` sets it for every HTTP request; the CLI and tests leave it empty."""

from __future__ import annotations

from contextvars import ContextVar

client_ip: ContextVar[str] = ContextVar("client_ip", default="")
