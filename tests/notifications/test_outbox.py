"""The outbox: decisions tell their authors by email, sent after the transaction by a
sender that claims each message once, retries failures and never loses one."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from forum.actions.posts import do_create_post
from forum.actions.topics import do_create_topic
from forum.app import create_app
from forum.errors import Conflict
from forum.models import OutboxMessage, OutboxStatus, Role, User
from forum.settings import Settings
from moderation import review
from moderation.sanctions import do_sanction
from notifications.outbox import MAX_ATTEMPTS, send_due
from tests.helpers import TEST_SECRET, categories, make_user
from tests.mail import Inbox, SMTPServer


async def _flagged_post() -> tuple[User, User, int]:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    mod = await make_user("mod", role=Role.MODERATOR)
    topic, _ = await do_create_topic(alice, cats["iot"], "Seals <and> locks", "first")
    post = await do_create_post(alice, topic, cats["iot"], "an advert")
    item = await review.do_flag(bob, post, topic, cats["iot"], "spam")
    return alice, mod, item.id


async def test_a_decision_mails_its_author_through_a_real_smtp_server(
    smtp: SMTPServer, db: str
) -> None:
    alice, mod, item_id = await _flagged_post()
    await review.do_decide(mod, item_id, "hide", "Adverts are not allowed\nBcc: x@evil")
    [queued] = await OutboxMessage.all()
    assert queued.status == OutboxStatus.PENDING and queued.to_address == "alice@example.org"

    settings = Settings(smtp_url=smtp.url, base_url="https://forum.example")
    assert await send_due(settings) == 1

    message = await smtp.inbox.wait_for("alice@example.org")
    assert message["Subject"] == "A moderator's decision about your post"
    assert message["Bcc"] is None  # user text never reaches a header
    body = Inbox.text(message)
    assert "Adverts are not allowed" in body and "Seals <and> locks" in body
    assert "https://forum.example/pending" in body
    html = message.get_body(preferencelist=("html",))
    assert html is not None and "Seals &lt;and&gt; locks" in str(html.get_content())
    assert (await OutboxMessage.get(id=queued.id)).status == OutboxStatus.SENT
    assert await send_due(settings) == 0  # sent once


async def test_a_refused_decision_queues_nothing(db: str) -> None:
    alice, mod, item_id = await _flagged_post()
    await review.do_decide(mod, item_id, "hide", "spam")
    before = await OutboxMessage.all().count()
    with pytest.raises(Conflict):
        await review.do_decide(mod, item_id, "unhide")
    assert await OutboxMessage.all().count() == before


async def test_a_failed_send_is_retried_later_and_given_up_after_the_last_attempt(
    smtp: SMTPServer, db: str
) -> None:
    alice, mod, item_id = await _flagged_post()
    await review.do_decide(mod, item_id, "delete", "duplicate")
    down = Settings(smtp_url="smtp://127.0.0.1:1")

    assert await send_due(down) == 0
    waiting = await OutboxMessage.get(to_address="alice@example.org")
    assert waiting.status == OutboxStatus.PENDING and waiting.attempts == 1
    assert "could not reach the mail server" in waiting.last_error
    assert await send_due(Settings(smtp_url=smtp.url)) == 0  # not due yet: it backs off
    later = datetime.now(UTC) + timedelta(hours=2)
    assert await send_due(Settings(smtp_url=smtp.url), now=later) == 1
    await smtp.inbox.wait_for("alice@example.org")

    # One that keeps failing is given up, with its error kept.
    await do_sanction(mod, alice.id, "warn", "careful", None)
    stuck = await OutboxMessage.get(status=OutboxStatus.PENDING)
    for day in range(1, MAX_ATTEMPTS + 1):
        await send_due(down, now=datetime.now(UTC) + timedelta(days=day))
    gave_up = await OutboxMessage.get(id=stuck.id)
    assert gave_up.status == OutboxStatus.FAILED and gave_up.attempts == MAX_ATTEMPTS
    assert "could not reach the mail server" in gave_up.last_error


async def test_two_senders_at_once_send_each_message_once_and_a_dead_ones_lease_expires(
    smtp: SMTPServer, db: str
) -> None:
    alice = await make_user("alice")
    mod = await make_user("mod", role=Role.MODERATOR)
    for n in range(6):
        await do_sanction(mod, alice.id, "warn", f"warning {n}", None)
    settings = Settings(smtp_url=smtp.url)
    assert await OutboxMessage.all().count() == 6

    sent = await asyncio.gather(send_due(settings), send_due(settings))

    assert sum(sent) == 6
    await smtp.inbox.wait_for("alice@example.org", count=6)
    await asyncio.sleep(0)  # nothing more is on its way
    assert len(smtp.inbox.to("alice@example.org")) == 6

    # A sender that claimed a message and died: once its lease runs out, another sends it.
    await do_sanction(mod, alice.id, "warn", "one more", None)
    claimed_by_the_dead = datetime.now(UTC) + timedelta(minutes=1)
    await OutboxMessage.filter(status=OutboxStatus.PENDING).update(
        lease_until=claimed_by_the_dead, attempts=1
    )
    assert await send_due(settings) == 0
    assert await send_due(settings, now=claimed_by_the_dead + timedelta(seconds=1)) == 1
    await smtp.inbox.wait_for("alice@example.org", count=7)


async def test_the_served_app_sends_the_outbox_by_itself(smtp: SMTPServer, db: str) -> None:
    alice, mod, item_id = await _flagged_post()
    settings = Settings(
        database_url=db, smtp_url=smtp.url, secret_key=TEST_SECRET, base_url="http://testserver"
    )
    app: Starlette = create_app(settings, manage_db=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver"):
            await review.do_decide(mod, item_id, "hide", "spam")
            message = await smtp.inbox.wait_for("alice@example.org", within=10)
    assert "spam" in Inbox.text(message)


def test_forum_send_mail_sends_what_is_due(tmp_path: Path, sqlite_template: Path) -> None:
    path = tmp_path / "forum.sqlite3"
    shutil.copy(sqlite_template, path)
    env = {**os.environ, "FORUM_DATABASE_URL": f"sqlite://{path}", "FORUM_VAR_DIR": str(tmp_path)}
    env["FORUM_SMTP_URL"] = f"file://{tmp_path}/mail"
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute(
            "INSERT INTO outbox (to_address, template, subject, context, status, attempts,"
            " available_at, last_error, created_at)"
            " VALUES ('ana@example.org', 'moderation_notice', 'A decision', ?, 'pending', 0,"
            " '2025-01-01 00:00:00+00:00', '', '2025-01-01 00:00:00+00:00')",
            ['{"name": "Ana", "message": "Your post was hidden.", "link": ""}'],
        )
        conn.commit()
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "forum.cli", "send-mail"],
        env=env,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert b"outbox: 1 sent, 0 waiting to be retried, 0 given up" in done.stdout
    [mail] = list((tmp_path / "mail").glob("*.eml"))
    assert b"Your post was hidden." in mail.read_bytes()
