"""Drafts and entries awaiting review are their author's and the moderators' only, on every
read path: pages, lists, profiles, administration pages, the API, the event log and the
WebSocket. Published entries belong to verified members, never to visitors."""

from __future__ import annotations

import httpx

from forum.models import Event, Role
from forum.settings import Settings
from knowledge.models import KnowledgeEntry
from moderation import review
from tests.helpers import bearer, categories, log_in, make_user
from tests.knowledge.entries_support import (
    _api_follows_the_document,  # noqa: F401  (an autouse fixture)
    draft,
    pending_item,
    place,
    published,
    submitted,
)
from tests.realtime.support import client as ws_client
from tests.realtime.support import serving

SECRET_TITLE = "Unpublished lessons about drift"


async def _pages_of(entry: KnowledgeEntry) -> list[str]:
    return [
        f"/knowledge/entries/{entry.id}",
        f"/knowledge/entries/{entry.id}/edit",
        f"/knowledge/entries/{entry.id}/versions",
        f"/knowledge/entries/{entry.id}/versions/1",
    ]


async def test_drafts_and_submitted_entries_are_seen_by_their_author_and_moderators_only(
    client: httpx.AsyncClient,
) -> None:
    await categories()
    alice = await place(await make_user("alice"), "KE")
    bob = await make_user("bob")
    mod = await make_user("mod", role=Role.MODERATOR)
    lax = await make_user("lax", role=Role.MODERATOR, two_factor=False)
    newcomer = await make_user("newcomer", verified=False)
    kept = await draft(alice, title=SECRET_TITLE)
    waiting = await submitted(alice, title=SECRET_TITLE + " (submitted)")
    shown = await published(alice, mod, title="Published lessons about drift")
    administration_code = "KE"

    for entry in (kept, waiting):
        # Its author reads it everywhere (the draft has no version yet).
        await log_in(client, alice)
        assert (await client.get(f"/knowledge/entries/{entry.id}")).status_code == 200
        api = await client.get(f"/api/v1/knowledge/{entry.id}", headers=await bearer(alice))
        assert api.status_code == 200 and api.json()["status"] == entry.status.value
        # A moderator of its technology reads it; staff without 2FA are members, so not.
        await log_in(client, mod)
        assert (await client.get(f"/knowledge/entries/{entry.id}")).status_code == 200
        for other in (bob, lax):
            await log_in(client, other)
            for url in await _pages_of(entry):
                response = await client.get(url)
                assert response.status_code == 404, (other.username, url)
                assert SECRET_TITLE not in response.text
            headers = await bearer(other)
            for method, url, body in (
                ("GET", f"/api/v1/knowledge/{entry.id}", None),
                ("PATCH", f"/api/v1/knowledge/{entry.id}", {"title": "Taken over"}),
                ("POST", f"/api/v1/knowledge/{entry.id}/submit", None),
                ("POST", f"/api/v1/knowledge/{entry.id}/helpful", None),
            ):
                response = await client.request(method, url, json=body, headers=headers)
                assert response.status_code == 404, (other.username, method, url)
                assert SECRET_TITLE not in response.text
            token = await log_in(client, other)
            for url in (f"/knowledge/entries/{entry.id}/helpful",
                        f"/knowledge/entries/{entry.id}/submit"):  # fmt: skip
                posted = await client.post(url, data={"csrf_token": token})
                assert posted.status_code == 404, url

    # No list, profile or administration page names them to another member.
    await log_in(client, bob)
    for url in ("/knowledge", "/knowledge/entries", "/knowledge/entries?sort=helpful",
                "/u/alice", f"/a/{administration_code}", "/knowledge/mine"):  # fmt: skip
        page = await client.get(url)
        assert page.status_code == 200, url
        assert SECRET_TITLE not in page.text, url
    profile = await client.get("/u/alice")
    assert "Published lessons about drift" in profile.text
    assert "Published lessons about drift" in (await client.get(f"/a/{administration_code}")).text
    listed = await client.get("/api/v1/knowledge", headers=await bearer(bob))
    assert [e["id"] for e in listed.json()["entries"]] == [shown.id]
    # Its author finds their own drafts on /knowledge/mine.
    await log_in(client, alice)
    mine = await client.get("/knowledge/mine")
    assert SECRET_TITLE in mine.text and "Awaiting review" in mine.text

    # Published entries are the members' area: visitors log in, unverified accounts get 404.
    client.cookies.clear()
    for url in ("/knowledge", "/knowledge/entries", f"/knowledge/entries/{shown.id}"):
        visitor = await client.get(url)
        assert visitor.status_code == 303 and visitor.headers["location"].startswith("/login")
    assert (await client.get(f"/api/v1/knowledge/{shown.id}")).status_code == 401
    assert (await client.get("/api/v1/knowledge")).status_code == 401
    await log_in(client, newcomer)
    assert (await client.get(f"/knowledge/entries/{shown.id}")).status_code == 404
    assert (await client.get("/knowledge")).status_code == 404
    unverified = await client.get("/api/v1/knowledge", headers=await bearer(newcomer))
    assert unverified.status_code == 404
    assert "Published lessons" not in (await client.get("/u/alice")).text


async def test_events_about_unpublished_entries_stay_on_their_authors_channel(db: str) -> None:
    await categories()
    alice = await make_user("alice")
    mod = await make_user("mod", role=Role.MODERATOR)
    entry = await submitted(alice, title=SECRET_TITLE)
    about = [e for e in await Event.all() if e.payload.get("entry_id") == entry.id]
    assert {e.type for e in about} == {"knowledge.entry.saved", "knowledge.entry.submitted"}
    assert {e.channel for e in about} == {f"user:{alice.id}"}
    # The moderators hear of it through their queue counts, which carry no content.
    counts = await Event.filter(type="review.counts")
    assert {e.channel for e in counts} == {f"user:{mod.id}"}
    assert all(SECRET_TITLE not in str(e.payload) for e in counts)
    # Once published, the news goes to the technology's category (members only).
    await review.do_decide(mod, (await pending_item(entry)).id, "approve")
    news = await Event.get(type="knowledge.entry.published")
    assert news.channel == "category:ai-ml" and news.payload["entry_id"] == entry.id
    assert news.category_id is not None


async def test_the_websocket_tells_other_members_of_an_entry_only_once_it_is_published(
    settings: Settings,
) -> None:
    await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    mod = await make_user("mod", role=Role.MODERATOR)
    async with (
        serving(settings) as served,
        ws_client(served, headers=await bearer(bob)) as other,
        ws_client(served, headers=await bearer(alice)) as author,
    ):
        await other.subscribe("category:ai-ml", "latest", "user")
        await author.subscribe("user")
        entry = await submitted(alice, title=SECRET_TITLE)
        told = await author.events(2)
        assert [f["name"] for f in told] == ["knowledge.entry.saved", "knowledge.entry.submitted"]
        assert told[1]["data"]["title"] == SECRET_TITLE
        assert await other.silence() == []
        await review.do_decide(mod, (await pending_item(entry)).id, "approve")
        frames = await other.events(3)  # its discussion topic on the category and `latest`
        names = sorted((f["name"], f["channel"]) for f in frames)
        assert names == [
            ("knowledge.entry.published", "category:ai-ml"),
            ("topic.created", "category:ai-ml"),
            ("topic.created", "latest"),
        ]
        published_frame = next(f for f in frames if f["name"] == "knowledge.entry.published")
        assert published_frame["data"]["entry_id"] == entry.id
