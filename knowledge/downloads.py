"""Serving a stored document file: always an attachment, with the type sniffed at upload
(posts' attachments use `stored_file_response` too, images shown inline).

The browser is told not to guess (`nosniff`), not to run anything (`sandbox`) and not to keep
it (`no-store`): the next download asks the policy again. Only the four accepted types ever
leave here; a row naming anything else (or a file gone from disk) is a 404.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from starlette.responses import FileResponse

from forum.errors import NotFound
from forum.i18n import _
from forum.settings import Settings
from knowledge.models import DocumentVersion
from knowledge.storage import CONTENT_TYPES, content_disposition, stored_path


def stored_file_response(
    path: Path | None,
    content_type: str,
    file_name: str,
    *,
    allowed: Collection[str],
    inline: bool = False,
) -> FileResponse:
    """A stored file, streamed from disk with its sniffed type (one of `allowed`, else a
    404), as an attachment, or shown in place when `inline` (posts' images)."""
    if path is None or content_type not in allowed or not path.is_file():
        raise NotFound(_("This file is not available."))
    disposition = content_disposition(file_name)
    if inline:
        disposition = "inline" + disposition.removeprefix("attachment")
    return FileResponse(
        path,
        media_type=content_type,
        headers={
            "Content-Disposition": disposition,
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Cache-Control": "no-store",
        },
    )


def file_response(settings: Settings, version: DocumentVersion) -> FileResponse:
    path = stored_path(settings, version.stored_name)
    return stored_file_response(
        path, version.content_type, version.file_name, allowed=CONTENT_TYPES
    )
