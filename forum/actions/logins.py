"""Proving who you are, under limits of failures per account and per (account, address).

Every secret a person types to prove they own an account (the password at login, a TOTP or
backup code, the current password when changing it) is counted, *before* the secret is
checked, under two keys, and taken back from both only when it was right:

- `login-from:<account>:<address>`: five failures within 30 minutes from one address lock the
  account *from that address* (the sixth attempt is answered 429 without looking at the
  secret). A stranger guessing from elsewhere does not lock the owner out of their usual place.
- `login:<normalized email>`: fifty failures within 30 minutes from anywhere lock the account
  everywhere, so guessing from many addresses stays slow.

Keys follow the normalised email, however it is capitalised or spaced. A success does not
wipe earlier failures: only time does (or a password reset, which proves the mailbox).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from forum import ratelimit, request_context
from forum.actions.twofactor import do_verify_second_factor
from forum.actions.users import authenticate, normalize_email
from forum.errors import RateLimited
from forum.i18n import _
from forum.models import User
from forum.security import verify_password
from moderation.sanctions import check_not_suspended

FAILURE_LIMIT = 5  # from one address
ACCOUNT_FAILURE_LIMIT = 50  # from everywhere
FAILURE_WINDOW = timedelta(minutes=30)


def login_key(email: str) -> str:
    return f"login:{normalize_email(email)}"


def source_prefix(email: str) -> str:
    """The start of every per-address key of an account (short: an email may be long)."""
    digest = hashlib.sha256(normalize_email(email).encode()).hexdigest()[:24]
    return f"login-from:{digest}:"


def source_key(email: str) -> str:
    return source_prefix(email) + (request_context.client_ip.get() or "-")[:64]


async def count_attempt(email: str) -> tuple[int, int]:
    """Count an attempt on the account before any secret is checked; returns its hit ids.

    Raises RateLimited when FAILURE_LIMIT failures from this address, or
    ACCOUNT_FAILURE_LIMIT from anywhere, are already counted within the window."""
    here = source_key(email)
    here_id = await ratelimit.take(here, FAILURE_LIMIT, FAILURE_WINDOW)
    if here_id is None:
        raise RateLimited(
            _(
                "Too many failed attempts for this account from here. Wait 30 minutes, then try"
                " again, or reset your password."
            ),
            retry_after=await ratelimit.retry_after(here, FAILURE_LIMIT, FAILURE_WINDOW),
        )
    everywhere = login_key(email)
    everywhere_id = await ratelimit.take(everywhere, ACCOUNT_FAILURE_LIMIT, FAILURE_WINDOW)
    if everywhere_id is None:
        await ratelimit.release(here_id)
        raise RateLimited(
            _(
                "Too many failed attempts for this account. Wait 30 minutes, then try again,"
                " or reset your password."
            ),
            retry_after=await ratelimit.retry_after(
                everywhere, ACCOUNT_FAILURE_LIMIT, FAILURE_WINDOW
            ),
        )
    return here_id, everywhere_id


async def release(hit_ids: tuple[int, int]) -> None:
    for hit_id in hit_ids:
        await ratelimit.release(hit_id)


async def clear_failures(email: str) -> None:
    """Forget every counted failure of an account (its owner proved the mailbox, or an
    administrator lifted the lock)."""
    await ratelimit.clear(login_key(email))
    await ratelimit.clear_prefix(source_prefix(email))


async def do_log_in_with_password(email: str, password: str) -> User | None:
    """The user these credentials belong to, or None (a counted failure).

    Raises Suspended (403, with the reason and the end) when the password was right but the
    account is suspended: only someone who knows the password learns it."""
    hit_ids = await count_attempt(email)
    user = await authenticate(email, password)
    if user is not None:
        await release(hit_ids)
        await check_not_suspended(user)
    return user


async def do_check_second_factor(user: User, code: str) -> bool:
    """Spend a TOTP or backup code of the user's; a wrong one is a counted failure."""
    hit_ids = await count_attempt(user.email)
    accepted = await do_verify_second_factor(user, code)
    if accepted:
        await release(hit_ids)
    return accepted


async def do_check_current_password(user: User, password: str) -> bool:
    """Whether the user typed their current password; a wrong one is a counted failure."""
    hit_ids = await count_attempt(user.email)
    right = len(password) <= 1024 and verify_password(user.password_hash, password)
    if right:
        await release(hit_ids)
    return right
