"""The actions layer: every state change, its validation, its events and its permissions."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from forum.actions.posts import do_create_post, do_delete_post, do_edit_post
from forum.actions.reactions import do_set_reaction
from forum.actions.reading import do_mark_read
from forum.actions.topics import do_create_topic, do_update_topic
from forum.errors import Forbidden, Invalid
from forum.events import set_broker
from forum.models import Event, Mention, PostRevision, Role, Topic
from forum.queries.topics import list_topics, topic_page
from realtime.broker import MemoryBroker
from tests.helpers import categories, make_user


async def test_a_new_topic_has_its_first_post_tags_and_one_logged_event(db: str) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, post = await do_create_topic(
        alice, cats["ai-ml"], "  Risk   targeting with ML ", "Hello **all**", ["AI", "risk", "ai"]
    )
    assert topic.title == "Risk targeting with ML"
    assert post.number == 1 and post.html == "<p>Hello <strong>all</strong></p>"
    page = await topic_page(alice, topic.id)
    assert page.tags == ["ai", "risk"]
    assert [e.type for e in await Event.all().order_by("id")] == ["post.created", "topic.created"]


async def test_events_are_published_only_after_commit(db: str) -> None:
    cats = await categories()
    alice = await make_user("alice")
    broker = MemoryBroker()
    set_broker(broker)
    received = []
    stream = broker.subscribe()
    try:
        import asyncio

        reader = asyncio.create_task(anext(stream))
        await asyncio.sleep(0)
        with pytest.raises(Invalid):
            await do_create_topic(alice, cats["ai-ml"], "ok title", "")
        topic, _ = await do_create_topic(alice, cats["ai-ml"], "A fine title", "body")
        received.append(await asyncio.wait_for(reader, 1))
    finally:
        set_broker(None)
        await stream.aclose()
    assert received[0]["type"] == "post.created"
    assert received[0]["data"]["topic_id"] == topic.id
    assert await Topic.all().count() == 1


@pytest.mark.parametrize(
    ("title", "body", "tags"),
    [
        ("abcd", "body", []),
        ("x" * 201, "body", []),
        ("Good title", "   ", []),
        ("Good title", "x" * 50_001, []),
        ("Good title", "body", ["a", "b", "c", "d", "e", "f"]),
        ("Good title", "body", ["not a <tag>"]),
    ],
)
async def test_bad_topic_input_is_refused_and_nothing_is_written(
    db: str, title: str, body: str, tags: list[str]
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    with pytest.raises(Invalid):
        await do_create_topic(alice, cats["ai-ml"], title, body, tags)
    assert await Topic.all().count() == 0


async def test_unverified_users_and_members_in_staff_categories_cannot_post(db: str) -> None:
    cats = await categories()
    newcomer = await make_user("newcomer", verified=False)
    member = await make_user("member")
    with pytest.raises(Forbidden):
        await do_create_topic(newcomer, cats["welcome"], "Hello there", "hi")
    with pytest.raises(Forbidden):
        await do_create_topic(member, cats["announcements"], "My announcement", "hi")


async def test_a_closed_topic_refuses_replies_from_members_but_not_staff(db: str) -> None:
    cats = await categories()
    alice = await make_user("alice")
    mod = await make_user("mod", role=Role.MODERATOR)
    topic, _ = await do_create_topic(alice, cats["drones"], "Drone patrols", "first")
    await do_update_topic(mod, topic, cats["drones"], closed=True)
    with pytest.raises(Forbidden):
        await do_create_post(alice, topic, cats["drones"], "late reply")
    await do_create_post(mod, topic, cats["drones"], "closing note")
    with pytest.raises(Forbidden):
        await do_update_topic(alice, topic, cats["drones"], closed=False)


async def test_editing_keeps_every_revision_and_rerenders(db: str) -> None:
    cats = await categories()
    alice = await make_user("alice")
    bob = await make_user("bob")
    topic, post = await do_create_topic(alice, cats["iot"], "Electronic seals", "v1")
    await do_edit_post(alice, post, topic, cats["iot"], "v2 *now*")
    assert post.html == "<p>v2 <em>now</em></p>" and post.version == 2
    revisions = await PostRevision.filter(post_id=post.id).order_by("version")
    assert [r.source for r in revisions] == ["v1", "v2 *now*"]
    with pytest.raises(Forbidden):
        await do_edit_post(bob, post, topic, cats["iot"], "vandalism")


async def test_reactions_are_one_per_user_and_kind(db: str) -> None:
    cats = await categories()
    alice = await make_user("alice")
    bob = await make_user("bob")
    topic, post = await do_create_topic(alice, cats["iot"], "Electronic seals", "v1")
    await do_set_reaction(bob, post, topic, cats["iot"], "like", True)
    counts = await do_set_reaction(bob, post, topic, cats["iot"], "like", True)
    assert counts == {"like": 1}
    counts = await do_set_reaction(alice, post, topic, cats["iot"], "heart", True)
    assert counts == {"like": 1, "heart": 1}
    counts = await do_set_reaction(bob, post, topic, cats["iot"], "like", False)
    assert counts == {"heart": 1}
    with pytest.raises(Invalid):
        await do_set_reaction(bob, post, topic, cats["iot"], "angry", True)


async def test_mentions_are_recorded_once_for_existing_users(db: str) -> None:
    cats = await categories()
    alice = await make_user("alice")
    bob = await make_user("bob")
    topic, post = await do_create_topic(
        alice, cats["iot"], "Electronic seals", "cc @bob and @nobody and @bob again"
    )
    await do_edit_post(alice, post, topic, cats["iot"], "cc @bob, edited")
    assert await Mention.filter(post_id=post.id).values_list("user_id", flat=True) == [bob.id]
    assert await Event.filter(type="mention.created", channel=f"user:{bob.id}").count() == 1


async def test_soft_deleted_posts_keep_their_place_but_not_their_text(db: str) -> None:
    cats = await categories()
    alice = await make_user("alice")
    bob = await make_user("bob")
    topic, first = await do_create_topic(alice, cats["iot"], "Electronic seals", "one")
    second = await do_create_post(bob, topic, cats["iot"], "secret words")
    await do_delete_post(bob, second, topic, cats["iot"])
    page = await topic_page(alice, topic.id)
    assert [v.post.number for v in page.posts] == [1, 2]
    assert page.posts[1].visible is False


async def test_unread_counts_follow_the_read_position(db: str) -> None:
    cats = await categories()
    alice = await make_user("alice")
    bob = await make_user("bob")
    topic, _ = await do_create_topic(alice, cats["iot"], "Electronic seals", "one")
    await do_mark_read(bob, topic, 1)
    for i in range(3):
        await do_create_post(alice, topic, cats["iot"], f"reply {i}")
    listing = await list_topics(bob)
    assert listing.rows[0].unread == 3
    page = await topic_page(bob, topic.id)
    assert page.first_unread_number == 2


async def test_a_rolled_back_transaction_publishes_nothing_and_nesting_publishes_once_at_the_end(
    db: str,
) -> None:
    """Events recorded inside `atomic()` reach the broker only after the OUTERMOST commit:
    a failure after the event was recorded (inside the transaction) publishes nothing and
    leaves no row; a nested block's events wait for the outer block."""
    from forum.events import atomic, record_event
    from forum.models import Event

    broker = MemoryBroker()
    set_broker(broker)
    heard: list[dict[str, object]] = []
    stream = broker.subscribe()

    async def listen() -> None:
        async for message in stream:
            heard.append(message)

    listener = asyncio.create_task(listen())
    await asyncio.sleep(0)  # the subscription is registered on its first step
    try:
        with pytest.raises(RuntimeError):
            async with atomic():
                await record_event("test.rolled_back", "category:iot", {"n": 1})
                raise RuntimeError("after the event was written")
        assert not await Event.filter(type="test.rolled_back").exists()
        async with atomic():
            await record_event("test.outer", "category:iot", {"n": 2})
            async with atomic():
                await record_event("test.inner", "category:iot", {"n": 3})
            await asyncio.sleep(0)
            assert heard == []  # the inner block's commit published nothing yet
        for _ in range(100):  # both arrive, in order, once the outer block committed
            if len(heard) == 2:
                break
            await asyncio.sleep(0.01)
        assert [m["type"] for m in heard] == ["test.outer", "test.inner"]
    finally:
        set_broker(None)
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
