"""Mail goes to a real SMTP server, or to .eml files in the outbox folder by default."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest

from forum.settings import Settings
from notifications.mailer import MailError, send_template
from tests.mail import Inbox, SMTPServer


async def test_a_message_reaches_a_real_smtp_server_with_text_and_html(smtp: SMTPServer) -> None:
    settings = Settings(smtp_url=smtp.url, base_url="https://forum.example")
    await send_template(settings, "ncp@example.org", "Hi", "test_message", {"name": "<Ana>"})
    message = await smtp.inbox.wait_for("ncp@example.org")
    assert message["Subject"] == "Hi"
    assert "Hello <Ana>," in Inbox.text(message)
    html = message.get_body(preferencelist=("html",))
    assert html is not None and "Hello &lt;Ana&gt;," in str(html.get_content())


async def test_the_default_backend_writes_one_eml_file_per_message(tmp_path: Path) -> None:
    settings = Settings(smtp_url=f"file://{tmp_path}/outbox")
    await send_template(settings, "ncp@example.org", "Hi", "test_message", {"name": "Ana"})
    [path] = list((tmp_path / "outbox").glob("*.eml"))
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["To"] == "ncp@example.org"


async def test_an_unreachable_server_raises_a_clear_error() -> None:
    settings = Settings(smtp_url="smtp://127.0.0.1:1")
    with pytest.raises(MailError, match="could not reach the mail server at 127.0.0.1:1"):
        await send_template(settings, "ncp@example.org", "Hi", "test_message", {"name": "Ana"})
