"""Logging in and out through the forms, and the CSRF guard on every form."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from forum.auth import SESSION_COOKIE
from forum.models import Post, Session, User
from forum.seed import seed_demo
from tests.helpers import PASSWORD, anonymous_csrf, categories, log_in, make_user
from tests.web.support import csrf_from, log_in_with_form


async def test_the_demo_member_logs_in_through_the_form_and_returns_where_they_were(
    client: httpx.AsyncClient,
) -> None:
    await seed_demo(PASSWORD)
    assert (await client.get("/c/ai-ml")).status_code == 404

    page = await client.get("/login", params={"next": "/c/ai-ml"})
    assert 'name="next" value="/c/ai-ml"' in page.text
    response = await client.post(
        "/login",
        data={
            "csrf_token": csrf_from(page),
            "email": "Member@Example.org ",
            "password": PASSWORD,
            "next": "/c/ai-ml",
        },
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/c/ai-ml"
    assert "HttpOnly" in response.headers["set-cookie"]
    category = await client.get("/c/ai-ml")
    assert category.status_code == 200
    assert "Using machine learning for risk targeting: lessons learned" in category.text
    assert '<a href="/u/member">Demo Member</a>' in category.text
    # The session changed, so the page hands out a new CSRF token.
    assert csrf_from(category) != csrf_from(page)


async def test_a_failed_login_says_the_same_for_an_unknown_email_and_a_wrong_password(
    client: httpx.AsyncClient,
) -> None:
    await make_user("alice")
    wrong_password = await log_in_with_form(client, "alice@example.org", "not the password!")
    unknown_email = await log_in_with_form(client, "nobody@example.org", PASSWORD)

    for response in (wrong_password, unknown_email):
        assert response.status_code == 400
        assert "Wrong email or password." in response.text
        assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    # Apart from the email typed back into the form, the two pages are identical.
    assert wrong_password.text.replace("alice@example.org", "EMAIL") == unknown_email.text.replace(
        "nobody@example.org", "EMAIL"
    )
    assert 'value="alice@example.org"' in wrong_password.text
    assert PASSWORD not in unknown_email.text
    assert await Session.all().count() == 0


async def test_a_deactivated_account_cannot_log_in(client: httpx.AsyncClient) -> None:
    alice = await make_user("alice")
    await User.filter(id=alice.id).update(is_active=False)
    response = await log_in_with_form(client, "alice@example.org", PASSWORD)
    assert response.status_code == 400
    assert "Wrong email or password." in response.text


@pytest.mark.parametrize(
    ("next_url", "landing"),
    [
        ("/t/5?near=2#p2", "/t/5?near=2#p2"),
        ("/bookmarks", "/bookmarks"),
        ("//evil.example/path", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("/\nLocation: https://evil.example", "/"),
    ],
)
async def test_after_login_only_a_local_next_is_followed(
    client: httpx.AsyncClient, next_url: str, landing: str
) -> None:
    await make_user("alice")
    response = await log_in_with_form(client, "alice@example.org", PASSWORD, next_url)
    assert response.status_code == 303
    assert response.headers["location"] == landing


async def test_a_logged_in_visitor_to_the_login_page_goes_straight_to_next(
    client: httpx.AsyncClient,
) -> None:
    await log_in(client, await make_user("alice"))
    response = await client.get("/login", params={"next": "/bookmarks"})
    assert response.status_code == 303
    assert response.headers["location"] == "/bookmarks"


async def test_logging_out_ends_the_session_and_clears_the_cookie(
    client: httpx.AsyncClient,
) -> None:
    await make_user("alice")
    await log_in_with_form(client, "alice@example.org", PASSWORD)
    key = client.cookies[SESSION_COOKIE]
    home = await client.get("/")
    assert "Log out" in home.text

    response = await client.post("/logout", data={"csrf_token": csrf_from(home)})

    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert f"{SESSION_COOKIE}=;" in response.headers["set-cookie"]
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert await Session.filter(revoked_at=None).count() == 0
    # Even a client that kept the old cookie is anonymous now.
    client.cookies.set(SESSION_COOKIE, key)
    page = await client.get("/bookmarks")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=/bookmarks"


async def test_logging_in_again_replaces_the_previous_session(client: httpx.AsyncClient) -> None:
    alice = await make_user("alice")
    await log_in(client, alice)
    response = await client.post(
        "/login",
        data={
            "csrf_token": csrf_from(await client.get("/")),
            "email": "alice@example.org",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 303
    assert await Session.filter(user_id=alice.id, revoked_at=None).count() == 1
    assert await Session.filter(user_id=alice.id).count() == 2


async def test_a_form_posted_without_its_csrf_token_is_refused(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await categories()
    alice = await make_user("alice")
    await make_user("bob")
    token = await log_in(client, alice)

    missing = await client.post("/c/iot/new", data={"title": "Sneaky topic", "body": "hi"})
    forged = await client.post(
        "/c/iot/new", data={"title": "Sneaky topic", "body": "hi", "csrf_token": "0" * 64}
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as stranger:
        login = await stranger.post(
            "/login", data={"email": "bob@example.org", "password": PASSWORD}
        )

    assert missing.status_code == forged.status_code == login.status_code == 403
    assert "This form has expired" in missing.text
    assert await Post.all().count() == 0 and await Session.filter(user__username="bob").count() == 0
    # The same form with the page's token goes through.
    ok = await client.post(
        "/c/iot/new", data={"title": "Honest topic", "body": "hi", "csrf_token": token}
    )
    assert ok.status_code == 303


async def test_an_anonymous_form_post_that_needs_a_login_goes_to_the_login_page(
    client: httpx.AsyncClient,
) -> None:
    token = anonymous_csrf(client)
    response = await client.post(
        "/p/1/react", data={"csrf_token": token, "kind": "like", "on": "1"}
    )
    assert response.status_code == 303
    # A POST-only URL cannot be revisited after logging in, so the visitor returns home.
    assert response.headers["location"] == "/login?next=/"


async def test_the_log_in_link_and_language_form_lead_back_to_the_page_with_its_query(
    client: httpx.AsyncClient,
) -> None:
    """The header's way back (`?next=` of the log-in link, the language form's `next`) is
    the page's own path and query, an escaped `?` in the path staying escaped."""
    cats = await categories()
    page = (await client.get(f"/c/{cats['welcome'].slug}?near=3")).text
    assert f'href="/login?next=/c/{cats["welcome"].slug}%3Fnear%3D3"' in page
    assert f'name="next" value="/c/{cats["welcome"].slug}?near=3"' in page
    missing = await client.get("/c/no%3Fsuch")  # a 404 page has the header too
    assert missing.status_code == 404
    assert 'href="/login?next=/c/no%253Fsuch"' in missing.text
    assert 'name="next" value="/c/no%3Fsuch"' in missing.text
