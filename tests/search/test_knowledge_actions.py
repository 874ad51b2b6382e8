"""Entries and documents reach the index through the knowledge actions themselves, in their
transactions: published is found, a draft or a submitted entry is not, a superseded entry
stays, a deleted document goes, and a document's PDF text is found once it is extracted."""

from __future__ import annotations

from forum.models import Role
from forum.settings import Settings
from knowledge.documents import do_delete_document
from knowledge.entries import do_submit_entry
from knowledge.text import extract_pending
from search.query import SearchRequest, search
from tests.helpers import categories, make_user
from tests.knowledge.documents_helpers import make_document, pdf
from tests.knowledge.entries_support import draft, published


async def _found(viewer: object, q: str, kind: str) -> list[str]:
    page = await search(viewer, SearchRequest(q=q, kind=kind))  # type: ignore[arg-type]
    return [result.title for result in page.results]


async def test_entries_are_searchable_once_published_and_only_then(db: str) -> None:
    await categories()
    mod = await make_user("mod", role=Role.MODERATOR)
    author, reader = await make_user("author"), await make_user("reader")
    shown = await published(author, mod, title="Gradient boosting for container targeting")
    hidden = await draft(author, title="Gradient boosting notes still in draft")
    assert await _found(reader, "gradient boosting", "entry") == [shown.title]
    await do_submit_entry(author, hidden)  # submitted: still not for readers
    assert await _found(reader, "gradient boosting", "entry") == [shown.title]
    assert await _found(None, "gradient boosting", "entry") == []  # entries are not public


async def test_documents_follow_their_actions_and_their_extracted_text(
    db: str, settings: Settings
) -> None:
    await categories()
    alice, reader = await make_user("alice"), await make_user("reader")
    document = await make_document(
        settings, alice, title="Annual report", data=pdf("Tamper evident electronic seals")
    )
    assert await _found(reader, "annual report", "document") == ["Annual report"]
    assert await _found(reader, "electronic seals", "document") == []  # text not read yet
    assert await extract_pending(settings) == 1
    assert await _found(reader, "electronic seals", "document") == ["Annual report"]
    assert await _found(None, "annual report", "document") == []  # members only
    await do_delete_document(alice, document)
    assert await _found(reader, "annual report", "document") == []
