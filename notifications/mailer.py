"""Outgoing email: composed from templates, sent by the backend FORUM_SMTP_URL names.

`file://DIR` writes one .eml file per message (development and `make run`);
`smtp://user:pass@host:port?starttls=1` and `smtps://...` deliver through aiosmtplib.
"""

from __future__ import annotations

import asyncio
import io
import uuid
from dataclasses import dataclass
from email.charset import QP, Charset
from email.generator import BytesGenerator
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formatdate, make_msgid
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
from jinja2 import Environment, FileSystemLoader, select_autoescape

from forum import i18n
from forum.formats import format_day, format_moment, template_ngettext
from forum.settings import Settings

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates" / "email"
SENDER_ADDRESS = "no-reply@smart-customs-forum.invalid"
FROM_ADDRESS = f"Smart Customs Forum <{SENDER_ADDRESS}>"


class MailError(Exception):
    """A message could not be handed to the mail server."""


class HeaderError(ValueError):
    """A header value holds a line break (header injection): the message is refused."""


def check_header(name: str, value: str) -> str:
    """`value`, or HeaderError when it could start another header (CR or LF in it)."""
    if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
        raise HeaderError(f"line break in the {name!r} header refused")
    return value


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


def mail_language(language: str | None) -> str:
    """The language a message is written in: the recipient's, when the forum speaks it."""
    return language if language in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE


@lru_cache(maxsize=len(i18n.LANGUAGES))
def _environment(language: str) -> Environment:
    """One environment per language, its `_()` bound to that language's catalogue."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"], default_for_string=False),
        extensions=["jinja2.ext.i18n"],
        auto_reload=False,
    )
    env.install_gettext_translations(  # type: ignore[attr-defined]
        i18n.translations(language), newstyle=True
    )
    env.globals["ngettext"] = template_ngettext(language)  # counts written the language's way
    env.filters["date"] = lambda d: format_day(d, language)
    env.filters["datetime"] = lambda d: format_moment(d, language)
    return env


def compose(
    to: str,
    subject: str,
    template: str,
    context: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> Mail:
    """Render templates/email/<template>.txt (required) and .html (optional) in the language
    `context["language"]` names (the recipient's; `outbox.enqueue` puts it there). The
    subject is stored in the source language and translated here, like the body."""
    language = mail_language(context.get("language"))
    env = _environment(language)
    context = {**context, "language": language}
    with i18n.using(language):  # what the templates call translates for the recipient too
        text = env.get_template(f"{template}.txt").render(context)
        html = None
        if (TEMPLATES_DIR / f"{template}.html").exists():
            html = env.get_template(f"{template}.html").render(context)
    extra = tuple(sorted((headers or {}).items()))
    return Mail(to=to, subject=i18n.gettext(subject, language), text=text, html=html, headers=extra)


# Headers the code sets itself; a row's extra headers cannot replace them.
_OWN_HEADERS = frozenset({"from", "to", "subject", "date", "message-id", "auto-submitted"})


# Bodies in quoted-printable: readable in an .eml file and safe over any mail server.
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP


def _header_value(value: str) -> str:
    """ASCII as it is; anything else RFC 2047-encoded as UTF-8."""
    return value if value.isascii() else Header(value, "utf-8").encode()


def to_message(mail: Mail) -> Message:
    """The MIME message; HeaderError when any header value holds a line break.

    Built with the compat32 classes: the modern `EmailMessage` parses and refolds every
    header through the header registry, which cost more than rendering the digest itself."""
    body: Message
    if mail.html is None:
        body = MIMEText(mail.text, "plain", _UTF8)  # type: ignore[arg-type]
    else:
        body = MIMEMultipart("alternative")
        body.attach(MIMEText(mail.text, "plain", _UTF8))  # type: ignore[arg-type]
        body.attach(MIMEText(mail.html, "html", _UTF8))  # type: ignore[arg-type]
    body["From"] = FROM_ADDRESS
    body["To"] = check_header("To", mail.to)
    body["Subject"] = _header_value(check_header("Subject", mail.subject))
    body["Date"] = formatdate(localtime=False)
    body["Message-ID"] = make_msgid(domain="smart-customs-forum.invalid")
    body["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
    for name, value in mail.headers:
        check_header(name, value)
        if name.lower() not in _OWN_HEADERS:
            body[name] = _header_value(value)
    return body


# Long header values (List-Unsubscribe) stay on one line: no header here comes near the
# 998-character limit of RFC 5322, and unfolded lines read back exactly as they were set.
_WIRE = compat32.clone(linesep="\r\n", max_line_length=0)


def to_bytes(mail: Mail) -> bytes:
    """The message as it goes on the wire (CRLF line ends)."""
    out = io.BytesIO()
    BytesGenerator(out, policy=_WIRE).flatten(to_message(mail))
    return out.getvalue()


def _write_eml(outbox: Path, raw: bytes) -> None:
    outbox.mkdir(parents=True, exist_ok=True)
    (outbox / f"{uuid.uuid4().hex}.eml").write_bytes(raw)


async def send(settings: Settings, mail: Mail) -> None:
    """Deliver one message at once (outside the outbox); raises MailError on failure."""
    async with Transport(settings) as transport:
        await transport.send(mail)


async def send_template(
    settings: Settings,
    to: str,
    subject: str,
    template: str,
    context: dict[str, Any],
    *,
    headers: dict[str, str] | None = None,
) -> None:
    await send(settings, compose(to, subject, template, {"base_url": settings.base_url, **context}))


class TemporaryMailError(MailError):
    """Worth trying again later: a 4xx reply, a timeout, a refused or dropped connection."""


class PermanentMailError(MailError):
    """Never worth trying again as it is: a 5xx reply (kept in the message), a bad header."""


def _classify(failed: str, exc: Exception) -> MailError:
    code = getattr(exc, "code", None)
    refused = getattr(exc, "recipients", None)
    if refused:  # SMTPRecipientsRefused: the first refusal's code decides
        code = getattr(refused[0], "code", code)
        exc = refused[0]
    reply = getattr(exc, "message", None)
    said = f"{code} {reply}" if isinstance(code, int) and reply else str(exc)
    text = f"{failed}: {said}"  # the server's reply, kept for administrators
    if isinstance(code, int) and 500 <= code < 600:
        return PermanentMailError(text)
    return TemporaryMailError(text)


class Transport:
    """One round's way to the mail server: a single SMTP connection, opened on first use and
    reused for every message of the round (STARTTLS and login when the URL asks for them);
    `file://` writes .eml files. Use as `async with Transport(settings) as transport:`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = urlsplit(settings.smtp_url)
        self.client: aiosmtplib.SMTP | None = None
        self.unreachable: TemporaryMailError | None = None  # the connection failed this round

    async def __aenter__(self) -> Transport:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._drop(polite=True)

    async def _drop(self, *, polite: bool = False) -> None:
        client, self.client = self.client, None
        if client is None or not client.is_connected:
            return
        try:
            if polite:
                await client.quit()
            else:
                client.close()
        except (aiosmtplib.SMTPException, OSError):
            client.close()

    async def _connect(self) -> aiosmtplib.SMTP:
        if self.unreachable is not None:
            raise self.unreachable
        if self.client is not None and self.client.is_connected:
            return self.client
        url, query = self.url, parse_qs(self.url.query)
        client = aiosmtplib.SMTP(
            hostname=url.hostname or "127.0.0.1",
            port=url.port or (465 if url.scheme == "smtps" else 25),
            username=unquote(url.username) if url.username else None,
            password=unquote(url.password) if url.password else None,
            use_tls=url.scheme == "smtps",
            start_tls=query.get("starttls") == ["1"],  # only when the URL asks
            timeout=10,
        )
        try:
            await client.connect()
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            # host and port only: the URL may carry the server's password
            where = f"{url.hostname or '127.0.0.1'}:{url.port or 25}"
            error = _classify(f"could not reach the mail server at {where}", exc)
            if isinstance(error, TemporaryMailError):
                self.unreachable = error  # the rest of the round waits for the next one
            client.close()
            raise error from exc
        self.client = client
        return client

    async def send(self, mail: Mail) -> None:
        """Hand one message over; PermanentMailError or TemporaryMailError when it is not."""
        try:
            message = to_bytes(mail)
        except (HeaderError, ValueError) as exc:
            raise PermanentMailError(f"refused before sending: {exc}") from exc
        if self.url.scheme == "file":
            outbox = Path(unquote(self.url.netloc + self.url.path))
            try:
                await asyncio.to_thread(_write_eml, outbox, message)
            except OSError as exc:
                raise TemporaryMailError(f"could not write mail to {outbox}: {exc}") from exc
            return
        client = await self._connect()
        try:
            await client.sendmail(SENDER_ADDRESS, [mail.to], message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            error = _classify(f"could not send mail to {mail.to}", exc)
            if isinstance(error, PermanentMailError) and client.is_connected:
                try:  # the connection still serves the next message
                    await client.rset()
                except (aiosmtplib.SMTPException, OSError, TimeoutError):
                    await self._drop()
            else:
                await self._drop()
            raise error from exc
