"""What a hostile, broken or slow client gets: a clear error or a clear close, never a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from forum.actions.topics import do_create_topic
from forum.events import atomic, record_event
from forum.settings import Settings
from realtime.limits import Limits
from realtime.protocol import MAX_FRAME_BYTES
from tests.clock import ManualClock
from tests.helpers import bearer, categories, make_user
from tests.realtime.support import (
    ORIGIN,
    RawClient,
    client,
    close_code,
    cookie_for,
    eventually,
    serving,
)


async def test_a_cookie_handshake_from_another_origin_is_refused_before_accept(
    settings: Settings,
) -> None:
    alice = await make_user("alice")
    cookie = await cookie_for(alice)
    async with serving(settings) as served:
        for origin in ("http://evil.example", None):
            with pytest.raises(InvalidStatus) as refused:
                await connect(served.url, additional_headers=cookie, origin=origin, open_timeout=5)  # type: ignore[arg-type]
            assert refused.value.response.status_code == 403
        assert served.hub.connection_count == 0

        async with client(served, headers=cookie, origin=ORIGIN) as same_site:
            _, answer = await same_site.subscribe("user")
            assert answer["channels"] == ["user"]
        evil = "http://evil.example"
        async with client(served, headers=await bearer(alice), origin=evil) as with_token:
            _, answer = await with_token.subscribe("user")
            assert answer["channels"] == ["user"]
        async with client(served, origin=evil) as anonymous:
            before, _ = await anonymous.subscribe("user")
            assert before[0]["code"] == "forbidden"


async def test_malformed_frames_get_bad_request_and_the_connection_stays_usable(
    settings: Settings,
) -> None:
    async with serving(settings) as served, client(served) as ws:
        for bad in (
            "not json",
            "[1, 2]",
            '{"type": "dance"}',
            '{"type": "subscribe", "channels": "latest"}',
            '{"type": "subscribe", "channels": ["topic:abc"]}',
            '{"type": "subscribe", "channels": ["latest"], "since": -1}',
            '{"type": "typing", "topic": true}',
            "[" * 10_000 + "]" * 10_000,
        ):
            await ws.send(bad)
            answer = await ws.recv()
            assert (answer["type"], answer["code"]) == ("error", "bad_request"), bad
        await ws.ws.send(b"\x00binary")
        assert (await ws.recv())["code"] == "bad_request"
        await ws.send({"type": "ping"})
        assert await ws.recv() == {"type": "pong"}


async def test_a_frame_over_64_kib_closes_the_connection_with_1009(settings: Settings) -> None:
    async with serving(settings) as served, client(served) as ws:
        await ws.send(json.dumps({"type": "ping", "pad": "x" * (MAX_FRAME_BYTES - 100)}))
        assert await ws.recv() == {"type": "pong"}  # just under the limit is fine
        await ws.send("x" * (MAX_FRAME_BYTES + 1))
        assert await ws.close_code() == 1009
        assert served.hub.connection_count == 0


async def test_a_client_sending_too_fast_is_told_then_closed_with_1008(settings: Settings) -> None:
    clock = ManualClock()  # time moves only when the test says so
    async with (
        serving(settings, limits=Limits(rate=5, burst=5, abuse=10), clock=clock) as served,
        client(served) as ws,
    ):
        for _ in range(10):
            await ws.send({"type": "ping"})
        answers = [await ws.recv()]
        while answers[-1]["type"] == "pong":
            answers.append(await ws.recv())
        assert len(answers) - 1 == 5  # the burst, and nothing refilled
        assert (answers[-1]["type"], answers[-1]["code"]) == ("error", "rate_limited")
        assert await ws.silence(0.1) == []  # the other extra frames were dropped quietly
        await ws.send({"type": "ping"})
        assert await ws.silence(0.1) == []  # still no token

        clock.advance(0.5)  # two and a half tokens come back (5 a second)
        for _ in range(2):
            await ws.send({"type": "ping"})
            assert await ws.recv() == {"type": "pong"}

        for _ in range(60):  # persistent abuse
            await ws.send({"type": "ping"})
        assert await ws.close_code() == 1008


async def test_too_many_channels_on_one_connection_is_a_bad_request(settings: Settings) -> None:
    """Channels the client may follow, one more than the limit: the extra one is refused
    as too many (not as forbidden), and the connection keeps the ones it had."""
    cats = await categories()
    topic, _ = await do_create_topic(await make_user("alice"), cats["welcome"], "Hello all", "x")
    async with serving(settings, limits=Limits(max_channels=2)) as served, client(served) as ws:
        before, answer = await ws.subscribe("latest", "category:welcome")
        assert before == [] and sorted(answer["channels"]) == ["category:welcome", "latest"]
        before, answer = await ws.subscribe(f"topic:{topic.id}")  # public: allowed, one too many
        assert [(f["code"], f["message"]) for f in before] == [
            ("bad_request", "Too many channels on one connection.")
        ]
        assert sorted(answer["channels"]) == ["category:welcome", "latest"]


async def test_a_client_that_stops_reading_is_closed_and_never_slows_the_others(
    settings: Settings,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, _ = await do_create_topic(alice, cats["welcome"], "Firehose", "x")
    channel = f"topic:{topic.id}"
    async with (
        serving(settings, limits=Limits(queue_size=8, close_timeout=3.0)) as served,
        client(served) as fast,
    ):
        slow = await RawClient.connect(served)
        try:
            await fast.subscribe(channel)
            await slow.send_text(json.dumps({"type": "subscribe", "channels": [channel]}))
            await eventually(lambda: len(served.hub._subs.get(channel, ())) == 2)
            # The kernel takes up to tcp_wmem's maximum (4 MiB here) for a peer that does not
            # read, then uvicorn 64 KiB, and only then does the hub's queue fill: send more.
            pad = 60_000
            count = (kernel_send_buffer() * 5 // 4 + 256 * 1024) // pad + 16
            async with atomic():  # one burst of big events
                for n in range(count):
                    await record_event(
                        "post.edited",
                        channel,
                        {"topic_id": topic.id, "n": n, "pad": "x" * pad},
                        category_id=cats["welcome"].id,
                    )
            received = [f["data"]["n"] for f in await fast.events(count, within=5)]
            assert received == list(range(count))
            await eventually(lambda: served.hub.connection_count == 1)
            frames = await slow.frames()  # the slow client reads again: what was sent, then
            assert close_code(frames) == 1013  # the close
            texts = [json.loads(p) for op, p in frames if op == 0x1]
            got = [t["data"]["n"] for t in texts if t.get("type") == "event"]
            assert got == list(range(len(got))) and len(got) < count
        finally:
            slow.close()


async def test_a_client_that_never_reads_again_is_cut_off_after_the_close_timeout(
    settings: Settings,
) -> None:
    """Its queue fills, the hub closes it with 1013, but the close frame cannot be written
    either (the transport is paused): after close_timeout the transport is aborted, so the
    connection really ends instead of lingering as a zombie that receives nothing."""
    cats = await categories()
    alice = await make_user("alice")
    topic, _ = await do_create_topic(alice, cats["welcome"], "Firehose", "x")
    channel = f"topic:{topic.id}"
    async with serving(settings, limits=Limits(queue_size=8, close_timeout=0.5)) as served:
        slow = await RawClient.connect(served)
        try:
            await slow.send_text(json.dumps({"type": "subscribe", "channels": [channel]}))
            await eventually(lambda: len(served.hub._subs.get(channel, ())) == 1)
            [conn] = served.hub._subs[channel]
            assert conn.direct is not None  # served by uvicorn's sans-I/O protocol
            transport = conn.direct.transport
            pad = 60_000
            count = (kernel_send_buffer() * 5 // 4 + 256 * 1024) // pad + 16
            async with atomic():
                for n in range(count):
                    await record_event(
                        "post.edited",
                        channel,
                        {"topic_id": topic.id, "n": n, "pad": "x" * pad},
                        category_id=cats["welcome"].id,
                    )
            await eventually(lambda: served.hub.connection_count == 0)
            await eventually(transport.is_closing)  # aborted, though the client never read
        finally:
            slow.close()


def kernel_send_buffer() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    except (OSError, ValueError, IndexError):
        return 4 * 1024 * 1024


async def test_a_client_that_does_not_answer_pings_is_closed_by_the_heartbeat(
    settings: Settings,
) -> None:
    async with serving(settings, ping_interval=0.2, ping_timeout=0.3) as served:
        silent = await RawClient.connect(served)
        try:
            await eventually(lambda: served.hub.connection_count == 1)
            frames = await silent.frames(within=3)  # a ping it never answers, then the close
            await eventually(lambda: served.hub.connection_count == 0)
        finally:
            silent.close()
        assert frames[0][0] == 0x9
        assert close_code(frames) == 1011


async def test_stopping_the_hub_closes_every_socket_with_1012(settings: Settings) -> None:
    alice = await make_user("alice")
    async with (
        serving(settings) as served,
        client(served) as anonymous,
        client(served, headers=await bearer(alice)) as member,
    ):
        await anonymous.subscribe("latest")
        await member.subscribe("user")
        await served.hub.stop()  # what the lifespan does at shutdown
        assert await anonymous.close_code() == 1012
        assert await member.close_code() == 1012
        assert served.hub.connection_count == 0
