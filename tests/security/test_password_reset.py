"""Forgot your password: a single-use, hashed, one-hour link by email, and no enumeration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from forum.actions.users import do_create_api_token
from forum.auth import SESSION_COOKIE
from forum.models import ApiToken, EmailToken, RateHit, Session, TokenPurpose, User
from forum.security import token_hash, verify_password
from tests.helpers import PASSWORD, log_in, make_user
from tests.mail import SMTPServer
from tests.security.support import ask_for_reset, reset_path, submit
from tests.web.support import csrf_from, log_in_with_form

NEW_PASSWORD = "a brand new passphrase 2026"


async def test_a_member_resets_a_forgotten_password_through_the_emailed_link(
    client: httpx.AsyncClient, smtp: SMTPServer
) -> None:
    alice = await make_user("alice")
    await log_in(client, alice)  # a session elsewhere, say a stolen laptop
    await log_in(client, alice)
    _record, token = await do_create_api_token(alice, "script")
    client.cookies.clear()

    login = await client.get("/login")
    assert 'href="/password/reset"' in login.text and "Forgot your password?" in login.text
    asked = await ask_for_reset(client, " Alice@Example.org ")
    assert asked.status_code == 200
    assert "Check your email" in asked.text

    message = await smtp.inbox.wait_for("alice@example.org")
    assert message["Subject"] == "Reset your Smart Customs Forum password"
    path = reset_path(message)
    secret = path.rsplit("/", 1)[1]
    stored = await EmailToken.get(user_id=alice.id)
    assert stored.purpose == TokenPurpose.RESET_PASSWORD
    assert stored.token_hash == token_hash(secret) and secret not in stored.token_hash
    lifetime = stored.expires_at - stored.created_at
    assert timedelta(minutes=59) < lifetime <= timedelta(hours=1)

    form = await client.get(path)
    assert form.status_code == 200
    assert form.headers["cache-control"] == "no-store"
    assert form.headers["referrer-policy"] == "no-referrer"
    done = await submit(
        client, path, path, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/login?notice=password_reset"
    assert "Your password has been changed." in (await client.get(done.headers["location"])).text

    fresh = await User.get(id=alice.id)
    assert verify_password(fresh.password_hash, NEW_PASSWORD)
    assert fresh.password_changed_at is not None
    assert await Session.filter(user_id=alice.id, revoked_at=None).count() == 0
    assert await ApiToken.filter(user_id=alice.id, revoked_at=None).count() == 0
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401

    assert (await log_in_with_form(client, "alice@example.org", PASSWORD)).status_code == 400
    assert (await log_in_with_form(client, "alice@example.org", NEW_PASSWORD)).status_code == 303


async def test_a_reset_lifts_a_lockout_on_the_account(
    client: httpx.AsyncClient, smtp: SMTPServer
) -> None:
    await make_user("alice")
    for _ in range(5):
        assert (
            await log_in_with_form(client, "alice@example.org", "a wrong guess")
        ).status_code == 400
    assert (await log_in_with_form(client, "alice@example.org", PASSWORD)).status_code == 429
    await ask_for_reset(client, "alice@example.org")
    path = reset_path(await smtp.inbox.wait_for("alice@example.org"))
    done = await submit(
        client, path, path, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    )
    assert done.status_code == 303
    assert (await log_in_with_form(client, "alice@example.org", NEW_PASSWORD)).status_code == 303


async def test_asking_for_a_reset_answers_the_same_for_known_and_unknown_emails(
    client: httpx.AsyncClient, smtp: SMTPServer
) -> None:
    await make_user("alice")
    known = await ask_for_reset(client, "alice@example.org")
    unknown = await ask_for_reset(client, "nobody@example.org")

    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text
    assert set(known.headers) == set(unknown.headers)
    await smtp.inbox.wait_for("alice@example.org")
    await smtp.inbox.deliver()
    assert smtp.inbox.to("nobody@example.org") == []
    assert len(smtp.inbox.messages) == 1
    assert await EmailToken.all().count() == 1


async def test_a_deactivated_account_gets_no_reset_link(
    client: httpx.AsyncClient, smtp: SMTPServer
) -> None:
    alice = await make_user("alice")
    await User.filter(id=alice.id).update(is_active=False)
    response = await ask_for_reset(client, "alice@example.org")
    assert response.status_code == 200 and "Check your email" in response.text
    await smtp.inbox.deliver()
    assert smtp.inbox.messages == [] and await EmailToken.all().count() == 0


async def test_a_reset_link_works_only_once(client: httpx.AsyncClient, smtp: SMTPServer) -> None:
    alice = await make_user("alice")
    await ask_for_reset(client, "alice@example.org")
    path = reset_path(await smtp.inbox.wait_for("alice@example.org"))
    page = await client.get(path)
    first = await submit(
        client, path, path, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    )
    assert first.status_code == 303
    changed_hash = (await User.get(id=alice.id)).password_hash

    again = await client.get(path)
    assert again.status_code == 400
    assert "This link has expired or was already used." in again.text
    replay = await client.post(
        path,
        data={
            "csrf_token": csrf_from(page),
            "password": "yet another passphrase 99",
            "password_confirm": "yet another passphrase 99",
        },
    )
    assert replay.status_code == 400
    assert (await User.get(id=alice.id)).password_hash == changed_hash


async def test_an_expired_reset_link_is_refused(
    client: httpx.AsyncClient, smtp: SMTPServer
) -> None:
    alice = await make_user("alice")
    await ask_for_reset(client, "alice@example.org")
    path = reset_path(await smtp.inbox.wait_for("alice@example.org"))
    page = await client.get(path)
    assert page.status_code == 200
    await EmailToken.filter(user_id=alice.id).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    expired = await client.get(path)
    posted = await client.post(
        path,
        data={
            "csrf_token": csrf_from(page),
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )
    assert expired.status_code == posted.status_code == 400
    assert "This link has expired or was already used." in posted.text
    assert verify_password((await User.get(id=alice.id)).password_hash, PASSWORD)


async def test_an_unknown_or_forged_link_is_refused(client: httpx.AsyncClient) -> None:
    await make_user("alice")
    for path in ("/password/reset/not-a-real-token", "/password/reset/" + "x" * 300):
        response = await client.get(path)
        assert response.status_code == 400
        assert "Ask for a new link" in response.text


async def test_using_one_reset_link_kills_the_others_of_the_account(
    client: httpx.AsyncClient, smtp: SMTPServer
) -> None:
    await make_user("alice")
    await ask_for_reset(client, "alice@example.org")
    await ask_for_reset(client, "alice@example.org")
    await smtp.inbox.wait_for("alice@example.org", count=2)
    first, second = (reset_path(m) for m in smtp.inbox.to("alice@example.org"))
    assert first != second
    done = await submit(
        client, second, second, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    )
    assert done.status_code == 303
    assert (await client.get(first)).status_code == 400


async def test_the_new_password_must_follow_the_policy_and_a_refusal_keeps_the_link(
    client: httpx.AsyncClient, smtp: SMTPServer
) -> None:
    alice = await make_user("alice")
    await ask_for_reset(client, "alice@example.org")
    path = reset_path(await smtp.inbox.wait_for("alice@example.org"))
    for password, confirm, message in (
        ("short pass", "short pass", "at least 12 characters"),
        ("PasswordPassword", "PasswordPassword", "list of common passwords"),
        ("iloveyou1234", "iloveyou1234", "list of common passwords"),
        (NEW_PASSWORD, NEW_PASSWORD + "x", "not the same"),
    ):
        refused = await submit(
            client, path, path, {"password": password, "password_confirm": confirm}
        )
        assert refused.status_code == 422, password
        assert message in refused.text
        assert verify_password((await User.get(id=alice.id)).password_hash, PASSWORD)
    accepted = await submit(
        client, path, path, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    )
    assert accepted.status_code == 303


async def test_reset_requests_are_limited_per_email_and_per_address(
    client: httpx.AsyncClient, smtp: SMTPServer
) -> None:
    await make_user("alice")
    answers = [await ask_for_reset(client, "ALICE@example.org") for _ in range(4)]
    assert all(a.status_code == 200 and a.text == answers[0].text for a in answers)
    await smtp.inbox.wait_for("alice@example.org", count=3)
    await smtp.inbox.deliver()
    assert len(smtp.inbox.to("alice@example.org")) == 3  # the fourth was not sent
    assert await EmailToken.all().count() == 3

    # Six more requests from the same address about other emails: ten in the hour is the cap.
    for n in range(6):
        assert (await ask_for_reset(client, f"someone{n}@example.org")).status_code == 200
    limited = await ask_for_reset(client, "bob@example.org")
    assert limited.status_code == 429
    assert "Too many reset requests" in limited.text
    assert 59 * 60 < int(limited.headers["retry-after"]) <= 60 * 60

    # An hour later, the address may ask again.
    await RateHit.all().update(created_at=datetime.now(UTC) - timedelta(hours=1, seconds=1))
    assert (await ask_for_reset(client, "bob@example.org")).status_code == 200


async def test_a_malformed_email_is_pointed_out(client: httpx.AsyncClient) -> None:
    response = await ask_for_reset(client, "not an email")
    assert response.status_code == 422
    assert "Enter a valid email address." in response.text


async def test_the_reset_form_needs_its_csrf_token(client: httpx.AsyncClient) -> None:
    await make_user("alice")
    response = await client.post("/password/reset", data={"email": "alice@example.org"})
    assert response.status_code == 403
    assert await EmailToken.all().count() == 0
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


async def test_odd_input_on_the_reset_pages_is_refused_cleanly(client: httpx.AsyncClient) -> None:
    await make_user("alice")
    for email in ("alice\x00@example.org", "x" * 300 + "@example.org"):
        response = await ask_for_reset(client, email)
        assert response.status_code == 422
    for path in ("/password/reset/%00", "/password/reset/%ff%fe", "/password/reset/%ED%A0%80"):
        assert (await client.get(path)).status_code == 400, path
