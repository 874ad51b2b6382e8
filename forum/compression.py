"""gzip for text responses (pages, CSS, JS, JSON, CSV exports), with starlette's GZip
responder, when the client accepts it.

What is compressed: `text/*`, JSON, JavaScript, SVG and XML bodies of at least
`MINIMUM_SIZE` bytes, generated exports (CSV, vCard) included. What is not: stored files
handed out as downloads (an attachment served from disk keeps its exact bytes,
`Content-Length` and range requests), images, PDFs and other binary types, partial (206)
answers, and anything already encoded. WebSockets pass
through untouched. A streamed body (the audit CSV) stays streamed: each chunk is compressed
and flushed as it goes.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.gzip import GZipResponder
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MINIMUM_SIZE = 1024  # smaller bodies gain too little to be worth a compressor
LEVEL = 6  # zlib's default: most of level 9's gain at a fraction of its time
TEXT_TYPES = frozenset(
    {
        "application/json",
        "application/javascript",
        "application/xml",
        "application/manifest+json",
        "image/svg+xml",
    }
)


def compressible(headers: Headers) -> bool:
    """A text body, and not a stored file handed out as a download (`FileResponse` with
    `Content-Disposition: attachment`): its bytes, length and ranges stay exact."""
    media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
    if not (media_type.startswith("text/") or media_type in TEXT_TYPES):
        return False
    attachment = headers.get("content-disposition", "").lower().startswith("attachment")
    return not (attachment and "accept-ranges" in headers)


class _TextResponder(GZipResponder):
    """starlette's GZip responder, for text bodies only: anything else passes untouched."""

    untouched = False

    async def send_with_compression(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.untouched = not compressible(Headers(raw=message.get("headers", [])))
        if self.untouched:
            await self.send(message)
            return
        await super().send_with_compression(message)


class CompressionMiddleware:
    def __init__(self, app: ASGIApp, minimum_size: int = MINIMUM_SIZE) -> None:
        self.app = app
        self.minimum_size = minimum_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _accepts_gzip(Headers(scope=scope)):
            await self.app(scope, receive, send)
            return
        responder = _TextResponder(self.app, self.minimum_size, compresslevel=LEVEL)
        await responder(scope, receive, send)


def _accepts_gzip(headers: Headers) -> bool:
    """`gzip` among Accept-Encoding's codings, not refused with q=0."""
    for part in headers.get("accept-encoding", "").lower().split(","):
        coding, _semicolon, params = part.strip().partition(";")
        if coding.strip() in ("gzip", "x-gzip", "*"):
            quality = params.replace(" ", "")
            return quality not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False
