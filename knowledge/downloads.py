"""Serving a stored document file: always an attachment, with the type sniffed at upload.

The browser is told not to guess (`nosniff`), not to run anything (`sandbox`) and not to keep
it (`no-store`): the next download asks the policy again. Only the four accepted types ever
leave here; a row naming anything else (or a file gone from disk) is a 404.
"""

from __future__ import annotations

from starlette.responses import FileResponse

from forum.errors import NotFound
from forum.i18n import _
from forum.settings import Settings
from knowledge.models import DocumentVersion
from knowledge.storage import CONTENT_TYPES, content_disposition, stored_path


def file_response(settings: Settings, version: DocumentVersion) -> FileResponse:
    path = stored_path(settings, version.stored_name)
    if path is None or version.content_type not in CONTENT_TYPES or not path.is_file():
        raise NotFound(_("This file is not available."))
    return FileResponse(
        path,
        media_type=version.content_type,
        headers={
            "Content-Disposition": content_disposition(version.file_name),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Cache-Control": "no-store",
        },
    )
