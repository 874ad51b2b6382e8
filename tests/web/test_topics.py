"""Reading and writing topics through the pages, as a member, a moderator and a visitor."""

from __future__ import annotations

import re

import httpx
from starlette.applications import Starlette

from forum.actions.posts import do_create_post, do_delete_post
from forum.actions.reactions import do_set_reaction
from forum.actions.reading import do_mark_read, do_set_bookmark
from forum.actions.topics import do_create_topic
from forum.db import count_queries
from forum.models import Post, Role, Topic
from forum.policy import REACTION_KINDS
from forum.seed import seed_demo
from forum.web.fragments import clear_cache
from tests.helpers import PASSWORD, anonymous_csrf, categories, log_in, make_user
from tests.web.support import (
    article,
    csrf_from,
    log_in_with_form,
    post_numbers,
    press,
    reaction_button,
    reaction_count,
)


async def test_a_member_starts_a_topic_replies_quotes_reacts_and_edits(
    client: httpx.AsyncClient,
) -> None:
    await seed_demo(PASSWORD)
    await log_in_with_form(client, "member@example.org", PASSWORD)

    category = await client.get("/c/iot")
    assert '<a class="button" href="/c/iot/new">New topic</a>' in category.text
    form = await client.get("/c/iot/new")
    created = await client.post(
        "/c/iot/new",
        data={
            "csrf_token": csrf_from(form),
            "title": "Electronic seals at the border",
            "body": "Which seals do you use?\n\nWe tried *GPS* seals.",
            "tags": "seals, GPS tracking",
        },
    )
    assert created.status_code == 303
    topic = await Topic.get(title="Electronic seals at the border")
    assert created.headers["location"] == f"/t/{topic.id}"
    first = await Post.get(topic_id=topic.id, number=1)

    page = await client.get(f"/t/{topic.id}")
    assert '<h1 lang="en">Electronic seals at the border</h1>' in page.text
    assert '<span class="tag">gps-tracking</span>' in page.text
    assert "<p>We tried <em>GPS</em> seals.</p>" in article(page.text, 1)
    assert f'<a class="permalink" href="/p/{first.id}"' in article(page.text, 1)

    replied = await client.post(
        f"/t/{topic.id}/reply", data={"csrf_token": csrf_from(page), "body": "We use RFID."}
    )
    assert replied.status_code == 303
    assert replied.headers["location"] == f"/t/{topic.id}?near=2#p2"

    quote_form = await client.get(f"/t/{topic.id}/reply", params={"quote": first.id})
    textarea = re.search(r"<textarea[^>]*>\n(.*?)</textarea>", quote_form.text, re.S)
    assert textarea is not None
    quoted_source = (
        f"&gt; **@member** [wrote](/p/{first.id}):\n"
        "&gt; Which seals do you use?\n&gt;\n&gt; We tried *GPS* seals.\n\n"
    )
    assert textarea.group(1) == quoted_source
    assert f'<input type="hidden" name="reply_to" value="{first.id}">' in quote_form.text
    quoted = await client.post(
        f"/t/{topic.id}/reply",
        data={
            "csrf_token": csrf_from(quote_form),
            "reply_to": str(first.id),
            "body": quoted_source.replace("&gt;", ">") + "GPS drains batteries.",
        },
    )
    assert quoted.headers["location"] == f"/t/{topic.id}?near=3#p3"
    page = await client.get(quoted.headers["location"])
    third = article(page.text, 3)
    blockquote = re.search(r"<blockquote>(.*?)</blockquote>", third, re.S)
    assert blockquote is not None
    assert f'<a href="/p/{first.id}" rel="nofollow ugc noopener">wrote</a>' in blockquote.group(1)
    assert "<p>We tried <em>GPS</em> seals.</p>" in blockquote.group(1)
    assert "<p>GPS drains batteries.</p>" in third.split("</blockquote>")[1]
    assert "in reply to #1 by @member" in third

    reacted = await client.post(
        f"/p/{first.id}/react", data={"csrf_token": csrf_from(page), "kind": "like", "on": "1"}
    )
    assert reacted.headers["location"] == f"/t/{topic.id}?near=1#p1"
    page = await client.get(f"/t/{topic.id}")
    like = reaction_button(page.text, first.id, "like")
    assert reaction_count(like) == 1 and 'aria-pressed="true"' in like
    assert reaction_count(reaction_button(page.text, first.id, "heart")) == 0

    edit_form = await client.get(f"/p/{first.id}/edit")
    assert "We tried *GPS* seals.</textarea>" in edit_form.text
    edited = await client.post(
        f"/p/{first.id}/edit",
        data={"csrf_token": csrf_from(edit_form), "body": "Which **seals** do you use?"},
    )
    assert edited.headers["location"] == f"/t/{topic.id}?near=1#p1"
    page = await client.get(f"/t/{topic.id}")
    assert "<p>Which <strong>seals</strong> do you use?</p>" in article(page.text, 1)
    assert f'<a class="edited" href="/p/{first.id}/revisions">' in article(page.text, 1)

    revisions = await client.get(f"/p/{first.id}/revisions")
    assert revisions.status_code == 200
    newest = revisions.text.index("<p>Which <strong>seals</strong> do you use?</p>")
    oldest = revisions.text.index("<p>We tried <em>GPS</em> seals.</p>")
    assert newest < oldest
    assert "Version 2" in revisions.text and "Version 1" in revisions.text


async def test_visitors_read_the_public_welcome_category_and_nothing_else(
    client: httpx.AsyncClient,
) -> None:
    await seed_demo(PASSWORD)
    welcome = await Topic.get(title="Welcome to the Smart Customs Forum")
    private = await Topic.get(title="Using machine learning for risk targeting: lessons learned")
    private_post = await Post.get(topic_id=private.id, number=1)

    home = await client.get("/")
    assert '<a class="category-name" href="/c/welcome">Welcome</a>' in home.text
    assert "/c/ai-ml" not in home.text
    assert "Welcome to the Smart Customs Forum" in home.text
    assert "risk targeting" not in home.text
    page = await client.get(f"/t/{welcome.id}")
    assert page.status_code == 200
    assert "National Contact Points" in page.text
    assert 'action="/t/' not in page.text  # no reply form, no reactions: read only
    assert "Log in to reply." in page.text
    for url in (
        "/c/ai-ml",
        "/c/announcements",
        "/c/no-such-category",
        f"/t/{private.id}",
        f"/t/{private.id}/unread",
        f"/p/{private_post.id}",
        f"/p/{private_post.id}/revisions",
    ):
        response = await client.get(url)
        assert response.status_code == 404, url
        assert "machine learning" not in response.text


async def test_an_unverified_account_sees_only_the_public_area(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    member = await make_user("member")
    topic, _post = await do_create_topic(member, cats["drones"], "Drone patrols", "first")
    await log_in(client, await make_user("newcomer", verified=False))

    home = await client.get("/")
    assert "waiting for verification" in home.text
    assert "/c/welcome" in home.text and "/c/drones" not in home.text
    assert (await client.get("/c/drones")).status_code == 404
    assert (await client.get(f"/t/{topic.id}")).status_code == 404
    assert "/c/welcome/new" not in (await client.get("/c/welcome")).text
    assert (await client.get("/c/welcome/new")).status_code == 403


async def test_posts_are_escaped_so_markup_in_them_never_runs(client: httpx.AsyncClient) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, _post = await do_create_topic(
        alice,
        cats["iot"],
        "<script>alert('title')</script>",
        '<script>alert("body")</script> <img src=x onerror=alert(1)> [x](javascript:alert(2))',
    )
    await log_in(client, await make_user("bob"))

    page = await client.get(f"/t/{topic.id}")
    listing = await client.get("/c/iot")

    for html in (page.text, listing.text):
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in html
    body = article(page.text, 1)
    assert "&lt;script&gt;alert(&quot;body&quot;)&lt;/script&gt;" in body
    assert "<img" not in body and 'href="javascript:' not in body


async def test_a_closed_topic_has_no_reply_form_and_refuses_a_posted_reply(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    moderator = await make_user("moderator", role=Role.MODERATOR, two_factor=True)
    topic, _post = await do_create_topic(alice, cats["drones"], "Drone patrols", "first")

    token = await log_in(client, moderator)
    page = await client.get(f"/t/{topic.id}")
    assert 'name="closed" value="1"' in page.text
    closed = await client.post(f"/t/{topic.id}/status", data={"csrf_token": token, "closed": "1"})
    assert closed.status_code == 303
    staff_page = await client.get(f"/t/{topic.id}")
    assert "This topic is closed." in staff_page.text
    assert 'name="closed" value="0"' in staff_page.text  # staff may reopen it

    token = await log_in(client, alice)
    page = await client.get(f"/t/{topic.id}")
    assert "This topic is closed." in page.text
    assert f'action="/t/{topic.id}/reply"' not in page.text
    rest = page.text.replace(f'action="/t/{topic.id}/notifications"', "")  # the level form
    assert "/reply?quote=" not in page.text and 'action="/t/' not in rest
    refused = await client.post(
        f"/t/{topic.id}/reply", data={"csrf_token": token, "body": "Let me in"}
    )
    assert refused.status_code == 403
    assert (await client.get(f"/t/{topic.id}/reply")).status_code == 403
    reopen = await client.post(f"/t/{topic.id}/status", data={"csrf_token": token, "closed": "0"})
    assert reopen.status_code == 403
    assert await Post.filter(topic_id=topic.id).count() == 1
    assert (await Topic.get(id=topic.id)).closed is True


async def test_a_pinned_topic_comes_first_in_its_category(client: httpx.AsyncClient) -> None:
    cats = await categories()
    alice = await make_user("alice")
    older, _ = await do_create_topic(alice, cats["iot"], "Older topic here", "one")
    await do_create_topic(alice, cats["iot"], "Newer topic here", "two")
    token = await log_in(client, await make_user("admin", role=Role.ADMIN, two_factor=True))

    before = await client.get("/c/iot")
    assert before.text.index("Newer topic here") < before.text.index("Older topic here")
    pinned = await client.post(f"/t/{older.id}/status", data={"csrf_token": token, "pinned": "1"})
    assert pinned.status_code == 303 and pinned.headers["location"] == f"/t/{older.id}"
    after = await client.get("/c/iot")
    assert after.text.index("Older topic here") < after.text.index("Newer topic here")
    assert "Unpin topic" in (await client.get(f"/t/{older.id}")).text


async def test_deleted_posts_keep_their_place_but_show_a_placeholder(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    bob = await make_user("bob")
    topic, _first = await do_create_topic(alice, cats["iot"], "Electronic seals", "one")
    second = await do_create_post(bob, topic, cats["iot"], "secret words")

    token = await log_in(client, bob)
    deleted = await client.post(f"/p/{second.id}/delete", data={"csrf_token": token})
    assert deleted.headers["location"] == f"/t/{topic.id}?near=2#p2"

    await log_in(client, alice)
    page = await client.get(f"/t/{topic.id}")
    assert post_numbers(page.text) == [1, 2]
    assert "This post was deleted." in article(page.text, 2)
    assert "secret words" not in page.text
    assert f"/p/{second.id}/revisions" not in page.text
    assert (await client.get(f"/p/{second.id}/revisions")).status_code == 404

    await log_in(client, await make_user("moderator", role=Role.MODERATOR))
    staff_view = article((await client.get(f"/t/{topic.id}")).text, 2)
    assert "secret words" in staff_view and "only staff see this text" in staff_view


async def test_only_the_author_and_staff_get_the_edit_and_delete_controls(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, post = await do_create_topic(alice, cats["iot"], "Electronic seals", "mine")
    token = await log_in(client, await make_user("bob"))

    page = await client.get(f"/t/{topic.id}")
    assert f"/p/{post.id}/edit" not in page.text and f"/p/{post.id}/delete" not in page.text
    assert (await client.get(f"/p/{post.id}/edit")).status_code == 403
    vandal = await client.post(f"/p/{post.id}/edit", data={"csrf_token": token, "body": "hacked"})
    assert vandal.status_code == 403
    assert (
        await client.post(f"/p/{post.id}/delete", data={"csrf_token": token})
    ).status_code == 403
    assert (await Post.get(id=post.id)).source == "mine"

    await log_in(client, alice)
    page = await client.get(f"/t/{topic.id}")
    assert f'href="/p/{post.id}/edit"' in page.text and f'action="/p/{post.id}/delete"' in page.text


async def test_a_topic_form_with_errors_comes_back_with_the_message_and_the_input(
    client: httpx.AsyncClient,
) -> None:
    await categories()
    token = await log_in(client, await make_user("alice"))

    response = await client.post(
        "/c/iot/new",
        data={"csrf_token": token, "title": "abc", "body": "My <long> body", "tags": "a, b"},
    )

    assert response.status_code == 422
    assert "A title has 5 to 200 characters." in response.text
    assert 'name="title" value="abc"' in response.text
    assert "My &lt;long&gt; body</textarea>" in response.text
    assert 'name="tags" value="a, b"' in response.text
    assert await Topic.all().count() == 0

    bad_tags = await client.post(
        "/c/iot/new",
        data={"csrf_token": token, "title": "Fine title", "body": "ok", "tags": "no <tags>"},
    )
    assert bad_tags.status_code == 422
    assert "A tag has up to 30 lowercase letters, digits and dashes." in bad_tags.text


async def test_an_empty_reply_comes_back_with_a_message(client: httpx.AsyncClient) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, post = await do_create_topic(alice, cats["iot"], "Electronic seals", "first")
    token = await log_in(client, alice)

    response = await client.post(
        f"/t/{topic.id}/reply", data={"csrf_token": token, "body": "   ", "reply_to": str(post.id)}
    )

    assert response.status_code == 422
    assert "Write something first." in response.text
    assert f'name="reply_to" value="{post.id}"' in response.text
    assert await Post.filter(topic_id=topic.id).count() == 1


async def test_members_cannot_start_topics_where_only_staff_post(
    client: httpx.AsyncClient,
) -> None:
    await categories()
    token = await log_in(client, await make_user("alice"))
    page = await client.get("/c/announcements")
    assert page.status_code == 200 and "/c/announcements/new" not in page.text
    assert (await client.get("/c/announcements/new")).status_code == 403
    posted = await client.post(
        "/c/announcements/new", data={"csrf_token": token, "title": "My news", "body": "hi"}
    )
    assert posted.status_code == 403
    assert await Topic.all().count() == 0


async def test_long_topics_are_paged_and_near_jumps_to_a_post(client: httpx.AsyncClient) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, _ = await do_create_topic(alice, cats["iot"], "A long discussion", "post 1")
    for n in range(2, 26):
        await do_create_post(alice, topic, cats["iot"], f"post {n}")
    await log_in(client, await make_user("bob"))

    first = await client.get(f"/t/{topic.id}")
    assert post_numbers(first.text) == list(range(1, 21))
    assert 'rel="prev"' not in first.text
    later = re.search(r'<a rel="next" href="([^"]+)">Later posts</a>', first.text)
    assert later
    second = await client.get(later.group(1).replace("&amp;", "&"))
    assert post_numbers(second.text) == list(range(21, 26))
    assert 'rel="next"' not in second.text
    earlier = re.search(r'<a rel="prev" href="([^"]+)">Earlier posts</a>', second.text)
    assert earlier
    back = await client.get(earlier.group(1))
    assert post_numbers(back.text) == list(range(1, 21))

    near = await client.get(f"/t/{topic.id}", params={"near": "22"})
    assert post_numbers(near.text) == [22, 23, 24, 25]
    assert 'rel="prev"' in near.text

    assert (await client.get(f"/t/{topic.id}", params={"cursor": "garbage"})).status_code == 400
    assert (await client.get(f"/t/{topic.id}", params={"near": "x"})).status_code == 400


async def test_permalinks_lead_to_the_post_in_its_topic(client: httpx.AsyncClient) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, _ = await do_create_topic(alice, cats["welcome"], "Hello everyone", "post 1")
    reply = await do_create_post(alice, topic, cats["welcome"], "post 2")

    response = await client.get(f"/p/{reply.id}")

    assert response.status_code == 303
    assert response.headers["location"] == f"/t/{topic.id}?near=2#p2"
    assert (await client.get("/p/999999")).status_code == 404
    assert (await client.get("/p/99999999999999")).status_code == 404
    assert (await client.get("/t/99999999999999")).status_code == 404


async def test_reading_a_topic_marks_it_read_and_unread_posts_are_counted(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, _ = await do_create_topic(alice, cats["iot"], "Electronic seals", "one")
    await log_in(client, await make_user("bob"))

    home = await client.get("/")
    row = re.search(r'<tr class="topic-row" id="topic-\d+">.*?</tr>', home.text, re.S)
    assert row and "badge-new" in row.group(0)
    await client.get(f"/t/{topic.id}")
    for n in range(2, 5):
        await do_create_post(alice, topic, cats["iot"], f"reply {n}")

    home = await client.get("/")
    assert (
        f'<a class="badge badge-unread" href="/t/{topic.id}/unread" title="3 unread posts">3</a>'
    ) in home.text
    jump = await client.get(f"/t/{topic.id}/unread")
    assert jump.status_code == 303
    assert jump.headers["location"] == f"/t/{topic.id}?near=2#p2"
    page = await client.get(jump.headers["location"])
    assert "badge-new" in article(page.text, 2) and "badge-new" not in page.text.split('id="p2"')[0]
    assert "badge-unread" not in (await client.get("/")).text


async def test_views_are_counted_once_per_viewer_and_shown_in_the_list(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, _ = await do_create_topic(alice, cats["welcome"], "Hello everyone", "one")

    await client.get(f"/t/{topic.id}")
    await client.get(f"/t/{topic.id}")  # a reload (tests/web/test_display.py: the rules)
    await log_in(client, await make_user("bob"))
    await client.get(f"/t/{topic.id}")
    await app.state.views.flush()

    assert (await Topic.get(id=topic.id)).views == 2
    assert '<td class="num">2</td>' in (await client.get("/c/welcome")).text


async def test_bookmarks_are_toggled_under_a_post(client: httpx.AsyncClient) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, post = await do_create_topic(alice, cats["iot"], "Electronic seals", "keep me")
    token = await log_in(client, alice)

    added = await client.post(f"/p/{post.id}/bookmark", data={"csrf_token": token, "on": "1"})
    assert added.status_code == 303
    page = await client.get(f"/t/{topic.id}")
    assert "Remove bookmark" in article(page.text, 1)
    assert "keep me" in (await client.get("/bookmarks")).text

    await client.post(f"/p/{post.id}/bookmark", data={"csrf_token": token, "on": "0"})
    assert "Remove bookmark" not in (await client.get(f"/t/{topic.id}")).text
    bad = await client.post(f"/p/{post.id}/bookmark", data={"csrf_token": token, "on": "yes"})
    assert bad.status_code == 400


async def test_an_unknown_reaction_is_refused(client: httpx.AsyncClient) -> None:
    cats = await categories()
    alice = await make_user("alice")
    _topic, post = await do_create_topic(alice, cats["iot"], "Electronic seals", "one")
    token = await log_in(client, alice)
    response = await client.post(
        f"/p/{post.id}/react", data={"csrf_token": token, "kind": "angry", "on": "1"}
    )
    assert response.status_code == 422
    assert "Unknown reaction" in response.text


async def test_quoting_a_deleted_post_is_not_possible(client: httpx.AsyncClient) -> None:
    cats = await categories()
    alice = await make_user("alice")
    bob = await make_user("bob")
    topic, _ = await do_create_topic(alice, cats["iot"], "Electronic seals", "one")
    gone = await do_create_post(bob, topic, cats["iot"], "regrettable words")
    await do_delete_post(bob, gone, topic, cats["iot"])
    await log_in(client, alice)

    response = await client.get(f"/t/{topic.id}/reply", params={"quote": gone.id})

    assert response.status_code == 404
    assert "regrettable" not in response.text


async def _topic_page_queries(client: httpx.AsyncClient, url: str) -> int:
    with count_queries() as counter:
        response = await client.get(url)
    assert response.status_code == 200
    return counter.count


async def test_topic_and_category_pages_run_a_constant_number_of_queries(
    client: httpx.AsyncClient, db: str
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    bob = await make_user("bob")
    small, _ = await do_create_topic(alice, cats["iot"], "A small topic", "one", ["x"])
    big, big_first = await do_create_topic(alice, cats["ai-ml"], "A big topic", "one", ["a", "b"])
    previous = big_first
    for n in range(2, 21):
        previous = await do_create_post(alice, big, cats["ai-ml"], f"reply {n}", reply_to=previous)
        await do_set_reaction(alice, previous, big, cats["ai-ml"], "like", True)
        await do_set_reaction(bob, previous, big, cats["ai-ml"], "heart", True)
        await do_set_bookmark(bob, previous, big, cats["ai-ml"], True)
    for n in range(5):
        await do_create_topic(alice, cats["ai-ml"], f"Another topic {n}", "x", ["t1", "t2"])
    for topic in (small, big):
        await do_mark_read(bob, topic, 1)
    await log_in(client, bob)
    await do_create_post(alice, small, cats["iot"], "new")
    await do_create_post(alice, big, cats["ai-ml"], "new")

    # Each view advances the read position once, so both pages do the same work; the position
    # is buffered (forum/reads.py), so the view itself writes nothing.
    small_count = await _topic_page_queries(client, f"/t/{small.id}")
    big_count = await _topic_page_queries(client, f"/t/{big.id}")
    # session, topic with the newest event id (live-since), posts, tags with reaction counts,
    # the viewer's own state with the read position (on PostgreSQL, where every statement is a
    # round trip, in the topic's statement: one fewer)
    apart = 1 if db.startswith("sqlite") else 0
    assert small_count == big_count == 4 + apart
    # session with the newest event id (live-since), categories (the category among them), one
    # page of topics with the member's read positions and notification level for the category
    # (on SQLite, the topics as every member shares them, and the member's positions and level
    # apart: two more), the tags of the topics not listed since they last changed
    assert await _topic_page_queries(client, "/c/iot") == 4 + 2 * apart
    # on PostgreSQL the categories are kept by the version read with the session: unchanged,
    # they are not asked again (on SQLite their remembered answer is asked, as every query)
    kept = 1 - apart
    assert await _topic_page_queries(client, "/c/ai-ml") == 4 + 2 * apart - kept
    assert await _topic_page_queries(client, "/c/iot") == 3 + 2 * apart - kept  # tags known
    # every topic's tags known, no level
    assert await _topic_page_queries(client, "/") == 3 + apart - kept


async def test_status_changes_need_staff(client: httpx.AsyncClient) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, _ = await do_create_topic(alice, cats["iot"], "Electronic seals", "one")
    token = await log_in(client, alice)
    assert "/status" not in (await client.get(f"/t/{topic.id}")).text
    response = await client.post(f"/t/{topic.id}/status", data={"csrf_token": token, "pinned": "1"})
    assert response.status_code == 403
    assert (await Topic.get(id=topic.id)).pinned is False


async def test_anonymous_reply_pages_send_the_visitor_to_log_in(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, _ = await do_create_topic(alice, cats["welcome"], "Hello everyone", "one")
    response = await client.get(f"/t/{topic.id}/reply")
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next=/t/{topic.id}/reply"
    posted = await client.post(
        f"/t/{topic.id}/reply", data={"csrf_token": anonymous_csrf(client), "body": "hi"}
    )
    assert posted.status_code == 303
    assert await Post.filter(topic_id=topic.id).count() == 1


async def test_a_category_lists_its_topics_with_tags_replies_and_activity(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    bob = await make_user("bob")
    topic, _ = await do_create_topic(
        alice, cats["iot"], "Electronic seals", "one", ["seals", "gps"]
    )
    for n in range(3):
        await do_create_post(bob, topic, cats["iot"], f"reply {n}")
    await do_create_topic(alice, cats["drones"], "Somewhere else", "not here")
    await log_in(client, await make_user("carol"))

    page = await client.get("/c/iot")

    assert "<h1>Internet of Things</h1>" in page.text
    assert "Somewhere else" not in page.text
    row = re.search(rf'<tr class="topic-row" id="topic-{topic.id}">.*?</tr>', page.text, re.S)
    assert row is not None
    cells = re.findall(r'<td class="num">(\d+)</td>', row.group(0))
    assert cells == ["3", "0"]  # replies, views
    assert '<span class="tag">gps</span><span class="tag">seals</span>' in row.group(0)
    assert "just now" in row.group(0) and '<span class="last-poster">Bob</span>' in row.group(0)
    assert '<span class="badge badge-new">New</span>' in row.group(0)
    assert '<a class="button" href="/c/iot/new">New topic</a>' in page.text


TOPIC_NUMBER = r'class="topic-title" href="/t/\d+" lang="en">Topic number (\d+)<'


async def test_the_latest_list_is_paged_with_a_cursor(client: httpx.AsyncClient) -> None:
    cats = await categories()
    alice = await make_user("alice")
    for n in range(32):
        await do_create_topic(alice, cats["welcome"], f"Topic number {n:02d}", "x")

    home = await client.get("/")
    shown = re.findall(TOPIC_NUMBER, home.text)
    assert shown == [f"{n:02d}" for n in range(31, 1, -1)]
    assert "32 topics" in home.text
    more = re.search(r'<a rel="next" href="([^"]+)">More topics</a>', home.text)
    assert more
    rest = await client.get(more.group(1))
    shown = re.findall(TOPIC_NUMBER, rest.text)
    assert shown == ["01", "00"]
    assert 'rel="next"' not in rest.text


async def test_a_hidden_post_shows_a_placeholder_to_members(client: httpx.AsyncClient) -> None:
    cats = await categories()
    alice = await make_user("alice")
    bob = await make_user("bob")
    topic, _ = await do_create_topic(alice, cats["iot"], "Electronic seals", "one")
    flagged = await do_create_post(bob, topic, cats["iot"], "flagged words")
    # Hiding belongs to moderation, whose action will bump the topic's version like every event.
    await Post.filter(id=flagged.id).update(hidden=True)
    clear_cache()
    token = await log_in(client, alice)

    page = await client.get(f"/t/{topic.id}")

    assert "This post is hidden." in article(page.text, 2)
    assert "flagged words" not in page.text
    assert f'action="/p/{flagged.id}/react"' not in page.text
    refused = await client.post(
        f"/p/{flagged.id}/react", data={"csrf_token": token, "kind": "like", "on": "1"}
    )
    assert refused.status_code == 403


async def test_a_status_form_must_say_what_to_change(client: httpx.AsyncClient) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, _ = await do_create_topic(alice, cats["iot"], "Electronic seals", "one")
    token = await log_in(client, await make_user("moderator", role=Role.MODERATOR, two_factor=True))
    for data in ({}, {"closed": "maybe"}):
        response = await client.post(f"/t/{topic.id}/status", data={"csrf_token": token, **data})
        assert response.status_code == 400
    assert (await Topic.get(id=topic.id)).closed is False


async def test_one_form_per_post_turns_each_reaction_and_the_bookmark_on_and_off(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    topic, post = await do_create_topic(alice, cats["iot"], "Electronic seals", "react to me")
    await log_in(client, bob)
    page = (await client.get(f"/t/{topic.id}")).text
    mine = article(page, 1)
    assert mine.count("<form") == 1 and mine.count('name="csrf_token"') == 1
    assert mine.count("<button") == len(REACTION_KINDS) + 1  # the kinds and the bookmark

    for kind, pressed in (("heart", "true"), ("heart", "false"), ("like", "true")):
        url, data = press(page, post.id, f'name="{kind}"')
        answer = await client.post(url, data=data)
        assert answer.status_code == 303
        page = (await client.get(f"/t/{topic.id}")).text
        button = reaction_button(page, post.id, kind)
        assert f'aria-pressed="{pressed}"' in button
        assert reaction_count(button) == (1 if pressed == "true" else 0)
    assert 'aria-pressed="false"' in reaction_button(page, post.id, "heart")

    for label in ("Remove bookmark", "Bookmark"):
        url, data = press(page, post.id, "form=")
        assert url == f"/p/{post.id}/bookmark"
        assert (await client.post(url, data=data)).status_code == 303
        page = (await client.get(f"/t/{topic.id}")).text
        assert f">{label}</button>" in article(page, 1)
