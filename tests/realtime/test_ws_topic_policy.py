"""Delivery asks the page's question on topic channels (`policy.can_see_topic`): a topic
that a moderator merges (deleting it) stops reaching those who may no longer read it."""

from __future__ import annotations

from forum.actions.topics import do_create_topic
from forum.models import Role
from forum.settings import Settings
from tests.helpers import bearer, categories, make_user
from tests.realtime.support import client, http, serving


async def test_a_merged_topic_stops_reaching_its_members_and_other_categories_moderators(
    settings: Settings,
) -> None:
    """A moderator merges a topic through the API: its members hear the merge (live.js
    follows it), then lose the channel, as the page now sends them elsewhere; a moderator of
    another category loses it too (a deleted topic is for its category's moderators). The
    category's moderator keeps it; what happens there later reaches no one else."""
    cats = await categories()
    alice = await make_user("alice")
    moderator = await make_user("moderator", role=Role.MODERATOR)
    elsewhere = await make_user("elsewhere", role=Role.MODERATOR)
    elsewhere.moderator_categories = [cats["drones"].id]
    await elsewhere.save(update_fields=["moderator_categories"])
    target, _ = await do_create_topic(alice, cats["iot"], "Electronic seals", "one")
    source, _ = await do_create_topic(alice, cats["iot"], "More on seals", "two")
    channel = f"topic:{source.id}"
    async with (
        serving(settings) as served,
        client(served, headers=await bearer(alice)) as member,
        client(served, headers=await bearer(elsewhere)) as other_moderator,
        client(served, headers=await bearer(moderator)) as staff,
    ):
        await member.subscribe(channel, "latest")
        await other_moderator.subscribe(channel)
        await staff.subscribe(channel)
        async with http(served, await bearer(moderator)) as api:
            merged = await api.post(f"/api/v1/topics/{source.id}/merge", json={"into": target.id})
            assert merged.status_code == 200, merged.text

            for ws in (member, other_moderator):
                (notice,) = await ws.events(1)
                assert (notice["name"], notice["data"]) == (
                    "topic.merged",
                    {"topic_id": source.id, "into": target.id},
                )
                dropped = await ws.recv()
                assert (dropped["type"], dropped["code"], dropped["channel"]) == (
                    "error",
                    "forbidden",
                    channel,
                )
            (notice,) = await staff.events(1)
            assert notice["name"] == "topic.merged"

            # Later, on the merged topic: the moderator who may still read it types there.
            await staff.send({"type": "typing", "topic": source.id})
            created = await api.post(
                "/api/v1/topics",
                json={"category": "iot", "title": "Afterwards", "body": "x", "tags": []},
            )
            assert created.status_code == 201, created.text
        (latest,) = await member.events(1)  # in order: the typing notice would be first
        assert (latest["channel"], latest["name"]) == ("latest", "topic.created")
        assert await other_moderator.silence() == []
        _, again = await member.subscribe(channel)
        assert again["channels"] == ["latest"]
