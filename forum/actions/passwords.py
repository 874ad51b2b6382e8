"""Changing a password, and resetting a forgotten one through an emailed single-use link.

A reset link carries a 256-bit secret; only its SHA-256 is stored (`EmailToken`), it expires
after an hour and is spent by a conditional UPDATE, so it works once even under a race.
A new password ends every other way into the account: all sessions but the one that changed
it (none for a reset) and every API token (tokens are obtained with the password).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from forum import ratelimit
from forum.actions.audit import record_audit
from forum.actions.logins import clear_failures, do_check_current_password
from forum.actions.users import check_email, check_password, do_revoke_sessions
from forum.errors import Invalid, RateLimited
from forum.events import atomic, record_event
from forum.i18n import N_, _
from forum.models import ApiToken, EmailToken, TokenPurpose, User
from forum.queries.tokens import access_reset_token, invalid_reset_link
from forum.security import hash_password, new_token, token_hash
from forum.settings import Settings
from notifications import outbox

RESET_LIFETIME = timedelta(hours=1)
RESET_WINDOW = timedelta(hours=1)
RESETS_PER_EMAIL = 3  # links mailed to one address per hour; more are silently not sent
RESETS_PER_IP = 10  # reset requests from one address per hour; more are answered 429


async def do_request_password_reset(
    settings: Settings, email: str, ip: str
) -> tuple[User, str] | None:
    """Make a reset link's secret for the account with this email, if there is one, and queue
    the email carrying it (in the same transaction: the outbox sends it, outside the request).

    Returns (user, secret) when a link was queued, None otherwise (unknown or inactive
    account, or too many links for this email lately): the caller answers the same either way.
    Raises RateLimited when this IP address has asked too often, Invalid for a malformed email.
    """
    email = check_email(email)
    ip_key = f"reset-ip:{ip}"
    if await ratelimit.exceeded(ip_key, RESETS_PER_IP, RESET_WINDOW):
        raise RateLimited(
            _("Too many reset requests from your network. Try again later."),
            retry_after=await ratelimit.retry_after(ip_key, RESETS_PER_IP, RESET_WINDOW),
        )
    await ratelimit.hit(ip_key)
    email_key = f"reset-email:{email}"
    if await ratelimit.exceeded(email_key, RESETS_PER_EMAIL, RESET_WINDOW):
        return None
    await ratelimit.hit(email_key)
    user = await User.get_or_none(email=email)
    if user is None or not user.is_active:
        return None
    secret = new_token()
    async with atomic():
        await EmailToken.create(
            purpose=TokenPurpose.RESET_PASSWORD,
            token_hash=token_hash(secret),
            user=user,
            expires_at=datetime.now(UTC) + RESET_LIFETIME,
        )
        await outbox.enqueue(
            user,
            "password_reset",
            N_("Reset your Smart Customs Forum password"),
            {
                "name": user.display_name,
                "link": f"{settings.base_url}/password/reset/{secret}",
                "minutes": int(RESET_LIFETIME.total_seconds() // 60),
            },
        )
    return user, secret


async def _set_password(user: User, password_hash: str, *, keep_session: int | None) -> None:
    """Store the new hash and end the other ways in (inside the caller's transaction)."""
    now = datetime.now(UTC)
    await User.filter(id=user.id).update(password_hash=password_hash, password_changed_at=now)
    ended = await do_revoke_sessions(user, keep=keep_session)
    await ApiToken.filter(user_id=user.id, revoked_at=None).update(revoked_at=now)
    await EmailToken.filter(
        user_id=user.id, purpose=TokenPurpose.RESET_PASSWORD, used_at=None
    ).update(used_at=now)
    await record_event(
        "user.password_changed",
        f"user:{user.id}",
        {"user_id": user.id, "ended_sessions": ended},
        user_id=user.id,
    )
    user.password_hash = password_hash
    user.password_changed_at = now


async def do_reset_password(secret: str, password: str) -> User:
    """Spend a reset link to set a new password; every session of the account ends."""
    token = await access_reset_token(secret)
    check_password(password)
    password_hash = hash_password(password)
    async with atomic():
        spent = await EmailToken.filter(id=token.id, used_at=None).update(used_at=datetime.now(UTC))
        if not spent:
            raise invalid_reset_link()
        user = await User.get(id=token.user_id)
        await _set_password(user, password_hash, keep_session=None)
        await record_audit(user, "user.password_reset", "user", user.id)
    # Earlier failed logins guessed at the old password: the owner proved control of the
    # mailbox and chose a new one, so they are not locked out by those guesses any more.
    await clear_failures(user.email)
    return user


async def do_change_password(
    user: User, current: str, new: str, *, keep_session: int | None
) -> None:
    """Change a password knowing the current one; sessions other than `keep_session` end."""
    check_password(new)
    if not await do_check_current_password(user, current):
        raise Invalid(_("Your current password is not right."), field="current_password")
    if new == current:
        raise Invalid(_("Choose a password different from the current one."), field="password")
    password_hash = hash_password(new)
    async with atomic():
        await _set_password(user, password_hash, keep_session=keep_session)
        await record_audit(user, "user.password_changed", "user", user.id)
