"""Sockets against the real actions, end to end: the page or API a person uses changes
something, and the sockets it concerns notice, through the event the action itself records.
Companions of the tests in test_ws_delivery.py that record those events by hand."""

from __future__ import annotations

import httpx

from forum.actions.posts import do_create_post
from forum.actions.topics import do_create_topic
from forum.models import Category, Role, Session, Topic
from forum.settings import Settings
from tests.helpers import PASSWORD, bearer, categories, log_in, make_user
from tests.realtime.support import ORIGIN, client, cookie_for, http, serving


async def test_a_topic_moved_by_a_moderator_to_a_staff_category_stops_reaching_members(
    settings: Settings,
) -> None:
    """test_ws_delivery's move test, with the move made on the topic page."""
    cats = await categories()
    alice = await make_user("alice")
    moderator = await make_user("moderator", role=Role.MODERATOR)
    staff_room = await Category.create(slug="staff-room", name="Staff room", visibility="staff")
    topic, _ = await do_create_topic(alice, cats["cybersecurity"], "Soon moved", "x")
    channel = f"topic:{topic.id}"
    async with (
        serving(settings) as served,
        client(served, headers=await bearer(alice)) as member,
        client(served, headers=await bearer(moderator)) as staff,
    ):
        await member.subscribe(channel)
        await staff.subscribe(channel)
        async with http(served) as browser:
            token = await log_in(browser, moderator)
            moved = await browser.post(
                f"/t/{topic.id}/move", data={"csrf_token": token, "category": "staff-room"}
            )
            assert moved.status_code == 303, moved.text
        topic = await Topic.get(id=topic.id)
        assert topic.category_id == staff_room.id
        await do_create_post(moderator, topic, staff_room, "Only staff read this now")
        dropped = await member.recv()
        assert (dropped["type"], dropped["code"], dropped["channel"]) == (
            "error",
            "forbidden",
            channel,
        )
        assert await member.silence() == []
        moved_event, posted = await staff.events(2)
        assert (moved_event["name"], posted["name"]) == ("topic.updated", "post.created")


async def test_a_password_changed_on_the_security_page_closes_the_other_sockets(
    settings: Settings,
) -> None:
    """test_ws_delivery's password test, with the password changed on the page: the other
    browser's socket and the API token's close with 1008; this browser's stays."""
    alice = await make_user("alice")
    async with serving(settings) as served, http(served) as browser:
        token = await log_in(browser, alice)
        this_session = await Session.filter(user_id=alice.id).order_by("-id").first()
        assert this_session is not None
        async with (
            client(served, headers=await cookie_for(alice), origin=ORIGIN) as other_browser,
            client(served, headers=await bearer(alice)) as script,
            client(
                served, headers={"Cookie": _cookie_header(browser)}, origin=ORIGIN
            ) as this_browser,
        ):
            for ws in (this_browser, other_browser, script):
                await ws.subscribe("user")
            changed = await browser.post(
                "/account/password",
                data={
                    "csrf_token": token,
                    "current_password": PASSWORD,
                    "password": "a new and long enough passphrase",
                    "password_confirm": "a new and long enough passphrase",
                },
            )
            assert changed.status_code == 303, changed.text
            assert await other_browser.close_code() == 1008
            assert await script.close_code() == 1008
            # The real action records both: the other sessions end, then the password changed.
            notices = await this_browser.events(2)
            assert [n["name"] for n in notices] == ["session.revoked", "user.password_changed"]
            assert served.hub.connections_of(alice.id) == 1


async def test_a_session_ended_on_the_security_page_closes_only_its_sockets(
    settings: Settings,
) -> None:
    alice = await make_user("alice")
    async with serving(settings) as served, http(served) as browser:
        token = await log_in(browser, alice)
        ended_cookie = await cookie_for(alice)
        ended = await Session.filter(user_id=alice.id).order_by("-id").first()
        assert ended is not None
        async with (
            client(served, headers=ended_cookie, origin=ORIGIN) as other_browser,
            client(served, headers=await bearer(alice)) as script,
        ):
            await other_browser.subscribe("user")
            await script.subscribe("user")
            revoked = await browser.post(
                f"/account/sessions/{ended.id}/revoke", data={"csrf_token": token}
            )
            assert revoked.status_code == 303, revoked.text
            assert await other_browser.close_code() == 1008
            (notice,) = await script.events(1)
            assert (notice["channel"], notice["name"]) == ("user", "session.revoked")
            assert served.hub.connections_of(alice.id) == 1


async def test_a_suspended_member_is_disconnected_at_once(settings: Settings) -> None:
    """test_ws_delivery's revocation test, with a moderator's suspension through the API."""
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    moderator = await make_user("moderator", role=Role.MODERATOR)
    topic, _ = await do_create_topic(bob, cats["cybersecurity"], "Still going", "x")
    async with (
        serving(settings) as served,
        client(served, headers=await bearer(alice)) as suspended,
        client(served, headers=await bearer(bob)) as other,
    ):
        for ws in (suspended, other):
            await ws.subscribe(f"topic:{topic.id}", "user")
        async with http(served, await bearer(moderator)) as api:
            answer = await api.post(
                f"/api/v1/users/{alice.id}/sanctions",
                json={"kind": "suspend", "reason": "Spam", "until": None},
            )
            assert answer.status_code == 201, answer.text
        assert await suspended.close_code() == 1008
        assert served.hub.connections_of(alice.id) == 0
        await do_create_post(bob, topic, cats["cybersecurity"], "after the suspension")
        (frame,) = await other.events(1)
        assert frame["name"] == "post.created"


async def test_a_category_an_administrator_closes_to_members_stops_reaching_them(
    settings: Settings,
) -> None:
    """test_ws_delivery's category test, with the change made through the API."""
    await categories()
    alice = await make_user("alice")
    admin = await make_user("secretariat", role=Role.ADMIN)
    async with (
        serving(settings) as served,
        client(served, headers=await bearer(alice)) as member,
        client(served, headers=await bearer(admin)) as staff,
    ):
        await member.subscribe("category:cybersecurity")
        await staff.subscribe("category:cybersecurity")
        async with http(served, await bearer(admin)) as api:
            changed = await api.patch(
                "/api/v1/categories/cybersecurity", json={"visibility": "staff"}
            )
            assert changed.status_code == 200, changed.text
        dropped = await member.recv()
        assert (dropped["code"], dropped["channel"]) == ("forbidden", "category:cybersecurity")
        await do_create_topic(admin, await Category.get(slug="cybersecurity"), "Staff now", "x")
        names = [f["name"] for f in await staff.events(2)]
        assert names[-1] == "topic.created"
        assert await member.silence() == []


def _cookie_header(c: httpx.AsyncClient) -> str:
    return "; ".join(f"{name}={value}" for name, value in c.cookies.items())
