"""The API adds no query per item: pages cost the same for 3 or 30 posts, 1 or 13 topics."""

from __future__ import annotations

import httpx

from forum.actions.posts import do_create_post
from forum.actions.reactions import do_set_reaction
from forum.actions.reading import do_set_bookmark
from forum.actions.topics import do_create_topic
from forum.db import count_queries
from forum.models import Category, Topic, User
from forum.web.fragments import clear_cache
from tests.helpers import bearer, categories, make_user


async def busy_topic(author: User, others: list[User], category: Category, posts: int) -> Topic:
    """A topic whose every post has tags around it, replies, reactions and a bookmark."""
    topic, previous = await do_create_topic(
        author, category, f"Topic with {posts} posts", "first", ["a", "b", "c"]
    )
    for i in range(posts - 1):
        previous = await do_create_post(author, topic, category, f"post {i}", reply_to=previous)
        for user in others:
            await do_set_reaction(user, previous, topic, category, "like", True)
            await do_set_reaction(user, previous, topic, category, "heart", True)
        await do_set_bookmark(others[0], previous, topic, category, True)
    return topic


async def test_a_topic_costs_the_same_queries_for_3_or_30_posts(
    client: httpx.AsyncClient, db: str
) -> None:
    cats = await categories()
    alice, bob, carol = await make_user("alice"), await make_user("bob"), await make_user("carol")
    headers = await bearer(bob)
    counts = []
    for size in (3, 30):
        topic = await busy_topic(alice, [bob, carol], cats["iot"], size)
        clear_cache()
        with count_queries() as cold:
            response = await client.get(f"/api/v1/topics/{topic.id}", headers=headers)
        with count_queries() as warm:
            again = await client.get(f"/api/v1/topics/{topic.id}", headers=headers)
        assert response.status_code == again.status_code == 200
        posts = response.json()["posts"]
        assert len(posts) == min(size, 20) and response.json()["tags"] == ["a", "b", "c"]
        assert posts[1]["reactions"] == {"like": 2, "heart": 2}
        assert posts[1]["my_reactions"] == ["like", "heart"] and posts[1]["bookmarked"]
        assert posts[1]["reply_to"] == 1 and posts[1]["reply_to_username"] == "alice"
        assert again.json() == response.json()
        counts.append((cold.count, warm.count))
    # cold: token, topic, posts, tags + reaction counts, the caller's own state
    # warm (page cached): token, topic, the caller's own state (on PostgreSQL the caller's own
    # state comes in the topic's statement: one fewer)
    apart = 1 if db.startswith("sqlite") else 0
    assert counts == [(4 + apart, 2 + apart), (4 + apart, 2 + apart)]


async def test_topic_lists_cost_the_same_queries_for_1_or_13_topics(
    client: httpx.AsyncClient, db: str
) -> None:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    headers = await bearer(bob)
    urls = ("/api/v1/categories/iot/topics", "/api/v1/latest")
    counts = []
    for total in (1, 13):
        while await Topic.all().count() < total:
            await busy_topic(alice, [bob], cats["iot"], 3)
        for url in urls:
            with count_queries() as counter:
                response = await client.get(url, headers=headers)
            assert response.status_code == 200 and len(response.json()["topics"]) == total
            assert response.json()["topics"][0]["tags"] == ["a", "b", "c"]
            counts.append(counter.count)
    # category list: token, the category, categories, topics with the caller's read state, the
    # tags of topics not seen at their version yet; latest: the same without looking the
    # category up, and without the tags, which the category list has just read. On SQLite the
    # caller's read positions are asked apart from the topics (forum.queries.sql.remembers).
    apart = 1 if db.startswith("sqlite") else 0
    assert counts == [5 + apart, 3 + apart, 5 + apart, 3 + apart]
