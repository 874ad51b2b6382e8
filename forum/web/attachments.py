"""Posts' attachments on the web (forum/actions/attachments.py): the composer's upload and
the download every reader's browser asks for.

    POST /composer/attachments   multipart, the file in `file`  -> 201 {"id", "name", "url",
                                                                   "image", "markdown"}
    GET  /attachments/{id}/{name}                               -> the file (policy asked)

The upload streams (knowledge.uploads: its path is in `UPLOAD_PATHS`, so the body-limit
middleware does not buffer it) into the attachments' store; CSRF is the page's token in the
X-CSRF-Token header, as the composer's other calls. Refusals are JSON with the message the
composer shows. A download that may not be seen is a 404, the same as a missing one; images
are shown inline with their sniffed type, other files are attachments; both `nosniff`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from forum.actions.attachments import (
    address,
    attachment_dir,
    do_upload_attachment,
    is_image,
    markdown_for,
)
from forum.auth import current_user, require_member
from forum.errors import ForumError
from forum.queries.attachments import access_attachment
from forum.settings import Settings
from forum.web.composer import _json_error
from forum.web.forms import path_id
from knowledge.downloads import stored_file_response
from knowledge.storage import CONTENT_TYPES, IMAGE_CONTENT_TYPES, stored_path
from knowledge.uploads import Upload, receive_upload

ALLOWED = CONTENT_TYPES | IMAGE_CONTENT_TYPES


async def upload(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    received = Upload()
    try:
        user = require_member(request)
        await receive_upload(
            request,
            settings,
            max_bytes=settings.attachment_max_bytes,
            into=received,
            directory=attachment_dir(settings),
        )
        attachment = await do_upload_attachment(settings, user, received.spool, received.file_name)
    except ForumError as exc:
        received.discard()
        return _json_error(exc)
    except BaseException:
        received.discard()
        raise
    data = {
        "id": attachment.id,
        "name": attachment.file_name,
        "url": address(attachment),
        "image": is_image(attachment),
        "markdown": markdown_for(attachment),
    }
    return JSONResponse(data, status_code=201, headers={"cache-control": "no-store"})


async def download(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    attachment = await access_attachment(current_user(request), path_id(request))
    return stored_file_response(
        stored_path(settings, attachment.stored_name, attachment_dir(settings)),
        attachment.content_type,
        attachment.file_name,
        allowed=ALLOWED,
        inline=is_image(attachment),
    )
