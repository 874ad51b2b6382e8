"""Language tests run the real app, with mail going to a real SMTP server on loopback."""

from __future__ import annotations

import dataclasses
import functools

import pytest

from forum.settings import Settings
from tests.mail import SMTPServer, deliver


@pytest.fixture
def settings(settings: Settings, smtp: SMTPServer) -> Settings:
    settings = dataclasses.replace(settings, smtp_url=smtp.url)
    smtp.inbox.sender = functools.partial(deliver, settings)  # the outbox, read before the inbox
    return settings
