"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for tests.

Email goes through the outbox: `deliver(settings)` sends what is due (as the app's sender
would); an inbox given a `sender` (the membership and security fixtures do) delivers before
it is read, with `await inbox.deliver()` and inside `wait_for`."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
from collections.abc import Awaitable, Callable
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from forum.settings import Settings
from notifications.outbox import send_due


async def deliver(settings: Settings) -> int:
    """Send everything the outbox holds that is due now; returns how many were sent."""
    total = 0
    while (sent := await send_due(settings)) > 0:
        total += sent
    return total


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._arrived = asyncio.Event()
        self.sender: Callable[[], Awaitable[int]] | None = None

    async def deliver(self) -> None:
        """Run the outbox's sender once (when the fixture gave one): what is due arrives."""
        if self.sender is not None:
            await self.sender()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    @staticmethod
    def text(message: EmailMessage) -> str:
        part = message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())

    async def wait_for(self, address: str, count: int = 1, within: float = 5.0) -> EmailMessage:
        """The latest message to `address` once at least `count` have arrived."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while len(self.to(address)) < count:
            await self.deliver()
            if len(self.to(address)) >= count:
                break
            if loop.time() > deadline:
                raise AssertionError(f"no mail #{count} to {address} within {within}s")
            await asyncio.sleep(0.02)
        return self.to(address)[-1]


class SMTPServer:
    def __init__(self) -> None:
        self.inbox = Inbox()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.url = f"smtp://127.0.0.1:{self.port}"

    def start(self) -> str:
        self.controller.start()
        return self.url

    def stop(self) -> None:
        self.controller.stop()
