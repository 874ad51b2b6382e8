"""The emailed single-use links behind a page: a password reset link is read (and checked
live) before its page offers the form, and again by the action that spends it."""

from __future__ import annotations

from datetime import UTC, datetime

from forum.errors import NotFound
from forum.i18n import _
from forum.models import EmailToken, TokenPurpose
from forum.security import token_hash


def invalid_reset_link() -> NotFound:
    return NotFound(_("This link has expired or was already used. Ask for a new one."))


async def access_reset_token(secret: str) -> EmailToken:
    """The live reset token behind a link, or NotFound when unknown, used or expired."""
    if not secret or len(secret) > 200:
        raise invalid_reset_link()
    token = await EmailToken.get_or_none(
        token_hash=token_hash(secret), purpose=TokenPurpose.RESET_PASSWORD, used_at=None
    )
    if token is None or token.user_id is None or token.expires_at <= datetime.now(UTC):
        raise invalid_reset_link()
    return token
