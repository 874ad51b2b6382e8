"""Where document files live, how an upload reaches them, and what a file really is.

Files are kept under `<var dir>/documents/` (never served as a folder: only the download
endpoints read it, after asking the policy) under random names. An upload is written, chunk by
chunk as it arrives, to a temporary file in that folder (`Spool`) while it is hashed and
counted: past the size limit it is aborted and removed at once, so no upload ever sits whole
in memory and a refused one leaves nothing behind. Once the action has checked it, the spool
is renamed to its stored name inside the transaction that writes the row.

`sniff()` decides the type from the content alone: a PDF starts with `%PDF-` and ends with
`%%EOF`; DOCX, XLSX and PPTX are ZIP files whose `[Content_Types].xml` names the main part of
a Word, Excel or PowerPoint document and which hold that part. Anything else (an HTML page or
an SVG image named .pdf, an executable named .docx, a truncated file) is refused, and a name
whose extension disagrees with the content is refused too.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import unicodedata
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from struct import error as struct_error
from typing import TYPE_CHECKING
from urllib.parse import quote

from forum.errors import Invalid, TooLarge
from forum.i18n import N_, _
from forum.settings import Settings

if TYPE_CHECKING:
    from forum.models import User

CHUNK = 64 * 1024
_STORED_NAME = re.compile(r"[0-9a-f]{48}")
_SPOOL_PREFIX = "incoming-"


def store_dir(settings: Settings) -> Path:
    return settings.var_dir / "documents"


def human_size(size: int) -> str:
    """A size as people read it: 820 bytes, 64 KiB, 2.5 MiB."""
    if size < 1024:
        return _("%(n)d bytes") % {"n": size}
    if size < 1024 * 1024:
        return _("%(n)d KiB") % {"n": round(size / 1024)}
    return _("%(n)s MiB") % {"n": f"{size / (1024 * 1024):.1f}".removesuffix(".0")}


def stored_path(settings: Settings, stored_name: str, directory: Path | None = None) -> Path | None:
    """Where a stored file lives (in the document store unless `directory` names another
    store, e.g. posts' attachments), or None for a name we never make (no path tricks)."""
    if not _STORED_NAME.fullmatch(stored_name):
        return None
    return (directory or store_dir(settings)) / stored_name


class Spool:
    """A file being received: written to a temporary file in the store, hashed and counted
    as it comes. `write()` past `max_bytes` removes the file and raises TooLarge."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)  # the server's alone
        self.directory = directory
        self.max_bytes = max_bytes
        self.path = directory / f"{_SPOOL_PREFIX}{secrets.token_hex(16)}"
        self._file = self.path.open("xb")
        self._hash = hashlib.sha256()
        self.size = 0
        self.stored_name = secrets.token_hex(24)  # where `keep()` moves it

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            self.discard()
            raise TooLarge(
                _("The file is larger than the limit of %(limit)s.")
                % {"limit": human_size(self.max_bytes)},
                field="file",
            )
        self._hash.update(data)
        self._file.write(data)

    def close(self) -> None:
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def keep(self) -> str:
        """Move the received file to its random stored name; returns that name."""
        self.close()
        target = self.directory / self.stored_name
        os.replace(self.path, target)
        self.path = target
        return self.stored_name

    def discard(self) -> None:
        """Remove the file, wherever it is now (received or kept)."""
        if not self._file.closed:
            self._file.close()
        self.path.unlink(missing_ok=True)


def spool_bytes(settings: Settings, data: bytes, max_bytes: int) -> Spool:
    """A spool holding `data` (for the demo seed and scripts)."""
    spool = Spool(store_dir(settings), max_bytes)
    try:
        for start in range(0, len(data), CHUNK):
            spool.write(data[start : start + CHUNK])
        spool.close()
    except BaseException:
        spool.discard()
        raise
    return spool


# --- what a file is -----------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    label: str  # shown to people as _(label): "PDF", "Word document", ...
    extension: str
    content_type: str
    other_extensions: tuple[str, ...] = ()  # also accepted in a name (".jpeg" for ".jpg")

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


PDF = Kind(N_("PDF"), ".pdf", "application/pdf")
DOCX = Kind(
    N_("Word document"),
    ".docx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
)
XLSX = Kind(
    N_("Excel workbook"),
    ".xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)
PPTX = Kind(
    N_("PowerPoint presentation"),
    ".pptx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
)
KINDS = (PDF, DOCX, XLSX, PPTX)
EXTENSIONS = {kind.extension: kind for kind in KINDS}
CONTENT_TYPES = frozenset(kind.content_type for kind in KINDS)

# Pictures, accepted where `sniff(..., images=True)` is asked (posts' attachments), never as
# documents. Each is opened by Pillow (header and structure, not decoded) to be believed.
PNG = Kind(N_("PNG image"), ".png", "image/png")
JPEG = Kind(N_("JPEG image"), ".jpg", "image/jpeg", (".jpeg",))
GIF = Kind(N_("GIF image"), ".gif", "image/gif")
WEBP = Kind(N_("WebP image"), ".webp", "image/webp")
IMAGE_KINDS = (PNG, JPEG, GIF, WEBP)
IMAGE_CONTENT_TYPES = frozenset(kind.content_type for kind in IMAGE_KINDS)
_PILLOW_FORMATS = {"PNG": PNG, "JPEG": JPEG, "GIF": GIF, "WEBP": WEBP}
IMAGE_MAX_PIXELS = 50_000_000  # what a browser is asked to decode

# The main part each OOXML package must declare and hold.
_OOXML_MAIN = (
    (DOCX, b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
     "word/document.xml"),
    (XLSX, b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
     "xl/workbook.xml"),
    (PPTX, b"application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
     "ppt/presentation.xml"),
)  # fmt: skip
_CONTENT_TYPES_MAX = 1024 * 1024
_ZIP_MAX_ENTRIES = 10_000
_ZIP_MAX_EXPANDED = 512 * 1024 * 1024  # every part is read once to check it
# Shown as _(ACCEPTED), in the reader's language.
ACCEPTED = N_("PDF, Word (.docx), Excel (.xlsx) or PowerPoint (.pptx)")


def _refuse(message: str) -> Invalid:
    return Invalid(message, field="file")


def _what_else(head: bytes) -> str:
    """Words for a file we refuse, from its first bytes."""
    if (
        head.startswith(b"MZ")
        or head.startswith(b"\x7fELF")
        or head[:4]
        in (
            b"\xfe\xed\xfa\xce",
            b"\xfe\xed\xfa\xcf",
            b"\xcf\xfa\xed\xfe",
            b"\xce\xfa\xed\xfe",
        )
    ):
        return _("an executable program")
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in text[:4096]:
        return _("an SVG image")
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script")) or (
        b"<html" in text[:4096]
    ):
        return _("an HTML page")
    if text.startswith(b"<"):
        return _("an XML or HTML file")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return _("an old Office file (.doc, .xls, .ppt): save it in the newer format")
    return _("not a file type we accept")


def _sniff_zip(path: Path) -> Kind:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if len(names) > _ZIP_MAX_ENTRIES or "[Content_Types].xml" not in names:
                raise _refuse(
                    _("This ZIP file is not a Word, Excel or PowerPoint document (%(accepted)s).")
                    % {"accepted": _(ACCEPTED)}
                )
            info = archive.getinfo("[Content_Types].xml")
            if info.file_size > _CONTENT_TYPES_MAX:
                raise _refuse(_("This document's structure is not valid."))
            declared = archive.read(info)
            for kind, main_type, part in _OOXML_MAIN:
                if main_type in declared and part in names:
                    expanded = sum(i.file_size for i in archive.infolist())
                    if expanded > _ZIP_MAX_EXPANDED:
                        raise _refuse(_("This document expands to more than 512 MiB."))
                    if archive.testzip() is not None:
                        raise _refuse(_("This document is damaged: a part of it does not read."))
                    return kind
    except zipfile.BadZipFile:
        message = _("This file is damaged or truncated: the ZIP archive does not open.")
        raise _refuse(message) from None
    except (OSError, EOFError, ValueError, NotImplementedError, RuntimeError):
        raise _refuse(_("This document is damaged: a part of it does not read.")) from None
    raise _refuse(
        _("This ZIP file is not a Word, Excel or PowerPoint document (macro-enabled files are"
          " refused; %(accepted)s).") % {"accepted": _(ACCEPTED)}
    )  # fmt: skip


def _image_signature(head: bytes) -> bool:
    return head.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")) or (
        head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    )


def _sniff_image(path: Path) -> Kind:
    """A PNG, JPEG, GIF or WebP that Pillow opens and checks (not decoded: a browser does
    that), of at most IMAGE_MAX_PIXELS."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    damaged = _("This image is damaged or truncated.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=sorted(_PILLOW_FORMATS)) as image:
                kind = _PILLOW_FORMATS[str(image.format)]
                width, height = image.size
                if width * height > IMAGE_MAX_PIXELS:
                    raise _refuse(
                        _("This image is too large: at most %(n)d million pixels.")
                        % {"n": IMAGE_MAX_PIXELS // 1_000_000}
                    )
                image.verify()
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refuse(damaged) from None
    except (OSError, SyntaxError, ValueError, EOFError, KeyError, struct_error):
        raise _refuse(damaged) from None
    return kind


def sniff(path: Path, *, images: bool = False, accepted: str = ACCEPTED) -> Kind:
    """The file's type from its content, or Invalid (field `file`) saying what is wrong.
    `images` accepts pictures too; `accepted` (an N_() text) is what the refusal lists."""
    size = path.stat().st_size
    if size == 0:
        raise _refuse(_("The file is empty."))
    with path.open("rb") as file:
        head = file.read(8192)
        if images and _image_signature(head):
            return _sniff_image(path)
        if head.startswith(b"%PDF-"):
            file.seek(max(0, size - 2048))
            tail = file.read()
            if b"%%EOF" not in tail:
                raise _refuse(_("This PDF is truncated: it has no end-of-file marker (%%EOF)."))
            return PDF
    if head.startswith(b"PK\x03\x04"):
        return _sniff_zip(path)
    raise _refuse(
        _("This file is %(what)s. Upload a %(accepted)s file.")
        % {"what": _what_else(head), "accepted": _(accepted)}
    )


def check_name_matches(file_name: str, kind: Kind) -> str:
    """The file's name, with the extension its content calls for: a name without one gets
    it; a name whose extension says another type is refused."""
    stem, dot, extension = file_name.rpartition(".")
    if not dot or not stem:
        return file_name + kind.extension
    found = "." + extension.lower()
    if found != kind.extension and found not in kind.other_extensions:
        raise _refuse(
            _("The file is named %(extension)s but its content is a %(kind)s: rename it or"
              " upload the right file.") % {"extension": found, "kind": _(kind.label)}
        )  # fmt: skip
    return file_name


# --- names ---------------------------------------------------------------------------------


def clean_file_name(raw: str) -> str:
    """The name a browser or client sent, made safe to keep and show: the last path
    component, NFC, no control characters, at most 200 characters (the extension kept)."""
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip(" .")
    if len(name) > 200:
        stem, dot, extension = name.rpartition(".")
        name = (stem[:190] + dot + extension[:9]) if dot and len(extension) < 10 else name[:200]
    return name or "document"


_ASCII_SAFE = re.compile(r"[^A-Za-z0-9._ ()-]+")
_ATTR_CHARS = "!#$&+-.^_`|~"  # RFC 8187 attr-char besides letters and digits


def content_disposition(file_name: str) -> str:
    """`attachment` with an ASCII fallback and the exact name in RFC 8187 encoding: no quote,
    backslash, CR or LF can reach the header."""
    name = clean_file_name(file_name)
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = _ASCII_SAFE.sub("_", ascii_name).strip(" _") or "document"
    encoded = quote(name, safe=_ATTR_CHARS)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}"


def remove_stale_spools(
    settings: Settings, *, older_than: float = 3600, directory: Path | None = None
) -> int:
    """Remove the temporary files a crashed process left behind (uploads still arriving in
    another worker are younger than `older_than` seconds, and kept), in the document store
    or in `directory`. Run at start-up."""
    import time

    directory = directory or store_dir(settings)
    if not directory.exists():
        return 0
    removed = 0
    limit = time.time() - older_than
    for path in directory.iterdir():
        if path.name.startswith(_SPOOL_PREFIX) and path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


async def check_quota(
    actor: User, size: int, quota: int, used_of: Callable[[int], Awaitable[int]], message: str
) -> None:
    """Inside the upload's transaction: lock the member's row (two uploads at once cannot
    both pass), then refuse a file that would take them over `quota`. `message` is a
    translated text with %(size)s, %(quota)s and %(used)s."""
    from forum.models import User

    await User.filter(id=actor.id).select_for_update().first()
    used = await used_of(actor.id)
    if used + size > quota:
        values = {"size": human_size(size), "quota": human_size(quota), "used": human_size(used)}
        raise TooLarge(message % values, field="file")
