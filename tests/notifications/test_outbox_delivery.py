"""Delivery through real SMTP servers: one connection per round, temporary failures retried,
permanent ones failed at once and shown to administrators, no SMTP inside a request."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from forum.app import create_app
from forum.models import AuditLog, OutboxMessage, OutboxStatus, Role
from forum.settings import Settings
from notifications.mailer import HeaderError
from notifications.outbox import enqueue_to, send_due
from tests.helpers import log_in, make_user
from tests.mail import Inbox
from tests.membership.support import post_form


class Scripted(Inbox):
    """An inbox whose server answers DATA with the scripted replies first, then 250."""

    def __init__(self, replies: list[str]) -> None:
        super().__init__()
        self.replies = replies
        self.peers: list[tuple[str, int]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.peers.append(session.peer)
        if self.replies:
            return self.replies.pop(0)
        return await super().handle_DATA(server, session, envelope)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def scripted() -> Iterator[tuple[Scripted, Controller, str]]:
    port = _free_port()
    handler = Scripted([])
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, controller, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


async def _queue(n: int = 1, **headers: str) -> list[OutboxMessage]:
    return [
        await enqueue_to(
            f"ana{i}@example.org",
            "moderation_notice",
            "A decision",
            {"name": "Ana", "message": f"Message {i}", "link": ""},
            headers=headers or None,
        )
        for i in range(n)
    ]


async def test_a_421_is_retried_later_and_the_message_sent_exactly_once(
    db: str, scripted: tuple[Scripted, Controller, str]
) -> None:
    inbox, _, url = scripted
    inbox.replies = ["421 4.3.2 try again later"]
    [message] = await _queue()
    settings = Settings(smtp_url=url)

    assert await send_due(settings) == 0
    waiting = await OutboxMessage.get(id=message.id)
    assert waiting.status == OutboxStatus.PENDING and "421" in waiting.last_error
    assert waiting.available_at > datetime.now(UTC)  # backs off
    assert await send_due(settings) == 0  # not due yet

    assert await send_due(settings, now=datetime.now(UTC) + timedelta(hours=2)) == 1
    assert await send_due(settings, now=datetime.now(UTC) + timedelta(days=1)) == 0
    assert len(inbox.to("ana0@example.org")) == 1
    assert (await OutboxMessage.get(id=message.id)).status == OutboxStatus.SENT


async def test_a_550_fails_at_once_is_shown_to_administrators_and_can_be_retried(
    db: str, client: httpx.AsyncClient, scripted: tuple[Scripted, Controller, str]
) -> None:
    inbox, _, url = scripted
    inbox.replies = ["550 5.1.1 mailbox unavailable"]
    [message] = await _queue()

    assert await send_due(Settings(smtp_url=url)) == 0
    failed = await OutboxMessage.get(id=message.id)
    assert failed.status == OutboxStatus.FAILED and failed.attempts == 1
    assert "550 5.1.1 mailbox unavailable" in failed.last_error

    admin = await make_user("root", role=Role.ADMIN)
    member = await make_user("bob")
    await log_in(client, member)
    assert (await client.get("/admin/outbox")).status_code == 403
    await log_in(client, admin)
    page = await client.get("/admin/outbox")
    assert page.status_code == 200
    assert "mailbox unavailable" in page.text and "ana0@example.org" in page.text
    assert 'id="outbox-failed">1<' in page.text
    assert 'href="/admin/outbox"' in (await client.get("/admin")).text

    done = await post_form(client, "/admin/outbox", f"/admin/outbox/{message.id}/retry", {})
    assert done.status_code in (302, 303)
    back = await OutboxMessage.get(id=message.id)
    assert back.status == OutboxStatus.PENDING and back.attempts == 0
    assert await AuditLog.filter(action="outbox.retry").count() == 1
    assert await send_due(Settings(smtp_url=url)) == 1
    assert len(inbox.to("ana0@example.org")) == 1


async def test_retry_all_puts_every_failed_message_back(
    db: str, client: httpx.AsyncClient, scripted: tuple[Scripted, Controller, str]
) -> None:
    inbox, _, url = scripted
    inbox.replies = ["554 no", "554 no"]
    await _queue(2)
    assert await send_due(Settings(smtp_url=url)) == 0
    assert await OutboxMessage.filter(status=OutboxStatus.FAILED).count() == 2
    await log_in(client, await make_user("root", role=Role.ADMIN))
    await post_form(client, "/admin/outbox", "/admin/outbox/retry", {})
    assert await send_due(Settings(smtp_url=url)) == 2


async def test_a_round_reuses_a_few_connections_not_one_per_message(
    db: str, scripted: tuple[Scripted, Controller, str]
) -> None:
    inbox, _, url = scripted
    await _queue(12)
    assert await send_due(Settings(smtp_url=url), at_once=3) == 12
    assert len(inbox.messages) == 12
    assert len(set(inbox.peers)) == 3  # three connections on the server's side
    assert sorted(m["To"] for m in inbox.messages) == sorted(  # each message once
        m.to_address for m in await OutboxMessage.filter(status="sent")
    )


async def test_messages_to_one_recipient_arrive_in_the_order_they_were_queued(
    db: str, scripted: tuple[Scripted, Controller, str]
) -> None:
    inbox, _, url = scripted
    for n in range(6):
        for who in ("ana", "bob", "carla"):
            await enqueue_to(
                f"{who}@example.org",
                "moderation_notice",
                "A decision",
                {"name": who, "message": f"{who} number {n}", "link": ""},
            )
    assert await send_due(Settings(smtp_url=url), at_once=4) == 18
    for who in ("ana", "bob", "carla"):
        bodies = [
            str(m.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
            for m in inbox.messages
            if m["To"] == f"{who}@example.org"
        ]
        assert [f"{who} number {n}" in body for n, body in enumerate(bodies)] == [True] * 6


async def test_every_message_has_its_headers_and_a_line_break_is_refused(
    db: str, scripted: tuple[Scripted, Controller, str]
) -> None:
    inbox, _, url = scripted
    await _queue(1, **{"List-Id": "<digest.forum.example>", "List-Unsubscribe": "<https://x/u>"})
    assert await send_due(Settings(smtp_url=url)) == 1
    [message] = inbox.messages
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"] and message["Date"]
    assert message["List-Id"] == "<digest.forum.example>"
    assert message["List-Unsubscribe"] == "<https://x/u>"

    with pytest.raises(HeaderError):
        await enqueue_to("a@example.org", "moderation_notice", "Hi\r\nBcc: x@evil", {})
    with pytest.raises(HeaderError):
        await enqueue_to("a@example.org", "moderation_notice", "Hi", {}, headers={"X": "a\nB: c"})
    # A row written around the guard is refused when sending, never sent.
    [bad] = await _queue()
    await OutboxMessage.filter(id=bad.id).update(subject="Hi\nBcc: x@evil")
    assert await send_due(Settings(smtp_url=url)) == 0
    refused = await OutboxMessage.get(id=bad.id)
    assert refused.status == OutboxStatus.FAILED and "line break" in refused.last_error
    assert len(inbox.messages) == 1


@pytest.fixture
async def silent_server() -> AsyncIterator[tuple[str, list[int]]]:
    """Accepts connections and never answers: SMTP inside a request would hang on it."""
    connections: list[int] = []

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        await reader.read()

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"smtp://127.0.0.1:{port}", connections
    finally:
        server.close()


async def test_a_request_that_sends_email_never_talks_smtp(
    settings: Settings,
    silent_server: tuple[str, list[int]],
    scripted: tuple[Scripted, Controller, str],
) -> None:
    url, connections = silent_server
    await make_user("alice")
    app = create_app(
        dataclasses.replace(settings, smtp_url=url, mail_sender=False), manage_db=False
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            started = time.monotonic()
            page = await post_form(
                c, "/password/reset", "/password/reset", {"email": "alice@example.org"}
            )
            took = time.monotonic() - started
    assert page.status_code == 200 and took < 2
    assert connections == []
    [queued] = await OutboxMessage.all()
    assert queued.status == OutboxStatus.PENDING and queued.to_address == "alice@example.org"

    inbox, _, real = scripted
    assert await send_due(Settings(smtp_url=real, base_url=settings.base_url)) == 1
    [mail] = inbox.to("alice@example.org")
    assert "/password/reset/" in Inbox.text(mail)


def test_send_outbox_still_names_the_send_mail_command() -> None:
    from forum.cli import build_parser, cmd_send_outbox

    for name in ("send-mail", "send-outbox"):
        assert build_parser().parse_args([name]).handler is cmd_send_outbox


async def test_the_sender_logs_in_when_the_url_carries_credentials(db: str) -> None:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    logins: list[str] = []

    def authenticator(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password == b"s3cret"
        if ok and isinstance(data, LoginPassword):
            logins.append(data.login.decode())
        return AuthResult(success=ok)

    port = _free_port()
    inbox = Scripted([])
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_require_tls=False,
    )
    controller.start()
    try:
        await _queue(2)
        sent = await send_due(
            Settings(smtp_url=f"smtp://mailer:s3cret@127.0.0.1:{port}"), at_once=1
        )
        assert sent == 2
        assert logins == ["mailer"]  # one login for the round's connection
        assert len(inbox.messages) == 2
    finally:
        controller.stop()
