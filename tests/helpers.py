"""Helpers shared by tests: users, categories, sessions and CSRF tokens through the real code."""

from __future__ import annotations

import time

import httpx

from forum import totp
from forum.actions.twofactor import do_enable_two_factor, do_start_two_factor
from forum.actions.users import do_create_api_token, do_create_session, do_create_user
from forum.auth import CSRF_COOKIE, SESSION_COOKIE
from forum.models import Category, Role, User
from forum.security import csrf_token
from forum.seed import seed_categories
from moderation import settings as moderation_settings

PASSWORD = "correct horse battery staple"
# Most tests post many times in a row as brand-new members: they run with the queue's
# first-post approval off and the posting limits far away, set as an administrator would
# (the `db` fixture does it). Tests of those rules are marked `moderation_defaults`.
RELAXED_MODERATION = {
    "approve_first_posts": 0,
    "posts_per_interval": 1000,
    "posts_per_hour": 10000,
    "new_posts_per_interval": 1000,
    "new_posts_per_hour": 10000,
}
TEST_SECRET = "test-secret-key"


async def relax_moderation() -> None:
    await moderation_settings.store(RELAXED_MODERATION)


async def make_user(
    username: str = "alice",
    *,
    role: Role = Role.MEMBER,
    verified: bool = True,
    two_factor: bool | None = None,
) -> User:
    """A user. `two_factor` enrols them in TOTP; by default staff are enrolled (staff powers
    need it) and members are not: pass `two_factor=False` for staff without it."""
    if two_factor is None:
        two_factor = role in (Role.MODERATOR, Role.ADMIN)
    user = await do_create_user(
        email=f"{username}@example.org",
        username=username,
        password=PASSWORD,
        display_name=username.title(),
        role=role,
        is_verified=verified,
    )
    if two_factor:
        await enable_two_factor(user)
    return user


async def enable_two_factor(user: User) -> list[str]:
    """Turn on TOTP through the real actions; returns the backup codes. The code used to
    confirm is spent: `next_code(user)` gives one that is still good."""
    secret = await do_start_two_factor(user)
    return await do_enable_two_factor(user, totp.code_at(secret))


def next_code(user: User) -> str:
    """A TOTP code of the next time step: accepted (within the drift window) and unspent."""
    return totp.code_at(user.totp_secret, time.time() + totp.PERIOD)


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
