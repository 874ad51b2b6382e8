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
import math
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


def _plain(value: Any) -> Any:
    """`value` as it comes back from either database's JSON column, so its hash survives the
    round trip: keys become strings, tuples lists, other objects their text; an integral
    float becomes an int (PostgreSQL's jsonb prints 1e100 as digits), a non-finite one text;
    NUL characters go (PostgreSQL refuses them)."""
    if isinstance(value, dict):
        return {_plain_key(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return repr(value)
        return int(value) if value.is_integer() else value
    return _text(value if isinstance(value, str) else str(value))


def _plain_key(key: Any) -> str:
    """A key as `json.dumps` writes it (None and booleans as null / true / false)."""
    if isinstance(key, str):
        return _text(key)
    return json.dumps(key) if key is None or isinstance(key, bool) else _text(str(key))


def _text(value: str) -> str:
    return value.replace("\x00", "")


def summary(value: Any) -> str:
    """A short text for the before/after columns."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = _text(value)
    else:
        text = json.dumps(_plain(value), sort_keys=True, ensure_ascii=False)
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
            reason=_text(reason),
            data=_plain(data or {}),
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
    rows: int  # rows that matched, from the first on
    broken_at: int | None = None  # the first row's id that does not match
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_at is None


async def verify(batch: int = 1000) -> Verdict:
    """Walk the chain from the first row; stop at the first that does not match.

    A row changed in place fails its own hash; a row removed or inserted (or one changed and
    re-hashed) breaks the link of the row after it. Only the last rows removed leave no trace
    inside the table: compare the count with an earlier run's, or keep the newest hash apart."""
    previous_hash, previous_id = "", None
    count = 0
    while True:
        query = AuditLog.all() if previous_id is None else AuditLog.filter(id__gt=previous_id)
        rows = await query.order_by("id").limit(batch)
        if not rows:
            return Verdict(count)
        for row in rows:
            if row_hash(row) != row.hash:
                return Verdict(count, row.id, "its content does not match its hash")
            if row.prev_hash != previous_hash:
                after = f"row {previous_id}" if previous_id is not None else "the start of the log"
                return Verdict(
                    count,
                    row.id,
                    f"it does not follow {after} (a row was removed, inserted or rewritten"
                    " before it)",
                )
            previous_hash, previous_id = row.hash, row.id
            count += 1
