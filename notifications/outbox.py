"""The outbox: email that must not be lost, sent outside any request.

An action that wants a message sent calls `enqueue()` inside its own `atomic()` block, so the
message exists exactly when the change does (a rollback takes both back). A sender in every
served process (`OutboxSender`, started by the app's lifespan; `forum send-mail` runs it
once from the command line) claims due messages with a lease — a conditional UPDATE that only
one claimer can win — then sends a round of them over ONE SMTP connection
(`notifications.mailer.Transport`):

- sent: `status = sent`, never sent again;
- a temporary failure (4xx reply, timeout, refused or dropped connection): tried again later
  (about 30 s, 1, 2, 4 ... minutes with jitter, at most an hour apart), and given up as
  `failed` after `MAX_ATTEMPTS`, with the last error kept;
- a permanent failure (5xx reply, a header with a line break): `failed` at once, the server's
  reply kept in `last_error`; an administrator can put it back (`/admin/outbox`, `retry()`);
- a sender that dies after claiming: its lease runs out (`LEASE`) and another sender takes
  the message. A message can then be sent twice (sent, then the process died before marking
  it); it is never lost.

Subjects are fixed texts chosen by the code, never user text; a header value with CR or LF is
refused (`mailer.check_header`) at enqueue time and again when sending. User text goes only
into the body, through autoescaping templates for HTML. Every message has Message-ID, Date
and `Auto-Submitted: auto-generated`, plus the row's `headers` (List-Id, List-Unsubscribe).
"""

from __future__ import annotations

import asyncio
import logging
import random
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise import connections

from forum import events
from forum.errors import log_failure
from forum.models import OutboxMessage, OutboxStatus, User
from forum.queries.sql import execute
from forum.settings import Settings
from moderation import audit, gate
from notifications import mailer

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 8
BATCH = 100
CONNECTIONS = 4  # SMTP connections a round uses at once
POLL_SECONDS = 2.0


async def enqueue(
    user: User,
    template: str,
    subject: str,
    context: dict[str, Any],
    *,
    headers: dict[str, str] | None = None,
) -> OutboxMessage:
    """Queue one message to `user`; call inside the `atomic()` block of its cause."""
    return await enqueue_to(user.email, template, subject, context, user=user, headers=headers)


async def enqueue_to(
    address: str,
    template: str,
    subject: str,
    context: dict[str, Any],
    *,
    user: User | None = None,
    headers: dict[str, str] | None = None,
) -> OutboxMessage:
    """Queue one message to an address (with or without an account); inside `atomic()`.
    Raises `mailer.HeaderError` for a line break in the address, subject or a header."""
    message = _message(address, template, subject, context, user, headers)
    await message.save()
    return message


Letter = tuple[User, str, str, dict[str, Any], dict[str, str]]


async def enqueue_many(letters: list[Letter]) -> None:
    """Queue `(user, template, subject, context, headers)` letters in one statement (a digest
    round's batch); inside `atomic()`."""
    if letters:
        await OutboxMessage.bulk_create(
            [_message(u.email, t, s, c, u, h) for u, t, s, c, h in letters], batch_size=200
        )


def _message(
    address: str,
    template: str,
    subject: str,
    context: dict[str, Any],
    user: User | None,
    headers: dict[str, str] | None,
) -> OutboxMessage:
    mailer.check_header("To", address)
    mailer.check_header("Subject", subject)
    for name, value in (headers or {}).items():
        mailer.check_header(name, value)
    now = datetime.now(UTC)
    if user is not None and "language" not in context:  # written in the recipient's language
        context = {**context, "language": user.mail_language}
    return OutboxMessage(
        user_id=user.id if user is not None else None,
        to_address=address,
        template=template,
        subject=subject,
        context=context,
        headers=headers or {},
        available_at=now,
        created_at=now,
    )


BACKOFF_BASE = 30.0  # seconds before the first retry
BACKOFF_CAP = 3600.0


def _backoff(attempts: int) -> timedelta:
    """Capped exponential back-off with jitter (75-100 % of the step: senders spread out)."""
    step = min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP)
    return timedelta(seconds=step * random.uniform(0.75, 1.0))  # noqa: S311


async def _claim(now: datetime, limit: int) -> list[OutboxMessage]:
    """Due messages this sender now holds the lease of, in one statement. The condition is
    checked again on each row as it is updated, so of two claimers at once each row goes to
    one (PostgreSQL re-reads a row another transaction changed; SQLite writes one at a time)."""
    won = await execute(
        connections.get("default"),
        "UPDATE outbox SET lease_until = ?, attempts = attempts + 1"
        " WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND available_at <= ?"
        " AND (lease_until IS NULL OR lease_until < ?) ORDER BY id LIMIT ?)"
        " AND status = 'pending' AND (lease_until IS NULL OR lease_until < ?)"
        " RETURNING id",
        now + LEASE,
        now,
        now,
        limit,
        now,
    )
    if not won:
        return []
    return await OutboxMessage.filter(id__in=[row["id"] for row in won]).order_by("id")


def _compose(settings: Settings, message: OutboxMessage) -> mailer.Mail:
    try:
        return mailer.compose(
            message.to_address,
            message.subject,
            message.template,
            {"base_url": settings.base_url, **message.context},
            message.headers or {},
        )
    except Exception as exc:  # a missing or broken template: trying again will not help
        raise mailer.PermanentMailError(f"could not compose {message.template!r}: {exc}") from exc


async def send_due(
    settings: Settings,
    *,
    now: datetime | None = None,
    limit: int = BATCH,
    at_once: int = CONNECTIONS,
) -> int:
    """Claim and send what is due over a few connections at once (while one waits for the
    server's reply, another composes); returns how many were sent."""
    now = now or datetime.now(UTC)
    claimed = await _claim(now, limit)
    if not claimed:
        return 0
    # One share per connection, by recipient: a recipient's messages go over one connection,
    # in the order they were queued (two emails to one person never swap).
    lanes = min(at_once, len(claimed))
    shares: list[list[OutboxMessage]] = [[] for _ in range(lanes)]
    for message in claimed:
        shares[zlib.crc32(message.to_address.lower().encode()) % lanes].append(message)
    delivered: list[int] = []

    async def one_connection(share: list[OutboxMessage]) -> None:
        async with mailer.Transport(settings) as transport:
            for message in share:
                if await _send_one(settings, transport, message):
                    delivered.append(message.id)

    await asyncio.gather(*(one_connection(share) for share in shares if share))
    if delivered:  # one statement for the round (a crash before it: sent again, not lost)
        await OutboxMessage.filter(id__in=delivered).update(
            status=OutboxStatus.SENT, sent_at=datetime.now(UTC), lease_until=None, last_error=""
        )
    return len(delivered)


async def _send_one(
    settings: Settings, transport: mailer.Transport, message: OutboxMessage
) -> bool:
    """True: the server took it. A failure is written to the row at once."""
    try:
        await transport.send(_compose(settings, message))
    except mailer.MailError as exc:
        permanent = isinstance(exc, mailer.PermanentMailError)
        failed = permanent or message.attempts >= MAX_ATTEMPTS
        await OutboxMessage.filter(id=message.id).update(
            status=OutboxStatus.FAILED if failed else OutboxStatus.PENDING,
            lease_until=None,
            available_at=datetime.now(UTC) + _backoff(message.attempts),
            last_error=str(exc)[:1000],
        )
        log.warning(
            "outbox message %s not sent (attempt %s): %s", message.id, message.attempts, exc
        )
        return False
    return True


async def do_retry_failed(actor: User | None, message_id: int | None = None) -> int:
    """An administrator puts failed messages (one, or all when `message_id` is None) back in
    the queue, due now with their attempts counted afresh; audited. Returns how many."""
    admin = gate.require_administrator(actor)
    async with events.atomic():
        query = OutboxMessage.filter(status=OutboxStatus.FAILED)
        if message_id is not None:
            query = query.filter(id=message_id)
        ids = [message.id for message in await query.only("id")]
        if not ids:
            return 0
        count = await OutboxMessage.filter(id__in=ids, status=OutboxStatus.FAILED).update(
            status=OutboxStatus.PENDING,
            attempts=0,
            lease_until=None,
            available_at=datetime.now(UTC),
        )
        await audit.append(
            admin,
            "outbox.retry",
            "outbox",
            message_id,
            data={"messages": ids[:100], "count": count},
        )
    return count


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
                sent = BATCH
                while sent == BATCH:  # a full round: more may be waiting, go on at once
                    sent = await send_due(self.settings)
            except Exception as exc:  # a database hiccup: the next round tries again
                log_failure(log, "outbox round failed", exc)
            await asyncio.sleep(self.poll)
