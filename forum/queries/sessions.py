"""A user's live sessions, API tokens and unused backup codes, for their security page and
the API."""

from __future__ import annotations

from datetime import UTC, datetime

from forum.models import ApiToken, BackupCode, Session, User


async def list_live_sessions(user_id: int) -> list[Session]:
    """Unrevoked, unexpired sessions, most recently used first."""
    return (
        await Session.filter(user_id=user_id, revoked_at=None, expires_at__gt=datetime.now(UTC))
        .order_by("-last_seen_at", "-id")
        .all()
    )


async def list_api_tokens(user_id: int) -> list[ApiToken]:
    """Unrevoked API tokens, newest first (only their hashes are stored: no token text)."""
    return await ApiToken.filter(user_id=user_id, revoked_at=None).order_by("-id").all()


async def unused_backup_codes(user: User) -> int:
    """How many of the member's two-factor backup codes are still unused."""
    return await BackupCode.filter(user_id=user.id, used_at=None).count()
