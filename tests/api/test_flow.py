"""The API end to end, as a script and as a browser would use it."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette

from forum.models import Role, Topic
from tests.helpers import PASSWORD, bearer, categories, make_user


async def token_headers(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/tokens", json={"email": email, "password": PASSWORD, "name": "script"}
    )
    assert response.status_code == 201, response.text
    data = response.json()
    assert data["token"].startswith("scf_") and data["name"] == "script" and data["id"] > 0
    return {"Authorization": f"Bearer {data['token']}"}


async def test_a_script_with_a_token_starts_replies_quotes_reacts_edits_and_deletes(
    client: httpx.AsyncClient,
) -> None:
    await categories()
    await make_user("alice")
    await make_user("bob")
    alice = await token_headers(client, "alice@example.org")
    bob = await token_headers(client, "bob@example.org")

    me = await client.get("/api/v1/me", headers=alice)
    assert me.status_code == 200 and me.json()["username"] == "alice"

    created = await client.post(
        "/api/v1/topics",
        headers=alice,
        json={
            "category": "iot",
            "title": "Electronic seals in transit",
            "body": "Who uses **e-seals**?",
            "tags": ["Seals", "transit"],
        },
    )
    assert created.status_code == 201, created.text
    topic = created.json()
    assert topic["title"] == "Electronic seals in transit"
    assert topic["category"] == "iot" and topic["tags"] == ["seals", "transit"]
    assert topic["author"]["username"] == "alice" and topic["reply_count"] == 0
    first = topic["post"]
    assert first["number"] == 1 and first["html"] == "<p>Who uses <strong>e-seals</strong>?</p>"
    assert first["source"] == "Who uses **e-seals**?" and first["reply_to"] is None

    reply = await client.post(
        f"/api/v1/topics/{topic['id']}/posts", headers=bob, json={"body": "We do, since 2021."}
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["number"] == 2 and reply.json()["author"]["username"] == "bob"

    quote = await client.post(
        f"/api/v1/topics/{topic['id']}/posts",
        headers=alice,
        json={"body": "> since 2021\n\nWhich vendor?", "reply_to": reply.json()["id"]},
    )
    assert quote.status_code == 201, quote.text
    quoted = quote.json()
    assert quoted["reply_to"] == 2 and quoted["reply_to_username"] == "bob"
    assert quoted["html"].startswith("<blockquote>")

    reacted = await client.post(
        f"/api/v1/posts/{first['id']}/reactions", headers=bob, json={"kind": "heart"}
    )
    assert reacted.status_code == 200, reacted.text
    assert reacted.json() == {
        "post_id": first["id"],
        "reactions": {"heart": 1},
        "my_reactions": ["heart"],
    }
    await client.post(
        f"/api/v1/posts/{first['id']}/reactions", headers=alice, json={"kind": "like"}
    )

    edited = await client.patch(
        f"/api/v1/posts/{first['id']}", headers=alice, json={"body": "Who uses *e-seals*?"}
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["version"] == 2 and edited.json()["edited_at"] is not None
    assert edited.json()["html"] == "<p>Who uses <em>e-seals</em>?</p>"

    revisions = await client.get(f"/api/v1/posts/{first['id']}/revisions", headers=bob)
    assert revisions.status_code == 200
    assert [(r["version"], r["source"]) for r in revisions.json()["revisions"]] == [
        (2, "Who uses *e-seals*?"),
        (1, "Who uses **e-seals**?"),
    ]
    assert revisions.json()["revisions"][0]["editor"]["username"] == "alice"

    page = await client.get(f"/api/v1/topics/{topic['id']}", headers=bob)
    assert page.status_code == 200
    posts = page.json()["posts"]
    assert [p["number"] for p in posts] == [1, 2, 3]
    assert posts[0]["reactions"] == {"like": 1, "heart": 1} and posts[0]["my_reactions"] == [
        "heart"
    ]
    assert posts[1]["can_edit"] and posts[1]["can_delete"] and not posts[0]["can_edit"]

    removed = await client.delete(f"/api/v1/posts/{first['id']}/reactions/heart", headers=bob)
    assert removed.json() == {"post_id": first["id"], "reactions": {"like": 1}, "my_reactions": []}

    deleted = await client.delete(f"/api/v1/posts/{reply.json()['id']}", headers=bob)
    assert deleted.status_code == 200, deleted.text
    gone = deleted.json()
    assert gone["deleted"] is True and gone["html"] == "" and "source" not in gone
    after = (await client.get(f"/api/v1/topics/{topic['id']}", headers=alice)).json()
    assert [p["deleted"] for p in after["posts"]] == [False, True, False]
    assert after["posts"][1]["html"] == "" and "source" not in after["posts"][1]


async def test_a_browser_logs_in_with_a_cookie_and_writes_only_with_the_csrf_token(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    await make_user("alice")
    wrong = await client.post(
        "/api/v1/auth/login", json={"email": "alice@example.org", "password": "not the password"}
    )
    nobody = await client.post(
        "/api/v1/auth/login", json={"email": "nobody@example.org", "password": "not the password"}
    )
    assert wrong.status_code == nobody.status_code == 401
    assert wrong.json() == nobody.json()

    login = await client.post(
        "/api/v1/auth/login", json={"email": "Alice@Example.org", "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    assert login.json()["user"]["username"] == "alice"
    assert "forum_session" in client.cookies
    token = login.json()["csrf_token"]
    new_topic: dict[str, Any] = {"category": "iot", "title": "Cookie topic", "body": "hello"}

    refused = await client.post("/api/v1/topics", json=new_topic)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed"
    forged = await client.post("/api/v1/topics", json=new_topic, headers={"X-CSRF-Token": "x" * 64})
    assert forged.status_code == 403
    accepted = await client.post("/api/v1/topics", json=new_topic, headers={"X-CSRF-Token": token})
    assert accepted.status_code == 201, accepted.text
    assert cats["iot"].id and accepted.json()["category"] == "iot"

    logout = await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": token})
    assert logout.status_code == 204
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_reading_marks_unread_counts_and_bookmarks_follow_the_caller(
    client: httpx.AsyncClient,
) -> None:
    await categories()
    alice = await make_user("alice")
    bob = await make_user("bob")
    a, b = await bearer(alice), await bearer(bob)
    topic = (
        await client.post(
            "/api/v1/topics",
            headers=a,
            json={"category": "iot", "title": "Read marks", "body": "1"},
        )
    ).json()
    for n in range(3):
        await client.post(f"/api/v1/topics/{topic['id']}/posts", headers=a, json={"body": f"r{n}"})

    listed = (await client.get("/api/v1/latest", headers=b)).json()["topics"][0]
    assert (listed["is_new"], listed["unread"]) == (True, 0)
    marked = await client.post(
        f"/api/v1/topics/{topic['id']}/read", headers=b, json={"post_number": 2}
    )
    assert marked.status_code == 204
    listed = (await client.get("/api/v1/categories/iot/topics", headers=b)).json()["topics"][0]
    assert (listed["is_new"], listed["unread"]) == (False, 2)
    backwards = await client.post(
        f"/api/v1/topics/{topic['id']}/read", headers=b, json={"post_number": 1}
    )
    assert backwards.status_code == 204
    page = (await client.get(f"/api/v1/topics/{topic['id']}", headers=b)).json()
    assert page["last_read_post_number"] == 2 and page["unread"] == 2

    post_id = page["posts"][1]["id"]
    on = await client.post(f"/api/v1/posts/{post_id}/bookmark", headers=b)
    assert on.json() == {"post_id": post_id, "bookmarked": True}
    assert (await client.get(f"/api/v1/posts/{post_id}", headers=b)).json()["bookmarked"]
    assert not (await client.get(f"/api/v1/posts/{post_id}", headers=a)).json()["bookmarked"]
    off = await client.delete(f"/api/v1/posts/{post_id}/bookmark", headers=b)
    assert off.json() == {"post_id": post_id, "bookmarked": False}
    assert not (await client.get(f"/api/v1/posts/{post_id}", headers=b)).json()["bookmarked"]


async def test_staff_close_and_pin_and_authors_retitle_through_patch(
    client: httpx.AsyncClient,
) -> None:
    await categories()
    alice = await make_user("alice")
    mod = await make_user("mod", role=Role.MODERATOR, two_factor=True)
    a, m = await bearer(alice), await bearer(mod)
    topic = (
        await client.post(
            "/api/v1/topics",
            headers=a,
            json={"category": "iot", "title": "First title", "body": "x"},
        )
    ).json()
    url = f"/api/v1/topics/{topic['id']}"
    retitled = await client.patch(url, headers=a, json={"title": "Better title", "tags": ["iot"]})
    assert retitled.status_code == 200, retitled.text
    assert (retitled.json()["title"], retitled.json()["tags"]) == ("Better title", ["iot"])
    assert retitled.json()["author"]["username"] == "alice"

    refused = await client.patch(url, headers=a, json={"closed": True})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    closed = await client.patch(url, headers=m, json={"closed": True, "pinned": True})
    assert closed.status_code == 200
    assert closed.json()["closed"] and closed.json()["pinned"] and closed.json()["can_moderate"]

    late = await client.post(f"{url}/posts", headers=a, json={"body": "too late"})
    assert late.status_code == 403 and late.json()["error"]["code"] == "forbidden"
    assert (await client.get(url, headers=a)).json()["can_reply"] is False


async def test_reading_a_topic_counts_one_view_per_reader_not_per_page_or_reload(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await categories()
    alice = await make_user("alice")
    headers = await bearer(alice)
    topic = (
        await client.post(
            "/api/v1/topics",
            headers=headers,
            json={"category": "iot", "title": "Views", "body": "x"},
        )
    ).json()
    url = f"/api/v1/topics/{topic['id']}"
    await client.get(url, headers=headers)
    await client.get(url)  # anonymous: not found in a members-only category, so no view
    await client.get(f"{url}?near=1", headers=headers)
    cursor = (await client.get(url, headers=headers)).json()["prev_cursor"] or "WyJhIiwxXQ"
    await client.get(f"{url}?cursor={cursor}", headers=headers)
    await client.get(url, headers=await bearer(await make_user("bob")))
    assert await app.state.views.flush() == 2  # alice's three reads within the hour, and bob's
    assert (await Topic.get(id=topic["id"])).views == 2
    head = await client.head(url, headers=headers)
    assert head.status_code == 200 and head.content == b""
