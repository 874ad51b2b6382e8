"""Helpers shared by tests: users, categories, sessions and CSRF tokens through the real code."""

from __future__ import annotations

import httpx

from forum.actions.users import do_create_api_token, do_create_session, do_create_user
from forum.auth import CSRF_COOKIE, SESSION_COOKIE
from forum.models import Category, Role, User
from forum.security import csrf_token
from forum.seed import seed_categories

PASSWORD = "correct horse battery staple"
TEST_SECRET = "test-secret-key"


async def make_user(
    username: str = "alice", *, role: Role = Role.MEMBER, verified: bool = True
) -> User:
    return await do_create_user(
        email=f"{username}@example.org",
        username=username,
        password=PASSWORD,
        display_name=username.title(),
        role=role,
        is_verified=verified,
    )


async def categories() -> dict[str, Category]:
    await seed_categories()
    return {c.slug: c for c in await Category.all()}


async def log_in(client: httpx.AsyncClient, user: User) -> str:
    """Give the client a real session cookie for `user`; returns the CSRF token to send."""
    key = await do_create_session(user)
    client.cookies.set(SESSION_COOKIE, key)
    client.cookies.set(CSRF_COOKIE, "test-csrf-cookie")
    return csrf_token(TEST_SECRET, "test-csrf-cookie", key)


def anonymous_csrf(client: httpx.AsyncClient) -> str:
    client.cookies.set(CSRF_COOKIE, "test-csrf-cookie")
    return csrf_token(TEST_SECRET, "test-csrf-cookie", "")


async def bearer(user: User) -> dict[str, str]:
    _record, token = await do_create_api_token(user, "tests")
    return {"Authorization": f"Bearer {token}"}
