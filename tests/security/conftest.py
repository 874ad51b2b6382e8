"""Account security tests run the real app with mail going to a real SMTP server on loopback,
and can build a second app whose public URL is https."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import AsyncIterator

import httpx
import pytest

from forum.app import create_app
from forum.settings import Settings
from tests.mail import SMTPServer, deliver


@pytest.fixture
def settings(settings: Settings, smtp: SMTPServer) -> Settings:
    settings = dataclasses.replace(settings, smtp_url=smtp.url)
    smtp.inbox.sender = functools.partial(deliver, settings)  # the outbox, read before the inbox
    return settings


@pytest.fixture
async def https_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app as deployed behind https://: its cookies must be Secure."""
    application = create_app(
        dataclasses.replace(settings, base_url="https://forum.example"), manage_db=False
    )
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            yield c
