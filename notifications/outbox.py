"""The outbox: email that must not be lost, sent outside any request.

An action that wants a message sent calls `enqueue()` inside its own `atomic()` block, so the
message exists exactly when the change does (a rollback takes both back). A sender in every
served process (`OutboxSender`, started by the app's lifespan; `forum send-outbox` runs it
once from the command line) claims due messages with a lease — a conditional UPDATE that only
one claimer can win — then sends them through `notifications.mailer`:

- sent: `status = sent`, never sent again;
- failed: tried again later (30 s, 1, 2, 4 ... minutes, at most an hour apart), and given up
  as `failed` after `MAX_ATTEMPTS`, with the last error kept;
- a sender that dies after claiming: its lease runs out (`LEASE`) and another sender takes
  the message. A message can then be sent twice (sent, then the process died before marking
  it); it is never lost.

Subjects are fixed texts chosen by the code, never user text (no header injection); user
text goes only into the body, through autoescaping templates for HTML.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise import connections

from forum.models import OutboxMessage, OutboxStatus, User
from forum.queries.sql import execute
from forum.settings import Settings
from notifications import mailer

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 8
BATCH = 20
POLL_SECONDS = 2.0


async def enqueue(
    user: User,
    template: str,
    subject: str,
    context: dict[str, Any],
    *,
    headers: dict[str, str] | None = None,
) -> OutboxMessage:
    """Queue one message to `user`; call inside the `atomic()` block of its cause.
    `headers` are extra headers chosen by the code (List-Id ...), never user text."""
    return await OutboxMessage.create(
        headers=headers or {},
        user_id=user.id,
        to_address=user.email,
        template=template,
        subject=subject,
        context=context,
        available_at=datetime.now(UTC),
    )


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


async def _claim(now: datetime, limit: int) -> list[OutboxMessage]:
    """Due messages this sender now holds the lease of (each won by one claimer only)."""
    due = (
        await OutboxMessage.filter(status=OutboxStatus.PENDING, available_at__lte=now)
        .filter(lease_until__isnull=True)
        .order_by("id")
        .limit(limit)
    )
    expired = (
        await OutboxMessage.filter(
            status=OutboxStatus.PENDING, available_at__lte=now, lease_until__lt=now
        )
        .order_by("id")
        .limit(limit)
    )
    claimed: list[OutboxMessage] = []
    conn = connections.get("default")
    for message in sorted({m.id: m for m in [*due, *expired]}.values(), key=lambda m: m.id):
        won = await execute(
            conn,
            "UPDATE outbox SET lease_until = ?, attempts = attempts + 1"
            " WHERE id = ? AND status = 'pending' AND (lease_until IS NULL OR lease_until < ?)"
            " RETURNING attempts",
            now + LEASE,
            message.id,
            now,
        )
        if won:
            message.attempts = won[0]["attempts"]
            claimed.append(message)
        if len(claimed) >= limit:
            break
    return claimed


async def send_due(settings: Settings, *, now: datetime | None = None, limit: int = BATCH) -> int:
    """Claim and send what is due; returns how many were sent."""
    now = now or datetime.now(UTC)
    sent = 0
    for message in await _claim(now, limit):
        try:
            await mailer.send_template(
                settings,
                message.to_address,
                message.subject,
                message.template,
                message.context,
                headers=message.headers,
            )
        except mailer.MailError as exc:
            failed = message.attempts >= MAX_ATTEMPTS
            await OutboxMessage.filter(id=message.id).update(
                status=OutboxStatus.FAILED if failed else OutboxStatus.PENDING,
                lease_until=None,
                available_at=datetime.now(UTC) + _backoff(message.attempts),
                last_error=str(exc)[:1000],
            )
            log.warning(
                "outbox message %s not sent (attempt %s): %s", message.id, message.attempts, exc
            )
            continue
        await OutboxMessage.filter(id=message.id).update(
            status=OutboxStatus.SENT, sent_at=datetime.now(UTC), lease_until=None, last_error=""
        )
        sent += 1
    return sent


async def pending_counts() -> tuple[int, int]:
    """(messages waiting to be sent or retried, messages given up)."""
    waiting = await OutboxMessage.filter(status=OutboxStatus.PENDING).count()
    return waiting, await OutboxMessage.filter(status=OutboxStatus.FAILED).count()


class OutboxSender:
    """Sends the outbox every `POLL_SECONDS` while the app runs."""

    def __init__(self, settings: Settings, poll: float = POLL_SECONDS) -> None:
        self.settings = settings
        self.poll = poll

    async def run(self) -> None:
        while True:
            try:
                while await send_due(self.settings) == BATCH:
                    pass  # more waiting: go on at once
            except Exception:  # a database hiccup: the next round tries again
                log.exception("outbox round failed")
            await asyncio.sleep(self.poll)
