"""The audit log: one row for every decision an administrator (or an operator's command) takes."""

from __future__ import annotations

from typing import Any

from forum.models import AuditLog, User


async def record_audit(
    actor: User | None,
    action: str,
    target_type: str,
    target_id: int | None,
    *,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditLog:
    """Write one audit row; call it inside the `atomic()` block of the change it records."""
    return await AuditLog.create(
        actor_id=actor.id if actor is not None else None,
        action=action,
        target_type=target_type,
        target_id=target_id,
        reason=reason,
        data=data or {},
    )
