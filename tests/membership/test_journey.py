"""The whole journey: apply, confirm the email from a real mailbox, wait, be approved, use the
restricted area and the directory; be revoked and lose all of it at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from forum.actions.topics import do_create_topic
from forum.actions.users import do_create_api_token
from forum.models import AccessRequest, AccessStatus, Administration, AuditLog, Event, User
from tests.helpers import categories, log_in, make_user
from tests.mail import Inbox, SMTPServer
from tests.membership.support import APPLICANT_PASSWORD, application, apply, link_in, post_form
from tests.web.support import csrf_from, log_in_with_form


async def test_apply_confirm_wait_be_approved_use_the_area_then_be_revoked_and_lose_it(
    client: httpx.AsyncClient,
    other_client: httpx.AsyncClient,
    smtp: SMTPServer,
    world: dict[str, Administration],
    admin: User,
) -> None:
    cats = await categories()
    colleague = await make_user("colleague")
    topic, _post = await do_create_topic(colleague, cats["iot"], "Electronic seals", "members only")

    # Apply through the public form.
    sent = await apply(client, application(world["KE"].id))
    assert sent.status_code == 303 and sent.headers["location"] == "/request-access/sent"
    assert "Check your email" in (await client.get("/request-access/sent")).text

    # The confirmation link arrives at the real SMTP server; opening it confirms nothing yet.
    message = await smtp.inbox.wait_for("ana@customs.example")
    assert "Confirm your request" in str(message["Subject"])
    confirm_path = link_in(message, "/request-access/confirm/")
    shown = await client.get(confirm_path)
    assert shown.status_code == 200
    assert "Ana Example" in shown.text and "Kenya" in shown.text
    request = await AccessRequest.get(email="ana@customs.example")
    assert request.status == AccessStatus.EMAIL_PENDING
    confirmed = await client.post(
        confirm_path, data={"csrf_token": csrf_from(shown), "action": "confirm"}
    )
    assert confirmed.status_code == 200 and "waiting for review" in confirmed.text
    await request.refresh_from_db()
    assert request.status == AccessStatus.PENDING and request.email_confirmed_at is not None

    # The applicant can log in with the password they chose, but sees nothing restricted.
    logged_in = await log_in_with_form(client, "ana@customs.example", APPLICANT_PASSWORD)
    assert logged_in.status_code == 303
    home = await client.get("/")
    assert "waiting for verification" in home.text and "/c/iot" not in home.text
    for url in ("/c/iot", f"/t/{topic.id}", "/directory", "/a/KE", "/u/colleague"):
        assert (await client.get(url)).status_code == 404, url

    # The request waits in the administrators' queue, showing its age.
    await AccessRequest.filter(id=request.id).update(
        created_at=datetime.now(UTC) - timedelta(hours=3)
    )
    await log_in(other_client, admin)
    queue = await other_client.get("/admin/access-requests")
    assert queue.status_code == 200
    assert "Ana Example" in queue.text and "ana@customs.example" in queue.text
    assert "waiting since 3 hours ago" in queue.text

    # Approved with a note: the decision is emailed and audited.
    approved = await post_form(
        other_client,
        "/admin/access-requests",
        f"/admin/access-requests/{request.id}/approve",
        {"note": "Welcome aboard"},
    )
    assert approved.status_code == 303
    decision = await smtp.inbox.wait_for("ana@customs.example", count=2)
    assert "approved" in str(decision["Subject"])
    assert "Welcome aboard" in Inbox.text(decision)
    ana = await User.get(email="ana@customs.example")
    assert ana.is_verified and ana.verified_until is not None
    assert timedelta(days=364) < ana.verified_until - datetime.now(UTC) <= timedelta(days=365)
    audit = await AuditLog.get(action="access.approve")
    assert (audit.actor_id, audit.target_id, audit.reason) == (admin.id, ana.id, "Welcome aboard")

    # The same session now opens the restricted forums and the directory.
    home = await client.get("/")
    assert "/c/iot" in home.text and "waiting for verification" not in home.text
    assert "Electronic seals" in (await client.get("/c/iot")).text
    assert (await client.get(f"/t/{topic.id}")).status_code == 200
    directory = await client.get("/directory")
    assert directory.status_code == 200
    assert "Ana Example" in directory.text and "Colleague" in directory.text
    assert (await client.get("/a/KE")).status_code == 200
    _record, token = await do_create_api_token(ana, "script")
    bearer = {"Authorization": f"Bearer {token}"}
    api = await client.get("/api/v1/directory", headers=bearer)
    assert api.status_code == 200
    assert "Ana Example" in [m["display_name"] for m in api.json()["members"]]
    assert (await client.get("/api/v1/categories/iot", headers=bearer)).status_code == 200

    # Revoked: everything restricted closes at once, pages and API alike.
    revoked = await post_form(
        other_client,
        "/admin/members",
        f"/admin/members/{ana.id}/revoke",
        {"reason": "Left the administration"},
    )
    assert revoked.status_code == 303
    events = await Event.filter(type="user.access_revoked", channel=f"user:{ana.id}")
    assert len(events) == 1 and events[0].user_id == ana.id
    for url in (
        "/c/iot",
        f"/t/{topic.id}",
        "/directory",
        "/directory.csv",
        "/directory.vcf",
        "/a",
        "/a/KE",
        "/u/colleague",
    ):
        response = await client.get(url)
        assert response.status_code == 404, url
        assert "Electronic seals" not in response.text and "Colleague" not in response.text
    home = await client.get("/")
    assert "/c/iot" not in home.text and "/directory" not in home.text
    assert (await client.get("/api/v1/directory", headers=bearer)).status_code == 404
    assert (await client.get("/api/v1/categories/iot", headers=bearer)).status_code == 404
    assert (await client.get("/api/v1/directory")).status_code == 404  # the session cookie
    assert (await httpx_anonymous(client)).status_code == 401
    audit = await AuditLog.get(action="membership.revoke")
    assert (audit.actor_id, audit.target_id, audit.reason) == (
        admin.id,
        ana.id,
        "Left the administration",
    )


async def httpx_anonymous(client: httpx.AsyncClient) -> httpx.Response:
    """The directory API asked without any credentials."""
    transport = client._transport
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as anonymous:
        return await anonymous.get("/api/v1/directory")
