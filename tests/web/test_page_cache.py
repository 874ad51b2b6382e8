"""Posts are rendered once and shared by every viewer, yet every viewer sees their own page
(their token, reactions, bookmarks, tools, unread marks) and every change at once."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from starlette.applications import Starlette

from forum.actions.posts import do_create_post, do_edit_post
from forum.actions.reactions import do_set_reaction
from forum.actions.reading import do_mark_read, do_set_bookmark
from forum.actions.topics import do_create_topic, do_update_topic
from forum.web import templating
from tests.helpers import categories, log_in, make_user


async def test_a_cached_topic_page_shows_edits_and_reactions_at_once(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    topic, post = await do_create_topic(alice, cats["iot"], "Electronic seals", "first words")
    await log_in(client, bob)
    for _ in range(2):  # the second view is served from the cache
        assert "first words" in (await client.get(f"/t/{topic.id}")).text

    await do_edit_post(alice, post, topic, cats["iot"], "second words")
    page = (await client.get(f"/t/{topic.id}")).text
    assert "second words" in page and "first words" not in page

    await do_set_reaction(alice, post, topic, cats["iot"], "insightful", True)
    page = (await client.get(f"/t/{topic.id}")).text
    assert '<button name="insightful"' in page and '<span class="count">1</span>' in page


async def test_two_viewers_of_one_topic_never_get_each_others_page(app: Starlette) -> None:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    topic, _post = await do_create_topic(alice, cats["iot"], "Electronic seals", "words")
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as as_alice,
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as as_bob,
    ):
        alice_token = await log_in(as_alice, alice)
        bob_token = await log_in(as_bob, bob)
        alice_page = (await as_alice.get(f"/t/{topic.id}")).text
        bob_page = (await as_bob.get(f"/t/{topic.id}")).text
    assert alice_token in alice_page and bob_token not in alice_page
    assert bob_token in bob_page and alice_token not in bob_page
    assert "/edit" in alice_page and "/edit" not in bob_page  # only the author may edit
    assert "@alice" in alice_page and "Bob" in bob_page


async def test_what_is_one_members_own_in_a_shared_post_never_reaches_another(
    app: Starlette,
) -> None:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    topic, first = await do_create_topic(alice, cats["iot"], "Electronic seals", "words")
    second = await do_create_post(bob, topic, cats["iot"], "more words")  # read by bob
    await do_create_post(alice, topic, cats["iot"], "new to bob")
    await do_set_reaction(alice, first, topic, cats["iot"], "heart", True)
    await do_set_bookmark(alice, first, topic, cats["iot"], True)
    await do_mark_read(alice, topic, 3)
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as as_alice,
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as as_bob,
    ):
        await log_in(as_alice, alice)
        await log_in(as_bob, bob)
        for round in range(2):  # the second round comes from the shared renderings
            alice_page = (await as_alice.get(f"/t/{topic.id}")).text
            bob_page = (await as_bob.get(f"/t/{topic.id}")).text
            alice_first, alice_second = alice_page.split('id="p1"')[1].split('id="p2"')
            bob_first, bob_second = bob_page.split('id="p1"')[1].split('id="p2"')
            heart = '<button name="heart" value="0" aria-pressed="true"'
            assert heart in alice_first and heart not in bob_first
            assert "Remove bookmark" in alice_first and "Remove bookmark" not in bob_first
            assert f"/p/{first.id}/edit" in alice_first and "/edit" not in bob_first
            assert f"/p/{second.id}/edit" in bob_second
            assert f"/p/{second.id}/edit" not in alice_page
            assert "post-unread" not in alice_page
            # Bob's first view shows post 3 new to him; after it, nothing is.
            assert ('class="post post-unread" id="p3"' in bob_page) == (round == 0)
            assert 'class="post post-unread" id="p2"' not in bob_page
            assert "<slot:" not in alice_page + bob_page


async def test_each_kind_of_viewer_gets_the_page_it_would_get_from_empty_caches(
    app: Starlette,
) -> None:
    """Whoever came first and filled the shared renderings, every viewer (a visitor, a
    member awaiting verification, members, the author, a moderator) gets exactly the topic,
    category and home page they get when nothing is cached."""
    from forum.models import Role
    from forum.web.fragments import clear_cache
    from notifications.notify import do_set_category_level

    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    moderator = await make_user("mona", role=Role.MODERATOR)
    pending = await make_user("pat", verified=False)
    topic, first = await do_create_topic(alice, cats["welcome"], "Hello all", "public words")
    await do_create_post(bob, topic, cats["welcome"], "a reply")
    await do_set_reaction(bob, first, topic, cats["welcome"], "like", True)
    await do_set_category_level(bob, cats["welcome"], "watching")  # his own level form
    await do_create_topic(moderator, cats["welcome"], "Unread by all but mona", "news")
    transport = httpx.ASGITransport(app=app)
    viewers = [None, pending, alice, bob, moderator]
    clients = [
        httpx.AsyncClient(transport=transport, base_url="http://testserver") for _ in viewers
    ]
    try:
        for viewer, client in zip(viewers, clients, strict=True):
            if viewer is not None:
                await log_in(client, viewer)
        for client in clients:  # a first view: from now on each has read it all
            await client.get(f"/t/{topic.id}")
        for path in (f"/t/{topic.id}", "/c/welcome", "/"):
            alone: list[str] = []
            for client in clients:  # each on empty caches
                clear_cache()
                alone.append((await client.get(path)).text)
            clear_cache()
            for order in (clients, clients[::-1]):  # each after the others filled the caches
                shared = {id(c): (await c.get(path)).text for c in order}
                for client, expected in zip(clients, alone, strict=True):
                    assert shared[id(client)] == expected, path
            assert len(set(alone)) == len(viewers), path  # they do differ from one another
            assert "<slot-" not in "".join(alone)
    finally:
        for client in clients:
            await client.aclose()


async def test_a_shared_topic_list_carries_each_viewers_read_state_and_every_change(
    app: Starlette,
) -> None:
    """The rendered rows of a list are kept for everyone who reads the same list, yet each
    viewer sees their own New / unread badges, and a rename or a reply shows at once."""
    import re

    from forum.models import Category

    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    topic, _first = await do_create_topic(alice, cats["iot"], "Electronic seals", "words")
    for n in range(3):
        await do_create_post(alice, topic, cats["iot"], f"reply {n}")
    await do_mark_read(bob, topic, 2)
    transport = httpx.ASGITransport(app=app)

    def row_of(html: str) -> str:
        found = re.search(rf'<tr class="topic-row[^"]*" id="topic-{topic.id}">.*?</tr>', html, re.S)
        assert found, html
        return found.group(0)

    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as as_alice,
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as as_bob,
    ):
        await log_in(as_alice, alice)
        await log_in(as_bob, bob)
        carol = await make_user("carol")
        as_carol = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        await log_in(as_carol, carol)
        try:
            for _ in range(2):  # the second round comes from the kept list
                alice_row = row_of((await as_alice.get("/c/iot")).text)
                bob_row = row_of((await as_bob.get("/c/iot")).text)
                carol_row = row_of((await as_carol.get("/c/iot")).text)
                assert "badge" not in alice_row.split("topic-meta")[0]  # her own: all read
                assert 'title="2 unread posts">2</a>' in bob_row
                assert "badge-new" in carol_row
            await Category.filter(id=cats["iot"].id).update(name="Internet of Things (IoT)")
            await do_create_post(alice, topic, cats["iot"], "one more")
            home = (await as_bob.get("/")).text
            assert "Internet of Things (IoT)" in row_of(home)
            assert 'title="3 unread posts">3</a>' in row_of(home)
            # tags are kept per topic version: a retag shows at once on every list
            await do_update_topic(alice, topic, cats["iot"], tags=["seals", "rfid"])
            for page in ("/", "/c/iot"):
                row = row_of((await as_carol.get(page)).text)
                assert '<span class="tag">rfid</span><span class="tag">seals</span>' in row
        finally:
            await as_carol.aclose()


async def test_a_shared_topic_page_carries_each_viewers_own_frame_and_language(
    app: Starlette,
) -> None:
    """Members with the same rights share one rendering of a topic page, yet each page names
    its own viewer (header, `data-user`, token) and a French reader's page is French."""
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    topic, _post = await do_create_topic(alice, cats["iot"], "Electronic seals", "words")
    await do_create_post(alice, topic, cats["iot"], "more words")
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as as_bob,
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as as_carol,
    ):
        await log_in(as_bob, bob)
        carol = await make_user("carol")
        carol_token = await log_in(as_carol, carol)
        await as_carol.post("/language", data={"csrf_token": carol_token, "language": "fr"})
        first = (await as_bob.get(f"/t/{topic.id}")).text  # fills the shared rendering
        french = (await as_carol.get(f"/t/{topic.id}")).text
        again = (await as_bob.get(f"/t/{topic.id}")).text
    assert 'data-user="bob"' in first and 'href="/u/bob"' in first
    assert 'data-user="carol"' in french and 'data-user="bob"' not in french
    assert '<html lang="fr">' in french and "Post reply" not in french
    assert "Post reply" in first
    assert '<html lang="en">' in again and 'data-user="bob"' in again
    assert "<slot-" not in first + french + again  # every mark was filled


def test_a_shared_rendering_may_not_read_the_request_or_the_viewer() -> None:
    """What a shared page shows is keyed by its key alone: a template that reaches for the
    request or the user fails loudly instead of caching one viewer's page for all."""
    import pytest

    from forum.web.templating import _NOT_SHARED, environment

    for source in ("{{ user.username }}", "{% if user %}x{% endif %}", "{{ request.url }}"):
        with pytest.raises(TypeError, match="a shared page may not read"):
            environment("en").from_string(source).render(_NOT_SHARED)


class _Later:
    """The wall clock moved on by `seconds` (the "time ago" words read it)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def monotonic(self) -> float:
        return time.monotonic() + self.seconds

    def time(self) -> float:
        return time.time() + self.seconds


async def test_time_words_move_on_with_the_clock_while_pages_stay_cached(
    client: httpx.AsyncClient, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, post = await do_create_topic(alice, cats["iot"], "Electronic seals", "words")
    await log_in(client, await make_user("bob"))
    caches = app.state.caches
    page = (await client.get(f"/t/{topic.id}")).text
    assert re.search(r'<time datetime="[^"]+">just now</time>', page)
    assert re.search(r'<time datetime="[^"]+">just now</time>', (await client.get("/")).text)
    renderings = (caches.posts.misses, caches.topic_rows.misses)

    monkeypatch.setattr(templating, "CLOCK", _Later(3 * 3600 + 5))
    page = (await client.get(f"/t/{topic.id}")).text
    home = (await client.get("/")).text

    assert re.search(r'<time datetime="[^"]+">3 hours ago</time>', page)
    assert re.search(r'<time datetime="[^"]+">3 hours ago</time>', home)
    assert ">just now</time>" not in page and ">just now</time>" not in home
    # the post and the list row were not rendered again: only their words changed
    assert (caches.posts.misses, caches.topic_rows.misses) == renderings
    # the author's own look at her post (her tools: a look of its own) tells the same time
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as as_alice:
        await log_in(as_alice, alice)
        own = (await as_alice.get(f"/t/{topic.id}")).text
    assert f"/p/{post.id}/edit" in own
    assert re.search(r'<time datetime="[^"]+">3 hours ago</time>', own)


async def test_each_post_s_tools_act_on_that_post(client: httpx.AsyncClient) -> None:
    """The tools are rendered once per rights and language: each post still gets its own."""
    cats = await categories()
    alice = await make_user("alice")
    topic, first = await do_create_topic(alice, cats["iot"], "Electronic seals", "first words")
    second = await do_create_post(alice, topic, cats["iot"], "second words")
    token = await log_in(client, alice)
    for _ in range(2):  # the second view fills the kept tools again
        page = (await client.get(f"/t/{topic.id}")).text
        for post in (first, second):
            start = page.index(f'id="p{post.number}"')
            end = page.find("<article", start + 1)
            article = page[start : end if end > 0 else len(page)]
            assert f'href="/p/{post.id}/edit"' in article
            assert f'action="/p/{post.id}/delete"' in article
            other = second if post is first else first
            assert f"/p/{other.id}/edit" not in article
        assert page.count(f'name="csrf_token" value="{token}"') >= 4
    deleted = await client.post(f"/p/{second.id}/delete", data={"csrf_token": token})
    assert deleted.status_code in (200, 303)
    page = (await client.get(f"/t/{topic.id}")).text
    assert f'href="/p/{first.id}/edit"' in page and f'href="/p/{second.id}/edit"' not in page
