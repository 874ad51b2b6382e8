"""TOTP two-factor authentication: RFC 6238 codes, enrolment on the security page, a second
login step that creates no session before the code, single-use codes and backup codes."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from forum import totp
from forum.actions.twofactor import backup_code_hash
from forum.auth import CSRF_COOKIE, SESSION_COOKIE
from forum.models import AuditLog, BackupCode, Session, User
from forum.security import sign, token_hash
from tests.helpers import (
    PASSWORD,
    TEST_SECRET,
    enable_two_factor,
    log_in,
    make_user,
    next_code,
)
from tests.security.support import cookie_header, submit
from tests.web.support import csrf_from, log_in_with_form

RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # base32 of the RFC 6238 SHA-1 seed
PENDING = "forum_login_2fa"


@pytest.mark.parametrize(
    ("when", "code"),
    [
        (59, "287082"),
        (1111111109, "081804"),
        (1111111111, "050471"),
        (1234567890, "005924"),
        (2000000000, "279037"),
        (20000000000, "353130"),
    ],
)
def test_codes_match_the_rfc_6238_test_vectors(when: int, code: str) -> None:
    assert totp.code_at(RFC_SECRET, when) == code
    assert totp.matching_step(RFC_SECRET, code, when) == when // 30


def test_a_code_is_accepted_one_step_either_side_and_no_further() -> None:
    secret = totp.new_secret()
    now = 1_700_000_000.0
    for offset, accepted in ((-60, False), (-30, True), (0, True), (30, True), (60, False)):
        step = totp.matching_step(secret, totp.code_at(secret, now + offset), now)
        assert (step is not None) == accepted, offset
    assert totp.matching_step(secret, "12345", now) is None
    assert totp.matching_step(secret, "abcdef", now) is None
    assert totp.matching_step(secret, "١٢٣٤٥٦", now) is None


def test_the_otpauth_uri_names_the_issuer_account_and_parameters() -> None:
    uri = totp.provisioning_uri("ABCDEF", "ana@customs.example", "Smart Customs Forum")
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth" and parts.netloc == "totp"
    assert parts.path == "/Smart%20Customs%20Forum:ana@customs.example"
    query = parse_qs(parts.query)
    assert query == {
        "secret": ["ABCDEF"],
        "issuer": ["Smart Customs Forum"],
        "algorithm": ["SHA1"],
        "digits": ["6"],
        "period": ["30"],
    }


async def test_a_member_turns_on_two_factor_authentication_from_the_security_page(
    client: httpx.AsyncClient,
) -> None:
    alice = await make_user("alice")
    await log_in(client, alice)

    started = await submit(client, "/account/security", "/account/2fa/setup", {})
    assert started.status_code == 303
    page = await client.get("/account/security")
    secret = (await User.get(id=alice.id)).totp_secret
    assert len(secret) == 32
    found = re.search(r'<code class="secret" id="totp-secret">([A-Z2-7 ]+)</code>', page.text)
    assert found and found.group(1).replace(" ", "") == secret
    assert f"otpauth://totp/Smart%20Customs%20Forum:alice@example.org?secret={secret}" in (
        page.text.replace("&amp;", "&")
    )

    wrong = await client.post(
        "/account/2fa/enable", data={"csrf_token": csrf_from(page), "code": "000000"}
    )
    assert wrong.status_code == 422 and "That code is not right" in wrong.text
    assert (await User.get(id=alice.id)).totp_enabled is False

    enabled = await client.post(
        "/account/2fa/enable", data={"csrf_token": csrf_from(page), "code": totp.code_at(secret)}
    )
    assert enabled.status_code == 200
    assert enabled.headers["cache-control"] == "no-store"
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", enabled.text)
    assert len(codes) == len(set(codes)) == 10
    fresh = await User.get(id=alice.id)
    assert fresh.totp_enabled and fresh.totp_last_step == totp.step_at()
    stored = set(await BackupCode.filter(user_id=alice.id).values_list("code_hash", flat=True))
    assert stored == {backup_code_hash(code) for code in codes}
    assert not any(code.replace("-", "") in hashed for code in codes for hashed in stored)
    assert await AuditLog.filter(action="two_factor.enabled", actor_id=alice.id).count() == 1

    later = await client.get("/account/security")
    assert "10 unused backup codes left." in later.text
    assert secret not in later.text.replace(" ", "")  # the secret is not shown again


async def test_an_unfinished_setup_can_start_again_with_a_new_key(
    client: httpx.AsyncClient,
) -> None:
    alice = await make_user("alice")
    await log_in(client, alice)
    await submit(client, "/account/security", "/account/2fa/setup", {})
    first = (await User.get(id=alice.id)).totp_secret
    page = await client.get("/account/security")
    assert "Start again with a new key" in page.text
    again = await client.post("/account/2fa/setup", data={"csrf_token": csrf_from(page)})
    assert again.status_code == 303
    second = (await User.get(id=alice.id)).totp_secret
    assert second and second != first
    stale = await client.post(
        "/account/2fa/enable", data={"csrf_token": csrf_from(page), "code": totp.code_at(first)}
    )
    assert stale.status_code == 422
    assert (await User.get(id=alice.id)).totp_enabled is False


async def _password_step(client: httpx.AsyncClient, email: str = "mod@example.org") -> str:
    """Pass the password step; returns the code page's URL."""
    response = await log_in_with_form(client, email, PASSWORD, "/bookmarks")
    assert response.status_code == 303
    assert response.headers["location"] == "/login/2fa?next=/bookmarks"
    return str(response.headers["location"])


async def _code_step(client: httpx.AsyncClient, url: str, code: str) -> httpx.Response:
    page = await client.get(url)
    assert page.status_code == 200, page.headers.get("location")
    return await client.post(
        "/login/2fa", data={"csrf_token": csrf_from(page), "code": code, "next": "/bookmarks"}
    )


async def test_login_asks_for_a_code_and_creates_no_session_before_it(
    client: httpx.AsyncClient,
) -> None:
    mod = await make_user("mod", two_factor=True)
    page = await client.get("/login")
    password_step = await client.post(
        "/login",
        data={
            "csrf_token": csrf_from(page),
            "email": "mod@example.org",
            "password": PASSWORD,
            "next": "/bookmarks",
        },
    )
    assert password_step.status_code == 303
    assert password_step.headers["location"] == "/login/2fa?next=/bookmarks"
    pending = cookie_header(password_step, PENDING)
    assert "Path=/login/2fa" in pending and "Max-Age=300" in pending and "HttpOnly" in pending
    assert SESSION_COOKIE not in client.cookies
    assert await Session.filter(user_id=mod.id).count() == 0
    assert (await client.get("/bookmarks")).status_code == 303  # still anonymous

    wrong = await _code_step(client, "/login/2fa?next=/bookmarks", "000000")
    assert wrong.status_code == 400 and "That code is not right" in wrong.text
    assert await Session.filter(user_id=mod.id).count() == 0

    done = await _code_step(client, "/login/2fa?next=/bookmarks", next_code(mod))
    assert done.status_code == 303 and done.headers["location"] == "/bookmarks"
    assert "Max-Age=0" in cookie_header(done, PENDING)
    assert await Session.filter(user_id=mod.id, revoked_at=None).count() == 1
    assert (await client.get("/bookmarks")).status_code == 200


async def test_a_totp_code_works_only_once(client: httpx.AsyncClient) -> None:
    mod = await make_user("mod", two_factor=True)
    code = next_code(mod)
    url = await _password_step(client)
    assert (await _code_step(client, url, code)).status_code == 303

    client.cookies.clear()
    url = await _password_step(client)
    replay = await _code_step(client, url, code)
    assert replay.status_code == 400
    assert "already used" in replay.text
    assert await Session.filter(user_id=mod.id).count() == 1


async def test_the_code_that_confirmed_enrolment_cannot_log_in(client: httpx.AsyncClient) -> None:
    mod = await make_user("mod", two_factor=True)
    confirmed_with = totp.hotp(mod.totp_secret, mod.totp_last_step)
    url = await _password_step(client)
    assert (await _code_step(client, url, confirmed_with)).status_code == 400
    assert await Session.filter(user_id=mod.id).count() == 0


async def test_a_backup_code_logs_in_once(client: httpx.AsyncClient) -> None:
    mod = await make_user("mod")
    codes = await enable_two_factor(mod)
    url = await _password_step(client)
    assert (await _code_step(client, url, " " + codes[3].upper() + " ")).status_code == 303
    used = await BackupCode.get(user_id=mod.id, code_hash=backup_code_hash(codes[3]))
    assert used.used_at is not None

    client.cookies.clear()
    url = await _password_step(client)
    assert (await _code_step(client, url, codes[3])).status_code == 400
    assert (await _code_step(client, url, codes[4].replace("-", ""))).status_code == 303
    assert await BackupCode.filter(user_id=mod.id, used_at=None).count() == 8


async def test_the_code_page_needs_a_fresh_signed_password_step(client: httpx.AsyncClient) -> None:
    mod = await make_user("mod", two_factor=True)
    alice = await make_user("alice", two_factor=True)
    page = await client.get("/login")
    assert page.status_code == 200
    csrf_cookie = client.cookies[CSRF_COOKIE]
    expired_at = int(time.time()) - 1
    later = int(time.time()) + 200

    def forged(user: User, expires: int, password_hash: str, cookie: str = csrf_cookie) -> str:
        signature = sign(
            TEST_SECRET, "login-2fa", str(user.id), str(expires), cookie, token_hash(password_hash)
        )
        return f"{user.id}.{expires}.{signature}"

    honest = forged(mod, later, mod.password_hash)
    attempts = [
        "",
        "garbage",
        f"{mod.id}.{'9' * 5000}.{honest.rsplit('.', 1)[1]}",  # past int()'s digit limit
        f"0.{later}.{honest.rsplit('.', 1)[1]}",
        forged(mod, expired_at, mod.password_hash),  # signed, but too old
        forged(mod, later, mod.password_hash, cookie="another-browser"),  # other browser
        forged(mod, later, "an old password hash"),  # the password changed since
        honest.replace(f"{mod.id}.", f"{alice.id}.", 1),  # someone else's id
    ]
    for value in attempts:
        client.cookies.set(PENDING, value, path="/login/2fa")
        response = await client.get("/login/2fa")
        assert response.status_code == 303, value
        assert response.headers["location"] == "/login?notice=login_expired"
        posted = await client.post(
            "/login/2fa", data={"csrf_token": csrf_from(page), "code": next_code(mod)}
        )
        assert posted.status_code == 303 and posted.headers["location"].startswith("/login?")
    # Bytes no browser should send: a digit to str.isdigit but not to int(), non-ASCII.
    client.cookies.delete(PENDING)
    for raw in ("²." + honest.split(".", 1)[1], honest[:-1] + "é"):
        header = f"{CSRF_COOKIE}={csrf_cookie}; {PENDING}={raw}".encode("latin-1")
        response = await client.get("/login/2fa", headers=[(b"cookie", header)])
        assert response.status_code == 303, raw
    assert await Session.all().count() == 0
    client.cookies.set(PENDING, honest, path="/login/2fa")
    assert (await client.get("/login/2fa")).status_code == 200


async def test_turning_two_factor_off_needs_a_code(client: httpx.AsyncClient) -> None:
    alice = await make_user("alice", two_factor=True)
    await log_in(client, alice)
    page = await client.get("/account/security")
    assert "Turn off two-factor authentication" in page.text

    refused = await client.post(
        "/account/2fa/disable", data={"csrf_token": csrf_from(page), "code": "123456"}
    )
    assert refused.status_code == 422
    assert (await User.get(id=alice.id)).totp_enabled is True

    done = await client.post(
        "/account/2fa/disable", data={"csrf_token": csrf_from(page), "code": next_code(alice)}
    )
    assert done.status_code == 303
    fresh = await User.get(id=alice.id)
    assert not fresh.totp_enabled and fresh.totp_secret == ""
    assert await BackupCode.filter(user_id=alice.id).count() == 0
    # From now on the password alone logs in.
    client.cookies.clear()
    response = await log_in_with_form(client, "alice@example.org", PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/"


async def test_new_backup_codes_replace_the_old_ones(client: httpx.AsyncClient) -> None:
    alice = await make_user("alice")
    old = await enable_two_factor(alice)
    await log_in(client, alice)
    fresh = await submit(client, "/account/security", "/account/2fa/backup-codes", {"code": old[0]})
    assert fresh.status_code == 200
    new = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", fresh.text)
    assert len(new) == 10 and not set(new) & set(old)
    client.cookies.clear()
    url = await _password_step(client, "alice@example.org")
    assert (await _code_step(client, url, old[1])).status_code == 400
    assert (await _code_step(client, url, new[0])).status_code == 303


async def test_the_api_asks_for_the_code_and_spends_it_once(client: httpx.AsyncClient) -> None:
    mod = await make_user("mod", two_factor=True)
    credentials = {"email": "mod@example.org", "password": PASSWORD}

    missing = await client.post("/api/v1/auth/login", json=credentials)
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "two_factor_code_needed"
    wrong = await client.post("/api/v1/auth/login", json={**credentials, "code": "000000"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "not_authenticated"
    code = next_code(mod)
    ok = await client.post("/api/v1/auth/login", json={**credentials, "code": code})
    assert ok.status_code == 200
    client.cookies.clear()
    replay = await client.post("/api/v1/auth/tokens", json={**credentials, "code": code})
    assert replay.status_code == 401
    assert await Session.filter(user_id=mod.id).count() == 1


async def test_an_api_token_can_be_had_with_a_backup_code(client: httpx.AsyncClient) -> None:
    mod = await make_user("mod")
    codes = await enable_two_factor(mod)
    body = {"email": "mod@example.org", "password": PASSWORD, "code": codes[0]}
    assert (await client.post("/api/v1/auth/tokens", json=body)).status_code == 201
    assert (await client.post("/api/v1/auth/tokens", json=body)).status_code == 401
