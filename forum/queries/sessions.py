"""A user's live sessions, for their security page."""

from __future__ import annotations

from datetime import UTC, datetime

from forum.models import Session


async def list_live_sessions(user_id: int) -> list[Session]:
    """Unrevoked, unexpired sessions, most recently used first."""
    return (
        await Session.filter(user_id=user_id, revoked_at=None, expires_at__gt=datetime.now(UTC))
        .order_by("-last_seen_at", "-id")
        .all()
    )
