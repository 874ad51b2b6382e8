"""Search through the real actions, on SQLite and (when configured) PostgreSQL: both languages,
every filter, and the index following every change in the same transaction."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from forum.actions.posts import do_create_post, do_delete_post, do_edit_post
from forum.actions.topics import do_create_topic, do_update_topic
from forum.errors import Held
from forum.models import Administration, Category, Post, Region, ReviewItem, Role, Topic, User
from moderation import review
from moderation.topics import do_merge_topic, do_move_topic
from search import query
from search.index import rebuild
from search.query import PAGE_SIZE, SearchRequest, search
from tests.helpers import categories, make_user
from tests.search.support import count, found, kinds


async def _belgian(username: str) -> User:
    adm, _ = await Administration.get_or_create(
        country_code="BE", defaults={"name": "Belgium", "region": Region.EUR}
    )
    user = await make_user(username)
    await User.filter(id=user.id).update(administration_id=adm.id)
    return await User.get(id=user.id)


async def test_french_and_english_words_are_found_with_or_without_accents_and_across_forms(
    db: str,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    fr, fr_post = await do_create_topic(
        alice,
        cats["ai-ml"],
        "Les douanes et la qualité des données",
        "Les contrôles des déclarations exportées chaque trimestre.",
    )
    en, en_post = await do_create_topic(
        alice, cats["ai-ml"], "Custom risk engines", "Customs officers review the risks daily."
    )

    assert ("topic", fr.id) in await found(alice, "douane")  # singular finds plural
    assert ("topic", fr.id) in await found(alice, "DOUANES")
    assert ("topic", fr.id) in await found(alice, "donnees")  # without the accent
    assert ("topic", fr.id) in await found(alice, "données")
    assert ("topic", fr.id) in await found(alice, "qualite donnee")
    assert ("post", fr_post.id) in await found(alice, "controle declaration exporter")
    assert ("topic", en.id) in await found(alice, "customs")
    assert ("post", en_post.id) in await found(alice, "custom officer risk")
    assert ("post", en_post.id) in await found(alice, "reviewing")
    assert await found(alice, "douane custom") == []  # every word must match


async def test_a_quoted_phrase_needs_its_words_together_and_in_order(db: str) -> None:
    cats = await categories()
    alice = await make_user("alice")
    _t, together = await do_create_topic(
        alice, cats["iot"], "Seals on transit", "electronic seals on every truck"
    )
    _t, apart = await do_create_topic(
        alice, cats["iot"], "Other seals", "seals that are electronic, of course"
    )

    assert set(await found(alice, "electronic seals", kind="post")) == {
        ("post", together.id),
        ("post", apart.id),
    }
    assert await found(alice, '"electronic seals"', kind="post") == [("post", together.id)]
    assert await found(alice, '"seals electronic"', kind="post") == []


async def test_each_filter_narrows_the_results(db: str) -> None:
    cats = await categories()
    alice = await _belgian("alice")
    bob = await make_user("bob")
    t1, p1 = await do_create_topic(alice, cats["iot"], "Scanner pilot", "scanner trial", ["pilot"])
    t2, p2 = await do_create_topic(bob, cats["drones"], "Scanner drones", "scanner flights")
    reply = await do_create_post(bob, t1, cats["iot"], "scanner results from us")
    old = datetime(2024, 3, 1, 12, tzinfo=UTC)
    await Post.filter(id=p2.id).update(created_at=old)
    await rebuild()  # the stored time was rewritten behind the actions' back

    everything = {("topic", t1.id), ("topic", t2.id), ("post", p1.id), ("post", p2.id)}
    everything.add(("post", reply.id))
    assert set(await found(alice, "scanner")) == everything
    assert set(await found(alice, "scanner", kind="topic")) == {("topic", t1.id), ("topic", t2.id)}
    assert set(await found(alice, "scanner", category="drones")) == {
        ("topic", t2.id),
        ("post", p2.id),
    }
    assert set(await found(alice, "scanner", author="bob")) == {
        ("topic", t2.id),
        ("post", p2.id),
        ("post", reply.id),
    }
    assert set(await found(alice, "scanner", administration="BE")) == {
        ("topic", t1.id),
        ("post", p1.id),
    }
    assert set(await found(alice, "scanner", region="EUR")) == {("topic", t1.id), ("post", p1.id)}
    assert set(await found(alice, "scanner", tag="pilot")) == {
        ("topic", t1.id),
        ("post", p1.id),
        ("post", reply.id),
    }
    assert set(await found(alice, "scanner", topic=t1.id)) == {
        ("topic", t1.id),
        ("post", p1.id),
        ("post", reply.id),
    }
    assert set(await found(alice, "scanner", kind="post", date_to=date(2024, 3, 1))) == {
        ("post", p2.id)
    }
    today = datetime.now(UTC).date()
    assert ("post", p2.id) not in await found(alice, "scanner", date_from=today)
    assert len(await found(alice, "scanner", date_from=today)) == 4
    # Unknown names in filters find nothing rather than everything.
    for unknown in ({"author": "nobody"}, {"category": "nope"}, {"tag": "none"}):
        assert await found(alice, "scanner", **unknown) == []
    assert await found(alice, "scanner", administration="ZZ") == []


async def test_sorting_by_date_puts_the_newest_first_and_relevance_prefers_titles(
    db: str,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, first = await do_create_topic(alice, cats["iot"], "Blockchain origin", "some words")
    later = await do_create_post(alice, topic, cats["iot"], "blockchain blockchain again")
    await Post.filter(id=first.id).update(created_at=datetime.now(UTC) - timedelta(days=3))
    await Topic.filter(id=topic.id).update(created_at=datetime.now(UTC) - timedelta(days=3))
    await rebuild()

    by_date = await found(alice, "blockchain", sort="date")
    assert by_date == [("post", later.id), ("topic", topic.id)]
    by_relevance = await found(alice, "blockchain")
    assert set(by_relevance) == set(by_date)


async def test_results_come_in_pages_with_a_right_count(db: str) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, _first = await do_create_topic(alice, cats["iot"], "Paging topic here", "nothing")
    for n in range(PAGE_SIZE + 5):
        await do_create_post(alice, topic, cats["iot"], f"container number {n}")

    first = await search(alice, SearchRequest(q="container"))
    assert first.count == PAGE_SIZE + 5 and not first.more_than
    assert len(first.results) == PAGE_SIZE and first.next_offset == PAGE_SIZE
    second = await search(alice, SearchRequest(q="container", offset=PAGE_SIZE))
    assert len(second.results) == 5 and second.next_offset is None
    seen = {r.ref_id for r in first.results} | {r.ref_id for r in second.results}
    assert len(seen) == PAGE_SIZE + 5


async def test_matches_gathered_window_by_window_are_those_of_one_search(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Matches are gathered newest first in windows of time going back (on PostgreSQL, the
    last 30 days first; here one day, on both backends): with matches spread over years,
    order, count, date filters and the cut-off at the limits stay those of one search."""
    monkeypatch.setattr(
        query, "FIRST_WINDOW", {"postgres": timedelta(days=1), "sqlite": timedelta(days=1)}
    )
    cats = await categories()
    alice = await make_user("alice")
    topic, _first = await do_create_topic(alice, cats["iot"], "Windows of time", "nothing")
    ages = [0, 0, 1, 3, 10, 45, 200, 800, 3000]  # days
    posts = [await do_create_post(alice, topic, cats["iot"], f"tariff note {n}") for n in ages]
    now = datetime.now(UTC)
    for i, (post, days) in enumerate(zip(posts, ages, strict=True)):
        await Post.filter(id=post.id).update(created_at=now - timedelta(days=days, minutes=5 + i))
    await rebuild()
    newest_first = [("post", p.id) for p in posts]

    assert await found(alice, "tariff", sort="date") == newest_first
    assert set(await found(alice, "tariff")) == set(newest_first)
    assert await count(alice, "tariff") == len(ages)
    since = now.date() - timedelta(days=50)
    assert await found(alice, "tariff", sort="date", date_from=since) == newest_first[:6]
    until = now.date() - timedelta(days=100)
    assert await found(alice, "tariff", sort="date", date_to=until) == newest_first[6:]
    assert await found(alice, "tariff note", sort="date", date_from=since, date_to=until) == []
    # Enough found in the first windows: the newest ones are ranked, the count is capped.
    monkeypatch.setattr(query, "CANDIDATES", 4)
    monkeypatch.setattr(query, "COUNT_CAP", 3)
    page = await search(alice, SearchRequest(q="tariff"))
    assert {(r.kind, r.ref_id) for r in page.results} == set(newest_first[:4])
    assert page.count == 3 and page.more_than
    # Others' restricted matches in between are skipped, not counted.
    await do_delete_post(alice, posts[2], topic, cats["iot"])
    page = await search(alice, SearchRequest(q="tariff"))
    assert {(r.kind, r.ref_id) for r in page.results} == {newest_first[i] for i in (0, 1, 3, 4)}


async def test_the_index_follows_edits_deletes_and_retitles_at_once(db: str) -> None:
    cats = await categories()
    alice = await make_user("alice")
    mod = await make_user("mod", role=Role.MODERATOR)
    topic, post = await do_create_topic(alice, cats["iot"], "Tracking devices", "zeppelin words")
    assert await count(alice, "zeppelin") == 1

    await do_edit_post(alice, post, topic, cats["iot"], "dirigible words")
    assert await count(alice, "zeppelin") == 0
    assert await found(alice, "dirigible") == [("post", post.id)]

    await do_update_topic(alice, topic, cats["iot"], title="Tracking balloons")
    assert await found(alice, "balloon") == [("topic", topic.id)]
    assert await count(alice, "devices") == 0
    await do_update_topic(mod, topic, cats["iot"], title="Tracking airships")
    assert await found(alice, "airship") == [("topic", topic.id)]

    reply = await do_create_post(alice, topic, cats["iot"], "a dirigible reply")
    await do_delete_post(alice, reply, topic, cats["iot"])
    assert await found(alice, "dirigible") == [("post", post.id)]


async def test_hidden_posts_leave_the_index_and_come_back_when_shown(db: str) -> None:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    mod = await make_user("mod", role=Role.MODERATOR)
    topic, _first = await do_create_topic(alice, cats["iot"], "Flag me topic", "first")
    post = await do_create_post(alice, topic, cats["iot"], "offensive kumquat text")

    item = await review.do_flag(mod, post, topic, cats["iot"], "spam")  # the threshold at once
    assert (await Post.get(id=post.id)).hidden
    for viewer in (alice, bob, mod, None):
        assert await count(viewer, "kumquat") == 0
    await review.do_decide(mod, item.id, "unhide")
    assert await found(bob, "kumquat") == [("post", post.id)]
    other = await make_user("mod2", role=Role.MODERATOR)
    again = await review.do_flag(other, await Post.get(id=post.id), topic, cats["iot"], "spam")
    assert await count(bob, "kumquat") == 0
    await review.do_decide(mod, again.id, "delete", "gone")
    assert await count(bob, "kumquat") == 0


async def test_a_moved_topic_follows_its_new_categorys_visibility(db: str) -> None:
    cats = await categories()
    alice = await make_user("alice")
    mod = await make_user("mod", role=Role.MODERATOR)
    topic, post = await do_create_topic(alice, cats["iot"], "Moving ferret topic", "ferret text")
    room = await Category.create(
        slug="staff-room", name="Staff room", visibility="staff", posting_right="staff"
    )
    assert await count(alice, "ferret") == 2

    await do_move_topic(mod, topic, cats["iot"], room)
    assert await count(alice, "ferret") == 0
    assert await count(mod, "ferret") == 2
    assert set(await found(mod, "ferret", category="staff-room")) == {
        ("topic", topic.id),
        ("post", post.id),
    }


async def test_a_merged_topics_posts_are_found_in_the_target(db: str) -> None:
    cats = await categories()
    alice = await make_user("alice")
    mod = await make_user("mod", role=Role.MODERATOR)
    source, post = await do_create_topic(alice, cats["iot"], "Source wombat", "wombat body")
    target, _tp = await do_create_topic(alice, cats["drones"], "Target topic", "target body")

    await do_merge_topic(mod, source, cats["iot"], target, cats["drones"])
    assert await found(alice, "wombat") == [("post", post.id)]
    page = await search(alice, SearchRequest(q="wombat"))
    assert page.results[0].topic_id == target.id and page.results[0].title == "Target topic"
    assert await found(alice, "wombat", topic=target.id) == [("post", post.id)]
    assert await found(alice, "wombat", category="iot") == []


async def test_held_posts_are_not_searchable_until_approved(db: str) -> None:
    cats = await categories()
    old = await make_user("old")
    topic, _first = await do_create_topic(old, cats["iot"], "Approval topic", "first")
    newcomer = await make_user("newcomer")
    mod = await make_user("mod", role=Role.MODERATOR)
    await Category.filter(id=cats["iot"].id).update(requires_approval=True)
    iot = await Category.get(id=cats["iot"].id)

    with pytest.raises(Held):
        await do_create_post(newcomer, topic, iot, "awaiting narwhal approval")
    with pytest.raises(Held):
        await do_create_topic(newcomer, iot, "Narwhal topic title", "held topic")
    for viewer in (old, newcomer, mod):
        assert await count(viewer, "narwhal") == 0

    for item in await ReviewItem.filter(author_id=newcomer.id).order_by("id"):
        await review.do_decide(mod, item.id, "approve")
    assert await kinds(old, "narwhal") == {"topic", "post"}
    assert await count(old, "narwhal") == 2  # the reply and the new topic's title


async def test_rebuild_gives_the_same_answers_as_the_actions(db: str) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, post = await do_create_topic(alice, cats["iot"], "Rebuild topic", "quokka text")
    reply = await do_create_post(alice, topic, cats["iot"], "quokka reply")
    await do_delete_post(alice, reply, topic, cats["iot"])
    before = set(await found(alice, "quokka rebuild"))
    counts = await rebuild()
    assert set(await found(alice, "quokka rebuild")) == before == set()
    assert set(await found(alice, "quokka")) == {("post", post.id)}
    assert counts["topic"] == 1 and counts["post"] == 1 and counts["member"] == 1
