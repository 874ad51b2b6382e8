"""The wire protocol, the rate limiter and the sequencer, on their own."""

from __future__ import annotations

import json

import pytest

from realtime.channels import LiveEvent, client_data, routes
from realtime.limits import TokenBucket, Verdict
from realtime.protocol import (
    MAX_FRAME_BYTES,
    Ping,
    ProtocolError,
    Subscribe,
    Typing,
    Unsubscribe,
    parse_channel,
    parse_frame,
    too_large,
)
from realtime.sequence import Sequencer


def test_client_frames_parse_into_typed_values() -> None:
    frame = parse_frame(
        '{"type":"subscribe","channels":["topic:42","latest","topic:42"],"since":7}'
    )
    assert isinstance(frame, Subscribe) and frame.since == 7
    assert [c.name for c in frame.channels] == ["topic:42", "latest"]  # duplicates folded
    assert frame.channels[0].topic_id == 42
    assert parse_frame('{"type":"subscribe","channels":["user"]}') == Subscribe(
        (parse_channel("user"),), None
    )
    assert isinstance(parse_frame('{"type":"unsubscribe","channels":["staff"]}'), Unsubscribe)
    assert parse_frame('{"type":"ping"}') == Ping()
    assert parse_frame('{"type":"typing","topic":3}') == Typing(3)
    assert parse_channel("category:3d-printing").slug == "3d-printing"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "null",
        '"subscribe"',
        '{"type":"subscribe"}',
        '{"type":"subscribe","channels":[]}',
        '{"type":"subscribe","channels":["topic:0"]}',
        '{"type":"subscribe","channels":["topic:01"]}',
        '{"type":"subscribe","channels":["category:Bad Slug"]}',
        '{"type":"subscribe","channels":["user:7"]}',
        '{"type":"subscribe","channels":[7]}',
        '{"type":"subscribe","channels":["latest"],"since":"7"}',
        '{"type":"subscribe","channels":["latest"],"since":1.5}',
        '{"type":"subscribe","channels":["latest"],"since":' + "9" * 5000 + "}",
        json.dumps({"type": "subscribe", "channels": [f"topic:{n}" for n in range(1, 60)]}),
        '{"type":"typing","topic":0}',
        '{"type":"typing"}',
        '{"type":"PING"}',
    ],
)
def test_malformed_client_frames_are_protocol_errors(text: str) -> None:
    with pytest.raises(ProtocolError):
        parse_frame(text)


def test_the_size_limit_counts_utf8_bytes() -> None:
    assert not too_large("x" * MAX_FRAME_BYTES)
    assert too_large("x" * (MAX_FRAME_BYTES + 1))
    assert too_large("é" * (MAX_FRAME_BYTES // 2 + 1))  # two bytes each
    assert not too_large("é" * (MAX_FRAME_BYTES // 2))


def test_events_route_to_their_channel_and_new_topics_also_to_latest() -> None:
    def event(kind: str, channel: str) -> LiveEvent:
        return LiveEvent(1, kind, channel, 1, None, {})

    assert routes(event("topic.created", "category:ai-ml")) == ("category:ai-ml", "latest")
    assert routes(event("category.updated", "category:ai-ml")) == ("category:ai-ml",)
    assert routes(event("post.created", "topic:4")) == ("topic:4",)
    assert routes(event("mention.created", "user:9")) == ("user:9",)
    assert routes(event("review.counts", "staff")) == ("staff",)
    assert routes(event("post.created", "elsewhere")) == ()


def test_broker_messages_are_validated_before_they_are_trusted() -> None:
    good = {"id": 3, "type": "post.created", "channel": "topic:1", "category_id": 2, "data": {}}
    assert LiveEvent.from_message(good) is not None
    for bad in ({**good, "id": "3"}, {**good, "id": True}, {**good, "channel": None}):
        assert LiveEvent.from_message(bad) is None
    ephemeral = LiveEvent.from_message({**good, "id": 99, "ephemeral": True, "type": "typing"})
    assert ephemeral is not None and ephemeral.id is None


def test_staff_only_payload_keys_are_dropped_for_everyone_else() -> None:
    data = {"post_id": 1, "staff_reason": "spam"}
    assert client_data(data, staff=False) == {"post_id": 1}
    assert client_data(data, staff=True) is data


def test_the_token_bucket_allows_a_burst_warns_once_then_calls_abuse() -> None:
    bucket = TokenBucket(rate=10, burst=3, abuse=5, now=0.0)
    verdicts = [bucket.take(0.0) for _ in range(9)]
    assert verdicts[:3] == [Verdict.ACCEPT] * 3
    assert verdicts[3] == Verdict.WARN
    assert verdicts[4:8] == [Verdict.DROP] * 4
    assert verdicts[8] == Verdict.ABUSE
    calm = TokenBucket(rate=10, burst=3, abuse=5, now=0.0)
    assert all(calm.take(n * 0.1) == Verdict.ACCEPT for n in range(100))  # 10/s is fine


class E:
    def __init__(self, id: int) -> None:
        self.id: int | None = id


def ids(events: list[E]) -> list[int | None]:
    return [e.id for e in events]


def test_the_sequencer_releases_events_in_id_order_once_each() -> None:
    seq: Sequencer[E] = Sequencer(high=10, hold=0.5)
    assert ids(seq.push(E(11), now=0)) == [11]
    assert ids(seq.push(E(13), now=0)) == []  # 12 is missing: wait
    assert ids(seq.push(E(14), now=0.1)) == []
    assert seq.deadline == 0.5
    assert ids(seq.push(E(12), now=0.2)) == [12, 13, 14]
    assert seq.deadline is None
    assert ids(seq.push(E(13), now=0.3)) == []  # a duplicate
    assert ids(seq.push(E(9), now=0.3)) == [9]  # late beats lost


def test_the_sequencer_gives_up_on_a_gap_after_the_hold() -> None:
    seq: Sequencer[E] = Sequencer(high=0, hold=0.5)
    assert ids(seq.push(E(2), now=0)) == []
    assert not seq.expired(0.4) and seq.expired(0.5)
    assert seq.held_up_to == 2
    assert ids(seq.release()) == [2]
    assert seq.high == 2 and seq.deadline is None
    assert ids(seq.push(E(1), now=1)) == [1]  # it came after all: delivered, late
    assert ids(seq.push(E(1), now=1)) == []


def test_limits_read_two_bounds_from_the_environment() -> None:
    from forum.settings import SettingsError
    from realtime.limits import Limits

    limits = Limits.from_env({"FORUM_WS_QUEUE_SIZE": "64", "FORUM_WS_POLL_SECONDS": "0.5"})
    assert (limits.queue_size, limits.poll_interval) == (64, 0.5)
    assert Limits.from_env({}) == Limits()
    with pytest.raises(SettingsError, match="FORUM_WS_QUEUE_SIZE"):
        Limits.from_env({"FORUM_WS_QUEUE_SIZE": "many"})


def test_the_sequencer_drops_held_events_the_log_does_not_know() -> None:
    seq: Sequencer[E] = Sequencer(high=5, hold=0.5)
    assert ids(seq.push(E(10**9), now=0)) == []  # not from this forum
    assert seq.discard_held(keep=set()) == [10**9]
    assert seq.deadline is None and seq.high == 5
    assert ids(seq.push(E(6), now=1)) == [6]
