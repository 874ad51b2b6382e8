"""Moderators and administrators need two-factor authentication before any staff power:
staff pages redirect to the security page, the API answers 403."""

from __future__ import annotations

import httpx
import pytest
from starlette.requests import Request

from forum.actions.topics import do_create_topic
from forum.auth import Identity
from forum.errors import Forbidden, NotAuthenticated, TwoFactorSetupRequired
from forum.models import Role, Topic, User
from forum.web.staff import require_admin, require_staff
from tests.helpers import (
    anonymous_csrf,
    bearer,
    categories,
    enable_two_factor,
    log_in,
    make_user,
)


def request_by(user: User | None) -> Request:
    return Request({"type": "http", "state": {"identity": Identity(user=user)}})


async def test_require_staff_lets_only_staff_with_two_factor_through(db: str) -> None:
    member = await make_user("alice")
    moderator = await make_user("mod", role=Role.MODERATOR, two_factor=False)
    admin = await make_user("admin", role=Role.ADMIN, two_factor=True)

    with pytest.raises(NotAuthenticated):
        require_staff(request_by(None))
    with pytest.raises(Forbidden) as member_refused:
        require_staff(request_by(member))
    assert not isinstance(member_refused.value, TwoFactorSetupRequired)
    with pytest.raises(TwoFactorSetupRequired, match="two-factor authentication"):
        require_staff(request_by(moderator))
    await enable_two_factor(moderator)
    assert require_staff(request_by(moderator)) is moderator
    assert require_staff(request_by(admin)) is admin
    with pytest.raises(Forbidden):
        require_admin(request_by(moderator))
    assert require_admin(request_by(admin)) is admin


async def test_a_moderator_without_two_factor_is_sent_to_set_it_up(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    moderator = await make_user("mod", role=Role.MODERATOR, two_factor=False)
    topic, _ = await do_create_topic(alice, cats["iot"], "Electronic seals", "one")
    token = await log_in(client, moderator)

    response = await client.post(f"/t/{topic.id}/status", data={"csrf_token": token, "closed": "1"})

    assert response.status_code == 303
    assert response.headers["location"] == "/account/security?notice=staff_two_factor"
    assert (await Topic.get(id=topic.id)).closed is False
    page = await client.get(response.headers["location"])
    assert "must turn on two-factor authentication before using staff pages" in page.text
    assert 'action="/account/2fa/setup"' in page.text

    await enable_two_factor(moderator)
    allowed = await client.post(f"/t/{topic.id}/status", data={"csrf_token": token, "closed": "1"})
    assert allowed.status_code == 303 and allowed.headers["location"] == f"/t/{topic.id}"
    assert (await Topic.get(id=topic.id)).closed is True


async def test_members_and_visitors_cannot_use_the_staff_action(client: httpx.AsyncClient) -> None:
    cats = await categories()
    alice = await make_user("alice", two_factor=True)
    topic, _ = await do_create_topic(alice, cats["iot"], "Electronic seals", "one")
    token = await log_in(client, alice)
    member = await client.post(f"/t/{topic.id}/status", data={"csrf_token": token, "pinned": "1"})
    assert member.status_code == 403
    client.cookies.clear()
    visitor = await client.post(
        f"/t/{topic.id}/status", data={"csrf_token": anonymous_csrf(client), "pinned": "1"}
    )
    assert visitor.status_code == 303 and visitor.headers["location"].startswith("/login")
    assert (await Topic.get(id=topic.id)).pinned is False


async def test_the_api_refuses_staff_powers_without_two_factor(client: httpx.AsyncClient) -> None:
    cats = await categories()
    alice = await make_user("alice")
    moderator = await make_user("mod", role=Role.MODERATOR, two_factor=False)
    topic, _ = await do_create_topic(alice, cats["iot"], "Electronic seals", "one")
    own, _ = await do_create_topic(moderator, cats["iot"], "A moderator's own topic", "one")
    headers = await bearer(moderator)
    url = f"/api/v1/topics/{topic.id}"

    for body in ({"closed": True}, {"pinned": True}, {"title": "Retitled by staff"}):
        refused = await client.patch(url, headers=headers, json=body)
        assert refused.status_code == 403, body
        error = refused.json()["error"]
        assert error["code"] == "two_factor_setup_required"
        assert "two-factor authentication" in error["message"]
    after = await Topic.get(id=topic.id)
    assert not after.closed and not after.pinned and after.title == "Electronic seals"
    # What any author may do stays open to them.
    mine = await client.patch(
        f"/api/v1/topics/{own.id}", headers=headers, json={"title": "My own title"}
    )
    assert mine.status_code == 200

    await enable_two_factor(moderator)  # revokes the tokens made before: a new one
    assert (await client.patch(url, headers=headers, json={"closed": True})).status_code == 401
    headers = await bearer(moderator)
    allowed = await client.patch(url, headers=headers, json={"closed": True, "pinned": True})
    assert allowed.status_code == 200 and allowed.json()["closed"] is True
