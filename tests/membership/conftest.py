"""Membership tests run against the real app and a real SMTP server on loopback."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from forum.actions.administrations import seed_administrations
from forum.models import Administration, Role, User
from forum.settings import Settings
from tests.helpers import categories, make_user
from tests.mail import SMTPServer, deliver


@pytest.fixture
def settings(settings: Settings, smtp: SMTPServer) -> Settings:
    settings = dataclasses.replace(settings, smtp_url=smtp.url)
    smtp.inbox.sender = functools.partial(deliver, settings)  # the outbox, read before the inbox
    return settings


@pytest.fixture
async def other_client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser (another person's cookies) on the same app."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def world(db: str) -> dict[str, Administration]:
    """The default categories and member administrations, by country code."""
    await categories()
    await seed_administrations()
    return {a.country_code: a for a in await Administration.all()}


@pytest.fixture
async def admin(world: dict[str, Administration]) -> User:
    """An administrator with two-factor authentication on (staff pages require it)."""
    return await make_user("admin", role=Role.ADMIN, two_factor=True)
