"""Every way a request can go wrong answers with the right status and error code."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.api.conftest import World

MiB = 1024 * 1024


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["message"]
    code: str = body["error"]["code"]
    return code


async def new_topic(
    client: httpx.AsyncClient, headers: dict[str, str], **fields: Any
) -> httpx.Response:
    body = {"category": "iot", "title": "A good title", "body": "Some text", **fields}
    # json.dumps escapes a lone surrogate as \ud800, as any JSON library may send it.
    raw = json.dumps(body)
    headers = {**headers, "Content-Type": "application/json"}
    return await client.post("/api/v1/topics", headers=headers, content=raw)


BAD_TOPIC_FIELDS: list[tuple[dict[str, Any], int, str, str]] = [
    ({"title": "abcd"}, 422, "invalid", "at least 5"),
    ({"title": "a    b"}, 422, "invalid", "5 to 200"),
    ({"title": "x" * 201}, 422, "invalid", "title"),
    ({"body": ""}, 422, "invalid", "body"),
    ({"body": "   \n "}, 422, "invalid", "Write something"),
    ({"body": "x" * 50_001}, 422, "invalid", "body"),
    ({"tags": ["a", "b", "c", "d", "e", "f"]}, 422, "invalid", "tags"),
    ({"tags": ["not a tag"]}, 422, "invalid", "tag"),
    ({"tags": "x"}, 422, "invalid", "tags must be a list"),
    ({"tags": [1]}, 422, "invalid", "tags must be a string"),
    ({"tags": None}, 422, "invalid", "tags"),
    ({"title": 5}, 422, "invalid", "title must be a string"),
    ({"title": None}, 422, "invalid", "title must be a string"),
    ({"title": "Nul\x00byte title"}, 422, "invalid", "NUL"),
    ({"body": "Nul \x00 byte"}, 422, "invalid", "NUL"),
    ({"body": "lone \ud800 surrogate"}, 422, "invalid", "Unicode"),
    ({"category": "\x00"}, 422, "invalid", "NUL"),
    ({"category": "no-such-category"}, 404, "not_found", "category"),
    ({"category": "announcements"}, 403, "forbidden", "may not"),
]


async def test_bad_topic_fields_are_refused_with_a_clear_message(
    client: httpx.AsyncClient, world: World
) -> None:
    for fields, status, code, words in BAD_TOPIC_FIELDS:
        response = await new_topic(client, world.alice, **fields)
        assert response.status_code == status, (fields, response.text)
        assert error_code(response) == code
        assert words in response.json()["error"]["message"], (fields, response.text)
    assert (await client.get("/api/v1/latest", headers=world.alice)).json()["topics"][0][
        "title"
    ] == "Welcome all"


@pytest.mark.parametrize("missing", ["category", "title", "body"])
async def test_a_missing_required_field_is_named(
    client: httpx.AsyncClient, world: World, missing: str
) -> None:
    body = {"category": "iot", "title": "A good title", "body": "Some text"}
    del body[missing]
    response = await client.post("/api/v1/topics", headers=world.alice, json=body)
    assert response.status_code == 422
    assert response.json()["error"]["message"] == f"{missing} is required."


NOT_JSON_OBJECTS = [
    (b"{", "not valid JSON"),
    (b"\xff\xfe{}", "not valid JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (b'"title"', "must be a JSON object"),
    (b"null", "must be a JSON object"),
    (b"[" * 100_000, "not valid JSON"),
    (b"1" * 5000, "not valid JSON"),
]


async def test_a_body_that_is_not_a_json_object_is_a_400(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = {**world.alice, "Content-Type": "application/json"}
    for raw, message in NOT_JSON_OBJECTS:
        response = await client.post("/api/v1/topics", headers=headers, content=raw)
        assert response.status_code == 400, (raw[:20], response.text)
        assert error_code(response) == "bad_request"
        assert message in response.json()["error"]["message"]


async def test_a_body_over_one_mebibyte_is_a_413(client: httpx.AsyncClient, world: World) -> None:
    response = await new_topic(client, world.alice, body="x" * (MiB + 1))
    assert response.status_code == 413 and error_code(response) == "too_large"


IMPOSSIBLE_IDS = ["999999", "0", "-1", "abc", "1.5", "2147483648", "9" * 30, "١", "%00"]


async def test_unknown_or_impossible_ids_are_404s_everywhere(
    client: httpx.AsyncClient, world: World
) -> None:
    calls = [
        ("GET", "/api/v1/topics/{id}", None),
        ("PATCH", "/api/v1/topics/{id}", {"title": "New title"}),
        ("POST", "/api/v1/topics/{id}/posts", {"body": "hi"}),
        ("POST", "/api/v1/topics/{id}/read", {"post_number": 1}),
        ("GET", "/api/v1/posts/{id}", None),
        ("PATCH", "/api/v1/posts/{id}", {"body": "hi"}),
        ("DELETE", "/api/v1/posts/{id}", None),
        ("GET", "/api/v1/posts/{id}/revisions", None),
        ("POST", "/api/v1/posts/{id}/reactions", {"kind": "like"}),
        ("DELETE", "/api/v1/posts/{id}/reactions/like", None),
        ("POST", "/api/v1/posts/{id}/bookmark", None),
        ("DELETE", "/api/v1/posts/{id}/bookmark", None),
    ]
    for raw_id in IMPOSSIBLE_IDS:
        for method, template, body in calls:
            url = template.format(id=raw_id)
            response = await client.request(method, url, headers=world.alice, json=body)
            assert response.status_code == 404, (method, url, response.text)
            assert error_code(response) == "not_found"


BAD_QUERIES = [
    "/api/v1/latest?cursor=nonsense",
    "/api/v1/latest?cursor=" + "A" * 300,
    "/api/v1/categories/iot/topics?cursor=W10",
    "/api/v1/topics/{topic}?cursor=WyJ6IiwxXQ",
    "/api/v1/topics/{topic}?cursor=%00",
    "/api/v1/topics/{topic}?near=abc",
    "/api/v1/topics/{topic}?near=0",
    "/api/v1/topics/{topic}?near=99999999999",
]


async def test_a_bad_cursor_or_query_parameter_is_a_400(
    client: httpx.AsyncClient, world: World
) -> None:
    for url in BAD_QUERIES:
        response = await client.get(url.format(topic=world.topic_id), headers=world.alice)
        assert response.status_code == 400, (url, response.text)
        assert error_code(response) == "bad_request"


async def test_writes_without_credentials_are_401s(client: httpx.AsyncClient, world: World) -> None:
    t, p = world.public_topic_id, world.first_post_id
    calls = [
        ("POST", "/api/v1/topics", {"category": "welcome", "title": "A good title", "body": "x"}),
        ("PATCH", f"/api/v1/topics/{t}", {"title": "New title"}),
        ("POST", f"/api/v1/topics/{t}/posts", {"body": "hi"}),
        ("POST", f"/api/v1/topics/{t}/read", {"post_number": 1}),
        ("PATCH", f"/api/v1/posts/{p}", {"body": "hi"}),
        ("DELETE", f"/api/v1/posts/{p}", None),
        ("POST", f"/api/v1/posts/{p}/reactions", {"kind": "like"}),
        ("DELETE", f"/api/v1/posts/{p}/reactions/like", None),
        ("POST", f"/api/v1/posts/{p}/bookmark", None),
        ("DELETE", f"/api/v1/posts/{p}/bookmark", None),
        ("POST", "/api/v1/auth/logout", None),
        ("GET", "/api/v1/me", None),
    ]
    for token in ({}, {"Authorization": "Bearer scf_not-a-real-token"}):
        for method, url, body in calls:
            response = await client.request(method, url, headers=token, json=body)
            assert response.status_code == 401, (method, url, response.text)
            assert error_code(response) == "not_authenticated"


async def test_replies_check_the_topic_and_the_post_answered(
    client: httpx.AsyncClient, world: World
) -> None:
    url = f"/api/v1/topics/{world.topic_id}/posts"
    other = await new_topic(client, world.alice, title="Another topic")
    elsewhere = other.json()["post"]["id"]
    cases = [
        ({"body": "hi", "reply_to": elsewhere}, 422, "invalid"),
        ({"body": "hi", "reply_to": 999_999}, 404, "not_found"),
        ({"body": "hi", "reply_to": "abc"}, 422, "invalid"),
        ({"body": "hi", "reply_to": 2**63}, 422, "invalid"),
        ({"body": "hi", "reply_to": -5}, 422, "invalid"),
        ({"body": "hi", "reply_to": True}, 422, "invalid"),
        ({"body": "hi", "reply_to": 1.5}, 422, "invalid"),
        ({"body": 7}, 422, "invalid"),
    ]
    for body, status, code in cases:
        response = await client.post(url, headers=world.alice, json=body)
        assert response.status_code == status, (body, response.text)
        assert error_code(response) == code
    await client.delete(f"/api/v1/posts/{world.reply_id}", headers=world.bob)
    to_deleted = await client.post(
        url, headers=world.alice, json={"body": "hi", "reply_to": world.reply_id}
    )
    assert to_deleted.status_code == 404
    fine = await client.post(url, headers=world.alice, json={"body": "hi", "reply_to": None})
    assert fine.status_code == 201 and fine.json()["reply_to"] is None


async def test_a_closed_topic_refuses_member_replies_with_a_403(
    client: httpx.AsyncClient, world: World
) -> None:
    url = f"/api/v1/topics/{world.topic_id}"
    assert (await client.patch(url, headers=world.mod, json={"closed": True})).status_code == 200
    refused = await client.post(f"{url}/posts", headers=world.bob, json={"body": "late"})
    assert refused.status_code == 403 and error_code(refused) == "forbidden"
    assert "closed" in refused.json()["error"]["message"]
    staff = await client.post(f"{url}/posts", headers=world.mod, json={"body": "closing note"})
    assert staff.status_code == 201


BAD_TOPIC_CHANGES: list[tuple[dict[str, Any], int, str]] = [
    ({}, 422, "invalid"),
    ({"unknown": 1}, 422, "invalid"),
    ({"closed": "yes"}, 422, "invalid"),
    ({"pinned": 1}, 422, "invalid"),
    ({"tags": ["ok", 3]}, 422, "invalid"),
    ({"title": "New title"}, 403, "forbidden"),
]


async def test_topic_changes_need_a_valid_change_and_the_right(
    client: httpx.AsyncClient, world: World
) -> None:
    url = f"/api/v1/topics/{world.topic_id}"
    for body, status, code in BAD_TOPIC_CHANGES:
        response = await client.patch(url, headers=world.bob, json=body)
        assert response.status_code == status, (body, response.text)
        assert error_code(response) == code


async def test_reactions_posts_and_reading_validate_their_fields(
    client: httpx.AsyncClient, world: World
) -> None:
    post = f"/api/v1/posts/{world.first_post_id}"
    cases = [
        ("POST", f"{post}/reactions", {"kind": "angry"}, 422),
        ("POST", f"{post}/reactions", {"kind": ["like"]}, 422),
        ("POST", f"{post}/reactions", {}, 422),
        ("DELETE", f"{post}/reactions/angry", None, 422),
        ("DELETE", f"{post}/reactions/%00", None, 422),
        ("PATCH", post, {"body": ""}, 422),
        ("PATCH", post, {"body": None}, 422),
        ("PATCH", post, {"body": "vandalism"}, 403),
        ("DELETE", post, None, 403),
        ("POST", f"/api/v1/topics/{world.topic_id}/read", {"post_number": 0}, 422),
        ("POST", f"/api/v1/topics/{world.topic_id}/read", {"post_number": 2**64}, 422),
        ("POST", f"/api/v1/topics/{world.topic_id}/read", {"post_number": "2"}, 422),
    ]
    for method, url, body, status in cases:
        response = await client.request(method, url, headers=world.bob, json=body)
        assert response.status_code == status, (method, url, body, response.text)
        assert error_code(response) == {403: "forbidden", 422: "invalid"}[status]


async def test_a_nul_in_a_path_slug_is_a_422_and_an_unknown_slug_a_404(
    client: httpx.AsyncClient, world: World
) -> None:
    for url in ("/api/v1/categories/%00", "/api/v1/categories/io%00t/topics"):
        response = await client.get(url, headers=world.alice)
        assert response.status_code == 422 and error_code(response) == "invalid"
    for url in ("/api/v1/categories/nope", "/api/v1/categories/" + "x" * 500 + "/topics"):
        response = await client.get(url, headers=world.alice)
        assert response.status_code == 404 and error_code(response) == "not_found"


async def test_wrong_credentials_get_the_same_401_whether_or_not_the_email_exists(
    client: httpx.AsyncClient, world: World
) -> None:
    answers = []
    for url in ("/api/v1/auth/login", "/api/v1/auth/tokens"):
        for email in ("alice@example.org", "nobody@example.org"):
            response = await client.post(url, json={"email": email, "password": "wrong password!"})
            assert response.status_code == 401
            answers.append(response.json())
    assert all(answer == answers[0] for answer in answers)
    assert answers[0]["error"]["message"] == "Wrong email or password."
    missing = await client.post("/api/v1/auth/tokens", json={"email": "alice@example.org"})
    assert missing.status_code == 422


async def test_an_undocumented_method_is_a_405_that_names_the_allowed_ones(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.put(f"/api/v1/topics/{world.topic_id}", headers=world.alice, json={})
    assert response.status_code == 405 and error_code(response) == "method_not_allowed"
    assert response.headers["allow"] == "GET, HEAD, PATCH"
    response = await client.get("/api/v1/topics", headers=world.alice)
    assert response.status_code == 405 and response.headers["allow"] == "POST"
