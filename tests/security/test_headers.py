"""Security headers on every kind of response, no-store on authenticated ones, and the CSRF
guard on every new form."""

from __future__ import annotations

import httpx
import pytest

from forum.models import EmailToken, Session, User
from tests.helpers import bearer, log_in, make_user


def assert_security_headers(response: httpx.Response) -> None:
    what = (response.request.method, response.request.url.path, response.status_code)
    csp = response.headers.get("content-security-policy", "")
    directives = {part.strip().split(" ", 1)[0]: part.strip() for part in csp.split(";")}
    assert directives.get("frame-ancestors") == "frame-ancestors 'none'", what
    assert directives.get("default-src") == "default-src 'self'", what
    assert directives.get("script-src") == "script-src 'self'", what
    assert directives.get("object-src") == "object-src 'none'", what
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, what
    assert response.headers.get("x-content-type-options") == "nosniff", what
    assert response.headers.get("referrer-policy") in ("same-origin", "no-referrer"), what
    assert response.headers.get("x-frame-options") == "DENY", what


async def test_every_kind_of_response_carries_the_security_headers(
    client: httpx.AsyncClient,
) -> None:
    await make_user("alice")
    responses = {
        "html page": await client.get("/"),
        "login page": await client.get("/login"),
        "reset page": await client.get("/password/reset"),
        "html 404": await client.get("/no/such/page"),
        "html 405": await client.get("/logout"),
        "redirect": await client.get("/account/security"),
        "static file": await client.get("/static/forum.css"),
        "api json": await client.get("/api/v1/categories"),
        "api 404": await client.get("/api/v1/topics/999999"),
        "api 401": await client.get("/api/v1/me"),
        "openapi": await client.get("/api/openapi.json"),
        "health": await client.get("/healthz"),
        "csrf 403 from middleware": await client.post("/login", data={"email": "x"}),
        "api csrf 403": await client.post(
            "/api/v1/auth/login", content=b"email=x", headers={"content-type": "text/plain"}
        ),
        "413 from middleware": await client.post(
            "/password/reset",
            content=b"x" * (1024 * 1024 + 1),
            headers={"content-type": "application/x-www-form-urlencoded"},
        ),
    }
    expected = {
        "html page": 200,
        "login page": 200,
        "reset page": 200,
        "html 404": 404,
        "html 405": 405,
        "redirect": 303,
        "static file": 200,
        "api json": 200,
        "api 404": 404,
        "api 401": 401,
        "openapi": 200,
        "health": 200,
        "csrf 403 from middleware": 403,
        "api csrf 403": 403,
        "413 from middleware": 413,
    }
    assert {name: r.status_code for name, r in responses.items()} == expected
    assert responses["static file"].headers["content-type"].startswith("text/css")
    for response in responses.values():
        assert_security_headers(response)


async def test_authenticated_responses_are_never_stored(client: httpx.AsyncClient) -> None:
    alice = await make_user("alice")
    anonymous = await client.get("/")
    assert "no-store" not in anonymous.headers.get("cache-control", "")
    headers = await bearer(alice)
    await log_in(client, alice)
    for response in (
        await client.get("/"),
        await client.get("/account/security"),
        await client.get("/bookmarks"),
        await client.get("/no/such/page"),
        await client.get("/api/v1/me", headers=headers),
        await client.get("/api/v1/categories"),
    ):
        assert response.headers["cache-control"] == "no-store", response.request.url
        assert_security_headers(response)


@pytest.mark.parametrize(
    ("url", "data"),
    [
        (
            "/account/password",
            {
                "current_password": "correct horse battery staple",
                "password": "a brand new passphrase 2026",
                "password_confirm": "a brand new passphrase 2026",
            },
        ),
        ("/account/2fa/setup", {}),
        ("/account/2fa/enable", {"code": "123456"}),
        ("/account/2fa/disable", {"code": "123456"}),
        ("/account/2fa/backup-codes", {"code": "123456"}),
        ("/password/reset", {"email": "alice@example.org"}),
        ("/login/2fa", {"code": "123456"}),
    ],
)
async def test_every_security_form_refuses_a_post_without_its_csrf_token(
    client: httpx.AsyncClient, url: str, data: dict[str, str]
) -> None:
    alice = await make_user("alice")
    await log_in(client, alice)
    before = await User.get(id=alice.id)
    for token in ({}, {"csrf_token": "f" * 64}):
        response = await client.post(url, data={**data, **token})
        assert response.status_code == 403
        assert "This form has expired" in response.text
    after = await User.get(id=alice.id)
    assert after.password_hash == before.password_hash
    assert after.totp_secret == before.totp_secret == ""
    assert await EmailToken.all().count() == 0
    assert await Session.filter(user_id=alice.id, revoked_at=None).count() == 1
