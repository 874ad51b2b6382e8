"""The hub's fan-out on its own: one encoded frame per audience, never one per connection."""

from __future__ import annotations

from typing import Any

from forum.models import Role
from realtime.channels import LiveEvent
from realtime.hub import Connection, Hub
from tests.helpers import categories, make_user


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
