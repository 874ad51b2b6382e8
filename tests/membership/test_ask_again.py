"""An account outside the restricted area (its request rejected, its yearly verification
lapsed) asks again from /request-access; the administrators hear of it and decide again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from forum.actions.membership import do_approve_request, do_reject_request
from forum.models import AccessRequest, AccessStatus, Administration, User
from forum.settings import Settings
from tests.helpers import log_in, make_user
from tests.mail import Inbox, SMTPServer
from tests.membership.support import application, apply, link_in
from tests.web.support import csrf_from


async def confirmed_applicant(client: httpx.AsyncClient, smtp: SMTPServer, country: int) -> User:
    await apply(client, application(country))
    path = link_in(await smtp.inbox.wait_for("ana@customs.example"), "/request-access/confirm/")
    await client.post(
        path, data={"csrf_token": csrf_from(await client.get(path)), "action": "confirm"}
    )
    return await User.get(email="ana@customs.example")


async def test_a_rejected_applicant_reads_why_asks_again_and_is_approved(
    client: httpx.AsyncClient,
    smtp: SMTPServer,
    settings: Settings,
    world: dict[str, Administration],
    admin: User,
) -> None:
    ana = await confirmed_applicant(client, smtp, world["KE"].id)
    first = await AccessRequest.get(email=ana.email)
    await do_reject_request(admin, settings, first.id, "Kenya's NCP is someone else; check?")
    await log_in(client, ana)

    page = await client.get("/request-access")
    assert page.status_code == 200 and "was not approved" in page.text
    assert "Kenya&#39;s NCP is someone else; check?" in page.text
    assert 'value="Head of risk management"' in page.text  # what the last request said

    form = {"csrf_token": csrf_from(page), "administration": str(world["UG"].id)}
    too_short = await client.post("/request-access", data={**form, "position": "NCP"})
    assert too_short.status_code == 422 and await AccessRequest.all().count() == 1

    reason = "Uganda nominated me in October; my letter is attached to the NCP list."
    form |= {"position": "National Contact Point", "reason": reason}
    asked = await client.post("/request-access", data=form)
    assert asked.status_code == 200 and "waiting for review" in asked.text
    again = await AccessRequest.filter(user_id=ana.id).order_by("-id").first()
    assert again is not None and again.status == AccessStatus.PENDING
    assert again.administration_id == world["UG"].id and again.reason == reason
    told = await smtp.inbox.wait_for(admin.email, count=2)  # once per request that waited
    assert "Uganda nominated me" in Inbox.text(told)
    # One waits at a time: the page says so, and a second post adds nothing.
    assert "waiting for review" in (await client.get("/request-access")).text
    assert "waiting for review" in (await client.post("/request-access", data=form)).text
    assert await AccessRequest.filter(user_id=ana.id).count() == 2

    await do_approve_request(admin, settings, again.id)
    assert "You already have an account" in (await client.get("/request-access")).text
    assert (await client.get("/c/iot")).status_code == 200


async def test_a_member_whose_verification_lapsed_asks_to_be_verified_again(
    client: httpx.AsyncClient,
    smtp: SMTPServer,
    settings: Settings,
    world: dict[str, Administration],
    admin: User,
) -> None:
    bob = await make_user("bob")
    lapsed = datetime.now(UTC) - timedelta(days=2)
    await User.filter(id=bob.id).update(verified_until=lapsed, administration_id=world["FR"].id)
    await log_in(client, bob)
    assert (await client.get("/c/iot")).status_code == 404

    page = await client.get("/request-access")
    assert "Your yearly verification has lapsed" in page.text
    form = {
        "csrf_token": csrf_from(page),
        "administration": str(world["FR"].id),
        "position": "Analyst, risk management",
        "reason": "Still the NCP for France; please renew my access.",
    }
    assert (await client.post("/request-access", data=form)).status_code == 200
    request = await AccessRequest.get(user_id=bob.id, status=AccessStatus.PENDING)
    await smtp.inbox.wait_for(admin.email)

    await do_approve_request(admin, settings, request.id)
    renewed = await User.get(id=bob.id)
    assert renewed.verified_until is not None and renewed.verified_until > datetime.now(UTC)
    assert (await client.get("/c/iot")).status_code == 200
