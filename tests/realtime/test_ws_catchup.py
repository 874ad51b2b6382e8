"""Catch-up: `since` replays what a client missed, once, in order, then it continues live."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from forum import events
from forum.actions.posts import do_create_post
from forum.actions.topics import do_create_topic
from forum.events import atomic, record_event
from forum.models import Event
from forum.settings import Settings
from realtime.limits import Limits
from tests.helpers import bearer, categories, make_user
from tests.realtime.support import client, eventually, serving, start, stop


def numbers(frames: list[dict[str, Any]]) -> list[int]:
    return [f["data"]["number"] for f in frames if f.get("name") == "post.created"]


async def test_since_replays_missed_events_once_in_order_then_continues_live(
    settings: Settings,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, _ = await do_create_topic(alice, cats["cybersecurity"], "Catch me up", "1")
    channel = f"topic:{topic.id}"
    headers = await bearer(alice)
    async with serving(settings) as served:
        async with client(served, headers=headers) as first:
            _, answer = await first.subscribe(channel)
            await do_create_post(alice, topic, cats["cybersecurity"], "2")
            (seen,) = await first.events(1)
        since = seen["id"]
        for n in (3, 4, 5):  # while the client is away
            await do_create_post(alice, topic, cats["cybersecurity"], str(n))
        async with client(served, headers=headers) as again:
            replayed, answer = await again.subscribe(channel, since=since)
            assert numbers(replayed) == [3, 4, 5]
            assert [f["id"] for f in replayed] == sorted(f["id"] for f in replayed)
            assert answer["last_id"] == replayed[-1]["id"]
            await do_create_post(alice, topic, cats["cybersecurity"], "6")
            (live,) = await again.events(1)
            assert live["data"]["number"] == 6
            assert await again.silence() == []


async def test_catch_up_works_across_a_server_restart(settings: Settings) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, _ = await do_create_topic(alice, cats["cybersecurity"], "Restarts happen", "1")
    channel = f"topic:{topic.id}"
    headers = await bearer(alice)
    served = await start(settings)
    try:
        async with client(served, headers=headers) as ws:
            _, answer = await ws.subscribe(channel)
            await stop(served)
            assert await ws.close_code() == 1012
        since = answer["last_id"]
        for n in (2, 3):  # while no server runs
            await do_create_post(alice, topic, cats["cybersecurity"], str(n))
        served = await start(settings, port=served.port)
        async with client(served, headers=headers) as ws:
            replayed, _ = await ws.subscribe(channel, since=since)
            assert numbers(replayed) == [2, 3]
            await do_create_post(alice, topic, cats["cybersecurity"], "4")
            assert numbers(await ws.events(1)) == [4]
    finally:
        await stop(served)


async def test_a_since_older_than_the_retained_log_gets_resync(settings: Settings) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, _ = await do_create_topic(alice, cats["cybersecurity"], "Long ago", "1")
    old = await Event.filter(type="post.created").first()
    assert old is not None
    await Event.filter(id__lte=old.id).update(created_at=datetime.now(UTC) - timedelta(days=8))
    async with serving(settings) as served, client(served, headers=await bearer(alice)) as ws:
        before, answer = await ws.subscribe(f"topic:{topic.id}", "user", since=old.id - 1)
        assert sorted(f["channel"] for f in before if f["type"] == "resync") == [
            f"topic:{topic.id}",
            "user",
        ]
        assert not [f for f in before if f["type"] == "event"]
        assert sorted(answer["channels"]) == sorted([f"topic:{topic.id}", "user"])
        await do_create_post(alice, topic, cats["cybersecurity"], "live again")
        assert numbers(await ws.events(1)) == [2]


async def test_more_missed_events_than_the_replay_limit_get_resync(settings: Settings) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, _ = await do_create_topic(alice, cats["cybersecurity"], "Busy topic", "1")
    since = (await Event.all().order_by("-id").first().values("id"))["id"]  # type: ignore[index]
    for n in range(4):
        await do_create_post(alice, topic, cats["cybersecurity"], f"r{n}")
    async with (
        serving(settings, limits=Limits(replay_limit=3)) as served,
        client(served, headers=await bearer(alice)) as ws,
    ):
        before, _ = await ws.subscribe(f"topic:{topic.id}", since=since)
        assert before == [{"type": "resync", "channel": f"topic:{topic.id}"}]


async def test_a_replay_racing_live_posts_has_no_gap_and_no_duplicate(settings: Settings) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, _ = await do_create_topic(alice, cats["cybersecurity"], "Race to the log", "1")
    async with serving(settings) as served, client(served, headers=await bearer(alice)) as ws:
        made: list[int] = []

        async def post_many() -> None:
            for n in range(2, 22):
                made.append(
                    (await do_create_post(alice, topic, cats["cybersecurity"], str(n))).number
                )

        poster = asyncio.create_task(post_many())
        await eventually(lambda: len(made) >= 3)  # some in the log before, the rest racing
        frames, _ = await ws.subscribe(f"topic:{topic.id}", since=0)
        await poster
        seen = numbers(frames)
        while len(seen) < 21:
            seen += numbers(await ws.events(1))
        assert seen == list(range(1, 22))
        assert await ws.silence() == []


async def test_a_missing_event_is_read_from_the_log_before_later_ones_go_out(
    settings: Settings,
) -> None:
    """An event the broker never carried (Redis was down for that one) is filled in, in order."""
    cats = await categories()
    alice = await make_user("alice")
    topic, _ = await do_create_topic(alice, cats["cybersecurity"], "Lost and found", "1")
    async with serving(settings) as served, client(served, headers=await bearer(alice)) as ws:
        await ws.subscribe(f"topic:{topic.id}")
        broker = events.get_broker()
        events.set_broker(None)  # this commit is not published
        await do_create_post(alice, topic, cats["cybersecurity"], "2")
        events.set_broker(broker)
        await do_create_post(alice, topic, cats["cybersecurity"], "3")
        frames = await ws.events(2)
        assert numbers(frames) == [2, 3]


async def test_a_client_ahead_of_this_worker_is_not_sent_what_it_has(settings: Settings) -> None:
    """Another worker showed the client an event this one has not received yet."""
    cats = await categories()
    alice = await make_user("alice")
    topic, _ = await do_create_topic(alice, cats["cybersecurity"], "Two workers", "1")
    limits = Limits(poll_interval=0.5)
    async with serving(settings, limits=limits) as served:
        broker = events.get_broker()
        events.set_broker(None)
        async with atomic():
            ahead = await record_event(
                "post.created",
                f"topic:{topic.id}",
                {"topic_id": topic.id, "post_id": 0, "number": 99, "author": "elsewhere"},
                category_id=cats["cybersecurity"].id,
            )
        events.set_broker(broker)
        async with client(served, headers=await bearer(alice)) as ws:
            before, answer = await ws.subscribe(f"topic:{topic.id}", since=ahead.id)
            assert before == [] and answer["last_id"] == ahead.id
            # The worker reads the log (every poll_interval) and reaches that event.
            hub = served.app.state.hub
            await eventually(lambda: hub.delivered_up_to >= ahead.id, within=5.0)
            await do_create_post(alice, topic, cats["cybersecurity"], "2")
            frames = [f for f in await ws.silence(1.0) if f["type"] == "event"]
            assert numbers(frames) == [2]


async def test_a_replay_of_latest_holds_only_the_topics_the_client_may_see(
    settings: Settings,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    async with serving(settings) as served:
        async with client(served) as anonymous:
            _, answer = await anonymous.subscribe("latest")
        hidden, _ = await do_create_topic(alice, cats["cybersecurity"], "Members only", "x")
        public, _ = await do_create_topic(alice, cats["welcome"], "Hello everyone", "x")
        async with client(served) as anonymous:
            replayed, _ = await anonymous.subscribe("latest", since=answer["last_id"])
            assert [(f["channel"], f["data"]["topic_id"]) for f in replayed] == [
                ("latest", public.id)
            ]
        async with client(served, headers=await bearer(alice)) as member:
            replayed, _ = await member.subscribe("latest", since=answer["last_id"])
            assert [f["data"]["topic_id"] for f in replayed] == [hidden.id, public.id]
