"""An entry's author attaches their documents to it and removes them; readers see the
attachments they may see; nobody else can change them."""

from __future__ import annotations

import httpx

from forum.settings import Settings
from knowledge.documents import do_delete_document
from knowledge.models import EntryAttachment
from tests.helpers import categories, log_in, make_user
from tests.knowledge.documents_helpers import make_document
from tests.knowledge.entries_support import draft, place


async def test_the_author_attaches_and_removes_a_document_and_readers_see_it(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await categories()
    alice = await place(await make_user("alice"), "KE")
    bob = await make_user("bob")
    entry = await draft(alice)
    mine = await make_document(settings, alice, title="Our pilot report")
    token = await log_in(client, alice)

    page = await client.get(f"/knowledge/entries/{entry.id}")
    assert "Attach one of your documents" in page.text and "Our pilot report" in page.text
    done = await client.post(
        f"/knowledge/entries/{entry.id}/attachments",
        data={"csrf_token": token, "document_id": str(mine.id)},
    )
    assert done.status_code == 303
    page = await client.get(f"/knowledge/entries/{entry.id}")
    assert f'href="/knowledge/documents/{mine.id}">Our pilot report</a>' in page.text
    assert await EntryAttachment.filter(entry_id=entry.id).count() == 1

    # Someone else cannot change the author's attachments (nor see the draft at all).
    other = await log_in(client, bob)
    refused = await client.post(
        f"/knowledge/entries/{entry.id}/attachments",
        data={"csrf_token": other, "document_id": str(mine.id)},
    )
    assert refused.status_code == 404
    # A document that does not exist, or a bad id, is refused with a message.
    token = await log_in(client, alice)
    missing = await client.post(
        f"/knowledge/entries/{entry.id}/attachments",
        data={"csrf_token": token, "document_id": "999999"},
    )
    assert missing.status_code == 404
    bad = await client.post(
        f"/knowledge/entries/{entry.id}/attachments",
        data={"csrf_token": token, "document_id": "²"},
    )
    assert bad.status_code == 400

    # A deleted document no longer shows; removing an attachment takes it off.
    await do_delete_document(alice, mine)
    page = await client.get(f"/knowledge/entries/{entry.id}")
    assert "Our pilot report" not in page.text
    removed = await client.post(
        f"/knowledge/entries/{entry.id}/attachments/{mine.id}/remove", data={"csrf_token": token}
    )
    assert removed.status_code == 303
    assert await EntryAttachment.filter(entry_id=entry.id).count() == 0
