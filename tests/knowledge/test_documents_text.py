"""The text of uploaded PDFs is read after the upload, outside any request, once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from forum.settings import Settings
from knowledge.models import DocumentVersion
from knowledge.text import extract_pending
from tests.helpers import categories, make_user
from tests.knowledge.documents_helpers import (
    docx,
    make_document,
    pdf,
    small_limits,  # noqa: F401 (the settings fixture)
)


async def test_a_pdf_is_read_after_its_upload_and_other_files_are_not(
    db: str, settings: Settings
) -> None:
    await categories()
    alice = await make_user("alice")
    await make_document(settings, alice, data=pdf("Electronic seals at the border"))
    await make_document(settings, alice, title="A report", data=docx(), file_name="r.docx")
    states = await DocumentVersion.all().order_by("id").values_list("text_state", flat=True)
    assert states == ["pending", ""]  # nothing read during the upload itself
    assert await extract_pending(settings) == 1
    first, second = await DocumentVersion.all().order_by("id")
    assert first.text_state == "done" and "Electronic seals at the border" in first.text
    assert (second.text_state, second.text) == ("", "")
    assert await extract_pending(settings) == 0  # read once


async def test_an_unreadable_pdf_fails_once_and_is_not_tried_again(
    db: str, settings: Settings
) -> None:
    await categories()
    alice = await make_user("alice")
    garbage = b"%PDF-1.7\n" + b"\x00garbage that is no PDF structure" * 50 + b"\n%%EOF\n"
    await make_document(settings, alice, data=garbage, file_name="odd.pdf")
    assert await extract_pending(settings) == 1
    version = await DocumentVersion.get()
    assert (version.text_state, version.text) in (("failed", ""), ("done", ""))
    assert await extract_pending(settings) == 0


async def test_two_workers_read_each_pdf_once(db: str, settings: Settings) -> None:
    await categories()
    alice = await make_user("alice")
    for n in range(6):
        await make_document(settings, alice, title=f"Study {n}", data=pdf(f"study {n}"))
    handled = await asyncio.gather(extract_pending(settings), extract_pending(settings))
    assert sum(handled) == 6
    assert set(await DocumentVersion.all().values_list("text_state", flat=True)) == {"done"}


async def test_a_claim_abandoned_by_a_dead_worker_is_given_up(db: str, settings: Settings) -> None:
    await categories()
    alice = await make_user("alice")
    await make_document(settings, alice, data=pdf())
    long_ago = datetime.now(UTC) - timedelta(minutes=16)
    await DocumentVersion.all().update(text_state="working", text_claimed_at=long_ago)
    assert await extract_pending(settings) == 0
    assert (await DocumentVersion.get()).text_state == "failed"
