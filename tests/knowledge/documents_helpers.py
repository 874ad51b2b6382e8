"""Files of every kind a test uploads, documents made through the real actions, and the
`settings` fixture of these tests, with limits small enough that a test of the size limit or
the quota need not write 25 MiB (each module imports `small_limits`)."""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from forum.models import User
from forum.settings import Settings
from knowledge.documents import check_document_fields, do_add_version, do_create_document
from knowledge.models import Document, DocumentVersion
from knowledge.pdf import make_pdf
from knowledge.storage import spool_bytes, store_dir

TEST_MAX_BYTES = 64 * 1024
TEST_QUOTA_BYTES = 160 * 1024


@pytest.fixture(name="settings")
def small_limits(settings: Settings) -> Settings:
    return replace(
        settings, document_max_bytes=TEST_MAX_BYTES, document_quota_bytes=TEST_QUOTA_BYTES
    )


WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
EXCEL_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def pdf(text: str = "Risk targeting with machine learning", size: int = 0) -> bytes:
    """A valid PDF; with `size`, at least that many bytes."""
    body = [text]
    if size:  # each character of text takes about 1.4 bytes in the page's stream
        body.append(("lorem ipsum " * (size // 12 + 1))[: int(size / 1.4)])
    made = make_pdf("Test document", body)
    assert len(made) >= size
    return made


def ooxml(main_type: str = WORD_MAIN, part: str = "word/document.xml") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            f'content-types"><Override PartName="/{part}" ContentType="{main_type}"/></Types>',
        )
        archive.writestr(part, "<document>Hello</document>")
    return buffer.getvalue()


def docx() -> bytes:
    return ooxml()


def xlsx() -> bytes:
    return ooxml(EXCEL_MAIN, "xl/workbook.xml")


HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>'
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200 + b"This program"


def stored_files(settings: Settings) -> list[Path]:
    """Every file in the document store (received or kept)."""
    root = store_dir(settings)
    return sorted(p for p in root.iterdir()) if root.exists() else []


async def nothing_left(settings: Settings) -> bool:
    return (
        stored_files(settings) == []
        and await Document.all().count() == 0
        and await DocumentVersion.all().count() == 0
    )


async def make_document(
    settings: Settings,
    user: User,
    *,
    title: str = "Machine learning for risk targeting",
    data: bytes | None = None,
    file_name: str = "risk-targeting.pdf",
    visibility: str = "members",
    deliverable: bool = False,
    technologies: tuple[str, ...] = (),
    doc_type: str = "research",
    language: str = "en",
) -> Document:
    fields = await check_document_fields(
        user,
        title=title,
        abstract="What we **learnt** in a year.",
        authors=user.display_name,
        administration="",
        doc_type=doc_type,
        language=language,
        published_on="2026-06-30",
        visibility=visibility,
        is_deliverable=deliverable,
        technologies=list(technologies),
    )
    spool = spool_bytes(settings, data if data is not None else pdf(title), 10**9)
    return await do_create_document(settings, user, fields, spool, file_name)


async def add_version(
    settings: Settings, user: User, document: Document, data: bytes, file_name: str
) -> DocumentVersion:
    spool = spool_bytes(settings, data, 10**9)
    return await do_add_version(settings, user, document, spool, file_name, note="Revised")
