"""Administrators' decisions: approve, reject, revoke, re-verify; yearly reminders; the audit
log that records each of them."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from forum.actions.membership import (
    REMINDER_ACTION,
    VERIFICATION_PERIOD,
    do_approve_request,
    do_reverify_member,
    send_reverification_reminders,
)
from forum.errors import Conflict
from forum.models import (
    AccessRequest,
    AccessStatus,
    Administration,
    AuditLog,
    Event,
    Role,
    User,
)
from forum.settings import Settings
from notifications.outbox import send_due
from tests.helpers import log_in, make_user
from tests.mail import Inbox, SMTPServer
from tests.membership.support import post_form

ROOT = Path(__file__).resolve().parents[2]


async def _pending(username: str, administration: Administration | None = None) -> AccessRequest:
    user = await make_user(username, verified=False)
    return await AccessRequest.create(
        email=user.email,
        full_name=username.title(),
        status=AccessStatus.PENDING,
        user=user,
        administration=administration,
        position="Analyst",
        reason="I am our contact point.",
    )


async def test_a_rejection_needs_a_reason_which_the_applicant_reads(
    client: httpx.AsyncClient, smtp: SMTPServer, world: dict[str, Administration], admin: User
) -> None:
    request = await _pending("bob", world["PE"])
    await log_in(client, admin)
    action = f"/admin/access-requests/{request.id}/reject"

    blank = await post_form(client, "/admin/access-requests", action, {"note": "  "})
    assert blank.status_code == 422 and "Say why the request is rejected" in blank.text
    assert (await AccessRequest.get(id=request.id)).status == AccessStatus.PENDING

    rejected = await post_form(
        client, "/admin/access-requests", action, {"note": "Please ask your NCP to nominate you."}
    )
    assert rejected.status_code == 303
    message = await smtp.inbox.wait_for("bob@example.org")
    assert "Please ask your NCP to nominate you." in Inbox.text(message)
    await request.refresh_from_db()
    assert request.status == AccessStatus.REJECTED and request.decided_by_id == admin.id
    assert not (await User.get(id=request.user_id)).is_verified
    audit = await AuditLog.get(action="access.reject")
    assert (audit.actor_id, audit.target_type, audit.target_id) == (
        admin.id,
        "access_request",
        request.id,
    )
    assert audit.reason == "Please ask your NCP to nominate you." and audit.created_at is not None
    # A decided request cannot be decided again.
    again = await post_form(
        client, "/admin/access-requests", f"/admin/access-requests/{request.id}/approve", {}
    )
    assert again.status_code == 409
    assert not (await User.get(id=request.user_id)).is_verified


async def test_a_request_whose_email_is_unconfirmed_cannot_be_approved(
    settings: Settings, world: dict[str, Administration], admin: User
) -> None:
    user = await make_user("early", verified=False)
    request = await AccessRequest.create(
        email=user.email, full_name="Early", status=AccessStatus.EMAIL_PENDING, user=user
    )
    with pytest.raises(Conflict):
        await do_approve_request(admin, settings, request.id)
    assert not (await User.get(id=user.id)).is_verified


async def test_revoking_needs_a_reason_and_never_applies_to_staff(
    client: httpx.AsyncClient, world: dict[str, Administration], admin: User
) -> None:
    member = await make_user("alice")
    moderator = await make_user("mod", role=Role.MODERATOR)
    await log_in(client, admin)

    no_reason = await post_form(client, "/admin/members", f"/admin/members/{member.id}/revoke", {})
    assert no_reason.status_code == 422
    staff = await post_form(
        client, "/admin/members", f"/admin/members/{moderator.id}/revoke", {"reason": "x"}
    )
    assert staff.status_code == 409
    assert (await User.get(id=member.id)).is_verified
    assert not await Event.exists(type="user.access_revoked")


async def test_re_verifying_extends_by_a_year_and_restores_a_lapsed_member(
    client: httpx.AsyncClient, world: dict[str, Administration], admin: User
) -> None:
    member = await make_user("alice")
    soon = datetime.now(UTC) + timedelta(days=10)
    await User.filter(id=member.id).update(verified_until=soon)
    await log_in(client, admin)

    listing = await client.get("/admin/members?view=lapsing")
    assert "Alice" in listing.text and "lapsing" in listing.text
    done = await post_form(
        client, "/admin/members", f"/admin/members/{member.id}/reverify", {"reason": "confirmed"}
    )
    assert done.status_code == 303
    extended = (await User.get(id=member.id)).verified_until
    assert extended is not None and abs(extended - (soon + VERIFICATION_PERIOD)) < timedelta(
        seconds=1
    )
    audit = await AuditLog.get(action="membership.reverify")
    assert (audit.actor_id, audit.target_id, audit.reason) == (admin.id, member.id, "confirmed")

    lapsed = await make_user("bob")
    await User.filter(id=lapsed.id).update(verified_until=datetime.now(UTC) - timedelta(days=3))
    restored = await do_reverify_member(admin, lapsed.id)
    assert restored.verified_until is not None
    assert restored.verified_until - datetime.now(UTC) > VERIFICATION_PERIOD - timedelta(minutes=1)
    assert await Event.exists(type="user.reverified", channel=f"user:{lapsed.id}")


async def _due_members() -> dict[str, User]:
    now = datetime.now(UTC)
    people = {
        "soon": await make_user("soon"),
        "later": await make_user("later"),
        "lapsed": await make_user("gone"),
        "unverified": await make_user("newcomer", verified=False),
        "staff": await make_user("mod", role=Role.MODERATOR),
    }
    await User.filter(id=people["soon"].id).update(verified_until=now + timedelta(days=12))
    await User.filter(id=people["later"].id).update(verified_until=now + timedelta(days=45))
    await User.filter(id=people["lapsed"].id).update(verified_until=now - timedelta(days=1))
    await User.filter(id=people["staff"].id).update(verified_until=now + timedelta(days=3))
    return people


async def test_members_are_reminded_once_before_their_verification_lapses(
    settings: Settings, smtp: SMTPServer, world: dict[str, Administration]
) -> None:
    people = await _due_members()
    progress: list[tuple[int, int, str, bool]] = []

    run = await send_reverification_reminders(
        settings, progress=lambda n, total, user, ok: progress.append((n, total, user.email, ok))
    )

    assert (run.due, run.sent, run.failed) == (1, 1, 0)
    assert progress == [(1, 1, "soon@example.org", True)]
    message = await smtp.inbox.wait_for("soon@example.org")
    assert "needs renewing" in str(message["Subject"])
    assert [m["To"] for m in smtp.inbox.messages] == ["soon@example.org"]
    # Once per period: a second run sends nothing...
    assert (await send_reverification_reminders(settings)).due == 0
    # ...until the member is re-verified and the new period nears its end.
    soon = people["soon"]
    await User.filter(id=soon.id).update(verified_until=datetime.now(UTC) + timedelta(days=20))
    assert (await send_reverification_reminders(settings)).sent == 1
    assert await AuditLog.filter(action=REMINDER_ACTION, target_id=soon.id).count() == 2


async def test_two_runs_at_the_same_time_send_each_reminder_once(
    settings: Settings, smtp: SMTPServer, world: dict[str, Administration]
) -> None:
    await _due_members()

    runs = await asyncio.gather(*(send_reverification_reminders(settings) for _ in range(2)))

    assert sum(run.sent for run in runs) == 1
    await smtp.inbox.deliver()  # the outbox sends what both runs queued
    assert [m["To"] for m in smtp.inbox.messages] == ["soon@example.org"]
    assert await AuditLog.filter(action=REMINDER_ACTION).count() == 1


async def test_a_reminder_the_mail_server_refused_is_retried_by_the_outbox_not_repeated(
    settings: Settings, smtp: SMTPServer, world: dict[str, Administration]
) -> None:
    await _due_members()
    unreachable = Settings(smtp_url="smtp://127.0.0.1:1", base_url=settings.base_url)

    run = await send_reverification_reminders(unreachable)
    assert (run.due, run.sent, run.failed) == (1, 1, 0)  # queued, with its audit row
    assert await send_due(unreachable) == 0  # the server is down: it waits in the outbox
    assert await AuditLog.filter(action=REMINDER_ACTION).count() == 1
    assert (await send_reverification_reminders(settings)).due == 0  # never queued twice

    later = datetime.now(UTC) + timedelta(hours=2)
    assert await send_due(settings, now=later) == 1
    assert [m["To"] for m in smtp.inbox.messages] == ["soon@example.org"]


async def test_the_reminder_command_shows_its_progress(
    database_url: str, settings: Settings, smtp: SMTPServer, world: dict[str, Administration]
) -> None:
    await _due_members()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORUM_")}
    env.update(
        FORUM_DATABASE_URL=database_url,
        FORUM_SMTP_URL=smtp.url,
        FORUM_SECRET_KEY="test",
        FORUM_VAR_DIR=str(settings.var_dir),
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "forum.cli",
        "send-reverification-reminders",
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)

    assert process.returncode == 0, err.decode()
    assert out.decode().splitlines() == ["[1/1] sent: soon@example.org", "1 due, 1 sent, 0 failed"]
    await smtp.inbox.wait_for("soon@example.org")


async def test_the_audit_log_page_lists_decisions_newest_first(
    client: httpx.AsyncClient, settings: Settings, world: dict[str, Administration], admin: User
) -> None:
    request = await _pending("carol", world["JP"])
    await do_approve_request(admin, settings, request.id, "Nominated by Japan Customs")
    await do_reverify_member(admin, request.user_id or 0, "Yearly check")
    await log_in(client, admin)

    page = await client.get("/admin/audit")

    assert page.status_code == 200
    text = page.text
    assert text.index("membership.reverify") < text.index("access.approve")
    assert "Nominated by Japan Customs" in text and "Yearly check" in text
    assert f"user #{request.user_id}" in text and "Admin" in text
