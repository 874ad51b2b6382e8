"""Live delivery over /ws: the right events, to the right people, in order, and no further."""

from __future__ import annotations

from typing import Any

from forum.actions.posts import do_create_post
from forum.actions.topics import do_create_topic
from forum.events import atomic, record_event
from forum.models import Category, Role, Session, Visibility
from forum.settings import Settings
from realtime import protocol
from realtime.wire import text_frame
from tests.helpers import bearer, categories, make_user
from tests.realtime.support import ORIGIN, client, cookie_for, move_topic, serving


async def test_a_subscriber_receives_new_replies_in_order(settings: Settings) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, _post = await do_create_topic(alice, cats["cybersecurity"], "Live topic", "First")
    async with serving(settings) as served, client(served, headers=await bearer(alice)) as ws:
        before, answer = await ws.subscribe(f"topic:{topic.id}")
        assert before == [] and answer["channels"] == [f"topic:{topic.id}"]
        for n in range(3):
            await do_create_post(alice, topic, cats["cybersecurity"], f"reply {n}")
        frames = await ws.events(3)
        assert [f["name"] for f in frames] == ["post.created"] * 3
        assert [f["data"]["number"] for f in frames] == [2, 3, 4]
        assert [f["channel"] for f in frames] == [f"topic:{topic.id}"] * 3
        ids = [f["id"] for f in frames]
        assert ids == sorted(ids) and ids[0] > answer["last_id"]
        assert await ws.silence() == []


async def test_members_channels_are_forbidden_to_anonymous_and_unverified_clients(
    settings: Settings,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    newcomer = await make_user("newcomer", verified=False)
    members_topic, _ = await do_create_topic(alice, cats["cybersecurity"], "Members only", "x")
    public_topic, _ = await do_create_topic(alice, cats["welcome"], "Hello all", "x")
    restricted = [f"topic:{members_topic.id}", "category:cybersecurity", "staff"]
    async with serving(settings) as served:
        async with client(served) as anonymous:
            before, answer = await anonymous.subscribe(
                *restricted, "user", "topic:999999", "latest", "category:welcome",
                f"topic:{public_topic.id}",
            )  # fmt: skip
            refused = {f["channel"] for f in before if f["code"] == "forbidden"}
            assert refused == {*restricted, "user", "topic:999999"}
            assert answer["channels"] == sorted(
                ["latest", "category:welcome", f"topic:{public_topic.id}"]
            )
        async with client(served, headers=await cookie_for(newcomer), origin=ORIGIN) as unverified:
            before, answer = await unverified.subscribe(*restricted, "user")
            assert {f["channel"] for f in before} == set(restricted)
            assert answer["channels"] == ["user"]
        async with client(served, headers=await bearer(alice)) as member:
            before, answer = await member.subscribe(*restricted)
            assert [f["channel"] for f in before] == ["staff"]
        # Nothing posted in a members' category reaches the anonymous client on `latest`.


async def test_latest_carries_only_the_new_topics_each_client_may_see(settings: Settings) -> None:
    cats = await categories()
    alice = await make_user("alice")
    admin = await make_user("secretariat", role=Role.ADMIN)
    async with (
        serving(settings) as served,
        client(served) as anonymous,
        client(served, headers=await bearer(alice)) as member,
    ):
        await anonymous.subscribe("latest")
        await member.subscribe("latest")
        hidden, _ = await do_create_topic(alice, cats["cybersecurity"], "For members", "x")
        public, _ = await do_create_topic(admin, cats["welcome"], "For everyone", "x")
        seen = await member.events(2)
        assert [(f["channel"], f["data"]["topic_id"]) for f in seen] == [
            ("latest", hidden.id),
            ("latest", public.id),
        ]
        (only,) = await anonymous.events(1)
        assert only["data"] == {
            "topic_id": public.id,
            "title": "For everyone",
            "author": admin.username,
        }
        assert await anonymous.silence() == []


async def test_a_topic_moved_to_a_staff_category_stops_reaching_members_at_once(
    settings: Settings,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    moderator = await make_user("moderator", role=Role.MODERATOR)
    staff_room = await Category.create(
        slug="staff-room", name="Staff room", visibility=Visibility.STAFF
    )
    topic, _ = await do_create_topic(alice, cats["cybersecurity"], "Soon moved", "x")
    channel = f"topic:{topic.id}"
    async with (
        serving(settings) as served,
        client(served, headers=await bearer(alice)) as member,
        client(served, headers=await bearer(moderator)) as staff,
    ):
        await member.subscribe(channel)
        await staff.subscribe(channel)
        await move_topic(topic, staff_room)
        await do_create_post(moderator, topic, staff_room, "Only staff read this now")

        dropped = await member.recv()
        assert dropped["type"] == "error" and dropped["code"] == "forbidden"
        assert dropped["channel"] == channel
        assert await member.silence() == []
        moved, posted = await staff.events(2)
        assert (moved["name"], posted["name"]) == ("topic.updated", "post.created")
        assert served.hub.connection_count == 2  # the member stays connected, unsubscribed

        _, again = await member.subscribe(channel)
        assert again["channels"] == []


async def test_a_member_whose_access_is_revoked_is_disconnected_at_once(settings: Settings) -> None:
    cats = await categories()
    alice = await make_user("alice")
    bob = await make_user("bob")
    topic, _ = await do_create_topic(bob, cats["cybersecurity"], "Still going", "x")
    async with (
        serving(settings) as served,
        client(served, headers=await bearer(alice)) as revoked,
        client(served, headers=await bearer(alice)) as second_tab,
        client(served, headers=await bearer(bob)) as other,
    ):
        for ws in (revoked, second_tab, other):
            await ws.subscribe(f"topic:{topic.id}", "user")
        assert served.hub.connections_of(alice.id) == 2
        async with atomic():  # what the membership actions record when they revoke access
            await record_event(
                "user.access_revoked", f"user:{alice.id}", {"reason": "left"}, user_id=alice.id
            )
        assert await revoked.close_code() == 1008
        assert await second_tab.close_code() == 1008
        assert served.hub.connections_of(alice.id) == 0
        await do_create_post(bob, topic, cats["cybersecurity"], "after the revocation")
        (frame,) = await other.events(1)
        assert frame["name"] == "post.created"


async def test_mentions_reach_only_the_mentioned_member_on_the_user_channel(
    settings: Settings,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    bob = await make_user("bob")
    topic, _ = await do_create_topic(bob, cats["cybersecurity"], "Who knows?", "x")
    async with (
        serving(settings) as served,
        client(served, headers=await bearer(alice)) as mentioned,
        client(served, headers=await bearer(bob)) as author,
    ):
        await mentioned.subscribe("user")
        await author.subscribe("user")
        post = await do_create_post(bob, topic, cats["cybersecurity"], "@alice do you know?")
        (frame,) = await mentioned.events(1)
        assert (frame["channel"], frame["name"]) == ("user", "mention.created")
        assert frame["data"] == {"post_id": post.id, "topic_id": topic.id, "by": "bob"}
        assert await author.silence() == []


async def test_staff_only_fields_of_a_payload_never_reach_members(settings: Settings) -> None:
    cats = await categories()
    alice = await make_user("alice")
    moderator = await make_user("moderator", role=Role.MODERATOR)
    topic, post = await do_create_topic(alice, cats["cybersecurity"], "Flagged", "x")
    async with (
        serving(settings) as served,
        client(served, headers=await bearer(alice)) as member,
        client(served, headers=await bearer(moderator)) as staff,
    ):
        await member.subscribe(f"topic:{topic.id}")
        await staff.subscribe(f"topic:{topic.id}")
        async with atomic():
            await record_event(
                "post.hidden",
                f"topic:{topic.id}",
                {"topic_id": topic.id, "post_id": post.id, "staff_reason": "spam report #4"},
                category_id=cats["cybersecurity"].id,
            )
        (seen_by_member,) = await member.events(1)
        (seen_by_staff,) = await staff.events(1)
        assert seen_by_member["data"] == {"topic_id": topic.id, "post_id": post.id}
        assert seen_by_staff["data"]["staff_reason"] == "spam report #4"
        assert seen_by_member["id"] == seen_by_staff["id"]


async def test_an_ended_login_session_closes_only_the_sockets_it_opened(
    settings: Settings,
) -> None:
    alice = await make_user("alice")
    cookie = await cookie_for(alice)
    async with (
        serving(settings) as served,
        client(served, headers=cookie, origin=ORIGIN) as browser,
        client(served, headers=await bearer(alice)) as script,
    ):
        await browser.subscribe("user")
        await script.subscribe("user")
        session = await Session.get(user_id=alice.id)
        async with atomic():  # what ending a session from the account page records
            await record_event(
                "session.revoked",
                f"user:{alice.id}",
                {"user_id": alice.id, "ended_sessions": [session.id]},
                user_id=alice.id,
            )
        assert await browser.close_code() == 1008
        (notice,) = await script.events(1)
        assert (notice["channel"], notice["name"]) == ("user", "session.revoked")
        assert served.hub.connections_of(alice.id) == 1


async def test_a_password_change_closes_token_sockets_and_the_other_sessions(
    settings: Settings,
) -> None:
    alice = await make_user("alice")
    kept, ended = await cookie_for(alice), await cookie_for(alice)
    async with (
        serving(settings) as served,
        client(served, headers=kept, origin=ORIGIN) as this_browser,
        client(served, headers=ended, origin=ORIGIN) as other_browser,
        client(served, headers=await bearer(alice)) as script,
    ):
        for ws in (this_browser, other_browser, script):
            await ws.subscribe("user")
        sessions = await Session.filter(user_id=alice.id).order_by("id")
        async with atomic():  # what a password change records (its tokens are revoked too)
            await record_event(
                "user.password_changed",
                f"user:{alice.id}",
                {"user_id": alice.id, "ended_sessions": [sessions[1].id]},
                user_id=alice.id,
            )
        assert await other_browser.close_code() == 1008
        assert await script.close_code() == 1008
        (notice,) = await this_browser.events(1)
        assert notice["name"] == "user.password_changed"
        assert served.hub.connections_of(alice.id) == 1


async def test_a_category_closed_to_members_stops_reaching_them_at_once(
    settings: Settings,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    moderator = await make_user("moderator", role=Role.MODERATOR)
    category = cats["cybersecurity"]
    async with (
        serving(settings) as served,
        client(served, headers=await bearer(alice)) as member,
        client(served, headers=await bearer(moderator)) as staff,
    ):
        await member.subscribe("category:cybersecurity")
        await staff.subscribe("category:cybersecurity")
        async with atomic():  # what an administrator's category change will record
            await Category.filter(id=category.id).update(visibility=Visibility.STAFF)
            await record_event(
                "category.updated",
                "category:cybersecurity",
                {"category_id": category.id, "visibility": "staff"},
                category_id=category.id,
            )
        dropped = await member.recv()
        assert (dropped["code"], dropped["channel"]) == ("forbidden", "category:cybersecurity")
        (changed,) = await staff.events(1)
        assert changed["name"] == "category.updated"
        await do_create_topic(moderator, category, "Staff business now", "x")
        assert (await staff.events(1))[0]["name"] == "topic.created"
        assert await member.silence() == []


async def test_event_frames_go_straight_to_the_transport_as_send_would_write_them(
    settings: Settings,
) -> None:
    """Under `forum serve`'s uvicorn protocol, fan-out writes each frame's bytes itself
    (realtime.wire): the same bytes websockets would frame, and the client reads them."""
    cats = await categories()
    alice = await make_user("alice")
    topic, _ = await do_create_topic(alice, cats["cybersecurity"], "Straight through", "x")
    async with serving(settings) as served, client(served, headers=await bearer(alice)) as ws:
        await ws.subscribe(f"topic:{topic.id}")
        [conn] = served.hub._conns
        assert conn.direct is not None
        assert "response" not in vars(conn.direct.protocol)  # the handshake is let go
        transport = conn.direct.transport
        written: list[bytes] = []
        write = transport.write

        def recording(data: bytes) -> None:
            written.append(bytes(data))
            write(data)

        sent_the_asgi_way: list[Any] = []

        async def send(message: Any) -> None:
            sent_the_asgi_way.append(message)

        transport.write = recording  # type: ignore[method-assign]
        conn.websocket.send = send  # type: ignore[method-assign]
        await do_create_post(alice, topic, cats["cybersecurity"], "reply")
        (frame,) = await ws.events(1)
        assert frame["name"] == "post.created"
        assert text_frame(protocol.encode(frame)) in written
        assert sent_the_asgi_way == []
