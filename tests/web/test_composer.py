"""The composer's server side: previews rendered like posts, drafts kept per member and place."""

from __future__ import annotations

import httpx

from forum.actions.posts import do_create_post
from forum.actions.topics import do_create_topic
from forum.models import Category, Draft, Post, Role, Visibility
from forum.web import composer
from tests.helpers import categories, log_in, make_user


async def test_a_preview_is_the_post_as_it_will_be_rendered_and_sanitised(
    client: httpx.AsyncClient,
) -> None:
    token = await log_in(client, await make_user("alice"))
    headers = {"X-CSRF-Token": token}
    body = "**Seals** and <script>alert(1)</script> [a link](javascript:alert(1))"
    shown = await client.post("/composer/preview", data={"body": body}, headers=headers)
    assert shown.status_code == 200
    assert shown.headers["content-type"].startswith("text/html")
    assert "<strong>Seals</strong>" in shown.text
    assert "<script" not in shown.text and "&lt;script&gt;" in shown.text  # text, not markup
    assert 'href="javascript:' not in shown.text
    assert await Post.all().count() == 0  # nothing is stored

    refused = await client.post("/composer/preview", data={"body": "x"})  # no CSRF token
    assert refused.status_code == 403
    too_long = await client.post("/composer/preview", data={"body": "x" * 50_001}, headers=headers)
    assert too_long.status_code == 422
    assert "50,000" in too_long.json()["error"]["message"]


async def test_previews_are_for_members_and_bounded(client: httpx.AsyncClient) -> None:
    assert (await client.post("/composer/preview", data={"body": "x"})).status_code in (401, 403)
    token = await log_in(client, await make_user("pat", verified=False))
    waiting = await client.post(
        "/composer/preview", data={"body": "x"}, headers={"X-CSRF-Token": token}
    )
    assert waiting.status_code == 404

    token = await log_in(client, await make_user("alice"))
    headers = {"X-CSRF-Token": token}
    statuses = [
        (await client.post("/composer/preview", data={"body": "hi"}, headers=headers)).status_code
        for _ in range(composer.PREVIEWS_PER_MINUTE + 1)
    ]
    assert statuses[:-1] == [200] * composer.PREVIEWS_PER_MINUTE
    assert statuses[-1] == 429
    last = await client.post("/composer/preview", data={"body": "hi"}, headers=headers)
    assert last.status_code == 429 and int(last.headers["retry-after"]) >= 1
    assert "Too many previews" in last.json()["error"]["message"]


async def test_a_draft_follows_its_member_to_another_device_and_no_one_else(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    topic, _post = await do_create_topic(bob, cats["iot"], "Electronic seals", "Which ones?")
    token = await log_in(client, alice)
    headers = {"X-CSRF-Token": token}
    key = f"topic-{topic.id}"
    assert (await client.get(f"/composer/drafts/{key}")).status_code == 204  # none yet

    saved = await client.post(
        f"/composer/drafts/{key}", data={"body": "We use RFID *seals*"}, headers=headers
    )
    assert saved.status_code == 204
    await client.post(f"/composer/drafts/{key}", data={"body": "We use GPS seals"}, headers=headers)

    await log_in(client, alice)  # a second session: another device
    found = await client.get(f"/composer/drafts/{key}")
    assert found.status_code == 200 and found.json()["body"] == "We use GPS seals"
    assert await Draft.filter(user_id=alice.id).count() == 1

    await log_in(client, bob)
    assert (await client.get(f"/composer/drafts/{key}")).status_code == 204  # not alice's


async def test_drafts_only_for_places_the_member_may_see(client: httpx.AsyncClient) -> None:
    await categories()
    admin = await make_user("ada", role=Role.ADMIN)
    room = await Category.create(
        slug="staff-room", name="Staff room", visibility=Visibility.STAFF, position=99
    )
    hidden, _post = await do_create_topic(admin, room, "Staff only", "Internal.")
    token = await log_in(client, await make_user("alice"))
    headers = {"X-CSRF-Token": token}
    for key in (f"topic-{hidden.id}", "topic-999999", "topic-0", "anything", "new-topic-2"):
        refused = await client.post(f"/composer/drafts/{key}", data={"body": "x"}, headers=headers)
        assert refused.status_code == 404, key
        assert (await client.get(f"/composer/drafts/{key}")).status_code == 404, key
    assert await Draft.all().count() == 0
    too_long = await client.post(
        "/composer/drafts/new-topic", data={"body": "x" * 50_001}, headers=headers
    )
    assert too_long.status_code == 422
    assert (await client.post("/composer/drafts/new-topic", data={"body": "x"})).status_code == 403


async def test_posting_the_reply_or_the_topic_deletes_its_draft(client: httpx.AsyncClient) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, _post = await do_create_topic(alice, cats["iot"], "Electronic seals", "Which ones?")
    token = await log_in(client, alice)
    headers = {"X-CSRF-Token": token}
    await client.post(f"/composer/drafts/topic-{topic.id}", data={"body": "half"}, headers=headers)
    await client.post(
        "/composer/drafts/new-topic", data={"title": "Drones", "body": "half"}, headers=headers
    )
    assert await Draft.filter(user_id=alice.id).count() == 2

    replied = await client.post(
        f"/t/{topic.id}/reply", data={"csrf_token": token, "body": "The whole reply."}
    )
    assert replied.status_code == 303
    assert await Draft.filter(user_id=alice.id).values_list("key", flat=True) == ["new-topic"]

    created = await client.post(
        "/c/iot/new",
        data={"csrf_token": token, "title": "Drones at the border", "body": "Who flies them?"},
    )
    assert created.status_code == 303
    assert await Draft.filter(user_id=alice.id).count() == 0

    await client.post(f"/composer/drafts/topic-{topic.id}", data={"body": "again"}, headers=headers)
    discarded = await client.post(f"/composer/drafts/topic-{topic.id}/delete", headers=headers)
    assert discarded.status_code == 204
    assert await Draft.filter(user_id=alice.id).count() == 0


async def test_editing_the_first_post_also_edits_the_topics_title_and_tags(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, first = await do_create_topic(alice, cats["iot"], "Seals", "Which ones?", ["rfid"])
    token = await log_in(client, alice)
    form = await client.get(f"/p/{first.id}/edit")
    assert 'name="title" value="Seals"' in form.text and 'value="rfid"' in form.text

    saved = await client.post(
        f"/p/{first.id}/edit",
        data={
            "csrf_token": token,
            "title": "Electronic seals",
            "tags": "rfid, gps",
            "body": "Which ones?",
        },
    )
    assert saved.status_code == 303
    page = (await client.get(f"/t/{topic.id}")).text
    assert '<h1 lang="en">Electronic seals</h1>' in page
    assert '<span class="tag">gps</span>' in page and '<span class="tag">rfid</span>' in page

    refused = await client.post(
        f"/p/{first.id}/edit",
        data={"csrf_token": token, "title": "", "tags": "rfid", "body": "Kept text"},
    )
    assert refused.status_code == 422
    assert "Kept text" in refused.text  # what was typed comes back, with the reason

    reply = await do_create_post(alice, topic, cats["iot"], "A later post")
    later = await client.get(f"/p/{reply.id}/edit")
    assert 'name="title"' not in later.text  # only the first post carries the topic's fields
