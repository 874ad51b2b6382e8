"""The entry workflow and its moderation: draft → submitted → published (with its discussion
topic) or back to draft with the reviewer's note; edits after publication reviewed again while
the published text stays; each published version viewable; supersession both ways."""

from __future__ import annotations

import httpx
import pytest

from forum.errors import Conflict, Forbidden, TwoFactorSetupRequired
from forum.models import AuditLog, Event, Notification, Post, ReviewItem, ReviewStatus, Role, Topic
from knowledge.entries import do_submit_entry, do_supersede, do_update_entry
from knowledge.models import EntryStatus, EntryVersion, KnowledgeEntry, VersionStatus
from moderation import review
from notifications.outbox import OutboxMessage
from tests.helpers import bearer, categories, log_in, make_user
from tests.knowledge.entries_support import (
    _api_follows_the_document,  # noqa: F401  (an autouse fixture)
    draft,
    pending_item,
    place,
    published,
    submitted,
    typed,
)


async def test_a_draft_submitted_and_approved_from_the_queue_is_published_with_its_topic(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice = await place(await make_user("alice"), "KE")
    mod = await make_user("mod", role=Role.MODERATOR)
    token = await log_in(client, alice)
    form = {
        "csrf_token": token, "then": "save", "kind": "pitfall", "technology": "blockchain",
        "stage": "in_production", "maturity": "4", "language": "en",
        "title": "Do not put personal data on a shared ledger", "summary": "Hashes only.",
        "context": "A regional ledger for certificates of origin.", "what_was_done": "We stored",
        "outcome": "A data-protection finding.", "lessons": "Keep **personal data** off-chain.",
        "costs_risks": "", "links": "", "supersedes": "",
    }  # fmt: skip
    saved = await client.post("/knowledge/entries/new", data=form)
    assert saved.status_code == 303
    entry = await KnowledgeEntry.get(title="Do not put personal data on a shared ledger")
    assert saved.headers["location"] == f"/knowledge/entries/{entry.id}?saved=1"
    assert entry.status == EntryStatus.DRAFT
    assert entry.administration_id == alice.administration_id and entry.region == "ESA"
    assert entry.html["lessons"] == "<p>Keep <strong>personal data</strong> off-chain.</p>"
    page = await client.get(f"/knowledge/entries/{entry.id}")
    assert "only you" in page.text and "Submit for review" in page.text

    sent = await client.post(f"/knowledge/entries/{entry.id}/submit", data={"csrf_token": token})
    assert sent.status_code == 303
    await entry.refresh_from_db()
    assert entry.status == EntryStatus.SUBMITTED
    (version,) = await EntryVersion.filter(entry_id=entry.id)
    assert version.number == 1 and version.status == VersionStatus.SUBMITTED
    item = await pending_item(entry)
    assert item.category_id == cats["blockchain"].id and item.author_id == alice.id
    # Editing while it waits is refused, with a message.
    edit = await client.get(f"/knowledge/entries/{entry.id}/edit")
    assert edit.status_code == 409 and "waiting for review" in edit.text

    mod_token = await log_in(client, mod)
    queue = await client.get("/review")
    assert "Knowledge entry awaiting review" in queue.text
    assert "Do not put personal data on a shared ledger" in queue.text
    detail = await client.get(f"/review/{item.id}")
    assert f'href="/knowledge/entries/{entry.id}"' in detail.text
    assert "<strong>personal data</strong>" in detail.text  # the sections, as rendered
    assert 'value="delete"' not in detail.text  # approve or reject only
    on_page = await client.get(f"/knowledge/entries/{entry.id}")
    assert "Approve and publish" in on_page.text
    decided = await client.post(
        f"/review/{item.id}/decide", data={"csrf_token": mod_token, "action": "approve"}
    )
    assert decided.status_code == 303
    await entry.refresh_from_db()
    assert entry.status == EntryStatus.PUBLISHED and entry.version == 1
    assert entry.published_at is not None
    await version.refresh_from_db()
    assert version.status == VersionStatus.PUBLISHED and version.decided_by_id == mod.id
    # Its discussion topic, in its technology's category, written by its author.
    assert entry.topic_id is not None
    topic = await Topic.get(id=entry.topic_id)
    assert topic.category_id == cats["blockchain"].id and topic.author_id == alice.id
    first = await Post.get(topic_id=topic.id, number=1)
    assert f"/knowledge/entries/{entry.id}" in first.html
    audit = await AuditLog.get(action="review.approve", target_id=item.id)
    assert audit.actor_id == mod.id and audit.data["entry_id"] == entry.id
    (note,) = await Notification.filter(user_id=alice.id)
    assert await OutboxMessage.filter(to_address="alice@example.org").count() == 1
    await log_in(client, alice)
    told = await client.get(f"/notifications/{note.id}")
    assert told.headers["location"] == f"/knowledge/entries/{entry.id}"

    bob = await make_user("bob")
    await log_in(client, bob)
    shown = await client.get(f"/knowledge/entries/{entry.id}")
    assert shown.status_code == 200
    assert "<strong>personal data</strong>" in shown.text
    assert f'href="/t/{topic.id}"' in shown.text and "Mark as helpful" in shown.text


async def test_a_rejection_sends_the_entry_back_to_draft_with_the_reviewers_note(
    client: httpx.AsyncClient,
) -> None:
    await categories()
    alice = await make_user("alice")
    mod = await make_user("mod", role=Role.MODERATOR)
    entry = await submitted(alice)
    item = await pending_item(entry)
    mod_token = await log_in(client, mod)
    # A rejection needs the note: the form comes back with the message.
    refused = await client.post(
        f"/knowledge/entries/{entry.id}/decide", data={"csrf_token": mod_token, "action": "reject"}
    )
    assert refused.status_code == 422 and "Give the reason" in refused.text
    assert (await KnowledgeEntry.get(id=entry.id)).status == EntryStatus.SUBMITTED
    done = await client.post(
        f"/knowledge/entries/{entry.id}/decide",
        data={"csrf_token": mod_token, "action": "reject", "reason": "Name the ports."},
    )
    assert done.status_code == 303
    await entry.refresh_from_db()
    assert entry.status == EntryStatus.DRAFT and entry.review_note == "Name the ports."
    assert entry.topic_id is None and entry.published_at is None
    (version,) = await EntryVersion.filter(entry_id=entry.id)
    assert version.status == VersionStatus.REJECTED and version.note == "Name the ports."
    assert (await ReviewItem.get(id=item.id)).status == ReviewStatus.REJECTED
    assert await AuditLog.filter(action="review.reject", target_id=item.id).count() == 1
    rejected = await Event.get(type="knowledge.entry.rejected")
    assert rejected.channel == f"user:{alice.id}" and rejected.payload["note"] == "Name the ports."

    await log_in(client, alice)
    page = await client.get(f"/knowledge/entries/{entry.id}")
    assert "Name the ports." in page.text and "Submit for review" in page.text
    mine = await client.get("/knowledge/mine")
    assert "Name the ports." in mine.text
    # Edited and submitted again: version 2 goes to the queue.
    await do_update_entry(alice, entry, typed(outcome="Mombasa and Nairobi ICD."))
    await do_submit_entry(alice, entry)
    assert (await pending_item(entry)).id != item.id
    numbers = await EntryVersion.filter(entry_id=entry.id).order_by("number")
    assert [v.number for v in numbers] == [1, 2]


async def test_deciding_needs_a_moderator_with_two_factor_authentication_in_scope(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    lax = await make_user("lax", role=Role.MODERATOR, two_factor=False)
    elsewhere = await make_user("elsewhere", role=Role.MODERATOR)
    elsewhere.moderator_categories = [cats["drones"].id]
    await elsewhere.save()
    entry = await submitted(alice)
    item = await pending_item(entry)
    with pytest.raises(TwoFactorSetupRequired):
        await review.do_decide(lax, item.id, "approve")
    with pytest.raises(Forbidden):
        await review.do_decide(bob, item.id, "approve")
    with pytest.raises(Exception) as outside:
        await review.do_decide(elsewhere, item.id, "approve")
    assert getattr(outside.value, "status", None) == 404
    token = await log_in(client, lax)
    page = await client.post(
        f"/knowledge/entries/{entry.id}/decide", data={"csrf_token": token, "action": "approve"}
    )
    assert page.status_code == 303
    assert page.headers["location"] == "/account/security?notice=staff_two_factor"
    api = await client.post(
        f"/api/v1/review/{item.id}/decisions",
        json={"action": "approve"},
        headers=await bearer(lax),
    )
    assert api.status_code == 403 and api.json()["error"]["code"] == "two_factor_setup_required"
    # Only approve and reject make sense for an entry.
    mod = await make_user("mod", role=Role.MODERATOR)
    other = await client.post(
        f"/api/v1/review/{item.id}/decisions",
        json={"action": "hide", "reason": "x"},
        headers=await bearer(mod),
    )
    assert other.status_code == 422 and "approved or rejected" in other.json()["error"]["message"]
    assert (await KnowledgeEntry.get(id=entry.id)).status == EntryStatus.SUBMITTED
    assert await AuditLog.filter(action__startswith="review.").count() == 0
    # A moderator does not decide their own entry.
    own = await submitted(mod, title="A moderator's own lessons on drift")
    with pytest.raises(Forbidden):
        await review.do_decide(mod, (await pending_item(own)).id, "approve")
    # Through the API, a moderator with 2FA approves.
    approved = await client.post(
        f"/api/v1/review/{item.id}/decisions",
        json={"action": "approve"},
        headers=await bearer(mod),
    )
    assert approved.status_code == 200 and approved.json()["entry_id"] == entry.id
    assert (await KnowledgeEntry.get(id=entry.id)).status == EntryStatus.PUBLISHED


async def test_an_edit_after_publication_waits_for_review_and_every_version_stays_viewable(
    client: httpx.AsyncClient,
) -> None:
    await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    mod = await make_user("mod", role=Role.MODERATOR)
    entry = await published(alice, mod, outcome="Seizures doubled.")
    topic_id = entry.topic_id
    headers = await bearer(alice)
    edited = await client.patch(
        f"/api/v1/knowledge/{entry.id}", json={"outcome": "Seizures tripled."}, headers=headers
    )
    assert edited.status_code == 200
    body = edited.json()
    assert body["outcome"] == "Seizures doubled." and body["pending_version"] == 2
    # Members still read the published version, on the page and in the API.
    bob_headers = await bearer(bob)
    seen = await client.get(f"/api/v1/knowledge/{entry.id}", headers=bob_headers)
    assert seen.json()["outcome"] == "Seizures doubled." and seen.json()["pending_version"] is None
    assert [v["number"] for v in seen.json()["versions"]] == [1]
    await log_in(client, bob)
    page = await client.get(f"/knowledge/entries/{entry.id}")
    assert "Seizures doubled." in page.text and "tripled" not in page.text
    assert (await client.get(f"/knowledge/entries/{entry.id}/versions/2")).status_code == 404
    # A second edit while one waits is refused.
    again = await client.patch(
        f"/api/v1/knowledge/{entry.id}", json={"outcome": "Other."}, headers=headers
    )
    assert again.status_code == 409
    # Its author sees the proposed version.
    await log_in(client, alice)
    proposal = await client.get(f"/knowledge/entries/{entry.id}/versions/2")
    assert proposal.status_code == 200 and "Seizures tripled." in proposal.text

    await review.do_decide(mod, (await pending_item(entry)).id, "approve")
    await entry.refresh_from_db()
    assert entry.version == 2 and entry.outcome == "Seizures tripled."
    assert entry.topic_id == topic_id  # one discussion for the entry's whole life
    await log_in(client, bob)
    assert "Seizures tripled." in (await client.get(f"/knowledge/entries/{entry.id}")).text
    history = await client.get(f"/knowledge/entries/{entry.id}/versions")
    assert "Version 1" in history.text and "Version 2" in history.text
    old = await client.get(f"/knowledge/entries/{entry.id}/versions/1")
    assert old.status_code == 200 and "Seizures doubled." in old.text

    # A rejected edit leaves the published entry as it is.
    await do_update_entry(alice, entry, typed(outcome="Seizures quadrupled."))
    await review.do_decide(mod, (await pending_item(entry)).id, "reject", "Source?")
    await entry.refresh_from_db()
    assert entry.status == EntryStatus.PUBLISHED and entry.outcome == "Seizures tripled."
    assert entry.review_note == "Source?"
    bob_view = await client.get(f"/api/v1/knowledge/{entry.id}", headers=bob_headers)
    assert bob_view.json()["review_note"] == ""  # the note is the author's
    # Its author starts again from the edit that was sent back, with the note beside it.
    await log_in(client, alice)
    form = await client.get(f"/knowledge/entries/{entry.id}/edit")
    assert "Seizures quadrupled." in form.text and "Source?" in form.text
    assert "Send the edit for review" in form.text
    assert [v["number"] for v in bob_view.json()["versions"]] == [2, 1]


async def test_a_newer_entry_supersedes_an_older_one_and_both_link_to_each_other(
    client: httpx.AsyncClient,
) -> None:
    await categories()
    alice = await place(await make_user("alice"), "KE")
    colleague = await place(await make_user("colleague"), "KE")
    stranger = await place(await make_user("stranger"), "FR")
    mod = await make_user("mod", role=Role.MODERATOR)
    older = await published(alice, mod, title="Risk engine pilot, first year")
    # Only one's own entries or one's administration's may be replaced.
    with pytest.raises(Exception) as refused:
        await draft(stranger, supersedes=older.id)
    assert "your administration" in str(refused.value)
    newer = await submitted(colleague, title="Risk engine in production", supersedes=older.id)
    assert (await KnowledgeEntry.get(id=older.id)).status == EntryStatus.PUBLISHED
    await review.do_decide(mod, (await pending_item(newer)).id, "approve")
    await older.refresh_from_db()
    await newer.refresh_from_db()
    assert older.status == EntryStatus.SUPERSEDED and older.superseded_by_id == newer.id
    assert newer.supersedes_id == older.id

    bob = await make_user("bob")
    await log_in(client, bob)
    old_page = await client.get(f"/knowledge/entries/{older.id}")
    assert "Superseded by a newer entry" in old_page.text
    assert f'href="/knowledge/entries/{newer.id}"' in old_page.text
    new_page = await client.get(f"/knowledge/entries/{newer.id}")
    assert f'href="/knowledge/entries/{older.id}"' in new_page.text
    api = await client.get(f"/api/v1/knowledge/{older.id}", headers=await bearer(bob))
    assert api.json()["superseded_by"] == newer.id and api.json()["status"] == "superseded"
    back = await client.get(f"/api/v1/knowledge/{newer.id}", headers=await bearer(bob))
    assert back.json()["supersedes"] == older.id
    # The newer one can still be edited (reviewed again); the link stays.
    edit = await client.patch(
        f"/api/v1/knowledge/{newer.id}",
        json={"outcome": "Now in all ports."},
        headers=await bearer(colleague),
    )
    assert edit.status_code == 200 and edit.json()["pending_version"] == 2
    assert edit.json()["supersedes"] == older.id
    # Nobody edits a superseded entry.
    frozen = await client.patch(
        f"/api/v1/knowledge/{older.id}", json={"outcome": "x"}, headers=await bearer(alice)
    )
    assert frozen.status_code == 403
    listed = await client.get("/api/v1/knowledge", headers=await bearer(bob))
    assert [e["id"] for e in listed.json()["entries"]] == [newer.id]

    # A moderator may mark one superseded by another (audited); twice is a conflict.
    a = await published(alice, mod, title="Scanner images: labelling guide")
    b = await published(alice, mod, title="Scanner images: labelling guide, 2nd edition")
    lax = await make_user("lax", role=Role.MODERATOR, two_factor=False)
    with pytest.raises(TwoFactorSetupRequired):
        await do_supersede(lax, a, b.id)
    await do_supersede(mod, a, b.id)
    assert (await KnowledgeEntry.get(id=a.id)).superseded_by_id == b.id
    assert (await KnowledgeEntry.get(id=b.id)).supersedes_id == a.id
    assert await AuditLog.filter(action="knowledge.supersede", target_id=a.id).count() == 1
    with pytest.raises(Conflict):
        await do_supersede(mod, await KnowledgeEntry.get(id=a.id), b.id)
