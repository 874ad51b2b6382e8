"""GET /p/<id>/fragment: one post's <article> as its topic page shows it, for live.js."""

from __future__ import annotations

import httpx

from forum.actions.posts import do_create_post, do_delete_post
from forum.actions.reactions import do_set_reaction
from forum.actions.topics import do_create_topic
from forum.models import Post, Role
from forum.web.fragments import clear_cache
from tests.helpers import categories, log_in, make_user
from tests.web.support import article


async def test_the_fragment_is_the_article_the_topic_page_shows(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    topic, _ = await do_create_topic(alice, cats["iot"], "Electronic seals", "Which *seals*?")
    post = await do_create_post(bob, topic, cats["iot"], "RFID, @alice.")
    await do_set_reaction(alice, post, topic, cats["iot"], "like", True)
    await log_in(client, alice)

    first_view = await client.get(f"/t/{topic.id}")
    assert "post-unread" in article(first_view.text, 2)  # then read: the fragment says so too
    page = await client.get(f"/t/{topic.id}")
    fragment = await client.get(f"/p/{post.id}/fragment")

    assert fragment.status_code == 200
    assert fragment.headers["content-type"].startswith("text/html")
    assert fragment.text == article(page.text, 2)
    assert 'aria-pressed="true"' in fragment.text  # alice's own like, with her CSRF token
    assert "<csrf/>" not in fragment.text
    first = await Post.get(topic_id=topic.id, number=1)
    assert (await client.get(f"/p/{first.id}/fragment")).text == article(page.text, 1)


async def test_visitors_get_fragments_of_public_topics_only(client: httpx.AsyncClient) -> None:
    cats = await categories()
    alice = await make_user("alice")
    _public, welcome = await do_create_topic(alice, cats["welcome"], "Hello", "Open to all.")
    _members, restricted = await do_create_topic(alice, cats["iot"], "Seals", "Members only.")

    shown = await client.get(f"/p/{welcome.id}/fragment")
    assert shown.status_code == 200
    assert "Open to all." in shown.text

    refused = await client.get(f"/p/{restricted.id}/fragment")
    assert refused.status_code == 404
    assert "Members only." not in refused.text
    unverified = await make_user("carol", verified=False)
    await log_in(client, unverified)
    assert (await client.get(f"/p/{restricted.id}/fragment")).status_code == 404


async def test_missing_posts_are_not_found(client: httpx.AsyncClient) -> None:
    await log_in(client, await make_user("alice"))
    for path in ("/p/999999/fragment", "/p/0/fragment", "/p/99999999999/fragment"):
        assert (await client.get(path)).status_code == 404, path


async def test_hidden_and_deleted_posts_are_placeholders_for_members(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    topic, _ = await do_create_topic(alice, cats["iot"], "Electronic seals", "one")
    hidden = await do_create_post(bob, topic, cats["iot"], "flagged words")
    deleted = await do_create_post(bob, topic, cats["iot"], "regretted words")
    await do_delete_post(bob, deleted, topic, cats["iot"])
    # Hiding belongs to moderation, whose action will bump the topic's version like every event.
    await Post.filter(id=hidden.id).update(hidden=True)
    clear_cache()

    await log_in(client, alice)
    shown = await client.get(f"/p/{hidden.id}/fragment")
    assert shown.status_code == 200
    assert "This post is hidden." in shown.text
    assert "flagged words" not in shown.text
    shown = await client.get(f"/p/{deleted.id}/fragment")
    assert shown.status_code == 200
    assert "This post was deleted." in shown.text
    assert "regretted words" not in shown.text

    await log_in(client, await make_user("moderator", role=Role.MODERATOR))
    staff = await client.get(f"/p/{deleted.id}/fragment")
    assert "Deleted; only staff see this text." in staff.text
    assert "regretted words" in staff.text


async def test_pages_tell_the_live_script_what_to_follow(client: httpx.AsyncClient) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, _ = await do_create_topic(alice, cats["iot"], "Electronic seals", "one")
    await log_in(client, alice)

    page = await client.get(f"/t/{topic.id}")
    assert '<script src="/static/live.js" defer></script>' in page.text
    assert f'<body data-user="alice" data-topic="{topic.id}">' in page.text
    assert 'id="live-typing" hidden' in page.text
    assert 'data-many="{n} members reading this topic"' in page.text
    category = await client.get("/c/iot")
    assert '<body data-user="alice" data-category="iot">' in category.text
    assert 'data-one="{n} new topic" data-many="{n} new topics"' in category.text
    home = await client.get("/")
    assert '<body data-user="alice" data-latest="1">' in home.text
    assert 'id="live-new" hidden' in home.text

    script = await client.get("/static/live.js")
    assert script.status_code == 200
    assert "script-src 'self'" in script.headers["content-security-policy"]
    assert "new WebSocket(" in script.text
