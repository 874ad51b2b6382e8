"""The password policy (12+ characters, not a common password, argon2id) and changing a
password from the security page, which ends every other session."""

from __future__ import annotations

import httpx
import pytest

from forum.actions.users import check_password, do_create_api_token, do_create_session
from forum.auth import SESSION_COOKIE
from forum.errors import Invalid
from forum.models import ApiToken, AuditLog, Event, RateHit, Session, User
from forum.security import COMMON_PASSWORDS, common_passwords, is_common_password, token_hash
from forum.security import verify_password as verify
from tests.helpers import PASSWORD, log_in, make_user
from tests.security.support import submit

NEW_PASSWORD = "a brand new passphrase 2026"


def test_the_common_password_list_ships_with_the_package_and_is_read_once() -> None:
    assert COMMON_PASSWORDS.name == "common-passwords.txt"
    assert COMMON_PASSWORDS.parent.name == "data" and COMMON_PASSWORDS.parent.parent.name == "forum"
    words = common_passwords()
    assert common_passwords() is words  # cached, not re-read per check
    assert len(words) > 3000
    long_enough = {w for w in words if len(w) >= 12}
    assert len(long_enough) > 1000
    assert {"123456789012", "passwordpassword", "qwertyuiopasdfgh", "iloveyou1234"} <= words
    assert all(w == w.lower() and w.strip() == w and w for w in words)


@pytest.mark.parametrize(
    "password",
    ["123456789012", "PasswordPassword", "QWERTYUIOPASDFGH", "iLoveYou1234", "1q2w3e4r5t6y"],
)
def test_a_common_password_is_refused_whatever_its_case(password: str) -> None:
    assert is_common_password(password)
    with pytest.raises(Invalid, match="list of common passwords") as refused:
        check_password(password)
    assert refused.value.field == "password"


@pytest.mark.parametrize("password", ["", "eleven char", "x" * 1025])
def test_a_password_needs_12_to_1024_characters(password: str) -> None:
    with pytest.raises(Invalid):
        check_password(password)


def test_an_uncommon_long_password_passes() -> None:
    assert check_password(NEW_PASSWORD) == NEW_PASSWORD
    assert not is_common_password(NEW_PASSWORD)


async def test_passwords_are_stored_with_argon2id(db: str) -> None:
    alice = await make_user("alice")
    assert alice.password_hash.startswith("$argon2id$")
    assert PASSWORD not in alice.password_hash


async def test_changing_the_password_ends_every_other_session_but_keeps_this_one(
    client: httpx.AsyncClient,
) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    laptop = await do_create_session(alice, user_agent="Laptop")
    phone = await do_create_session(alice, user_agent="Phone")
    bobs = await do_create_session(bob)
    _record, token = await do_create_api_token(alice, "script")
    await log_in(client, alice)
    here = client.cookies[SESSION_COOKIE]

    changed = await submit(
        client,
        "/account/security",
        "/account/password",
        {"current_password": PASSWORD, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
    )

    assert changed.status_code == 303
    assert changed.headers["location"] == "/account/security?notice=password_changed"
    page = await client.get(changed.headers["location"])
    assert page.status_code == 200 and "Your other sessions have ended." in page.text
    fresh = await User.get(id=alice.id)
    assert verify(fresh.password_hash, NEW_PASSWORD)
    assert fresh.password_changed_at is not None
    live = await Session.filter(user_id=alice.id, revoked_at=None).values_list("id", flat=True)
    assert len(live) == 1 and client.cookies[SESSION_COOKIE] == here
    for other in (laptop, phone):
        client.cookies.set(SESSION_COOKIE, other)
        elsewhere = await client.get("/account/security")
        assert elsewhere.status_code == 303  # that browser is sent to the login page
        assert elsewhere.headers["location"] == "/login?next=/account/security"
    client.cookies.set(SESSION_COOKIE, here)
    assert (await client.get("/account/security")).status_code == 200
    assert await ApiToken.filter(user_id=alice.id, revoked_at=None).count() == 0
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401
    # Someone else's sessions are untouched.
    assert await Session.filter(user_id=bob.id, revoked_at=None).count() == 1 and bobs
    assert await AuditLog.filter(action="user.password_changed", actor_id=alice.id).count() == 1
    [event] = await Event.filter(type="session.revoked")
    ended = [
        s.id for s in await Session.filter(key_hash__in=[token_hash(laptop), token_hash(phone)])
    ]
    assert event.channel == f"user:{alice.id}"
    assert sorted(event.payload["ended_sessions"]) == sorted(ended)


async def test_a_wrong_current_password_changes_nothing_and_counts_as_a_failed_attempt(
    client: httpx.AsyncClient,
) -> None:
    alice = await make_user("alice")
    await do_create_session(alice)
    await log_in(client, alice)
    refused = await submit(
        client,
        "/account/security",
        "/account/password",
        {
            "current_password": "not my password!",
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )
    assert refused.status_code == 422
    assert "Your current password is not right." in refused.text
    assert verify((await User.get(id=alice.id)).password_hash, PASSWORD)
    assert await Session.filter(user_id=alice.id, revoked_at=None).count() == 2
    assert await RateHit.filter(key="login:alice@example.org").count() == 1


@pytest.mark.parametrize(
    ("new", "confirm", "message"),
    [
        ("qwertyuiopasdfgh", "qwertyuiopasdfgh", "list of common passwords"),
        ("too short", "too short", "at least 12 characters"),
        (NEW_PASSWORD, "something else entirely", "not the same"),
        (PASSWORD, PASSWORD, "different from the current one"),
    ],
)
async def test_a_new_password_outside_the_policy_is_refused(
    client: httpx.AsyncClient, new: str, confirm: str, message: str
) -> None:
    alice = await make_user("alice")
    await log_in(client, alice)
    refused = await submit(
        client,
        "/account/security",
        "/account/password",
        {"current_password": PASSWORD, "password": new, "password_confirm": confirm},
    )
    assert refused.status_code == 422
    assert message in refused.text
    fresh = await User.get(id=alice.id)
    assert fresh.password_hash == alice.password_hash and fresh.password_changed_at is None
