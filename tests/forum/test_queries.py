"""Reads cost a constant number of queries, and cached pages never show stale content."""

from __future__ import annotations

from forum.actions.posts import do_create_post, do_delete_post, do_edit_post
from forum.actions.reactions import do_set_reaction
from forum.actions.reading import do_set_bookmark
from forum.actions.topics import do_create_topic, do_update_topic
from forum.db import count_queries
from forum.models import Category, Role, Topic, User
from forum.queries.topics import TopicPage, list_topics, topic_page
from tests.helpers import categories, make_user


async def busy_topic(author: User, others: list[User], category: Category, posts: int) -> Topic:
    topic, first = await do_create_topic(
        author, category, f"Topic with {posts} posts", "first", ["a", "b", "c"]
    )
    previous = first
    for i in range(posts - 1):
        previous = await do_create_post(author, topic, category, f"post {i}", reply_to=previous)
        for user in others:
            await do_set_reaction(user, previous, topic, category, "like", True)
        await do_set_bookmark(others[0], previous, topic, category, True)
    return topic


async def test_a_topic_page_costs_the_same_queries_for_3_or_30_posts(db: str) -> None:
    cats = await categories()
    alice, bob, carol = await make_user("alice"), await make_user("bob"), await make_user("carol")
    small = await busy_topic(alice, [bob, carol], cats["iot"], 3)
    large = await busy_topic(alice, [bob, carol], cats["iot"], 30)
    counts = []
    for topic in (small, large):
        with count_queries() as cold:
            page = await topic_page(bob, topic.id)
        with count_queries() as warm:
            await topic_page(bob, topic.id)
        counts.append((cold.count, warm.count))
        assert page.posts[1].mine == {"like"} and page.posts[1].bookmarked
    # cold: topic, posts, tags+reaction counts, the viewer's own state; warm: topic, own state
    # (on PostgreSQL the viewer's own state comes in the topic's statement: one fewer)
    apart = 1 if db.startswith("sqlite") else 0
    assert counts == [(3 + apart, 1 + apart), (3 + apart, 1 + apart)]


async def test_a_viewers_own_marks_show_on_every_page_of_a_long_topic(db: str) -> None:
    """Reactions, bookmarks and the read position come with the page asked for: a page near a
    post, the earlier page before it and the page after (on PostgreSQL they are read in the
    topic's statement, the page's posts named by the terms that read them)."""
    from forum.actions.reading import do_mark_read
    from forum.models import Post

    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    topic, _first = await do_create_topic(alice, cats["iot"], "A long topic", "first")
    for n in range(2, 46):
        await do_create_post(alice, topic, cats["iot"], f"post {n}")
    by_number = {p.number: p for p in await Post.filter(topic_id=topic.id)}
    for number in (21, 25, 44):
        await do_set_reaction(bob, by_number[number], topic, cats["iot"], "insightful", True)
    await do_set_bookmark(bob, by_number[22], topic, cats["iot"], True)
    await do_mark_read(bob, topic, 30)

    def marks(page: TopicPage) -> dict[int, tuple[set[str], bool]]:
        return {v.post.number: (v.mine, v.bookmarked) for v in page.posts if v.mine or v.bookmarked}

    near = await topic_page(bob, topic.id, near=22)
    assert [v.post.number for v in near.posts] == list(range(22, 42))
    assert marks(near) == {22: (set(), True), 25: ({"insightful"}, False)}
    assert near.last_read == 30
    assert near.prev_cursor is not None and near.next_cursor is not None
    earlier = await topic_page(bob, topic.id, cursor=near.prev_cursor)
    assert [v.post.number for v in earlier.posts] == list(range(2, 22))
    assert marks(earlier) == {21: ({"insightful"}, False)}
    later = await topic_page(bob, topic.id, cursor=near.next_cursor)
    assert [v.post.number for v in later.posts] == list(range(42, 46))
    assert marks(later) == {44: ({"insightful"}, False)}
    # another member's marks are theirs alone
    assert marks(await topic_page(alice, topic.id, near=22)) == {}


async def test_a_topic_list_costs_the_same_queries_for_any_number_of_topics(db: str) -> None:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    await busy_topic(alice, [bob], cats["iot"], 2)
    with count_queries() as few:
        await list_topics(bob, category=cats["iot"])
    for i in range(12):
        await busy_topic(alice, [bob], cats["iot"], 2 + i % 3)
    with count_queries() as many:
        listing = await list_topics(bob, category=cats["iot"])
    assert len(listing.rows) == 13
    # categories, the topics with their authors, the tags not known yet; the member's read
    # positions are read with the topics on PostgreSQL, apart on SQLite (where every member
    # then shares the list's remembered answer: forum.queries.sql.remembers)
    assert few.count == many.count == (4 if db.startswith("sqlite") else 3)


async def test_cached_pages_show_every_change_at_once(db: str) -> None:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    mod = await make_user("mod", role=Role.MODERATOR)
    iot = cats["iot"]
    topic, first = await do_create_topic(alice, iot, "Electronic seals", "original")
    await topic_page(bob, topic.id)  # warm the cache

    await do_set_reaction(bob, first, topic, iot, "heart", True)
    assert (await topic_page(alice, topic.id)).posts[0].reactions == {"heart": 1}

    await do_edit_post(alice, first, topic, iot, "edited *text*")
    assert (await topic_page(bob, topic.id)).posts[0].post.html == "<p>edited <em>text</em></p>"

    reply = await do_create_post(bob, topic, iot, "a reply")
    assert [v.post.number for v in (await topic_page(bob, topic.id)).posts] == [1, 2]

    await do_delete_post(bob, reply, topic, iot)
    assert (await topic_page(alice, topic.id)).posts[1].visible is False

    await do_update_topic(mod, topic, iot, closed=True, tags=["sealed"])
    page = await topic_page(alice, topic.id)
    assert page.topic.closed and page.tags == ["sealed"] and not page.can_reply


async def test_paging_through_a_category_shows_every_topic_once_pinned_first(db: str) -> None:
    cats = await categories()
    alice = await make_user("alice")
    mod = await make_user("mod", role=Role.MODERATOR)
    iot = cats["iot"]
    created = []
    for i in range(35):
        topic, _ = await do_create_topic(alice, iot, f"Topic number {i}", "body")
        created.append(topic)
    for topic in (created[3], created[20]):
        await do_update_topic(mod, topic, iot, pinned=True)
    await do_create_post(alice, created[0], iot, "bump the oldest topic")

    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        listing = await list_topics(alice, category=iot, cursor=cursor, limit=10)
        seen.extend(row.topic.id for row in listing.rows)
        pages += 1
        cursor = listing.next_cursor
        if cursor is None:
            break
    expected = [created[20].id, created[3].id, created[0].id] + [
        t.id for t in reversed(created) if t not in (created[0], created[3], created[20])
    ]
    assert pages == 4 and seen == expected

    latest = await list_topics(alice, limit=50)
    assert latest.rows[0].topic.id == created[0].id  # "latest" ignores pins
