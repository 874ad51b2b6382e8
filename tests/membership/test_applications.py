"""Asking for access: what the form says (never whether an email is known), and every way a
confirmation or invitation link is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from forum.models import (
    AccessRequest,
    AccessStatus,
    Administration,
    AuditLog,
    EmailToken,
    Role,
    TokenPurpose,
    User,
)
from forum.security import token_hash
from tests.helpers import log_in, make_user
from tests.mail import Inbox, SMTPServer
from tests.membership.support import APPLICANT_PASSWORD, application, apply, link_in, post_form
from tests.web.support import csrf_from, log_in_with_form


def _comparable(response: httpx.Response, email: str) -> tuple[int, str, str]:
    return (
        response.status_code,
        response.headers.get("location", ""),
        response.text.replace(email, "EMAIL"),
    )


async def test_the_answer_is_the_same_for_a_known_an_unknown_and_a_pending_email(
    client: httpx.AsyncClient, smtp: SMTPServer, world: dict[str, Administration]
) -> None:
    await make_user("alice")  # a member: alice@example.org
    kenya = world["KE"].id
    await apply(client, application(kenya, "pending@example.org"))
    await smtp.inbox.wait_for("pending@example.org")

    known = await apply(client, application(kenya, "alice@example.org"))
    unknown = await apply(client, application(kenya, "nobody@example.org"))
    pending = await apply(client, application(kenya, "pending@example.org"))

    answers = {
        _comparable(known, "alice@example.org"),
        _comparable(unknown, "nobody@example.org"),
        _comparable(pending, "pending@example.org"),
    }
    assert answers == {(303, "/request-access/sent", "")}
    # Each mailbox gets exactly one message per request; only the owner learns anything.
    to_alice = await smtp.inbox.wait_for("alice@example.org")
    assert "already have an account" in str(to_alice["Subject"])
    assert "/request-access/confirm/" not in Inbox.text(to_alice)
    to_nobody = await smtp.inbox.wait_for("nobody@example.org")
    assert "/request-access/confirm/" in Inbox.text(to_nobody)
    again = await smtp.inbox.wait_for("pending@example.org", count=2)
    assert "already waiting for you to confirm" in Inbox.text(again)
    await smtp.inbox.deliver()
    assert len(smtp.inbox.to("alice@example.org")) == 1
    # The known account is untouched and no request was made for it.
    assert not await AccessRequest.filter(email="alice@example.org").exists()
    assert await AccessRequest.filter(email="pending@example.org").count() == 1


async def test_a_second_application_cannot_replace_one_waiting_for_confirmation(
    client: httpx.AsyncClient, smtp: SMTPServer, world: dict[str, Administration]
) -> None:
    await apply(client, application(world["KE"].id))
    first = await smtp.inbox.wait_for("ana@customs.example")
    await apply(
        client,
        application(world["FR"].id, full_name="Mallory Intruder", password="another long password"),
    )
    second = await smtp.inbox.wait_for("ana@customs.example", count=2)

    # Both links lead to the first application, with its details and password.
    for message in (first, second):
        page = await client.get(link_in(message, "/request-access/confirm/"))
        assert "Ana Example" in page.text and "Mallory" not in page.text
    ana = await User.get(email="ana@customs.example")
    assert ana.display_name == "Ana Example" and ana.administration_id == world["KE"].id


async def test_the_owner_can_discard_an_application_that_is_not_theirs(
    client: httpx.AsyncClient, smtp: SMTPServer, world: dict[str, Administration]
) -> None:
    await apply(client, application(world["KE"].id, full_name="Mallory Intruder"))
    path = link_in(await smtp.inbox.wait_for("ana@customs.example"), "/request-access/confirm/")

    page = await client.get(path)
    discarded = await client.post(path, data={"csrf_token": csrf_from(page), "action": "discard"})

    assert discarded.status_code == 200 and "discarded" in discarded.text
    assert not await AccessRequest.exists(email="ana@customs.example")
    assert not await User.exists(email="ana@customs.example")
    # The real owner can now apply with their own details.
    await apply(client, application(world["KE"].id))
    fresh = await smtp.inbox.wait_for("ana@customs.example", count=2)
    assert "Ana Example" in (await client.get(link_in(fresh, "/request-access/confirm/"))).text


async def test_a_confirmation_link_works_once(
    client: httpx.AsyncClient, smtp: SMTPServer, world: dict[str, Administration]
) -> None:
    await apply(client, application(world["KE"].id))
    path = link_in(await smtp.inbox.wait_for("ana@customs.example"), "/request-access/confirm/")
    page = await client.get(path)
    token = csrf_from(page)
    assert (
        await client.post(path, data={"csrf_token": token, "action": "confirm"})
    ).status_code == 200

    again = await client.post(path, data={"csrf_token": token, "action": "confirm"})
    assert again.status_code == 404 and "invalid, has expired or was already used" in again.text
    assert (await client.get(path)).status_code == 404
    discard = await client.post(path, data={"csrf_token": token, "action": "discard"})
    assert discard.status_code == 404
    assert (await AccessRequest.get(email="ana@customs.example")).status == AccessStatus.PENDING
    assert await User.exists(email="ana@customs.example", is_active=True)


async def test_a_confirmation_link_expires_after_24_hours(
    client: httpx.AsyncClient, smtp: SMTPServer, world: dict[str, Administration]
) -> None:
    await apply(client, application(world["KE"].id))
    path = link_in(await smtp.inbox.wait_for("ana@customs.example"), "/request-access/confirm/")
    stored = await EmailToken.get(token_hash=token_hash(path.rsplit("/", 1)[1]))
    assert stored.purpose == TokenPurpose.CONFIRM_EMAIL
    assert (
        timedelta(hours=23, minutes=59)
        < stored.expires_at - stored.created_at
        <= timedelta(hours=24, seconds=1)
    )
    # Only the hash is stored: the secret in the link appears nowhere in the database.
    assert path.rsplit("/", 1)[1] not in stored.token_hash
    csrf = csrf_from(await client.get(path))

    await EmailToken.filter(id=stored.id).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )

    assert (await client.get(path)).status_code == 404
    late = await client.post(path, data={"csrf_token": csrf, "action": "confirm"})
    assert late.status_code == 404
    request = await AccessRequest.get(email="ana@customs.example")
    assert request.status == AccessStatus.EMAIL_PENDING
    # Unconfirmed, the account cannot even log in.
    refused = await log_in_with_form(client, "ana@customs.example", APPLICANT_PASSWORD)
    assert refused.status_code in (400, 429)
    # A new application replaces the stale one and sends a fresh link.
    await apply(client, application(world["KE"].id, full_name="Ana María Example"))
    fresh = await smtp.inbox.wait_for("ana@customs.example", count=2)
    page = await client.get(link_in(fresh, "/request-access/confirm/"))
    assert page.status_code == 200 and "Ana María Example" in page.text


async def test_unknown_and_garbled_links_are_refused_the_same_way(
    client: httpx.AsyncClient, world: dict[str, Administration]
) -> None:
    for path in (
        "/request-access/confirm/nope",
        "/request-access/confirm/" + "x" * 300,
        "/request-access/invitation/nope",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert "invalid, has expired or was already used" in response.text


async def test_the_form_checks_each_field_and_keeps_what_was_typed(
    client: httpx.AsyncClient, smtp: SMTPServer, world: dict[str, Administration]
) -> None:
    kenya = world["KE"].id
    cases = [
        ({"full_name": "A"}, "full name"),
        ({"email": "not-an-email"}, "valid email"),
        ({"administration": "999999"}, "administration from the list"),
        ({"administration": "abc"}, "administration from the list"),
        ({"position": ""}, "position"),
        ({"reason": "short"}, "why you need access"),
        ({"language": "xx"}, "language from the list"),
        ({"password": "too short"}, "at least 12 characters"),
    ]
    for change, message in cases:
        response = await apply(client, application(kenya, **change))
        assert response.status_code == 422, change
        assert message in response.text, change
        assert 'value="Head of risk management"' in response.text or "position" in change
    assert not await AccessRequest.exists()
    await smtp.inbox.deliver()
    assert smtp.inbox.messages == []


async def test_confirmed_but_not_approved_applicants_stay_unverified(
    client: httpx.AsyncClient, smtp: SMTPServer, world: dict[str, Administration]
) -> None:
    await apply(client, application(world["KE"].id))
    path = link_in(await smtp.inbox.wait_for("ana@customs.example"), "/request-access/confirm/")
    await client.post(
        path, data={"csrf_token": csrf_from(await client.get(path)), "action": "confirm"}
    )

    ana = await User.get(email="ana@customs.example")
    assert ana.is_active and not ana.is_verified and ana.verified_until is None
    await log_in(client, ana)
    assert "waiting for verification" in (await client.get("/")).text


async def test_administrators_are_mailed_when_a_confirmed_request_joins_their_queue(
    client: httpx.AsyncClient, smtp: SMTPServer, world: dict[str, Administration], admin: User
) -> None:
    second = await make_user("secretariat", role=Role.ADMIN)
    gone = await make_user("former", role=Role.ADMIN)
    await User.filter(id=gone.id).update(is_active=False)
    await make_user("moderator", role=Role.MODERATOR)
    await apply(client, application(world["KE"].id, reason="I lead the AI pilot at the border."))
    path = link_in(await smtp.inbox.wait_for("ana@customs.example"), "/request-access/confirm/")
    await smtp.inbox.deliver()
    assert smtp.inbox.to(admin.email) == []  # an unconfirmed request is not in the queue yet
    await client.post(
        path, data={"csrf_token": csrf_from(await client.get(path)), "action": "confirm"}
    )
    for told in (admin, second):
        message = await smtp.inbox.wait_for(told.email)
        assert message["Subject"] == "An access request is waiting for review"  # no user text
        text = Inbox.text(message)
        assert "ana@customs.example" in text and "I lead the AI pilot at the border." in text
        assert "http://testserver/admin/access-requests" in text
    await smtp.inbox.deliver()
    recipients = {m["To"] for m in smtp.inbox.messages}
    assert recipients == {"ana@customs.example", admin.email, second.email}


async def test_an_invited_person_completes_the_form_and_still_waits_for_approval(
    client: httpx.AsyncClient,
    other_client: httpx.AsyncClient,
    smtp: SMTPServer,
    world: dict[str, Administration],
    admin: User,
) -> None:
    await log_in(other_client, admin)
    invited = await post_form(
        other_client,
        "/admin/invitations",
        "/admin/invitations",
        {
            "email": "ncp@douane.example",
            "full_name": "Noé Contact",
            "administration": str(world["FR"].id),
            "note": "As discussed at the NCP meeting.",
        },
    )
    assert invited.status_code == 303
    message = await smtp.inbox.wait_for("ncp@douane.example")
    assert "As discussed at the NCP meeting." in Inbox.text(message)
    path = link_in(message, "/request-access/invitation/")
    assert await AuditLog.exists(action="access.invite", actor_id=admin.id)
    assert (await other_client.get("/admin/invitations")).text.count("ncp@douane.example") == 1

    form = await client.get(path)
    assert form.status_code == 200
    assert 'value="ncp@douane.example" readonly' in form.text and 'value="Noé Contact"' in form.text
    values = application(world["FR"].id, "someone-else@example.org", full_name="Noé Contact")
    done = await client.post(path, data={"csrf_token": csrf_from(form), **values})

    assert done.status_code == 200 and "waiting for review" in done.text
    # The invitation's address is used whatever the form sent.
    noe = await User.get(email="ncp@douane.example")
    assert not await User.exists(email="someone-else@example.org")
    assert noe.is_active and not noe.is_verified
    request = await AccessRequest.get(email="ncp@douane.example")
    assert request.status == AccessStatus.PENDING and request.invited_by_id == admin.id
    queue = await other_client.get("/admin/access-requests")
    assert "Noé Contact" in queue.text and "invited by Admin" in queue.text
    # The link is spent.
    assert (await client.get(path)).status_code == 404
    # Invited and confirmed is still not verified: nothing restricted opens.
    await log_in(client, noe)
    assert (await client.get("/directory")).status_code == 404
    assert (await client.get("/c/iot")).status_code == 404


async def test_an_invitation_to_an_existing_account_is_refused_to_the_administrator(
    other_client: httpx.AsyncClient, smtp: SMTPServer, admin: User
) -> None:
    await make_user("alice")
    await log_in(other_client, admin)
    response = await post_form(
        other_client, "/admin/invitations", "/admin/invitations", {"email": "alice@example.org"}
    )
    assert response.status_code == 409 and "already exists" in response.text
    await smtp.inbox.deliver()
    assert smtp.inbox.messages == []


async def test_a_logged_in_person_is_not_offered_the_form(client: httpx.AsyncClient) -> None:
    await log_in(client, await make_user("alice"))
    page = await client.get("/request-access")
    assert page.status_code == 200
    assert 'action="/request-access"' not in page.text and "already have an account" in page.text


async def test_one_network_may_send_the_form_ten_times_an_hour(
    client: httpx.AsyncClient, smtp: SMTPServer, world: dict[str, Administration]
) -> None:
    for n in range(10):
        response = await apply(client, application(world["KE"].id, f"n{n}@example.org", reason="x"))
        assert response.status_code == 422  # each attempt counts, valid or not
    blocked = await apply(client, application(world["KE"].id))
    assert blocked.status_code == 429 and "Too many requests" in blocked.text
    assert 59 * 60 < int(blocked.headers["retry-after"]) <= 60 * 60
    assert not await AccessRequest.exists()


async def test_a_mailbox_gets_at_most_five_messages_a_day_from_the_form(
    client: httpx.AsyncClient, smtp: SMTPServer, world: dict[str, Administration]
) -> None:
    await make_user("alice")
    answers = []
    for _ in range(6):
        response = await apply(client, application(world["KE"].id, "alice@example.org"))
        answers.append((response.status_code, response.headers["location"]))
    assert answers == [(303, "/request-access/sent")] * 6
    await smtp.inbox.wait_for("alice@example.org", count=5)
    await smtp.inbox.deliver()
    assert len(smtp.inbox.to("alice@example.org")) == 5


async def test_forms_without_the_csrf_token_change_nothing(
    client: httpx.AsyncClient,
    other_client: httpx.AsyncClient,
    smtp: SMTPServer,
    world: dict[str, Administration],
    admin: User,
) -> None:
    applicant = await make_user("applicant", verified=False)
    request = await AccessRequest.create(
        email=applicant.email, full_name="Applicant", status=AccessStatus.PENDING, user=applicant
    )
    forged = await client.post("/request-access", data=application(world["KE"].id))
    assert forged.status_code == 403
    await log_in(other_client, admin)
    for url, data in (
        (f"/admin/access-requests/{request.id}/approve", {"note": ""}),
        ("/admin/invitations", {"email": "x@example.org"}),
        (f"/admin/members/{applicant.id}/revoke", {"reason": "x"}),
    ):
        response = await other_client.post(url, data={"csrf_token": "forged", **data})
        assert response.status_code == 403, url
    assert (await AccessRequest.get(id=request.id)).status == AccessStatus.PENDING
    assert await AccessRequest.all().count() == 1
    await smtp.inbox.deliver()
    assert smtp.inbox.messages == []
