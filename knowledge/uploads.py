"""Reading a multipart upload as it streams in: text fields kept (small and bounded), the one
file part written straight into a `Spool` in the document store.

`forum.middleware.BodyLimitMiddleware` does not buffer the paths in `UPLOAD_PATHS` (it only
caps their total size), so nothing holds a whole upload in memory: each chunk the server
receives goes through python-multipart's streaming parser into the spool, which counts, hashes
and aborts past the limit. Any failure (too large, malformed, the client gone) removes the
spool before the error goes on.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from forum.errors import BadRequest
from forum.i18n import _
from forum.settings import Settings
from knowledge.storage import Spool, clean_file_name, store_dir

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

# The streamed paths: the pages' and the API's uploads (new documents and new versions), and
# the composer's attachments to posts (forum/web/attachments.py, which streams into its own
# store with its own, smaller limit).
ATTACHMENT_PATH = "/composer/attachments"
UPLOAD_PATHS = re.compile(
    r"/knowledge/documents/(?:new|[0-9]{1,10}/versions)|/api/v1/documents(?:/[^/]{1,100}/versions)?"
    + "|"
    + re.escape(ATTACHMENT_PATH)
)
ENVELOPE_BYTES = 512 * 1024  # the text fields and multipart headers around the file
MAX_FIELDS = 60
MAX_FIELD_BYTES = 128 * 1024
FILE_FIELD = "file"


def upload_limit(settings: Settings, path: str = "") -> int:
    """The largest body the middleware lets through to an upload path (posts' attachments
    have their own, smaller limit)."""
    if path == ATTACHMENT_PATH:
        return settings.attachment_max_bytes + ENVELOPE_BYTES
    return settings.document_max_bytes + ENVELOPE_BYTES


@dataclass
class Upload:
    fields: dict[str, list[str]] = field(default_factory=dict)
    spool: Spool | None = None
    file_name: str = ""

    def get(self, name: str) -> str:
        values = self.fields.get(name)
        return values[-1] if values else ""

    def getlist(self, name: str) -> list[str]:
        return list(self.fields.get(name, []))

    def discard(self) -> None:
        if self.spool is not None:
            self.spool.discard()
            self.spool = None


class _Reader:
    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.upload = Upload()
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._name = ""
        self._data = bytearray()
        self._in_file = False
        self._fields = 0

    def on_part_begin(self) -> None:
        self._disposition = b""
        self._data = bytearray()
        self._in_file = False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.strip().lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def on_headers_finished(self) -> None:
        _kind, options = parse_options_header(self._disposition)
        if b"name" not in options:
            raise BadRequest(_("A part of the form has no name."))
        self._name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            if self._name != FILE_FIELD or self.upload.spool is not None:
                raise BadRequest(_("Send one file, in the field `file`."))
            raw = options[b"filename"].decode("utf-8", "replace")
            self.upload.file_name = clean_file_name(raw) if raw.strip() else ""
            self.upload.spool = Spool(self.directory, self.max_bytes)
            self._in_file = True
            return
        self._fields += 1
        if self._fields > MAX_FIELDS:
            raise BadRequest(_("The form has too many fields."))

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            assert self.upload.spool is not None
            self.upload.spool.write(data[start:end])
            return
        self._data += data[start:end]
        if len(self._data) > MAX_FIELD_BYTES:
            raise BadRequest(_("A field of the form is too long."))

    def on_part_end(self) -> None:
        if self._in_file:
            self._in_file = False
            return
        text = self._data.decode("utf-8", "replace")
        self.upload.fields.setdefault(self._name, []).append(text)


async def receive_upload(
    request: Request,
    settings: Settings,
    *,
    max_bytes: int,
    into: Upload | None = None,
    directory: Path | None = None,
) -> Upload:
    """The form's fields and its file (in a spool, or None when no file was chosen), read
    into `into` if given: after a refusal it still holds the fields read so far, for the
    form to show again. The spool is in the document store unless `directory` names
    another (posts' attachments)."""
    _kind, params = parse_options_header(request.headers.get("content-type", ""))
    if _kind != b"multipart/form-data" or not params.get(b"boundary"):
        raise BadRequest(_("Send the form as multipart/form-data, with the file in `file`."))
    reader = _Reader(directory or store_dir(settings), max_bytes)
    if into is not None:
        reader.upload = into
    callbacks: MultipartCallbacks = {
        "on_part_begin": reader.on_part_begin,
        "on_part_data": reader.on_part_data,
        "on_part_end": reader.on_part_end,
        "on_header_field": reader.on_header_field,
        "on_header_value": reader.on_header_value,
        "on_header_end": reader.on_header_end,
        "on_headers_finished": reader.on_headers_finished,
    }
    try:
        try:
            parser = MultipartParser(params[b"boundary"], callbacks)
            async for chunk in request.stream():
                parser.write(chunk)
            parser.finalize()
        except FormParserError:
            raise BadRequest(_("The form data is malformed.")) from None
        spool = reader.upload.spool
        if spool is not None:
            await asyncio.to_thread(spool.close)
            if not reader.upload.file_name:
                if spool.size == 0:
                    reader.upload.discard()  # the file input was left empty
                else:
                    reader.upload.file_name = "document"
    except BaseException:
        reader.upload.discard()
        raise
    return reader.upload
