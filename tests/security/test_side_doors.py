"""Side doors an adversarial probe found: HEAD running POST code, digits that are not ASCII,
forms with too many fields or NUL characters, and error pages without the security headers.
Each test failed on the code before the fix."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tortoise import connections

from forum.api.routes import routes as api_routes
from forum.app import create_app
from forum.auth import SESSION_COOKIE
from forum.models import Post, Role, Topic, User
from forum.settings import Settings
from forum.web.routes import routes as web_routes
from tests.helpers import PASSWORD, bearer, categories, log_in, make_user
from tests.moderation.test_staff_gate import FORM, _fill, _snapshot, _world


async def _everything() -> list[object]:
    users = await User.all().order_by("id").values_list("id", "display_name", "bio", "timezone")
    return [*await _snapshot([]), users]


async def test_head_answers_what_get_answers_and_changes_nothing(
    client: httpx.AsyncClient, db: str
) -> None:
    """HEAD, with a form body and no CSRF token, to every page and endpoint, as an
    administrator with two-factor authentication: it answers as GET does (405 where there is
    no GET), and nothing anyone may change has changed."""
    ids = await _world()
    admin = await User.get(username="admin")
    before = await _everything()
    problems = []
    for route in [*web_routes, *api_routes]:
        if not isinstance(route, Route):
            continue
        url = _fill(route.path, ids)
        await log_in(client, admin)
        headers = await bearer(admin) if url.startswith("/api/") else {}
        head = await client.request(
            "HEAD", url, data={**FORM, "display_name": "Changed by HEAD"}, headers=headers
        )
        if head.content:
            problems.append(f"HEAD {url}: a body of {len(head.content)} bytes")
        if "GET" not in (route.methods or set()):
            # 405, or 404 from another route's GET at that URL (/categories/{slug})
            if head.status_code not in (404, 405):
                problems.append(f"HEAD {url}: {head.status_code}, but there is no GET here")
            continue
        await log_in(client, admin)
        get = await client.get(url, headers=headers)
        if head.status_code != get.status_code:
            problems.append(f"HEAD {url}: {head.status_code}, GET {get.status_code}")
    assert problems == []
    assert await _everything() == before


async def test_head_with_a_body_neither_edits_a_profile_nor_confirms_an_application(
    client: httpx.AsyncClient, db: str
) -> None:
    alice = await make_user("alice")
    await log_in(client, alice)  # no CSRF token is sent: HEAD used to skip the check
    form = {"display_name": "Mallory", "bio": "set by HEAD"}
    answer = await client.request("HEAD", "/account/profile", data=form)
    assert answer.status_code == 200, (answer.status_code, answer.headers)
    assert answer.content == b""
    fresh = await User.get(id=alice.id)
    assert fresh.display_name == "Alice" and fresh.bio == ""


async def test_digits_that_are_not_ascii_are_a_bad_request_not_a_crash(
    client: httpx.AsyncClient, db: str
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    from forum.actions.topics import do_create_topic

    topic, first = await do_create_topic(alice, cats["iot"], "Electronic seals", "first words")
    csrf = await log_in(client, alice)
    for url in (f"/t/{topic.id}?near=%C2%B2", f"/t/{topic.id}/reply?quote=%C2%B3"):
        answer = await client.get(url)
        assert answer.status_code == 400, url
        assert "not a valid number" in answer.text
    answer = await client.post(
        f"/t/{topic.id}/reply", data={"csrf_token": csrf, "body": "an answer", "reply_to": "²"}
    )
    assert answer.status_code == 400
    assert await Post.filter(topic_id=topic.id).count() == 1


async def test_a_form_with_too_many_fields_is_refused_with_a_400(
    client: httpx.AsyncClient, db: str
) -> None:
    fields = {f"f{n}": "x" for n in range(1001)}
    answer = await client.post("/login", data={**fields, "login": "a", "password": "b"})
    assert answer.status_code == 400
    assert "too many fields" in answer.text
    assert answer.headers["content-security-policy"]


async def test_nul_characters_from_web_forms_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, db: str
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    from forum.actions.topics import do_create_topic

    topic, _first = await do_create_topic(alice, cats["iot"], "Electronic seals", "first words")
    csrf = await log_in(client, alice)
    answer = await client.post(
        "/c/iot/new", data={"csrf_token": csrf, "title": "\x00" * 6, "body": "a body", "tags": ""}
    )
    assert answer.status_code == 422
    assert "NUL" in answer.text
    answer = await client.post(
        f"/t/{topic.id}/reply", data={"csrf_token": csrf, "body": "one \x00 NUL"}
    )
    assert answer.status_code == 422
    assert await Topic.all().count() == 1
    assert await Post.all().count() == 1


@pytest.fixture
async def failing_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real app with two more routes that fail the way a bug would."""

    async def boom(request: Request) -> Response:
        raise RuntimeError("a bug")

    application = create_app(dataclasses.replace(settings), manage_db=False)
    application.router.routes.insert(0, Route("/boom", boom))
    application.router.routes.insert(0, Route("/api/v1/boom", boom))
    transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as c,
    ):
        yield c


async def test_a_500_carries_the_security_headers_and_says_what_happened(
    failing_client: httpx.AsyncClient, db: str
) -> None:
    page = await failing_client.get("/boom")
    assert page.status_code == 500
    assert page.headers["content-type"].startswith("text/html")
    assert "Something went wrong" in page.text
    assert page.headers["content-security-policy"] and page.headers["x-frame-options"] == "DENY"
    api = await failing_client.get("/api/v1/boom")
    assert api.status_code == 500
    assert api.json()["error"]["code"] == "server_error"
    assert api.headers["x-content-type-options"] == "nosniff"


async def test_a_full_sqlite_database_answers_503_with_retry_after_and_stores_nothing(
    client: httpx.AsyncClient, db: str
) -> None:
    if not db.startswith("sqlite"):
        pytest.skip("SQLite's page limit stands in for a full disk")
    cats = await categories()
    alice = await make_user("alice", role=Role.MEMBER)
    from forum.actions.topics import do_create_topic

    topic, _first = await do_create_topic(alice, cats["iot"], "Electronic seals", "first words")
    headers = await bearer(alice)
    conn = connections.get("default")
    [row] = await conn.execute_query_dict("PRAGMA page_count")
    await conn.execute_query(f"PRAGMA max_page_count = {int(row['page_count'])}")
    try:
        big = "a long answer " * 2000  # needs new pages: the disk is "full"
        answer = await client.post(
            f"/api/v1/topics/{topic.id}/posts", json={"body": big}, headers=headers
        )
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "30"
        assert answer.json()["error"]["code"] == "unavailable"
        assert answer.headers["content-security-policy"]
    finally:
        await conn.execute_query("PRAGMA max_page_count = 1073741823")
    assert await Post.filter(topic_id=topic.id).count() == 1  # nothing half-stored
    again = await client.post(
        f"/api/v1/topics/{topic.id}/posts", json={"body": "a short answer"}, headers=headers
    )
    assert again.status_code == 201


async def test_a_cookie_login_needs_json_from_our_own_origin(
    client: httpx.AsyncClient, db: str
) -> None:
    await make_user("alice")
    credentials = json.dumps({"email": "alice@example.org", "password": PASSWORD})
    # A cross-site form or fetch without a preflight: no Content-Type, or a foreign Origin.
    bare = await client.post("/api/v1/auth/login", content=credentials.encode())
    assert bare.status_code == 400 and "JSON" in bare.json()["error"]["message"]
    foreign = await client.post(
        "/api/v1/auth/login",
        content=credentials.encode(),
        headers={"content-type": "application/json", "origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    for refused in (bare, foreign):
        assert SESSION_COOKIE not in refused.headers.get("set-cookie", "")
    ours = await client.post(
        "/api/v1/auth/login",
        content=credentials.encode(),
        headers={"content-type": "application/json", "origin": "http://testserver"},
    )
    assert ours.status_code == 200 and ours.json()["csrf_token"]
