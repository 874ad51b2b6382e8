"""Sanctions on members: a warning shown once, silence, suspension, both ending by themselves
(the clock moved by rewriting stored times), lifting early, and who may sanction whom."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from forum.actions.topics import do_create_topic
from forum.actions.users import do_create_session
from forum.errors import Conflict, Forbidden, Invalid, TwoFactorSetupRequired
from forum.formats import format_moment
from forum.models import (
    ApiToken,
    AuditLog,
    Category,
    Event,
    Post,
    Reaction,
    Role,
    Sanction,
    Session,
    Topic,
    User,
)
from forum.settings import Settings
from moderation import audit
from moderation.sanctions import FOREVER, do_lift_sanction, do_sanction
from tests.api.conftest import check_response
from tests.helpers import PASSWORD, anonymous_csrf, bearer, categories, log_in, make_user
from tests.realtime.support import ORIGIN, cookie_for, serving
from tests.realtime.support import client as ws_client

LATER = timedelta(days=2)


@pytest.fixture(autouse=True)
def _api_answers_follow_the_document(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every API response here is checked against the OpenAPI document, as in tests/api."""
    if "client" not in request.fixturenames:
        yield
        return
    client: httpx.AsyncClient = request.getfixturevalue("client")
    client.event_hooks["response"].append(check_response)
    yield
    client.event_hooks["response"].remove(check_response)


def now() -> datetime:
    return datetime.now(UTC)


async def staff_and_member() -> tuple[User, User]:
    return await make_user("mod", role=Role.MODERATOR), await make_user("alice")


async def a_topic() -> tuple[Topic, Category]:
    cats = await categories()
    bob = await make_user("bob")
    topic, _post = await do_create_topic(bob, cats["cybersecurity"], "Border data", "Hello")
    return topic, cats["cybersecurity"]


async def end_now(user: User, column: str) -> None:
    """The clock moved past the end: rewrite the stored ends (user column and rows)."""
    past = now() - timedelta(minutes=1)
    await User.filter(id=user.id).update(**{column: past})
    kind = "silence" if column == "silenced_until" else "suspend"
    await Sanction.filter(user_id=user.id, kind=kind).update(until=past)


def form_value(html: str, name: str) -> str:
    found = re.search(rf'<textarea[^>]*name="{name}"[^>]*>\n?(.*?)</textarea>', html, re.S)
    assert found, name
    return found.group(1)


# --- warnings ---------------------------------------------------------------------------------


async def test_a_warned_member_sees_the_note_once_on_their_next_page(
    client: httpx.AsyncClient,
) -> None:
    moderator, alice = await staff_and_member()
    await log_in(client, alice)
    assert "A warning from the moderators" not in (await client.get("/")).text
    warning = await do_sanction(moderator, alice.id, "warn", "Please keep <b>replies</b> civil.")
    # An API call does not use the warning up: only a page shows it.
    assert (await client.get("/api/v1/me")).status_code == 200
    page = await client.get("/bookmarks")
    assert page.status_code == 200
    assert "A warning from the moderators" in page.text
    assert "Please keep &lt;b&gt;replies&lt;/b&gt; civil." in page.text  # user text escaped
    seen = await Sanction.get(id=warning.id)
    assert seen.seen_at is not None
    again = await client.get("/bookmarks")
    assert "A warning from the moderators" not in again.text
    assert "keep &lt;b&gt;replies" not in again.text


async def test_a_warning_reaches_only_its_member_and_is_audited_with_its_event(
    client: httpx.AsyncClient,
) -> None:
    moderator, alice = await staff_and_member()
    bob = await make_user("bob")
    await log_in(client, bob)
    warning = await do_sanction(moderator, alice.id, "warn", "Off-topic again")
    assert "Off-topic again" not in (await client.get("/")).text
    assert (await Sanction.get(id=warning.id)).seen_at is None
    (row,) = await AuditLog.filter(action="sanction.warn")
    assert (row.actor_id, row.target_type, row.target_id) == (moderator.id, "user", alice.id)
    assert row.reason == "Off-topic again" and row.data["sanction_id"] == warning.id
    (event,) = await Event.filter(type="sanction.created")
    assert event.channel == f"user:{alice.id}"
    assert event.payload == {
        "sanction_id": warning.id,
        "user_id": alice.id,
        "kind": "warn",
        "until": None,
    }
    assert (await audit.verify()).intact


# --- silence ----------------------------------------------------------------------------------


async def test_a_silenced_member_cannot_post_or_react_and_is_told_why_until_the_end(
    client: httpx.AsyncClient,
) -> None:
    moderator, alice = await staff_and_member()
    topic, category = await a_topic()
    first = await Post.get(topic_id=topic.id, number=1)
    headers = await bearer(alice)
    token = await log_in(client, alice)
    until = now() + LATER
    await do_sanction(moderator, alice.id, "silence", "Cooling off after the flame war", until)
    when = format_moment(until, "en") + " UTC"
    told = f"You are silenced until {when}: Cooling off after the flame war"

    # The topic page: no reply box, the notice in its place; no reaction buttons.
    page = await client.get(f"/t/{topic.id}")
    assert page.status_code == 200
    assert told in page.text
    assert f'action="/t/{topic.id}/reply"' not in page.text
    assert f'action="/p/{first.id}/react"' not in page.text
    assert told in (await client.get(f"/c/{category.slug}")).text
    # The forms: refused with the reason, and what was typed comes back.
    reply = await client.post(
        f"/t/{topic.id}/reply", data={"csrf_token": token, "body": "My unsent reply"}
    )
    assert reply.status_code == 403 and told in reply.text
    assert form_value(reply.text, "body").strip() == "My unsent reply"
    assert told in (await client.get(f"/t/{topic.id}/reply")).text
    new = await client.post(
        f"/c/{category.slug}/new",
        data={"csrf_token": token, "title": "A new topic", "body": "My unsent topic"},
    )
    assert new.status_code == 403 and told in new.text
    assert form_value(new.text, "body").strip() == "My unsent topic"
    react = await client.post(
        f"/p/{first.id}/react", data={"csrf_token": token, "kind": "like", "on": "1"}
    )
    assert react.status_code == 403 and told in react.text
    # The API: 403 `silenced` with the same message.
    for path, body in (
        (f"/api/v1/topics/{topic.id}/posts", {"body": "via the API"}),
        ("/api/v1/topics", {"category": category.slug, "title": "API topic", "body": "x"}),
        (f"/api/v1/posts/{first.id}/reactions", {"kind": "like"}),
    ):
        refused = await client.post(path, headers=headers, json=body)
        assert refused.status_code == 403, path
        assert refused.json()["error"] == {"code": "silenced", "message": told}
    assert await Post.filter(author_id=alice.id).count() == 0
    assert await Reaction.filter(user_id=alice.id).count() == 0

    # The end passes: she may speak again, and the pages say nothing of it any more.
    await end_now(alice, "silenced_until")
    page = await client.get(f"/t/{topic.id}")
    assert "You are silenced" not in page.text
    assert f'action="/t/{topic.id}/reply"' in page.text
    posted = await client.post(
        f"/api/v1/topics/{topic.id}/posts", headers=headers, json={"body": "back"}
    )
    assert posted.status_code == 201
    reply = await client.post(f"/t/{topic.id}/reply", data={"csrf_token": token, "body": "hi"})
    assert reply.status_code == 303
    react = await client.post(
        f"/api/v1/posts/{first.id}/reactions", headers=headers, json={"kind": "like"}
    )
    assert react.status_code == 200
    sanctions_page = await client.get(f"/u/{alice.username}/sanctions")
    assert sanctions_page.status_code == 403  # a member has no business here


async def test_a_silence_without_an_end_lasts_until_lifted_and_lifting_it_early_works(
    client: httpx.AsyncClient,
) -> None:
    moderator, alice = await staff_and_member()
    topic, _category = await a_topic()
    headers = await bearer(alice)
    staff = await bearer(moderator)
    created = await client.post(
        f"/api/v1/users/{alice.id}/sanctions",
        headers=staff,
        json={"kind": "silence", "reason": "Spam links", "until": None},
    )
    assert created.status_code == 201
    sanction = created.json()
    assert (sanction["kind"], sanction["until"], sanction["in_force"]) == ("silence", None, True)
    assert sanction["created_by"]["username"] == "mod"
    assert (await User.get(id=alice.id)).silenced_until == FOREVER
    refused = await client.post(
        f"/api/v1/topics/{topic.id}/posts", headers=headers, json={"body": "hello"}
    )
    assert "until further notice: Spam links" in refused.json()["error"]["message"]

    lifted = await client.post(
        f"/api/v1/sanctions/{sanction['id']}/lift",
        headers=staff,
        json={"reason": "Explained: the links were the agency's own"},
    )
    assert lifted.status_code == 200
    assert lifted.json()["in_force"] is False
    assert lifted.json()["lifted_by"]["username"] == "mod"
    assert lifted.json()["lift_reason"] == "Explained: the links were the agency's own"
    assert (await User.get(id=alice.id)).silenced_until is None
    posted = await client.post(
        f"/api/v1/topics/{topic.id}/posts", headers=headers, json={"body": "hello"}
    )
    assert posted.status_code == 201
    (row,) = await AuditLog.filter(action="sanction.lift")
    assert (row.actor_id, row.target_id, row.data["sanction_id"]) == (
        moderator.id,
        alice.id,
        sanction["id"],
    )
    assert row.before.startswith("9999-") and row.after == ""
    (event,) = await Event.filter(type="sanction.lifted")
    assert event.channel == f"user:{alice.id}" and event.payload["sanction_id"] == sanction["id"]
    again = await client.post(
        f"/api/v1/sanctions/{sanction['id']}/lift", headers=staff, json={"reason": "twice"}
    )
    assert again.status_code == 409
    history = await client.get(f"/api/v1/users/{alice.id}/sanctions", headers=staff)
    assert history.status_code == 200
    (entry,) = history.json()["sanctions"]
    assert entry["lift_reason"] == "Explained: the links were the agency's own"


async def test_lifting_one_silence_leaves_another_in_force(db: str) -> None:
    moderator, alice = await staff_and_member()
    short = await do_sanction(moderator, alice.id, "silence", "Short", now() + timedelta(hours=1))
    long = await do_sanction(moderator, alice.id, "silence", "Long", now() + timedelta(days=30))
    assert (await User.get(id=alice.id)).silenced_until == long.until
    await do_lift_sanction(moderator, long.id, "Too harsh")
    assert (await User.get(id=alice.id)).silenced_until == short.until
    await do_lift_sanction(moderator, short.id, "Enough")
    assert (await User.get(id=alice.id)).silenced_until is None


# --- suspension -------------------------------------------------------------------------------


async def test_a_suspended_member_cannot_log_in_and_loses_sessions_and_tokens_until_the_end(
    client: httpx.AsyncClient,
) -> None:
    moderator, alice = await staff_and_member()
    headers = await bearer(alice)
    await log_in(client, alice)
    assert 'data-user="alice"' in (await client.get("/")).text
    session = await Session.get(user_id=alice.id)
    until = now() + LATER
    sanction = await do_sanction(moderator, alice.id, "suspend", "Shared a restricted file", until)
    told = (
        f"This account is suspended until {format_moment(until, 'en')} UTC:"
        " Shared a restricted file"
    )

    # The open session and the API token stopped working.
    assert 'data-user="alice"' not in (await client.get("/")).text
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
    assert await Session.filter(user_id=alice.id, revoked_at=None).count() == 0
    assert await ApiToken.filter(user_id=alice.id, revoked_at=None).count() == 0
    (ended,) = await Event.filter(type="session.revoked", channel=f"user:{alice.id}")
    assert ended.payload["ended_sessions"] == [session.id]
    assert await Event.filter(type="user.access_revoked", channel=f"user:{alice.id}").count() == 1
    # A session that survived anyway (made behind the action's back) is nobody.
    client.cookies.clear()
    await log_in(client, alice)
    assert 'data-user="alice"' not in (await client.get("/")).text
    assert (await client.get("/api/v1/me")).status_code == 401

    # Logging in is refused with the reason, on the form and through the API.
    client.cookies.clear()
    credentials = {"email": "alice@example.org", "password": PASSWORD}
    form = await client.post("/login", data={**credentials, "csrf_token": anonymous_csrf(client)})
    assert form.status_code == 403 and told in form.text
    api = await client.post("/api/v1/auth/login", json=credentials)
    assert api.status_code == 403
    assert api.json()["error"] == {"code": "suspended", "message": told}
    token = await client.post("/api/v1/auth/tokens", json=credentials)
    assert token.status_code == 403 and token.json()["error"]["code"] == "suspended"
    # A wrong password learns nothing about the suspension.
    wrong = await client.post("/api/v1/auth/login", json={**credentials, "password": "x" * 12})
    assert wrong.status_code == 401 and "suspended" not in wrong.text
    (row,) = await AuditLog.filter(action="sanction.suspend")
    assert row.target_id == alice.id and row.data["sanction_id"] == sanction.id

    # The end passes: she logs in again.
    await end_now(alice, "suspended_until")
    form = await client.post("/login", data={**credentials, "csrf_token": anonymous_csrf(client)})
    assert form.status_code == 303
    assert 'data-user="alice"' in (await client.get("/")).text
    client.cookies.clear()
    api = await client.post("/api/v1/auth/login", json=credentials)
    assert api.status_code == 200


async def test_lifting_a_suspension_early_lets_the_member_log_in(
    client: httpx.AsyncClient,
) -> None:
    moderator, alice = await staff_and_member()
    sanction = await do_sanction(moderator, alice.id, "suspend", "Investigation", None)
    credentials = {"email": "alice@example.org", "password": PASSWORD}
    refused = await client.post("/api/v1/auth/login", json=credentials)
    assert "suspended until further notice: Investigation" in refused.json()["error"]["message"]
    await do_lift_sanction(moderator, sanction.id, "Cleared")
    assert (await User.get(id=alice.id)).suspended_until is None
    assert (await client.post("/api/v1/auth/login", json=credentials)).status_code == 200


async def test_a_suspension_closes_the_members_open_sockets(settings: Settings) -> None:
    moderator, alice = await staff_and_member()
    bob = await make_user("bob")
    async with (
        serving(settings) as served,
        ws_client(served, headers=await cookie_for(alice), origin=ORIGIN) as browser,
        ws_client(served, headers=await bearer(alice)) as script,
        ws_client(served, headers=await bearer(bob)) as other,
    ):
        for ws in (browser, script, other):
            await ws.subscribe("user")
        assert served.hub.connections_of(alice.id) == 2
        await do_sanction(moderator, alice.id, "suspend", "Compromised account?", now() + LATER)
        assert await browser.close_code() == 1008
        assert await script.close_code() == 1008
        assert served.hub.connections_of(alice.id) == 0
        assert served.hub.connections_of(bob.id) == 1
        assert await other.silence() == []


# --- who may sanction whom --------------------------------------------------------------------


async def test_members_and_visitors_cannot_sanction(client: httpx.AsyncClient) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    body = {"kind": "warn", "reason": "No"}
    path = f"/api/v1/users/{bob.id}/sanctions"
    assert (await client.post(path, json=body)).status_code == 401
    assert (await client.get(path)).status_code == 401
    member = await bearer(alice)
    refused = await client.post(path, headers=member, json=body)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert (await client.get(path, headers=member)).status_code == 403
    sanction = await do_sanction(await make_user("mod", role=Role.MODERATOR), bob.id, "warn", "x")
    lift = await client.post(
        f"/api/v1/sanctions/{sanction.id}/lift", headers=member, json={"reason": "y"}
    )
    assert lift.status_code == 403
    # Pages: a visitor is sent to log in, a member is refused.
    visitor = await client.get(f"/u/{bob.username}/sanctions")
    assert visitor.status_code == 303 and visitor.headers["location"].startswith("/login")
    token = await log_in(client, alice)
    assert (await client.get(f"/u/{bob.username}/sanctions")).status_code == 403
    posted = await client.post(
        f"/u/{bob.username}/sanctions",
        data={"csrf_token": token, "kind": "suspend", "reason": "x", "duration": "1d"},
    )
    assert posted.status_code == 403
    assert "Sanctions" not in (await client.get(f"/u/{bob.username}")).text
    with pytest.raises(Forbidden):
        await do_sanction(alice, bob.id, "suspend", "x")
    assert await Sanction.filter(kind="suspend").count() == 0


async def test_a_moderator_without_two_factor_is_asked_to_set_it_up(
    client: httpx.AsyncClient,
) -> None:
    moderator = await make_user("mod", role=Role.MODERATOR, two_factor=False)
    alice = await make_user("alice")
    refused = await client.post(
        f"/api/v1/users/{alice.id}/sanctions",
        headers=await bearer(moderator),
        json={"kind": "silence", "reason": "x"},
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "two_factor_setup_required"
    await log_in(client, moderator)
    page = await client.get(f"/u/{alice.username}/sanctions")
    assert page.status_code == 303
    assert page.headers["location"] == "/account/security?notice=staff_two_factor"
    with pytest.raises(TwoFactorSetupRequired):
        await do_sanction(moderator, alice.id, "silence", "x")
    assert await Sanction.all().count() == 0


async def test_staff_cannot_be_sanctioned_nor_can_anyone_sanction_themselves(
    client: httpx.AsyncClient,
) -> None:
    moderator = await make_user("mod", role=Role.MODERATOR)
    admin = await make_user("root", role=Role.ADMIN)
    refused = await client.post(
        f"/api/v1/users/{admin.id}/sanctions",
        headers=await bearer(moderator),
        json={"kind": "suspend", "reason": "Coup"},
    )
    assert refused.status_code == 409
    assert "cannot be sanctioned" in refused.json()["error"]["message"]
    with pytest.raises(Conflict, match="yourself"):
        await do_sanction(moderator, moderator.id, "silence", "x")
    assert await Sanction.all().count() == 0
    assert await AuditLog.filter(action__startswith="sanction.").count() == 0


async def test_bad_input_is_refused_with_a_clear_message(client: httpx.AsyncClient) -> None:
    moderator, alice = await staff_and_member()
    staff = await bearer(moderator)
    path = f"/api/v1/users/{alice.id}/sanctions"
    for body, field in (
        ({"kind": "ban", "reason": "x"}, "kind"),
        ({"kind": "warn", "reason": "   "}, "reason"),
        ({"kind": "warn", "reason": "x" * 2001}, "reason"),
        ({"kind": "silence", "reason": "x", "until": "next tuesday"}, "until"),
        ({"kind": "silence", "reason": "x", "until": "2001-01-01T00:00:00Z"}, "until"),
    ):
        refused = await client.post(path, headers=staff, json=body)
        assert refused.status_code == 422, (body, refused.text)
        assert field in refused.json()["error"]["message"].lower() or field == "until", body
    assert (await client.post("/api/v1/users/999999/sanctions", headers=staff, json={
        "kind": "warn", "reason": "x"
    })).status_code == 404  # fmt: skip
    with pytest.raises(Invalid):
        await do_sanction(moderator, alice.id, "silence", "x", now() - timedelta(seconds=1))
    assert await Sanction.all().count() == 0


# --- the staff page ---------------------------------------------------------------------------


async def test_a_moderator_sanctions_and_lifts_from_the_members_page(
    client: httpx.AsyncClient,
) -> None:
    moderator, alice = await staff_and_member()
    token = await log_in(client, moderator)
    profile = await client.get(f"/u/{alice.username}")
    assert f'href="/u/{alice.username}/sanctions"' in profile.text
    page = await client.get(f"/u/{alice.username}/sanctions")
    assert page.status_code == 200 and "No sanctions so far." in page.text

    # A mistake keeps what was typed.
    bad = await client.post(
        f"/u/{alice.username}/sanctions",
        data={"csrf_token": token, "kind": "silence", "reason": "Too loud", "duration": "custom"},
    )
    assert bad.status_code == 422 and "Give the date and time" in bad.text
    assert form_value(bad.text, "reason").strip() == "Too loud"

    done = await client.post(
        f"/u/{alice.username}/sanctions",
        data={"csrf_token": token, "kind": "silence", "reason": "Too loud", "duration": "1d"},
    )
    assert done.status_code == 303
    page = await client.get(done.headers["location"])
    assert "Sanction recorded" in page.text and "Silenced until" in page.text
    sanction = await Sanction.get(user_id=alice.id)
    assert sanction.created_by_id == moderator.id and sanction.until is not None
    assert timedelta(hours=23) < sanction.until - now() <= timedelta(days=1)

    lifted = await client.post(
        f"/sanctions/{sanction.id}/lift", data={"csrf_token": token, "reason": "Calmer now"}
    )
    assert lifted.status_code == 303
    page = await client.get(lifted.headers["location"])
    assert "Sanction lifted." in page.text and "Calmer now" in page.text
    assert "No silence or suspension in force." in page.text
    assert (await User.get(id=alice.id)).silenced_until is None

    # A silence that simply ended shows as ended.
    await do_sanction(moderator, alice.id, "silence", "Again", now() + LATER)
    assert "Silenced until" in (await client.get(f"/u/{alice.username}/sanctions")).text
    await end_now(alice, "silenced_until")
    page = await client.get(f"/u/{alice.username}/sanctions")
    assert "No silence or suspension in force." in page.text and "Ended" in page.text
    staff_profile = await client.get(f"/u/{moderator.username}")
    assert "/sanctions" not in staff_profile.text  # staff cannot be sanctioned


async def test_a_new_session_of_a_warned_member_is_looked_up_in_one_query(
    client: httpx.AsyncClient,
) -> None:
    """The warning flag rides on the session lookup: the page's query count is unchanged."""
    from forum.db import count_queries

    moderator, alice = await staff_and_member()
    key = await do_create_session(alice)
    client.cookies.set("forum_session", key)
    with count_queries() as before:
        await client.get("/bookmarks")
    await do_sanction(moderator, alice.id, "warn", "Mind the tone")
    with count_queries() as warned:
        shown = await client.get("/bookmarks")
    assert "Mind the tone" in shown.text
    # One read of the warnings and one write marking them seen: nothing else changed.
    assert len(warned.statements) >= len(before.statements) + 2
    with count_queries() as after:
        await client.get("/bookmarks")
    assert len(after.statements) == len(before.statements)
