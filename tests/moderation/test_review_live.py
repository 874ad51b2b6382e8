"""The queue over WebSocket: a moderator hears their categories' items only, and a hidden or
held post never reaches a member's socket."""

from __future__ import annotations

import pytest

from forum.actions.posts import do_create_post
from forum.actions.topics import do_create_topic
from forum.errors import Held
from forum.models import Role, User
from forum.settings import Settings
from moderation import review
from tests.helpers import bearer, categories, make_user
from tests.realtime.support import client, serving

HELD_TEXT = "A held reply nobody else may read"


async def test_a_category_moderator_hears_only_their_categories_items(settings: Settings) -> None:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    everywhere = await make_user("mod", role=Role.MODERATOR)
    scoped = await make_user("scoped", role=Role.MODERATOR)
    await User.filter(id=scoped.id).update(moderator_categories=[cats["drones"].id])
    iot, _ = await do_create_topic(alice, cats["iot"], "Electronic seals", "first")
    drones, _ = await do_create_topic(alice, cats["drones"], "Drone patrols", "first")
    async with (
        serving(settings) as served,
        client(served, headers=await bearer(everywhere)) as global_ws,
        client(served, headers=await bearer(scoped)) as scoped_ws,
    ):
        await global_ws.subscribe("user", "staff")
        await scoped_ws.subscribe("user", "staff")

        post = await do_create_post(alice, iot, cats["iot"], "an iot post")
        item = await review.do_flag(bob, post, iot, cats["iot"], "spam")
        await review.do_decide(everywhere, item.id, "ignore")

        heard = await global_ws.events(2)
        assert [f["data"]["pending"] for f in heard] == [1, 0]
        assert heard[1]["data"]["item_id"] == item.id
        assert await scoped_ws.silence() == []

        other = await do_create_post(alice, drones, cats["drones"], "a drone post")
        await review.do_flag(bob, other, drones, cats["drones"], "spam")
        (scoped_frame,) = await scoped_ws.events(1)
        assert scoped_frame["name"] == "review.counts" and scoped_frame["data"]["pending"] == 1
        (global_frame,) = await global_ws.events(1)
        assert global_frame["data"]["pending"] == 1


@pytest.mark.moderation_defaults
async def test_held_and_hidden_posts_never_reach_a_members_socket(settings: Settings) -> None:
    cats = await categories()
    mod = await make_user("mod", role=Role.MODERATOR)
    member, newcomer = await make_user("member"), await make_user("newcomer")
    topic, _ = await do_create_topic(mod, cats["iot"], "Electronic seals", "first")
    await review.moderation_settings.store({"approve_first_posts": 0})
    established = await do_create_post(member, topic, cats["iot"], "a member's sensitive reply")
    await review.moderation_settings.store({"approve_first_posts": 1})
    async with (
        serving(settings) as served,
        client(served, headers=await bearer(member)) as ws,
    ):
        await ws.subscribe(f"topic:{topic.id}", "category:iot", "latest", "user", "staff")
        with pytest.raises(Held):
            await do_create_post(newcomer, topic, cats["iot"], HELD_TEXT)
        await review.do_flag(mod, established, topic, cats["iot"], "sensitive")  # hides it

        frames = await ws.silence(0.6)
        # The placeholder, and (the member wrote it) the notice that it was hidden: no text.
        assert sorted(f["name"] for f in frames) == ["notification.created", "post.hidden"]
        assert HELD_TEXT not in str(frames) and "sensitive reply" not in str(frames)
