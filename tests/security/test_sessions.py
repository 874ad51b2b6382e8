"""Server-side sessions: listed and revocable on the security page, a new id at every login,
cookies HttpOnly and SameSite=Lax everywhere, and Secure when the site is served over https."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from forum.actions.users import SESSION_TOUCH_INTERVAL, do_create_session
from forum.auth import CSRF_COOKIE, SESSION_COOKIE
from forum.models import Event, Session, User
from forum.security import token_hash
from tests.helpers import PASSWORD, log_in, make_user
from tests.security.support import cookie_header, session_key, submit
from tests.web.support import csrf_from, log_in_with_form


async def test_the_security_page_lists_live_sessions_and_marks_this_one(
    client: httpx.AsyncClient,
) -> None:
    alice = await make_user("alice")
    await do_create_session(alice, user_agent="Firefox on the office PC", ip="203.0.113.7")
    ended = await do_create_session(alice, user_agent="Old tablet", ip="198.51.100.1")
    await Session.filter(key_hash=token_hash(ended)).update(revoked_at=datetime.now(UTC))
    expired = await do_create_session(alice, user_agent="Expired phone")
    await Session.filter(key_hash=token_hash(expired)).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    await do_create_session(await make_user("bob"), user_agent="Bob's browser")
    await log_in(client, alice)
    here = await Session.get(key_hash=token_hash(session_key(client)))

    page = await client.get("/account/security")

    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "Firefox on the office PC" in page.text and "203.0.113.7" in page.text
    for absent in ("Old tablet", "Expired phone", "Bob&#39;s browser", "Bob's browser"):
        assert absent not in page.text
    assert page.text.count('action="/account/sessions/') == 2
    this_row = page.text.split(f'id="session-{here.id}"', 1)[1].split("</tr>", 1)[0]
    assert "This session" in this_row
    assert page.text.count("This session") == 1
    nav = page.text.split("</nav>", 1)[0]
    assert '<a href="/account/security">Security</a>' in nav


async def test_anonymous_visitors_are_sent_to_log_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/account/security")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/account/security"


async def test_revoking_a_session_from_the_security_page_ends_it(
    client: httpx.AsyncClient,
) -> None:
    alice = await make_user("alice")
    laptop_key = await do_create_session(alice, user_agent="Laptop")
    laptop = await Session.get(key_hash=token_hash(laptop_key))
    await log_in(client, alice)
    here = session_key(client)

    response = await submit(
        client, "/account/security", f"/account/sessions/{laptop.id}/revoke", {}
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/account/security?notice=session_revoked"
    assert (await Session.get(id=laptop.id)).revoked_at is not None
    # Open WebSockets of that session hear about it (realtime closes them).
    [event] = await Event.filter(type="session.revoked")
    assert event.channel == f"user:{alice.id}" and event.user_id == alice.id
    assert event.payload == {"user_id": alice.id, "ended_sessions": [laptop.id]}
    client.cookies.set(SESSION_COOKIE, laptop_key)
    assert (await client.get("/account/security")).status_code == 303
    client.cookies.set(SESSION_COOKIE, here)
    page = await client.get("/account/security?notice=session_revoked")
    assert "That session has ended." in page.text and "Laptop" not in page.text


async def test_nobody_can_revoke_someone_elses_session(client: httpx.AsyncClient) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    bobs = await Session.get(key_hash=token_hash(await do_create_session(bob)))
    await log_in(client, alice)

    response = await submit(client, "/account/security", f"/account/sessions/{bobs.id}/revoke", {})

    assert response.status_code == 404
    assert (await Session.get(id=bobs.id)).revoked_at is None


async def test_revoking_this_session_logs_out(client: httpx.AsyncClient) -> None:
    alice = await make_user("alice")
    await log_in(client, alice)
    here = await Session.get(key_hash=token_hash(session_key(client)))
    response = await submit(client, "/account/security", f"/account/sessions/{here.id}/revoke", {})
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert "Max-Age=0" in cookie_header(response, SESSION_COOKIE)
    assert (await Session.get(id=here.id)).revoked_at is not None


async def test_revoking_needs_the_csrf_token(client: httpx.AsyncClient) -> None:
    alice = await make_user("alice")
    other = await Session.get(key_hash=token_hash(await do_create_session(alice)))
    await log_in(client, alice)
    for data in ({}, {"csrf_token": "0" * 64}):
        response = await client.post(f"/account/sessions/{other.id}/revoke", data=data)
        assert response.status_code == 403
    assert (await Session.get(id=other.id)).revoked_at is None


async def test_a_session_notes_when_it_was_last_seen_at_most_every_few_minutes(
    client: httpx.AsyncClient,
) -> None:
    alice = await make_user("alice")
    await log_in(client, alice)
    session = await Session.get(key_hash=token_hash(session_key(client)))
    long_ago = datetime.now(UTC) - SESSION_TOUCH_INTERVAL - timedelta(seconds=5)
    await Session.filter(id=session.id).update(last_seen_at=long_ago)

    await client.get("/")
    touched = (await Session.get(id=session.id)).last_seen_at
    assert touched > long_ago + timedelta(seconds=5)
    assert (await User.get(id=alice.id)).last_seen_at == touched
    await client.get("/")
    assert (await Session.get(id=session.id)).last_seen_at == touched  # not rewritten


async def test_every_login_issues_a_new_session_id(client: httpx.AsyncClient) -> None:
    await make_user("alice")
    await log_in_with_form(client, "alice@example.org", PASSWORD)
    first = session_key(client)
    again = await client.post(
        "/login",
        data={
            "csrf_token": csrf_from(await client.get("/")),
            "email": "alice@example.org",
            "password": PASSWORD,
        },
    )
    assert again.status_code == 303
    second = session_key(client)
    assert first and second and first != second
    old = await Session.get(key_hash=token_hash(first))
    assert old.revoked_at is not None
    assert (await Session.get(key_hash=token_hash(second))).revoked_at is None


async def test_cookies_are_httponly_and_lax_but_not_secure_over_http(
    client: httpx.AsyncClient,
) -> None:
    await make_user("alice")
    page = await client.get("/login")
    csrf = cookie_header(page, CSRF_COOKIE)
    login = await client.post(
        "/login",
        data={"csrf_token": csrf_from(page), "email": "alice@example.org", "password": PASSWORD},
    )
    session = cookie_header(login, SESSION_COOKIE)
    for cookie in (csrf, session):
        attributes = [part.strip() for part in cookie.split(";")]
        assert "HttpOnly" in attributes and "SameSite=Lax" in attributes and "Path=/" in attributes
        assert "Secure" not in attributes


async def test_every_cookie_is_secure_when_the_base_url_is_https(
    https_client: httpx.AsyncClient,
) -> None:
    await make_user("alice")
    await make_user("mod", two_factor=True)

    page = await https_client.get("/login")
    pending = await https_client.post(
        "/login",
        data={"csrf_token": csrf_from(page), "email": "mod@example.org", "password": PASSWORD},
    )
    assert pending.status_code == 303 and pending.headers["location"].startswith("/login/2fa")
    login = await https_client.post(
        "/login",
        data={"csrf_token": csrf_from(page), "email": "alice@example.org", "password": PASSWORD},
    )
    assert login.status_code == 303
    logout = await https_client.post(
        "/logout", data={"csrf_token": csrf_from(await https_client.get("/"))}
    )

    cookies = [
        cookie_header(page, CSRF_COOKIE),
        cookie_header(login, SESSION_COOKIE),
        cookie_header(pending, "forum_login_2fa"),
        cookie_header(logout, SESSION_COOKIE),
    ]
    for cookie in cookies:
        attributes = [part.strip() for part in cookie.split(";")]
        assert {"HttpOnly", "SameSite=Lax", "Secure"} <= set(attributes), cookie
