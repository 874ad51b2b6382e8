"""The audit log: append-only and tamper-evident.

Every staff act and every operator's command writes one row through `append()`, inside the
transaction of the change it records. Each row stores a SHA-256 over its own content and the
previous row's hash, so changing, removing or inserting a row afterwards breaks the chain from
that row on, and `verify()` (`forum audit verify`) names the first row that does not match.

Appends are serialised so the chain never forks: on PostgreSQL by a transaction-scoped
advisory lock taken before the previous row is read; on SQLite every transaction starts with
`BEGIN IMMEDIATE` (forum/sqlite_inline.py), so it holds the database's write lock already.
Nothing edits or deletes a row: no action, endpoint or command does.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise import connections

from forum import request_context
from forum.events import atomic
from forum.models import AuditLog, User

# pg_advisory_xact_lock key: "audit" in ASCII.
_LOCK_KEY = 0x6175646974
SUMMARY_MAX = 500


def _timestamp(at: datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row_hash(row: AuditLog) -> str:
    """The hash a row must carry: over its content and `prev_hash`, in a fixed form."""
    content = {
        "actor_id": row.actor_id,
        "action": row.action,
        "target_type": row.target_type,
        "target_id": row.target_id,
        "reason": row.reason,
        "data": row.data,
        "before": row.before,
        "after": row.after,
        "ip": row.ip,
        "created_at": _timestamp(row.created_at),
        "prev_hash": row.prev_hash,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def summary(value: Any) -> str:
    """A short text for the before/after columns."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "\u2026"


async def append(
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
    """Write one row at the end of the chain. Call it inside the change's `atomic()`."""
    async with atomic():
        conn = connections.get("default")
        if conn.capabilities.dialect == "postgres":
            await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [_LOCK_KEY])
        last = await AuditLog.all().order_by("-id").first().values_list("hash", flat=True)
        row = AuditLog(
            actor_id=actor.id if actor is not None else None,
            action=action,
            target_type=target_type,
            target_id=target_id,
            reason=reason,
            data=data or {},
            before=summary(before),
            after=summary(after),
            ip=request_context.client_ip.get()[:64],
            created_at=datetime.now(UTC),
            prev_hash=str(last or ""),
        )
        row.hash = row_hash(row)
        await row.save()
        return row


@dataclass(frozen=True)
class Verdict:
    rows: int
    broken_at: int | None = None  # the first row's id that does not match
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_at is None


async def verify(batch: int = 1000) -> Verdict:
    """Walk the chain from the first row; stop at the first that does not match."""
    previous = ""
    count = 0
    after_id = 0
    while True:
        rows = await AuditLog.filter(id__gt=after_id).order_by("id").limit(batch)
        if not rows:
            return Verdict(count)
        for row in rows:
            if row.prev_hash != previous:
                return Verdict(
                    count,
                    row.id,
                    "it does not follow the row before it (a row was removed, inserted or"
                    " changed before it)",
                )
            if row_hash(row) != row.hash:
                return Verdict(count, row.id, "its content does not match its hash")
            previous = row.hash
            count += 1
        after_id = rows[-1].id
