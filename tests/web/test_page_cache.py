"""Topic pages are cached whole, yet every viewer sees their own page and every change at once."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from forum.actions.posts import do_edit_post
from forum.actions.reactions import do_set_reaction
from forum.actions.topics import do_create_topic
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
    assert 'data-kind="insightful"' in page and '<span class="count">1</span>' in page


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
