"""Outgoing email: composed from templates, sent by the backend FORUM_SMTP_URL names.

`file://DIR` writes one .eml file per message (development and `make run`);
`smtp://user:pass@host:port?starttls=1` and `smtps://...` deliver through aiosmtplib.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
from jinja2 import Environment, FileSystemLoader, select_autoescape

from forum import i18n
from forum.settings import Settings

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates" / "email"
FROM_ADDRESS = "Smart Customs Forum <no-reply@smart-customs-forum.invalid>"


class MailError(Exception):
    """A message could not be handed to the mail server."""


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str | None = None
    headers: tuple[tuple[str, str], ...] = ()  # chosen by the code: List-Id, List-Unsubscribe


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"], default_for_string=False),
        extensions=["jinja2.ext.i18n"],
        auto_reload=False,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    return env


def compose(to: str, subject: str, template: str, context: dict[str, Any]) -> Mail:
    """Render templates/email/<template>.txt (required) and .html (optional)."""
    env = _environment()
    text = env.get_template(f"{template}.txt").render(context)
    html = None
    if (TEMPLATES_DIR / f"{template}.html").exists():
        html = env.get_template(f"{template}.html").render(context)
    return Mail(to=to, subject=subject, text=text, html=html)


def to_message(mail: Mail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = FROM_ADDRESS
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="smart-customs-forum.invalid")
    message.set_content(mail.text)
    for name, value in mail.headers:
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            raise MailError(f"header {name!r} carries a line break")
        message[name] = value
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html")
    return message


def _write_eml(outbox: Path, raw: bytes) -> None:
    outbox.mkdir(parents=True, exist_ok=True)
    (outbox / f"{uuid.uuid4().hex}.eml").write_bytes(raw)


async def send(settings: Settings, mail: Mail) -> None:
    """Deliver one message through the configured backend; raises MailError on failure."""
    message = to_message(mail)
    url = urlsplit(settings.smtp_url)
    if url.scheme == "file":
        outbox = Path(unquote(url.netloc + url.path))
        await asyncio.to_thread(_write_eml, outbox, bytes(message))
        return
    query = parse_qs(url.query)
    try:
        await aiosmtplib.send(
            message,
            hostname=url.hostname or "127.0.0.1",
            port=url.port or (465 if url.scheme == "smtps" else 25),
            username=unquote(url.username) if url.username else None,
            password=unquote(url.password) if url.password else None,
            use_tls=url.scheme == "smtps",
            start_tls=True if query.get("starttls") == ["1"] else None,
            timeout=10,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise MailError(f"could not send mail to {mail.to}: {exc}") from exc


async def send_template(
    settings: Settings,
    to: str,
    subject: str,
    template: str,
    context: dict[str, Any],
    *,
    headers: dict[str, str] | None = None,
) -> None:
    mail = compose(to, subject, template, {"base_url": settings.base_url, **context})
    if headers:
        mail = Mail(mail.to, mail.subject, mail.text, mail.html, tuple(headers.items()))
    await send(settings, mail)
