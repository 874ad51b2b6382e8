"""The audit log's one writer for the forum's actions: see moderation/audit.py."""

from __future__ import annotations

from typing import Any

from forum.models import AuditLog, User
from moderation.audit import append


async def record_audit(
    actor: User | None,
    action: str,
    target_type: str,
    target_id: int | None,
    *,
    reason: str = "",
    data: dict[str, Any] | None = None,
    before: Any = None,
    after: Any = None,
) -> AuditLog:
    """Write one audit row; call it inside the `atomic()` block of the change it records."""
    return await append(
        actor,
        action,
        target_type,
        target_id,
        reason=reason,
        data=data,
        before=before,
        after=after,
    )
