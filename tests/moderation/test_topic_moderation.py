"""Moderators' decisions on topics and on other people's posts: close, open, pin, unpin, move,
merge, edit and delete, each through the pages and the API, each in the audit log, each behind
the moderators' gate (two-factor authentication, category scope)."""

from __future__ import annotations

import httpx

from forum.actions.posts import do_create_post, do_edit_post
from forum.actions.topics import do_create_topic
from forum.models import AuditLog, Category, Post, Role, Topic, TopicUser, User, Visibility
from forum.settings import Settings
from moderation import audit
from tests.helpers import bearer, categories, log_in, make_user
from tests.realtime.support import client as ws_client
from tests.realtime.support import serving

SECURITY = "/account/security?notice=staff_two_factor"


async def moderator_of(username: str, *cats: Category, two_factor: bool = True) -> User:
    user = await make_user(username, role=Role.MODERATOR, two_factor=two_factor)
    if cats:
        user.moderator_categories = [c.id for c in cats]
        await user.save(update_fields=["moderator_categories"])
    return user


async def audit_actions(target_type: str = "topic") -> list[tuple[str, int | None, int | None]]:
    rows = await AuditLog.filter(target_type=target_type).order_by("id")
    return [(r.action, r.actor_id, r.target_id) for r in rows]


async def test_close_open_pin_unpin_on_the_topic_page_write_one_audit_row_each(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    mod = await moderator_of("mod")
    topic, _ = await do_create_topic(alice, cats["iot"], "Electronic seals", "one")
    token = await log_in(client, mod)
    page = await client.get(f"/t/{topic.id}")
    assert f'action="/t/{topic.id}/move"' in page.text
    assert f'action="/t/{topic.id}/merge"' in page.text

    for field, value in (("closed", "1"), ("closed", "0"), ("pinned", "1"), ("pinned", "0")):
        done = await client.post(f"/t/{topic.id}/status", data={"csrf_token": token, field: value})
        assert done.status_code == 303 and done.headers["location"] == f"/t/{topic.id}"
        assert getattr(await Topic.get(id=topic.id), field) is (value == "1")

    assert await audit_actions() == [
        ("topic.close", mod.id, topic.id),
        ("topic.open", mod.id, topic.id),
        ("topic.pin", mod.id, topic.id),
        ("topic.unpin", mod.id, topic.id),
    ]
    closing = await AuditLog.filter(action="topic.close").first()
    assert closing is not None
    assert (closing.before, closing.after) == ('{"closed": false}', '{"closed": true}')
    assert (await audit.verify()).intact


async def test_the_api_closes_pins_and_retitles_someone_elses_topic_with_audit_rows(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    mod = await moderator_of("mod")
    topic, _ = await do_create_topic(alice, cats["iot"], "Electronic seals", "one")
    headers = await bearer(mod)
    url = f"/api/v1/topics/{topic.id}"

    closed = await client.patch(url, headers=headers, json={"closed": True})
    assert closed.status_code == 200 and closed.json()["closed"] is True
    pinned = await client.patch(url, headers=headers, json={"pinned": True})
    assert pinned.json()["pinned"] is True
    retitled = await client.patch(url, headers=headers, json={"title": "Seals, retitled"})
    assert retitled.json()["title"] == "Seals, retitled"

    assert [a for a, _, _ in await audit_actions()] == ["topic.close", "topic.pin", "topic.retitle"]
    row = await AuditLog.get(action="topic.retitle")
    assert "Electronic seals" in row.before and "Seals, retitled" in row.after
    # The author changing their own open topic is no moderation act.
    mine, _ = await do_create_topic(alice, cats["iot"], "Alice's own topic", "one")
    own = await client.patch(
        f"/api/v1/topics/{mine.id}", headers=await bearer(alice), json={"title": "Still hers"}
    )
    assert own.status_code == 200
    assert len(await audit_actions()) == 3


async def test_moving_a_topic_from_the_page_changes_its_category_and_both_counts(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    mod = await moderator_of("mod")
    topic, _ = await do_create_topic(alice, cats["iot"], "Seals over IP", "one")
    await do_create_post(alice, topic, cats["iot"], "two")
    token = await log_in(client, mod)

    moved = await client.post(
        f"/t/{topic.id}/move", data={"csrf_token": token, "category": "drones"}
    )
    assert moved.status_code == 303 and moved.headers["location"] == f"/t/{topic.id}"
    assert (await Topic.get(id=topic.id)).category_id == cats["drones"].id
    iot, drones = await Category.get(slug="iot"), await Category.get(slug="drones")
    assert (iot.topic_count, iot.post_count) == (0, 0)
    assert (drones.topic_count, drones.post_count) == (1, 2)
    page = await client.get(f"/t/{topic.id}")
    assert 'href="/c/drones"' in page.text
    row = await AuditLog.get(action="topic.move")
    assert (row.actor_id, row.target_id) == (mod.id, topic.id)
    assert (row.before, row.after) == ('{"category": "iot"}', '{"category": "drones"}')

    unknown = await client.post(
        f"/t/{topic.id}/move", data={"csrf_token": token, "category": "no-such-place"}
    )
    assert unknown.status_code == 422
    assert "Choose a category to move the topic to." in unknown.text
    assert await AuditLog.filter(action="topic.move").count() == 1


async def test_a_topic_moved_to_a_staff_category_disappears_for_members_and_their_socket(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    mod = await moderator_of("mod")
    staff_room = await Category.create(
        slug="staff-room", name="Staff room", visibility=Visibility.STAFF
    )
    topic, _ = await do_create_topic(alice, cats["cybersecurity"], "Phishing drill", "x")
    member_headers = await bearer(alice)
    assert (await client.get(f"/api/v1/topics/{topic.id}", headers=member_headers)).is_success
    channel = f"topic:{topic.id}"
    async with (
        serving(settings) as served,
        ws_client(served, headers=member_headers) as member,
        ws_client(served, headers=await bearer(mod)) as staff,
    ):
        await member.subscribe(channel)
        await staff.subscribe(channel)
        moved = await client.post(
            f"/api/v1/topics/{topic.id}/move",
            headers=await bearer(mod),
            json={"category": "staff-room"},
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["category"] == "staff-room"

        dropped = await member.recv()
        assert (dropped["type"], dropped["code"], dropped["channel"]) == (
            "error",
            "forbidden",
            channel,
        )
        (seen,) = await staff.events(1)
        assert seen["name"] == "topic.updated" and seen["data"]["category"] == "staff-room"
        await do_create_post(mod, await Topic.get(id=topic.id), staff_room, "Only staff now")
        assert await member.silence() == []

    assert (await client.get(f"/api/v1/topics/{topic.id}", headers=member_headers)).status_code == (
        404
    )
    await log_in(client, alice)
    assert (await client.get(f"/t/{topic.id}")).status_code == 404
    assert "Phishing drill" not in (await client.get("/c/cybersecurity")).text


async def test_merging_from_the_page_keeps_authors_and_order_and_the_old_address_redirects(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    mod = await moderator_of("mod")
    target, _ = await do_create_topic(alice, cats["iot"], "Electronic seals", "target one")
    await do_create_post(bob, target, cats["iot"], "target two")
    source, _ = await do_create_topic(carol, cats["drones"], "Seals on drones", "source one")
    await do_create_post(alice, source, cats["drones"], "source two")
    await do_create_post(bob, source, cats["drones"], "source three")
    before = {p.id: p.created_at for p in await Post.filter(topic_id=source.id)}
    token = await log_in(client, mod)

    merged = await client.post(
        f"/t/{source.id}/merge", data={"csrf_token": token, "into": f"/t/{target.id}"}
    )
    assert merged.status_code == 303 and merged.headers["location"] == f"/t/{target.id}"

    posts = await Post.filter(topic_id=target.id).order_by("number").select_related("author")
    assert [(p.number, p.author.username, p.source) for p in posts] == [
        (1, "alice", "target one"),
        (2, "bob", "target two"),
        (3, "carol", "source one"),
        (4, "alice", "source two"),
        (5, "bob", "source three"),
    ]
    assert {p.id: p.created_at for p in posts if p.id in before} == before
    after = await Topic.get(id=target.id)
    assert (after.post_count, after.highest_post_number) == (5, 5)
    old = await Topic.get(id=source.id)
    assert old.merged_into_id == target.id and old.deleted_at is not None
    page = await client.get(f"/t/{target.id}")
    assert "source three" in page.text and page.text.index("target two") < page.text.index(
        "source one"
    )

    redirected = await client.get(f"/t/{source.id}")
    assert redirected.status_code == 301
    assert redirected.headers["location"] == f"/t/{target.id}"
    deeper = await client.get(f"/t/{source.id}/unread")
    assert (deeper.status_code, deeper.headers["location"]) == (301, f"/t/{target.id}/unread")
    assert "Seals on drones" not in (await client.get("/c/drones")).text
    drones, iot = await Category.get(slug="drones"), await Category.get(slug="iot")
    assert (drones.topic_count, drones.post_count) == (0, 0)
    assert (iot.topic_count, iot.post_count) == (1, 5)

    row = await AuditLog.get(action="topic.merge")
    assert (row.actor_id, row.target_id, row.data["into"]) == (mod.id, source.id, target.id)
    assert "Seals on drones" in row.before
    assert (await audit.verify()).intact
    # A member is sent on too: the merged topic's category was theirs to see.
    await log_in(client, bob)
    assert (await client.get(f"/t/{source.id}")).headers["location"] == f"/t/{target.id}"


async def test_merging_through_the_api_and_reading_the_old_topic_there(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    mod = await moderator_of("mod")
    target, _ = await do_create_topic(alice, cats["iot"], "Electronic seals", "one")
    source, _ = await do_create_topic(alice, cats["iot"], "More on seals", "two")
    await do_create_post(alice, source, cats["iot"], "three")
    # Alice read all of the target and the first post of the source.
    await TopicUser.filter(user_id=alice.id, topic_id=source.id).update(last_read_post_number=1)

    headers = await bearer(mod)
    merged = await client.post(
        f"/api/v1/topics/{source.id}/merge", headers=headers, json={"into": target.id}
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["id"] == target.id and merged.json()["highest_post_number"] == 3

    old = await client.get(f"/api/v1/topics/{source.id}", headers=headers)
    assert old.status_code == 301
    assert old.headers["location"] == f"/api/v1/topics/{target.id}"
    assert old.json()["error"]["code"] == "topic_merged"
    write = await client.post(
        f"/api/v1/topics/{source.id}/posts", headers=headers, json={"body": "late"}
    )
    assert write.status_code == 308
    assert write.headers["location"] == f"/api/v1/topics/{target.id}/posts"
    state = await TopicUser.get(user_id=alice.id, topic_id=target.id)
    assert state.last_read_post_number == 2  # read the target (1) and the source's first post


async def test_a_merge_is_refused_into_itself_into_a_merged_topic_and_for_nonsense(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    mod = await moderator_of("mod")
    first, _ = await do_create_topic(alice, cats["iot"], "First topic", "one")
    second, _ = await do_create_topic(alice, cats["iot"], "Second topic", "two")
    third, _ = await do_create_topic(alice, cats["iot"], "Third topic", "three")
    headers = await bearer(mod)

    itself = await client.post(
        f"/api/v1/topics/{first.id}/merge", headers=headers, json={"into": first.id}
    )
    assert itself.status_code == 422
    assert itself.json()["error"]["message"] == "A topic cannot be merged into itself."
    assert (
        await client.post(
            f"/api/v1/topics/{second.id}/merge", headers=headers, json={"into": first.id}
        )
    ).status_code == 200
    into_merged = await client.post(
        f"/api/v1/topics/{third.id}/merge", headers=headers, json={"into": second.id}
    )
    assert into_merged.status_code == 422
    missing = await client.post(
        f"/api/v1/topics/{third.id}/merge", headers=headers, json={"into": 999_999}
    )
    assert missing.status_code == 422

    token = await log_in(client, mod)
    typed = "the one about seals"
    nonsense = await client.post(f"/t/{third.id}/merge", data={"csrf_token": token, "into": typed})
    assert nonsense.status_code == 422
    assert "Give the target topic&#39;s number or address." in nonsense.text
    assert f'value="{typed}"' in nonsense.text
    assert (await Topic.get(id=third.id)).merged_into_id is None
    assert await AuditLog.filter(action="topic.merge").count() == 1


async def test_a_category_moderator_decides_nothing_in_another_category(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    mod = await moderator_of("mod", cats["iot"])
    outside, outside_post = await do_create_topic(alice, cats["drones"], "Drone topic", "x")
    inside, _ = await do_create_topic(alice, cats["iot"], "Seal topic", "y")
    headers = await bearer(mod)
    api = f"/api/v1/topics/{outside.id}"

    refused = [
        await client.patch(api, headers=headers, json={"closed": True}),
        await client.patch(api, headers=headers, json={"title": "Retitled elsewhere"}),
        await client.post(f"{api}/move", headers=headers, json={"category": "iot"}),
        await client.post(f"{api}/merge", headers=headers, json={"into": inside.id}),
        await client.post(
            f"/api/v1/topics/{inside.id}/merge", headers=headers, json={"into": outside.id}
        ),
        await client.post(
            f"/api/v1/topics/{inside.id}/move", headers=headers, json={"category": "drones"}
        ),
        await client.patch(
            f"/api/v1/posts/{outside_post.id}", headers=headers, json={"body": "changed"}
        ),
        await client.delete(f"/api/v1/posts/{outside_post.id}", headers=headers),
    ]
    assert [r.status_code for r in refused] == [404] * len(refused)
    token = await log_in(client, mod)
    page = await client.post(f"/t/{outside.id}/status", data={"csrf_token": token, "closed": "1"})
    assert page.status_code == 404
    shown = await client.get(f"/t/{outside.id}")
    assert shown.status_code == 200 and f'action="/t/{outside.id}/status"' not in shown.text

    drone = await Topic.get(id=outside.id)
    assert (drone.closed, drone.title, drone.category_id) == (
        False,
        "Drone topic",
        cats["drones"].id,
    )
    assert (await Topic.get(id=inside.id)).merged_into_id is None
    assert not await AuditLog.filter(target_type__in=("topic", "post")).exists()
    # In their own category they decide.
    own = await client.post(f"/t/{inside.id}/status", data={"csrf_token": token, "closed": "1"})
    assert own.status_code == 303


async def test_staff_without_two_factor_are_stopped_at_every_moderation_act(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    mod = await moderator_of("mod", two_factor=False)
    topic, post = await do_create_topic(alice, cats["iot"], "Electronic seals", "original")
    other, _ = await do_create_topic(alice, cats["iot"], "Another topic", "other")
    headers = await bearer(mod)
    t, p = f"/api/v1/topics/{topic.id}", f"/api/v1/posts/{post.id}"

    api = [
        await client.patch(p, headers=headers, json={"body": "edited by staff"}),
        await client.delete(p, headers=headers),
        await client.patch(t, headers=headers, json={"closed": True}),
        await client.patch(t, headers=headers, json={"pinned": True}),
        await client.patch(t, headers=headers, json={"title": "Retitled by staff"}),
        await client.post(f"{t}/move", headers=headers, json={"category": "drones"}),
        await client.post(f"{t}/merge", headers=headers, json={"into": other.id}),
    ]
    assert [r.status_code for r in api] == [403] * len(api)
    assert {r.json()["error"]["code"] for r in api} == {"two_factor_setup_required"}

    token = await log_in(client, mod)
    forms = [
        await client.get(f"/p/{post.id}/edit"),
        await client.post(f"/p/{post.id}/edit", data={"csrf_token": token, "body": "edited"}),
        await client.post(f"/p/{post.id}/delete", data={"csrf_token": token}),
        await client.post(f"/t/{topic.id}/status", data={"csrf_token": token, "closed": "1"}),
        await client.post(f"/t/{topic.id}/status", data={"csrf_token": token, "pinned": "1"}),
        await client.get(f"/t/{topic.id}/moderate"),
        await client.post(f"/t/{topic.id}/move", data={"csrf_token": token, "category": "drones"}),
        await client.post(f"/t/{topic.id}/merge", data={"csrf_token": token, "into": other.id}),
    ]
    assert [(r.status_code, r.headers.get("location")) for r in forms] == [(303, SECURITY)] * len(
        forms
    )

    after = await Topic.get(id=topic.id)
    assert (after.closed, after.pinned, after.title) == (False, False, "Electronic seals")
    assert (after.category_id, after.merged_into_id) == (cats["iot"].id, None)
    kept = await Post.get(id=post.id)
    assert (kept.source, kept.deleted_at, kept.topic_id) == ("original", None, topic.id)
    assert not await AuditLog.filter(target_type__in=("topic", "post")).exists()


async def test_a_moderators_edit_is_shown_as_the_moderators_revision(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    mod = await moderator_of("mod")
    topic, post = await do_create_topic(alice, cats["iot"], "Electronic seals", "first words")
    edited = await client.patch(
        f"/api/v1/posts/{post.id}", headers=await bearer(mod), json={"body": "moderated words"}
    )
    assert edited.status_code == 200 and edited.json()["version"] == 2

    await log_in(client, alice)
    page = await client.get(f"/t/{topic.id}")
    assert "edited by a moderator (Mod)" in page.text
    revisions = await client.get(f"/p/{post.id}/revisions")
    assert "edited by a moderator (Mod)" in revisions.text
    listed = await client.get(f"/api/v1/posts/{post.id}/revisions")
    assert [r["editor"]["username"] for r in listed.json()["revisions"]] == ["mod", "alice"]
    row = await AuditLog.get(action="post.edit")
    assert (row.actor_id, row.target_id) == (mod.id, post.id)
    assert (row.before, row.after) == ("first words", "moderated words")

    # The author's own edit afterwards is plainly theirs again.
    fresh = await Post.get(id=post.id)
    await do_edit_post(alice, fresh, topic, cats["iot"], "my words again")
    page = await client.get(f"/t/{topic.id}")
    assert "edited by a moderator" not in page.text and "edited · revisions" in page.text
    assert await AuditLog.filter(action="post.edit").count() == 1


async def test_a_moderator_deleting_someone_elses_post_is_audited_but_the_author_is_not(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    mod = await moderator_of("mod")
    topic, _ = await do_create_topic(alice, cats["iot"], "Electronic seals", "one")
    theirs = await do_create_post(alice, topic, cats["iot"], "a reply to remove")
    mine = await do_create_post(alice, topic, cats["iot"], "a reply I regret")
    token = await log_in(client, mod)
    removed = await client.post(f"/p/{theirs.id}/delete", data={"csrf_token": token})
    assert removed.status_code == 303
    assert (await Post.get(id=theirs.id)).deleted_by_id == mod.id
    own = await client.delete(f"/api/v1/posts/{mine.id}", headers=await bearer(alice))
    assert own.status_code == 200
    rows = await AuditLog.filter(target_type="post")
    assert [(r.action, r.actor_id, r.target_id, r.before) for r in rows] == [
        ("post.delete", mod.id, theirs.id, "a reply to remove")
    ]


async def test_the_moderation_page_shows_only_categories_the_moderator_moderates(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    mod = await moderator_of("mod", cats["iot"], cats["drones"])
    topic, _ = await do_create_topic(alice, cats["iot"], "Electronic seals", "one")
    await log_in(client, mod)
    page = await client.get(f"/t/{topic.id}/moderate")
    assert page.status_code == 200
    options = page.text.split('name="category"')[1].split("</select>")[0]
    assert 'value="drones"' in options
    assert 'value="iot"' not in options and 'value="robotics"' not in options
