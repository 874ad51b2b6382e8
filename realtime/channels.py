"""Who may hear what: events from the broker, the channels they reach, and the policy checks.

An event names its audience (`topic:<id>`, `category:<slug>`, `user:<id>`, `staff`) and carries
the category it belongs to. A client's channel maps to one routing key: `user` becomes
`user:<its own id>`, `latest` hears every `topic.created`. Whether a connection may receive an
event is asked of forum.policy with the event's category, at delivery time: a topic moved to a
staff category stops reaching members with the first event that says so. On topic keys the
question is the page's (`policy.can_see_topic`), so a merged (deleted) topic stops reaching
members too.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from forum import policy
from forum.models import Category, Topic, User
from realtime.protocol import Channel

# Events that steer the hub and are never shown to clients.
INTERNAL_TYPES = frozenset({"user.access_revoked"})
# Payload keys with this prefix reach staff only (e.g. a moderator's reason for hiding a post).
STAFF_ONLY_PREFIX = "staff_"


@dataclass(slots=True)
class LiveEvent:
    """An event as the broker carries it (forum.events.event_message), or an ephemeral one."""

    id: int | None
    type: str
    channel: str
    category_id: int | None
    user_id: int | None
    data: dict[str, Any]

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> LiveEvent | None:
        """Validate what came over the wire; anything malformed is ignored, not trusted."""
        event_id = message.get("id")
        ephemeral = message.get("ephemeral") is True
        kind, channel = message.get("type"), message.get("channel")
        category_id, user_id = message.get("category_id"), message.get("user_id")
        data = message.get("data")
        if ephemeral:
            event_id = None
        elif isinstance(event_id, bool) or not isinstance(event_id, int) or event_id <= 0:
            return None
        if not isinstance(kind, str) or not isinstance(channel, str):
            return None
        if not all(v is None or (isinstance(v, int) and not isinstance(v, bool))
                   for v in (category_id, user_id)):  # fmt: skip
            return None
        return cls(
            event_id, kind, channel, category_id, user_id, data if isinstance(data, dict) else {}
        )


def routing_key(channel: Channel, user: User | None) -> str | None:
    """The key a subscription listens on, or None when the channel needs a signed-in user."""
    if channel.kind == "user":
        return None if user is None else f"user:{user.id}"
    return channel.name


def label(key: str) -> str:
    """The channel name a client sees for a routing key."""
    return "user" if key.startswith("user:") else key


def routes(event: LiveEvent) -> tuple[str, ...]:
    """The routing keys an event reaches."""
    channel = event.channel
    if channel.startswith("category:"):
        return (channel, "latest") if event.type == "topic.created" else (channel,)
    if channel.startswith(("topic:", "user:")) or channel == "staff":
        return (channel,)
    return ()


def kind_of(key: str) -> str:
    return key.split(":", 1)[0]


def may_receive(
    user: User | None,
    key: str,
    event: LiveEvent,
    category: Category | None,
    kind: str = "",
    topic: Topic | None = None,
) -> bool:
    """May this user receive this event on this routing key? Fails closed. (`kind` is
    `kind_of(key)`, passed in by fan-out loops that ask once per connection.)

    On a `topic:<id>` key, `topic` is that topic as the hub last knew it: the page's own
    question, `policy.can_see_topic`, is asked (a deleted or merged topic reaches only its
    category's moderators), with the topic in the event's category. Without it (a topic
    this process does not follow), only the category is asked."""
    kind = kind or kind_of(key)
    if kind == "staff":
        return policy.is_staff(user)
    if kind == "user":
        if user is None or key != f"user:{user.id}":
            return False
        if event.category_id is None:
            return True
    if category is None:  # no category, or one this process does not know: staff only
        return policy.is_staff(user)
    if kind == "topic" and topic is not None:
        return policy.can_see_topic(user, in_category(topic, category.id), category)
    return policy.can_see_category(user, category)


def in_category(topic: Topic, category_id: int) -> Topic:
    """The topic as an event finds it: in the event's category (a replayed event from before
    a move names the category it was in then)."""
    if topic.category_id == category_id:
        return topic
    moved = copy.copy(topic)
    moved.category_id = category_id
    return moved


def judged_alone(topic: Topic | None) -> bool:
    """Whether viewers of this topic must be judged one by one rather than by class: a
    deleted topic is for the moderators of its category, who are not a viewer class."""
    return topic is not None and topic.deleted_at is not None


def viewer_class(user: User | None, now: float | None = None) -> tuple[int, float]:
    """The class of viewers this user belongs to now (or at the timestamp `now`: the hub's
    clock), and the wall-clock time (a timestamp) until which that holds.

    Fan-out asks `may_receive` once per event, routing key and class, and reuses the verdict
    for every connection of the class: on topic, category, `latest` and `staff` keys the
    policy's answer depends on the user only through `policy.is_staff` and `policy.is_member`
    (`can_see_category` by visibility; staff only without a known category; `can_see_topic`
    of a topic that is not deleted), so these two are the class (tests/realtime/test_hub.py
    checks the verdicts against every kind of account). `user:<id>` keys, and the key of a
    deleted topic (`judged_alone`: its category's moderators only), are judged per
    connection. A socket keeps the user of its handshake, so only time changes the class: a
    verification that lapses at `verified_until`.
    """
    at = None if now is None else datetime.fromtimestamp(now, UTC)
    staff, member = policy.is_staff(user), policy.is_member(user, at)
    until = math.inf
    if member and not staff and user is not None and user.verified_until is not None:
        lapses = user.verified_until
        until = (lapses if lapses.tzinfo else lapses.replace(tzinfo=UTC)).timestamp()
    return (2 if staff else 0) + (1 if member else 0), until


def client_data(data: dict[str, Any], staff: bool) -> dict[str, Any]:
    if staff or not any(k.startswith(STAFF_ONLY_PREFIX) for k in data):
        return data
    return {k: v for k, v in data.items() if not k.startswith(STAFF_ONLY_PREFIX)}


def may_subscribe_simple(user: User | None, channel: Channel) -> bool:
    """latest, user and staff; topic and category channels need a database lookup."""
    if channel.kind == "latest":
        return True  # what each event reaches is decided per event
    if channel.kind == "user":
        return user is not None
    if channel.kind == "staff":
        return policy.is_staff(user)
    raise ValueError(channel.kind)
