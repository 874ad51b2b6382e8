"""Proving who you are, under a limit of failures per account.

Every secret a person types to prove they own an account (the password at login, a TOTP or
backup code, the current password when changing it) counts against one key per account:
`login:<normalized email>`. The attempt is written *before* the secret is checked, and taken
back only when the secret was right, so five failures within 30 minutes lock the account for
everyone, from any address, however the email is capitalised or spaced; the sixth attempt is
answered 429 without looking at the secret. A success does not wipe earlier failures: only
time does, so an attacker gains nothing from an owner's successful login.
"""

from __future__ import annotations

from datetime import timedelta

from forum import ratelimit
from forum.actions.twofactor import do_verify_second_factor
from forum.actions.users import authenticate, normalize_email
from forum.errors import RateLimited
from forum.i18n import _
from forum.models import User
from forum.security import verify_password
from moderation.sanctions import check_not_suspended

FAILURE_LIMIT = 5
FAILURE_WINDOW = timedelta(minutes=30)


def login_key(email: str) -> str:
    return f"login:{normalize_email(email)}"


async def count_attempt(email: str) -> int:
    """Count an attempt on the account before any secret is checked; returns its hit id.

    Raises RateLimited when FAILURE_LIMIT failures are already counted within the window.
    """
    key = login_key(email)
    hit_id = await ratelimit.take(key, FAILURE_LIMIT, FAILURE_WINDOW)
    if hit_id is None:
        raise RateLimited(
            _("Too many failed attempts for this account. Wait 30 minutes, then try again."),
            retry_after=await ratelimit.retry_after(key, FAILURE_LIMIT, FAILURE_WINDOW),
        )
    return hit_id


async def do_log_in_with_password(email: str, password: str) -> User | None:
    """The user these credentials belong to, or None (a counted failure).

    Raises Suspended (403, with the reason and the end) when the password was right but the
    account is suspended: only someone who knows the password learns it."""
    hit_id = await count_attempt(email)
    user = await authenticate(email, password)
    if user is not None:
        await ratelimit.release(hit_id)
        await check_not_suspended(user)
    return user


async def do_check_second_factor(user: User, code: str) -> bool:
    """Spend a TOTP or backup code of the user's; a wrong one is a counted failure."""
    hit_id = await count_attempt(user.email)
    accepted = await do_verify_second_factor(user, code)
    if accepted:
        await ratelimit.release(hit_id)
    return accepted


async def do_check_current_password(user: User, password: str) -> bool:
    """Whether the user typed their current password; a wrong one is a counted failure."""
    hit_id = await count_attempt(user.email)
    right = len(password) <= 1024 and verify_password(user.password_hash, password)
    if right:
        await ratelimit.release(hit_id)
    return right
