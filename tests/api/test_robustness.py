"""Whatever a client sends, the answer is a 2xx or a 4xx with the error envelope: never a 5xx.

The operations come from the OpenAPI document, so a new endpoint is thrown at automatically.
(ASGITransport re-raises unhandled exceptions, so a would-be 500 fails these tests loudly.)
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from forum.pagination import encode_cursor
from tests.api.conftest import DOCUMENT, World

NASTY_VALUES: list[Any] = [
    None, True, 0, -1, 1.5, 2**31, 2**63, 2**64, -(2**63) - 1, 1e308, "", " ", "\x00",
    "a\x00b", "\ud800", "x" * 60_000, "é" * 300, "a\nb", [], [None], ["x"] * 10, [1, 2],
    ["\x00"], {}, {"a": 1},
]  # fmt: skip
MALFORMED_BODIES: list[bytes] = [
    b"", b"{", b"}", b"[]", b"null", b"0", b'"x"', b"\xff\xfe\x00", b"\xef\xbb\xbf{}",
    b"[" * 50_000, b'{"a":' * 20_000, b"1" * 5000, b'{"title": NaN, "body": Infinity}',
    b'{"reply_to": 1e999, "post_number": -1e999}', b'{"kind": "\\u0000"}',
    b'{"body": "\\ud800"}', b'{"tags": [[[[[]]]]]}',
]  # fmt: skip
NASTY_SEGMENTS = [
    "0", "-1", "2147483648", "99999999999999999999999", "1e3", "abc", "%00", "%ff", "%F0%9F%98%80",
    "x" * 2000, "..", "%2e%2e", "1%20", "١٢",
]  # fmt: skip
VALID_BODIES: dict[str, dict[str, Any]] = {
    "NewTopic": {"category": "iot", "title": "Fuzzed topic", "body": "text", "tags": ["ok"]},
    "TopicChanges": {"title": "Fuzzed title", "tags": ["ok"], "closed": False, "pinned": False},
    "NewPost": {"body": "a reply", "reply_to": None},
    "PostEdit": {"body": "an edit"},
    "ReadPosition": {"post_number": 1},
    "NewReaction": {"kind": "like"},
    "Credentials": {"email": "alice@example.org", "password": "not the password"},
    "NewToken": {"email": "alice@example.org", "password": "not the password", "name": "n"},
    "NewWatchedWord": {"word": "contraband", "action": "block"},
    "NewFlag": {"reason": "other", "note": "a note"},
    "Decision": {"action": "ignore", "reason": "fine", "take_over": False},
    "Claim": {"take_over": False},
    "ModerationSettingsChanges": {"flag_threshold": 3},
    "NewCategory": {"slug": "fuzzed", "name": "Fuzzed", "visibility": "members"},
    "CategoryChanges": {"name": "Fuzzed name", "archived": False, "requires_approval": False},
    "CategoryOrder": {"slugs": ["iot", "welcome"]},
    "Moderation": {"role": "moderator", "categories": ["iot"]},
    "NewSanction": {"kind": "warn", "reason": "fuzzed", "until": None},
    "SanctionLift": {"reason": "fuzzed"},
    "NotificationsRead": {"all": True},
    "TopicMove": {"category": "drones"},
    "TopicMerge": {"into": 1},
    "NewKnowledgeEntry": {
        "kind": "pitfall",
        "technology": "iot",
        "stage": "pilot",
        "maturity": 2,
        "title": "Fuzzed entry",
        "summary": "s",
        "context": "c",
        "what_was_done": "w",
        "outcome": "o",
        "lessons": "l",
        "costs_risks": "r",
        "language": "en",
        "links": [{"url": "https://example.org", "title": "t"}],
        "supersedes": None,
    },
    "KnowledgeEntryChanges": {"title": "Fuzzed title", "outcome": "o", "links": []},
}
# Bodies only administrators get past the gate with.
ADMIN_BODIES = {"NewCategory", "CategoryChanges", "CategoryOrder", "Moderation"}


def operations(world: World) -> list[tuple[str, str, str | None]]:
    """(method, url, request body schema name) for every documented operation."""
    ids = {
        "topic_id": str(world.topic_id),
        "post_id": str(world.first_post_id),
        "slug": "iot",
        "kind": "like",
        "word_id": "1",
        "item_id": "1",
        "user_id": str(world.alice_id),
        "sanction_id": "1",
        "token_id": "999999",  # nobody's: the walk keeps its own token
        "entry_id": "1",
        "document_id": "1",
        "version": "1",
    }
    found = []
    for template, item in DOCUMENT["paths"].items():
        url = re.sub(r"{(\w+)}", lambda m: ids[m.group(1)], template)
        for method, operation in item.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            name = body["schema"]["$ref"].rsplit("/", 1)[1] if body else None
            found.append((method.upper(), url, name))
    return found


def assert_answered(response: httpx.Response, what: object) -> None:
    assert response.status_code < 500, (what, response.status_code, response.text[:300])
    if response.status_code >= 400:
        error = response.json()["error"]
        assert isinstance(error["code"], str) and isinstance(error["message"], str), what


async def send(
    client: httpx.AsyncClient, method: str, url: str, headers: dict[str, str], body: Any
) -> httpx.Response:
    # ensure_ascii keeps lone surrogates as \ud800 escapes, as a JSON library would send them
    raw = json.dumps(body, ensure_ascii=True).encode()
    return await client.request(
        method, url, headers={**headers, "Content-Type": "application/json"}, content=raw
    )


async def test_every_body_field_survives_every_nasty_value(
    client: httpx.AsyncClient, world: World
) -> None:
    with_bodies = [(m, u, n) for m, u, n in operations(world) if n is not None]
    assert {n for _m, _u, n in with_bodies} == set(VALID_BODIES)
    for method, url, name in with_bodies:
        assert name is not None
        valid = VALID_BODIES[name]
        headers = world.admin if name in ADMIN_BODIES else world.mod
        for field in valid:
            for value in NASTY_VALUES:
                body = {**valid, field: value}
                response = await send(client, method, url, headers, body)
                assert_answered(response, (method, url, field, value))
        response = await send(client, method, url, headers, {**valid, "unknown": [1, {}]})
        assert_answered(response, (method, url, "unknown field"))


async def test_every_write_survives_malformed_bodies_with_or_without_credentials(
    client: httpx.AsyncClient, world: World
) -> None:
    writes = [(m, u) for m, u, _n in operations(world) if m in ("POST", "PATCH", "DELETE")]
    assert len(writes) >= 10
    for method, url in writes:
        for headers in (world.alice, {}):
            for raw in MALFORMED_BODIES:
                response = await client.request(
                    method,
                    url,
                    headers={**headers, "Content-Type": "application/json"},
                    content=raw,
                )
                assert_answered(response, (method, url, raw[:30]))
            for content_type in ("text/plain", "application/x-www-form-urlencoded", "nonsense"):
                response = await client.request(
                    method, url, headers={**headers, "Content-Type": content_type}, content=b"a=b"
                )
                assert_answered(response, (method, url, content_type))


async def test_every_path_parameter_survives_nonsense(
    client: httpx.AsyncClient, world: World
) -> None:
    templates = [(t, m.upper()) for t, item in DOCUMENT["paths"].items() for m in item]
    for template, method in templates:
        if "{" not in template:
            continue
        for segment in NASTY_SEGMENTS:
            url = re.sub(r"{\w+}", segment, template)
            response = await client.request(method, url, headers=world.alice, json={})
            assert_answered(response, (method, url))
            assert response.status_code in (400, 401, 403, 404, 405, 422), (method, url)


async def test_crafted_cursors_and_query_values_are_400s_not_driver_errors(
    client: httpx.AsyncClient, world: World
) -> None:
    cursors = [
        encode_cursor("0001-01-01T00:00:00+14:00", 1),
        encode_cursor("9999-12-31T23:59:59-14:00", 1),
        encode_cursor("2020-01-01T00:00:00+00:00", 2**40),
        encode_cursor(True, "0001-01-01T00:00:00+14:00", 1),
        encode_cursor(False, "2020-01-01T00:00:00", -(2**40)),
        encode_cursor("a", 2**40),
        encode_cursor("b", 2**31),
        encode_cursor("c", 1),
        encode_cursor("a", 1, 2),
        encode_cursor(None, None),
        "%00", "A" * 201, "====", "W10",
    ]  # fmt: skip
    urls = [
        "/api/v1/latest",
        "/api/v1/categories/iot/topics",
        f"/api/v1/topics/{world.topic_id}",
        "/api/v1/knowledge",
        "/api/v1/knowledge?sort=helpful",
        "/api/v1/search?q=seals",  # issue 13
    ]
    for url in urls:
        for cursor in cursors:
            joiner = "&" if "?" in url else "?"
            response = await client.get(f"{url}{joiner}cursor={cursor}", headers=world.alice)
            assert_answered(response, (url, cursor))
            assert response.status_code == 400, (url, cursor, response.text)
    for near in ("0", "-1", "2147483648", "1e3", "%00", "abc", "9" * 40):
        response = await client.get(f"{urls[2]}?near={near}", headers=world.alice)
        assert response.status_code == 400, (near, response.text)
    page = await client.get(f"{urls[2]}?near=2147483647&cursor=", headers=world.alice)
    assert page.status_code == 200 and page.json()["posts"] == []
