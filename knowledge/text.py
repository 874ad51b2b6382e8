"""The text of uploaded PDFs, for search, read outside any request.

An upload of a PDF leaves its version `pending`; `TextExtractor` (started by the app's
lifespan in every served process, every few seconds) claims pending versions one at a time by
a conditional update (`pending` -> `working`, so two workers never read the same file) and
reads at most `MAX_PAGES` pages and `MAX_CHARS` characters with pypdf in a thread, then
stores the text (`done`) or gives up (`failed`). A claim older than `CLAIM_TIMEOUT` means its
process died on that file: it is marked `failed`, never tried again, so a file that crashes
the reader cannot do it twice.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from forum.errors import log_failure
from forum.events import atomic
from forum.settings import Settings
from knowledge.models import DocumentVersion
from knowledge.storage import PDF, stored_path
from search import index as search_index

log = logging.getLogger(__name__)

MAX_PAGES = 200
MAX_CHARS = 500_000
BATCH = 20
POLL_SECONDS = 5.0
CLAIM_TIMEOUT = timedelta(minutes=15)
PENDING, WORKING, DONE, FAILED = "pending", "working", "done", "failed"


def initial_state(content_type: str) -> str:
    """What a new version's text waits for: PDFs are read, other files are not (yet)."""
    return PENDING if content_type == PDF.content_type else ""


def extract_pdf_text(path: Path) -> str:
    """The text of the first pages of a PDF, bounded, as a database column can store it."""
    from pypdf import PdfReader

    reader = PdfReader(path)
    parts: list[str] = []
    total = 0
    for number, page in enumerate(reader.pages):
        if number >= MAX_PAGES or total >= MAX_CHARS:
            break
        text = page.extract_text() or ""
        parts.append(text)
        total += len(text)
    text = "\n".join(parts)[:MAX_CHARS].replace("\x00", "")
    return text.encode("utf-8", "replace").decode("utf-8")


async def extract_pending(settings: Settings, *, now: datetime | None = None) -> int:
    """One round: up to `BATCH` pending versions read. Returns how many were handled."""
    now = now or datetime.now(UTC)
    await DocumentVersion.filter(
        text_state=WORKING, text_claimed_at__lt=now - CLAIM_TIMEOUT
    ).update(text_state=FAILED)
    ids: list[Any] = (
        await DocumentVersion.filter(text_state=PENDING)
        .order_by("id")
        .limit(BATCH)
        .values_list("id", flat=True)
    )
    handled = 0
    for version_id in ids:
        claimed = await DocumentVersion.filter(id=version_id, text_state=PENDING).update(
            text_state=WORKING, text_claimed_at=now
        )
        if not claimed:
            continue  # another worker has it
        version = await DocumentVersion.get(id=version_id)
        path = stored_path(settings, version.stored_name)
        text, state = "", FAILED
        try:
            if path is not None and path.is_file():
                text = await asyncio.to_thread(extract_pdf_text, path)
                state = DONE
        except Exception as exc:  # a PDF pypdf cannot read: searchable by its details only
            log.warning("no text from document version %s: %s", version_id, exc)
        async with atomic():  # the text and the search index's copy of it, together
            await DocumentVersion.filter(id=version_id, text_state=WORKING).update(
                text=text, text_state=state
            )
            await search_index.index_document(version.document_id)
        handled += 1
    return handled


class TextExtractor:
    """Reads pending PDFs every `poll` seconds while the app runs."""

    def __init__(self, settings: Settings, poll: float = POLL_SECONDS) -> None:
        self.settings = settings
        self.poll = poll

    async def run(self) -> None:
        while True:
            try:
                while await extract_pending(self.settings) == BATCH:
                    pass  # a full round: more may be waiting, go on at once
            except Exception as exc:  # a database hiccup: the next round tries again
                log_failure(log, "document text round failed", exc)
            await asyncio.sleep(self.poll)
