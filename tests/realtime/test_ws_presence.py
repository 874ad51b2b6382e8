"""Typing notices and "N members reading": ephemeral, through the broker, never stored."""

from __future__ import annotations

from forum.actions.topics import do_create_topic
from forum.models import Event
from forum.settings import Settings
from realtime.limits import Limits
from tests.helpers import bearer, categories, make_user
from tests.realtime.support import client, serving

FAST = Limits(presence_debounce=0.05, typing_interval=1.0)


async def test_typing_reaches_the_other_readers_of_the_topic_but_not_the_typist(
    settings: Settings,
) -> None:
    cats = await categories()
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    topic, _ = await do_create_topic(alice, cats["cybersecurity"], "Who is typing?", "x")
    other, _ = await do_create_topic(carol, cats["cybersecurity"], "Somewhere else", "x")
    events_before = await Event.all().count()
    async with (
        serving(settings, limits=FAST) as served,
        client(served, headers=await bearer(alice)) as typist,
        client(served, headers=await bearer(bob)) as reader,
        client(served, headers=await bearer(carol)) as elsewhere,
    ):
        await typist.subscribe(f"topic:{topic.id}")
        await reader.subscribe(f"topic:{topic.id}")
        await elsewhere.subscribe(f"topic:{other.id}")
        await typist.send({"type": "typing", "topic": topic.id})
        assert await reader.recv() == {
            "type": "event",
            "channel": f"topic:{topic.id}",
            "name": "typing",
            "data": {"username": "alice"},
        }
        await typist.send({"type": "typing", "topic": topic.id})  # too soon: dropped
        assert await reader.silence() == []
        assert await typist.silence(0.1) == [] and await elsewhere.silence(0.1) == []

        await elsewhere.send({"type": "typing", "topic": topic.id})  # not subscribed there
        refused = await elsewhere.recv()
        assert (refused["code"], refused["channel"]) == ("forbidden", f"topic:{topic.id}")
    assert await Event.all().count() == events_before  # nothing of it was stored


async def test_anonymous_readers_may_not_type(settings: Settings) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, _ = await do_create_topic(alice, cats["welcome"], "Public square", "x")
    async with serving(settings, limits=FAST) as served, client(served) as anonymous:
        await anonymous.subscribe(f"topic:{topic.id}")
        await anonymous.send({"type": "typing", "topic": topic.id})
        assert (await anonymous.recv())["code"] == "forbidden"


async def test_presence_counts_the_distinct_members_reading_a_topic(settings: Settings) -> None:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    topic, _ = await do_create_topic(alice, cats["welcome"], "Who is here?", "x")
    channel = f"topic:{topic.id}"
    alice_headers = await bearer(alice)
    async with (
        serving(settings, limits=FAST) as served,
        client(served) as guest,
        client(served, headers=alice_headers) as first_tab,
        client(served, headers=alice_headers) as second_tab,
    ):
        await guest.subscribe(channel)
        await first_tab.subscribe(channel)
        await guest.reading(1)
        await second_tab.subscribe(channel)  # the same member again: still one
        await second_tab.reading(1)
        async with client(served, headers=await bearer(bob)) as bob_tab:
            await bob_tab.subscribe(channel)
            await guest.reading(2)
            await first_tab.reading(2)
        await guest.reading(1)
        await second_tab.send({"type": "unsubscribe", "channels": [channel]})
        await first_tab.reading(1)  # alice still reads in her first tab
        assert guest.presence[-1]["data"] == {"reading": 1}
        assert "id" not in guest.presence[-1]
