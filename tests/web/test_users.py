"""Profiles and bookmarks show only what the viewer may read."""

from __future__ import annotations

import re

import httpx

from forum.actions.posts import do_create_post, do_delete_post
from forum.actions.reading import do_set_bookmark
from forum.actions.topics import do_create_topic
from forum.db import count_queries
from forum.models import Category, Role, Visibility
from tests.helpers import categories, log_in, make_user


async def test_a_profile_shows_the_member_and_their_posts_the_viewer_may_read(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    await do_create_topic(alice, cats["iot"], "Seals in the open", "members can read this")
    topic, _ = await do_create_topic(alice, cats["drones"], "Drone talk", "first words")
    gone = await do_create_post(alice, topic, cats["drones"], "words I took back")
    await do_delete_post(alice, gone, topic, cats["drones"])
    await Category.filter(slug="drones").update(visibility=Visibility.STAFF)
    await log_in(client, await make_user("bob"))

    page = await client.get("/u/alice")

    assert page.status_code == 200
    assert "<h1>Alice</h1>" in page.text and "@alice" in page.text and "Member" in page.text
    assert "members can read this" in page.text
    assert "Drone talk" not in page.text and "first words" not in page.text
    assert "words I took back" not in page.text

    await log_in(client, await make_user("moderator", role=Role.MODERATOR))
    staff_view = await client.get("/u/alice")
    assert "first words" in staff_view.text and "members can read this" in staff_view.text
    assert "words I took back" not in staff_view.text


async def test_profiles_are_for_members_only(client: httpx.AsyncClient) -> None:
    await make_user("alice")
    newcomer = await make_user("newcomer", verified=False)

    assert (await client.get("/u/alice")).status_code == 404
    await log_in(client, newcomer)
    assert (await client.get("/u/alice")).status_code == 404
    assert (await client.get("/u/newcomer")).status_code == 200
    await log_in(client, await make_user("bob"))
    assert (await client.get("/u/nobody")).status_code == 404


async def test_a_profile_runs_a_constant_number_of_queries(client: httpx.AsyncClient) -> None:
    cats = await categories()
    alice = await make_user("alice")
    bob = await make_user("bob")
    await do_create_topic(bob, cats["iot"], "Bob's only topic", "one")
    for n in range(6):
        await do_create_topic(alice, cats["iot" if n % 2 else "drones"], f"Topic {n}", "x")
    await log_in(client, bob)

    with count_queries() as few:
        assert (await client.get("/u/bob")).status_code == 200
    with count_queries() as many:
        assert (await client.get("/u/alice")).status_code == 200

    assert few.count == many.count


async def test_bookmarks_list_only_posts_the_member_may_still_read(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    bob = await make_user("bob")
    kept, kept_post = await do_create_topic(alice, cats["iot"], "Seals compared", "keep this one")
    hidden, hidden_post = await do_create_topic(alice, cats["drones"], "Drone rules", "soon staff")
    deleted = await do_create_post(alice, kept, cats["iot"], "soon deleted")
    for post, topic, category in (
        (kept_post, kept, cats["iot"]),
        (hidden_post, hidden, cats["drones"]),
        (deleted, kept, cats["iot"]),
    ):
        await do_set_bookmark(bob, post, topic, category, True)
    await log_in(client, bob)

    before = await client.get("/bookmarks")
    assert all(s in before.text for s in ("keep this one", "soon staff", "soon deleted"))
    await do_delete_post(alice, deleted, kept, cats["iot"])
    await Category.filter(slug="drones").update(visibility=Visibility.STAFF)
    after = await client.get("/bookmarks")

    assert after.status_code == 200
    assert "keep this one" in after.text
    assert f'href="/p/{kept_post.id}"' in after.text
    assert "soon staff" not in after.text and "Drone rules" not in after.text
    assert "soon deleted" not in after.text


async def test_bookmarks_need_a_login(client: httpx.AsyncClient) -> None:
    response = await client.get("/bookmarks")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/bookmarks"


async def test_many_bookmarks_are_paged(client: httpx.AsyncClient) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, first = await do_create_topic(alice, cats["iot"], "Seals compared", "bookmark 1")
    await do_set_bookmark(alice, first, topic, cats["iot"], True)
    for n in range(2, 32):
        post = await do_create_post(alice, topic, cats["iot"], f"bookmark {n}")
        await do_set_bookmark(alice, post, topic, cats["iot"], True)
    await log_in(client, alice)

    page = await client.get("/bookmarks")
    excerpt = r'<p class="excerpt" lang="en">(bookmark (\d+))</p>'
    shown = [int(n) for _text, n in re.findall(excerpt, page.text)]
    assert shown == list(range(31, 1, -1))
    more = re.search(r'<a rel="next" href="([^"]+)">More bookmarks</a>', page.text)
    assert more
    rest = await client.get(more.group(1))
    assert [text for text, _n in re.findall(excerpt, rest.text)] == ["bookmark 1"]
    assert 'rel="next"' not in rest.text
