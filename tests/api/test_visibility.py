"""What a caller may not see does not exist for them: 404, and 401 before any write."""

from __future__ import annotations

import httpx
from tortoise.expressions import F

from forum.models import Category, Post, PostingRight, Topic, Visibility
from forum.web.fragments import clear_cache
from tests.api.conftest import World


def reads(world: World) -> list[str]:
    t, p = world.topic_id, world.first_post_id
    return [
        "/api/v1/categories/iot",
        "/api/v1/categories/iot/topics",
        f"/api/v1/topics/{t}",
        f"/api/v1/posts/{p}",
        f"/api/v1/posts/{p}/revisions",
    ]


async def test_anonymous_visitors_see_only_public_categories_and_their_topics(
    client: httpx.AsyncClient, world: World
) -> None:
    categories = (await client.get("/api/v1/categories")).json()["categories"]
    assert [c["slug"] for c in categories] == ["welcome"]
    assert categories[0]["can_create_topic"] is False
    latest = (await client.get("/api/v1/latest")).json()["topics"]
    assert [t["id"] for t in latest] == [world.public_topic_id]
    assert (await client.get(f"/api/v1/topics/{world.public_topic_id}")).status_code == 200
    for url in reads(world):
        response = await client.get(url)
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "not_found"


async def test_unverified_users_are_treated_like_visitors_in_the_members_area(
    client: httpx.AsyncClient, world: World
) -> None:
    me = (await client.get("/api/v1/me", headers=world.newcomer)).json()
    assert me["username"] == "newcomer" and me["is_verified"] is False
    slugs = [
        c["slug"]
        for c in (await client.get("/api/v1/categories", headers=world.newcomer)).json()[
            "categories"
        ]
    ]
    assert slugs == ["welcome"]
    for url in reads(world):
        assert (await client.get(url, headers=world.newcomer)).status_code == 404, url
    t, p = world.topic_id, world.first_post_id
    hidden_writes = [
        ("POST", "/api/v1/topics", {"category": "iot", "title": "Sneaky title", "body": "x"}),
        ("PATCH", f"/api/v1/topics/{t}", {"title": "Sneaky title"}),
        ("POST", f"/api/v1/topics/{t}/posts", {"body": "x"}),
        ("POST", f"/api/v1/topics/{t}/read", {"post_number": 1}),
        ("PATCH", f"/api/v1/posts/{p}", {"body": "x"}),
        ("DELETE", f"/api/v1/posts/{p}", None),
        ("POST", f"/api/v1/posts/{p}/reactions", {"kind": "like"}),
        ("POST", f"/api/v1/posts/{p}/bookmark", None),
    ]
    for method, url, body in hidden_writes:
        response = await client.request(method, url, headers=world.newcomer, json=body)
        assert response.status_code == 404, (method, url, response.text)
    # Where they can read, they still may not write until verified.
    public = f"/api/v1/topics/{world.public_topic_id}/posts"
    refused = await client.post(public, headers=world.newcomer, json={"body": "hello"})
    assert refused.status_code == 403


async def test_anonymous_writes_are_401_whether_or_not_the_target_is_visible(
    client: httpx.AsyncClient, world: World
) -> None:
    for topic_id in (world.topic_id, world.public_topic_id, 999_999):
        response = await client.post(f"/api/v1/topics/{topic_id}/posts", json={"body": "x"})
        assert response.status_code == 401


async def test_staff_only_categories_are_invisible_to_members(
    client: httpx.AsyncClient, world: World
) -> None:
    await Category.create(
        slug="secretariat",
        name="Secretariat",
        visibility=Visibility.STAFF,
        posting_right=PostingRight.STAFF,
        position=99,
    )
    topic = await client.post(
        "/api/v1/topics",
        headers=world.mod,
        json={"category": "secretariat", "title": "Staff matters", "body": "internal"},
    )
    assert topic.status_code == 201
    member_slugs = [
        c["slug"]
        for c in (await client.get("/api/v1/categories", headers=world.alice)).json()["categories"]
    ]
    assert "secretariat" not in member_slugs and "iot" in member_slugs
    assert (
        await client.get(f"/api/v1/topics/{topic.json()['id']}", headers=world.alice)
    ).status_code == 404
    latest = (await client.get("/api/v1/latest", headers=world.alice)).json()["topics"]
    assert topic.json()["id"] not in [t["id"] for t in latest]
    staff_latest = (await client.get("/api/v1/latest", headers=world.mod)).json()["topics"]
    assert staff_latest[0]["id"] == topic.json()["id"]


async def test_deleted_and_hidden_posts_keep_their_text_from_all_but_staff(
    client: httpx.AsyncClient, world: World
) -> None:
    assert (
        await client.delete(f"/api/v1/posts/{world.reply_id}", headers=world.bob)
    ).status_code == 200
    await Post.filter(id=world.first_post_id).update(hidden=True)
    await Topic.filter(id=world.topic_id).update(version=F("version") + 1)
    clear_cache()
    url = f"/api/v1/topics/{world.topic_id}"
    for headers in (world.alice, world.bob):
        posts = (await client.get(url, headers=headers)).json()["posts"]
        assert [(p["hidden"], p["deleted"], p["html"]) for p in posts] == [
            (True, False, ""),
            (False, True, ""),
        ]
        assert all("source" not in p for p in posts)
        single = (await client.get(f"/api/v1/posts/{world.reply_id}", headers=headers)).json()
        assert single["html"] == "" and "source" not in single
        revisions = await client.get(f"/api/v1/posts/{world.reply_id}/revisions", headers=headers)
        assert revisions.status_code == 404
    staff = (await client.get(url, headers=world.mod)).json()["posts"]
    assert [(p["html"], p["source"]) for p in staff] == [
        ("<p>first</p>", "first"),
        ("<p>a reply</p>", "a reply"),
    ]
    revisions = await client.get(f"/api/v1/posts/{world.reply_id}/revisions", headers=world.mod)
    assert revisions.status_code == 200 and revisions.json()["revisions"][0]["source"] == "a reply"
    # Nobody can react to what they cannot read.
    react = await client.post(
        f"/api/v1/posts/{world.first_post_id}/reactions", headers=world.bob, json={"kind": "like"}
    )
    assert react.status_code == 403
