"""The hub on its own: one encoded frame per audience, never one per connection; verdicts
shared by classes of viewers; subscribe-time reads; paced presence reports."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from forum import policy
from forum.actions.topics import do_create_topic
from forum.models import Category, Role, Topic, User, Visibility
from realtime.channels import LiveEvent, may_receive
from realtime.hub import Connection, Hub
from realtime.presence import Presence
from realtime.protocol import parse_channel
from realtime.wire import text_frame
from tests.clock import ManualClock
from tests.helpers import categories, make_user
from tests.realtime.support import _parse_frame, eventually


async def test_an_event_is_encoded_once_per_audience_and_only_for_who_may_see_it(db: str) -> None:
    cats = await categories()
    members = [await make_user(f"member{n}") for n in range(3)]
    moderator = await make_user("moderator", role=Role.MODERATOR)
    hub = Hub()
    hub._categories = {c.id: c for c in cats.values()}

    class Socket:  # records what the hub sends, as a socket that always drains would
        def __init__(self) -> None:
            self.sent: list[dict[str, Any]] = []

        async def send(self, message: dict[str, Any]) -> None:
            self.sent.append(message)

    sockets = [Socket() for _ in range(5)]
    users = [*members, moderator, None]
    conns = [Connection(s, u, None, 8) for s, u in zip(sockets, users, strict=True)]  # type: ignore[arg-type]
    for conn in conns:
        hub._add(conn, "category:cybersecurity")
    try:
        hub._fan_out(
            LiveEvent(
                7,
                "topic.created",
                "category:cybersecurity",
                cats["cybersecurity"].id,
                None,
                {"topic_id": 1, "staff_note": "new member"},
            )
        )
        *for_members, for_staff, for_anonymous = [s.sent for s in sockets]
        frames = [sent[0] for sent in for_members]
        assert frames[0] is frames[1] is frames[2]  # the same object: encoded once
        assert '"staff_note"' not in frames[0]["text"]
        assert '"staff_note"' in for_staff[0]["text"]
        # Not allowed (a members' category): no event, a forbidden notice, and the channel goes.
        [refused] = [m["text"] for m in for_anonymous]
        assert '"code":"forbidden"' in refused and '"id"' not in refused
        assert conns[-1].keys == set()
    finally:
        await hub.presence.close()


class Recorder:
    """A socket that records what the hub sends, as one that always drains would."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message["text"])


def accounts() -> dict[str, User | None]:
    """One of every kind of account the policy tells apart (not saved: the policy reads
    only the account's fields)."""
    now = datetime.now(UTC)
    kinds: dict[str, dict[str, Any] | None] = {
        "anonymous": None,
        "member": {"is_verified": True},
        "member for a year": {"is_verified": True, "verified_until": now + timedelta(days=365)},
        "lapsed member": {"is_verified": True, "verified_until": now - timedelta(days=1)},
        "unverified": {"is_verified": False},
        "inactive member": {"is_verified": True, "is_active": False},
        "moderator": {"role": Role.MODERATOR},
        "administrator": {"role": Role.ADMIN, "is_verified": True},
        "inactive administrator": {"role": Role.ADMIN, "is_active": False},
    }
    return {
        name: None if fields is None else User(id=1000 + n, username=f"u{n}", **fields)
        for n, (name, fields) in enumerate(kinds.items())
    }


async def test_verdicts_shared_by_a_class_of_viewers_are_the_policys_for_each_account(
    db: str,
) -> None:
    """Fan-out asks the policy once per class of viewers (channels.viewer_class): for every
    kind of account, key and category, what each connection gets must be exactly what
    may_receive says for its own user."""
    hub = Hub()
    categories_by_visibility = {
        v: Category(id=n + 1, slug=f"c-{v.value}", name=v.value, visibility=v)
        for n, v in enumerate(Visibility)
    }
    hub._categories = {c.id: c for c in categories_by_visibility.values()}
    users = accounts()
    try:
        event_id = 0
        for category in [*categories_by_visibility.values(), None]:
            slug = category.slug if category else "unknown"
            cases = [  # routing key, event type, event channel
                ("topic:1", "post.created", "topic:1"),
                (f"category:{slug}", "topic.created", f"category:{slug}"),
                ("latest", "topic.created", f"category:{slug}"),
                ("staff", "flag.created", "staff"),
            ]
            for key, kind, channel in cases:
                event_id += 1
                category_id = 999 if category is None else category.id  # 999: unknown
                data = {"topic_id": 1, "staff_reason": "why"}
                event = LiveEvent(event_id, kind, channel, category_id, None, data)
                conns = {
                    (name, copy): Connection(Recorder(), user, None, 8)  # type: ignore[arg-type]
                    for name, user in users.items()
                    for copy in range(2)
                }
                for conn in conns.values():
                    hub._add(conn, key)
                hub._fan_out(event)
                for (name, _copy), conn in conns.items():
                    sent = conn.websocket.sent  # type: ignore[attr-defined]
                    got = [json.loads(text) for text in sent]
                    events = [f for f in got if f["type"] == "event"]
                    allowed = may_receive(conn.user, key, event, category)
                    assert bool(events) == allowed, (name, key, slug)
                    if events:
                        staff = policy.is_staff(conn.user)
                        assert ("staff_reason" in events[0]["data"]) == staff, (name, key)
                    for other in conns.values():
                        hub._remove(other, key)
    finally:
        await hub.presence.close()


async def test_a_membership_that_lapses_while_connected_stops_delivery_from_then_on(
    db: str,
) -> None:
    cats = await categories()
    lapses = datetime.now(UTC) + timedelta(hours=1)
    lapsing = User(id=4242, username="lapsing", is_verified=True, verified_until=lapses)
    staying = User(id=4343, username="staying", is_verified=True)  # in the same class until then
    clock = ManualClock()
    hub = Hub(clock=clock)
    hub._categories = {c.id: c for c in cats.values()}
    key = "category:cybersecurity"  # members only
    conns = [Connection(Recorder(), u, None, 8) for u in (lapsing, staying)]  # type: ignore[arg-type]
    for conn in conns:
        hub._add(conn, key)

    def received(conn: Connection) -> list[str]:
        texts: list[str] = conn.websocket.sent  # type: ignore[attr-defined]
        return [json.loads(text).get("code", "event") for text in texts]

    try:
        hub._fan_out(LiveEvent(1, "topic.created", key, cats["cybersecurity"].id, None, {}))
        assert [received(c) for c in conns] == [["event"], ["event"]]
        # The hour passes, not waited for: on the hub's clock, which tells it to look at the
        # connection's class again, and in the stored expiry, which the policy reads.
        clock.advance(3600.5)
        lapsing.verified_until = datetime.now(UTC) - timedelta(seconds=1)
        hub._fan_out(LiveEvent(2, "topic.created", key, cats["cybersecurity"].id, None, {}))
        assert [received(c) for c in conns] == [["event", "forbidden"], ["event", "event"]]
        assert [c.keys for c in conns] == [set(), {key}]
    finally:
        await hub.presence.close()


async def test_a_topic_is_read_afresh_at_subscribe_and_judged_by_the_policy(db: str) -> None:
    cats = await categories()
    alice = await make_user("alice")
    moderator = await make_user("moderator", role=Role.MODERATOR)
    topic, _ = await do_create_topic(alice, cats["cybersecurity"], "Soon deleted", "x")
    hub = Hub()
    await hub._load_categories()
    channel = parse_channel(f"topic:{topic.id}")
    try:
        assert await hub._may_subscribe(alice, channel)
        assert not await hub._may_subscribe(None, channel)  # a members' category
        await Topic.filter(id=topic.id).update(deleted_at=datetime.now(UTC))
        assert not await hub._may_subscribe(alice, channel)
        assert await hub._may_subscribe(moderator, channel)
        for missing in ("topic:999999", "topic:9999999999"):
            assert not await hub._may_subscribe(moderator, parse_channel(missing))
    finally:
        await hub.presence.close()


def test_a_frame_written_directly_is_the_text_frame_a_server_sends() -> None:
    for text in ("{}", "é" * 100, "x" * 70_000):
        frame = text_frame(text)
        parsed = _parse_frame(frame)
        assert parsed is not None
        opcode, payload, used = parsed
        assert (frame[0], opcode, payload.decode(), used) == (0x81, 0x1, text, len(frame))


async def test_presence_reports_are_paced_by_the_frames_they_take() -> None:
    reports: list[int] = []

    def changed(topic_id: int, total: int) -> int:
        reports.append(total)
        return 1000  # frames: quiet for 1000 / 10,000 s

    async def publish(message: dict[str, Any]) -> None:
        return None

    presence = Presence(
        "here", publish, changed, debounce=0.05, ttl=60.0, frames_per_second=10_000.0
    )
    try:
        for n in range(1, 6):  # five announcements from another node, in quick succession
            presence.receive({"topic_id": 7, "node": "there", "users": list(range(n))}, 0.0)
        assert reports == [1]  # the first at once, the rest wait for the quiet time to end
        await eventually(lambda: reports == [1, 5], within=2.0)  # then only the latest
        loop = asyncio.get_running_loop()
        assert presence.quiet_until(7) > loop.time()  # the report of 5 took 1000 frames
        await eventually(lambda: loop.time() >= presence.quiet_until(7), within=2.0)
        assert reports == [1, 5]
        presence.receive({"topic_id": 7, "node": "there", "users": []}, 0.0)
        assert reports == [1, 5, 0]  # quiet time over: at once
        assert presence.total(7) is None
    finally:
        await presence.close()
