"""Who may open what: every restricted page and API endpoint this feature adds refuses
visitors, unverified, invited, confirmed-but-not-approved and lapsed accounts; every
administrators' page and action refuses everyone but administrators."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from forum.actions.membership import VERIFICATION_PERIOD
from forum.actions.pages import do_create_page
from forum.models import (
    AccessRequest,
    AccessStatus,
    Administration,
    AuditLog,
    PublicPage,
    Role,
    User,
)
from tests.helpers import bearer, log_in, make_user
from tests.mail import SMTPServer
from tests.membership.support import application, apply, link_in
from tests.web.support import csrf_from

SECRET_NAME = "Visible Only To Members"
ROOT = Path(__file__).resolve().parents[2]


async def _member_with_avatar(world: dict[str, Administration]) -> User:
    member = await make_user("visible")
    await User.filter(id=member.id).update(
        display_name=SECRET_NAME,
        administration_id=world["KE"].id,
        avatar="A" * 24 + ".png",
        show_email=True,
    )
    return await User.get(id=member.id)


def restricted_pages(avatar: str) -> list[str]:
    return [
        "/directory",
        "/directory?region=ESA&q=visible",
        "/directory.csv",
        "/directory.vcf",
        "/directory.csv?administration=KE",
        "/a",
        "/a/KE",
        "/a/ZZ",
        f"/avatars/{avatar}",
    ]


async def _accounts_without_access(
    client: httpx.AsyncClient, smtp: SMTPServer, world: dict[str, Administration]
) -> dict[str, User]:
    """An unverified account, an applicant who confirmed the email and waits, an invited
    person who completed the form, and a member whose yearly verification lapsed."""
    unverified = await make_user("newcomer", verified=False)
    await apply(client, application(world["KE"].id, "waiting@example.org"))
    path = link_in(await smtp.inbox.wait_for("waiting@example.org"), "/request-access/confirm/")
    await client.post(
        path, data={"csrf_token": csrf_from(await client.get(path)), "action": "confirm"}
    )
    waiting = await User.get(email="waiting@example.org")
    invited = await User.create(
        email="invited@example.org",
        username="invited",
        display_name="Invited",
        password_hash="x",
    )
    await AccessRequest.create(
        email="invited@example.org",
        full_name="Invited",
        status=AccessStatus.PENDING,
        user=invited,
        invited_by=await make_user("inviter", role=Role.ADMIN, two_factor=True),
    )
    lapsed = await make_user("lapsed")
    await User.filter(id=lapsed.id).update(verified_until=datetime.now(UTC) - timedelta(days=1))
    return {
        "unverified": unverified,
        "waiting": waiting,
        "invited": invited,
        "lapsed": await User.get(id=lapsed.id),
    }


async def test_visitors_are_sent_to_log_in_and_see_nothing_of_the_directory(
    client: httpx.AsyncClient, world: dict[str, Administration]
) -> None:
    member = await _member_with_avatar(world)
    for url in restricted_pages(member.avatar):
        response = await client.get(url)
        if url.startswith("/avatars/"):
            assert response.status_code == 404, url
        else:
            assert response.status_code == 303, url
            assert response.headers["location"].startswith("/login?next="), url
        assert SECRET_NAME not in response.text and "visible@example.org" not in response.text
    api = await client.get("/api/v1/directory")
    assert api.status_code == 401 and SECRET_NAME not in api.text


async def test_accounts_that_are_not_verified_members_get_404_everywhere(
    client: httpx.AsyncClient, smtp: SMTPServer, world: dict[str, Administration]
) -> None:
    member = await _member_with_avatar(world)
    accounts = await _accounts_without_access(client, smtp, world)
    for kind, user in accounts.items():
        await log_in(client, user)
        for url in restricted_pages(member.avatar):
            response = await client.get(url)
            assert response.status_code == 404, (kind, url)
            assert SECRET_NAME not in response.text, (kind, url)
        assert "/directory" not in (await client.get("/")).text, kind
        api = await client.get("/api/v1/directory", headers=await bearer(user))
        assert api.status_code == 404 and SECRET_NAME not in api.text, kind


async def test_a_lapsed_verification_closes_the_forums_too_until_re_verified(
    client: httpx.AsyncClient, world: dict[str, Administration], admin: User
) -> None:
    member = await make_user("member")
    await User.filter(id=member.id).update(verified_until=datetime.now(UTC) - timedelta(minutes=1))
    await log_in(client, member)
    assert (await client.get("/c/iot")).status_code == 404
    assert "waiting for verification" in (await client.get("/")).text

    await User.filter(id=member.id).update(verified_until=datetime.now(UTC) + VERIFICATION_PERIOD)
    assert (await client.get("/c/iot")).status_code == 200


def admin_gets(request_id: int, administration_id: int, page_id: int) -> list[str]:
    return [
        "/admin",
        "/admin/access-requests",
        "/admin/invitations",
        "/admin/members",
        "/admin/members?view=lapsing",
        "/admin/administrations",
        "/admin/administrations/new",
        f"/admin/administrations/{administration_id}/edit",
        "/admin/pages",
        "/admin/pages/new",
        f"/admin/pages/{page_id}/edit",
        "/admin/audit",
    ]


def admin_posts(
    request_id: int, member_id: int, administration_id: int, page_id: int
) -> list[tuple[str, dict[str, str]]]:
    return [
        (f"/admin/access-requests/{request_id}/approve", {"note": "ok"}),
        (f"/admin/access-requests/{request_id}/reject", {"note": "no"}),
        ("/admin/invitations", {"email": "someone@example.org"}),
        (f"/admin/members/{member_id}/revoke", {"reason": "because"}),
        (f"/admin/members/{member_id}/reverify", {"reason": "because"}),
        ("/admin/administrations/new", {"name": "Atlantis", "country_code": "AQ", "region": "EUR"}),
        (
            f"/admin/administrations/{administration_id}/edit",
            {"name": "Renamed", "country_code": "KE", "region": "ESA"},
        ),
        ("/admin/pages/new", {"slug": "x", "title": "X", "source": "x", "published": "1"}),
        (f"/admin/pages/{page_id}/edit", {"slug": "y", "title": "Y", "source": "y"}),
        (f"/admin/pages/{page_id}/move", {"direction": "down"}),
    ]


@pytest.mark.parametrize("who", ["visitor", "unverified", "member", "moderator", "admin_no_2fa"])
async def test_only_administrators_may_use_the_administration_pages(
    client: httpx.AsyncClient, smtp: SMTPServer, world: dict[str, Administration], who: str
) -> None:
    applicant = await make_user("applicant", verified=False)
    request = await AccessRequest.create(
        email=applicant.email, full_name="Applicant", status=AccessStatus.PENDING, user=applicant
    )
    member = await make_user("member")
    page = await do_create_page(None, "about", "About", "text")
    users = {
        "unverified": lambda: make_user("newcomer", verified=False),
        "member": lambda: make_user("alice"),
        "moderator": lambda: make_user("mod", role=Role.MODERATOR, two_factor=True),
        "admin_no_2fa": lambda: make_user("boss", role=Role.ADMIN, two_factor=False),
    }
    if who != "visitor":
        await log_in(client, await users[who]())
    csrf = csrf_from(await client.get("/"))
    kenya = world["KE"]

    for url in admin_gets(request.id, kenya.id, page.id):
        response = await client.get(url)
        assert response.status_code in (303, 403), (who, url, response.status_code)
        assert "Applicant" not in response.text
    for url, data in admin_posts(request.id, member.id, kenya.id, page.id):
        response = await client.post(url, data={"csrf_token": csrf, **data})
        assert response.status_code in (303, 403), (who, url, response.status_code)
        if response.status_code == 303:
            assert response.headers["location"].startswith(("/login", "/account/security"))

    # Nothing changed.
    assert (await AccessRequest.get(id=request.id)).status == AccessStatus.PENDING
    assert (await User.get(id=member.id)).is_verified
    assert (await Administration.get(id=kenya.id)).name == "Kenya"
    assert not await Administration.exists(country_code="AQ")
    assert [p.slug for p in await PublicPage.all()] == ["about"]
    decisions = ("access.", "membership.", "administration.", "page.")
    assert not [a for a in await AuditLog.all() if a.action.startswith(decisions)]
    await smtp.inbox.deliver()
    assert smtp.inbox.messages == []


async def test_administrators_open_every_administration_page(
    client: httpx.AsyncClient, world: dict[str, Administration], admin: User
) -> None:
    applicant = await make_user("applicant", verified=False)
    request = await AccessRequest.create(
        email=applicant.email, full_name="Applicant", status=AccessStatus.PENDING, user=applicant
    )
    page = await do_create_page(None, "about", "About", "text")
    await log_in(client, admin)
    for url in admin_gets(request.id, world["KE"].id, page.id):
        assert (await client.get(url)).status_code == 200, url
    assert 'href="/admin"' in (await client.get("/")).text


async def test_verified_members_and_staff_open_the_directory(
    client: httpx.AsyncClient, world: dict[str, Administration]
) -> None:
    for user in (
        await make_user("mod", role=Role.MODERATOR),
        await make_user("alice"),
    ):
        await log_in(client, user)
        assert (await client.get("/directory")).status_code == 200


READS = {"filter", "exclude", "get", "get_or_none", "exists", "count", "Q"}


def _reads(call: ast.Call) -> bool:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name in READS


def _grants_of_verification() -> set[tuple[str, str]]:
    """Every place in the code that could turn `is_verified` on: a create/update/constructor
    call or an assignment that sets it to anything but False (by file and function)."""
    found: set[tuple[str, str]] = set()
    for package in ("forum", "realtime", "notifications", "moderation"):
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for top in tree.body:
                name = getattr(top, "name", "<module>")
                for node in ast.walk(top):
                    values: list[ast.expr] = []
                    if isinstance(node, ast.Call) and not _reads(node):
                        values = [k.value for k in node.keywords if k.arg == "is_verified"]
                    elif isinstance(node, ast.Assign) and any(
                        isinstance(t, ast.Attribute) and t.attr == "is_verified"
                        for t in node.targets
                    ):
                        values = [node.value]
                    for value in values:
                        if not (isinstance(value, ast.Constant) and value.value is False):
                            found.add((str(path.relative_to(ROOT)), name))
    return found


def test_only_an_approval_grants_verification_besides_the_operators_commands() -> None:
    assert _grants_of_verification() == {
        # The one path any web page or API call reaches: an administrator's approval.
        ("forum/actions/membership.py", "do_approve_request"),
        # Operators only: `forum create-admin` and the demo seed call do_create_user.
        ("forum/actions/users.py", "do_create_user"),
        ("forum/cli.py", "cmd_create_admin"),
        ("forum/seed.py", "seed_demo"),
    }
