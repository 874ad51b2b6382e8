"""The hot-path caches never show a stale answer: not after another process commits, not after
one caller changes what it was given, not to a different page's visitor."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from datetime import UTC, datetime

import httpx
import pytest

from forum.actions.profiles import ProfileChanges, do_update_profile
from forum.actions.topics import do_create_topic
from forum.actions.users import do_create_session, session_for_key
from forum.models import User
from forum.queries.categories import all_categories
from forum.queries.live import last_event_id
from forum.queries.sql import keep, kept, snapshot
from forum.queries.topics import topic_page
from tests.helpers import categories, log_in, make_user


def another_process(db: str) -> sqlite3.Connection:
    """A connection of its own to the same file, as another worker or the CLI would have."""
    if not db.startswith("sqlite://"):
        pytest.skip("the remembered answers are SQLite's; PostgreSQL is asked every time")
    return sqlite3.connect(db[len("sqlite://") :], isolation_level=None)


async def test_a_commit_by_another_process_shows_on_the_next_read(db: str) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, _first = await do_create_topic(alice, cats["iot"], "Sensors at the border", "Hi.")
    assert (await topic_page(alice, topic.id)).topic.title == "Sensors at the border"
    other = another_process(db)
    try:
        other.execute("UPDATE topics SET title = 'Renamed elsewhere' WHERE id = ?", (topic.id,))
    finally:
        other.close()
    await asyncio.sleep(0)  # the next request comes through the event loop
    assert (await topic_page(alice, topic.id)).topic.title == "Renamed elsewhere"


async def test_a_session_revoked_by_another_process_stops_working_at_once(db: str) -> None:
    alice = await make_user("alice")
    key = await do_create_session(alice)
    assert await session_for_key(key) is not None
    other = another_process(db)
    try:
        other.execute("UPDATE sessions SET revoked_at = ?", (datetime.now(UTC).isoformat(),))
    finally:
        other.close()
    await asyncio.sleep(0)
    assert await session_for_key(key) is None


async def test_what_one_caller_changes_in_a_read_user_no_other_caller_sees(db: str) -> None:
    alice = await make_user("alice")
    await User.filter(id=alice.id).update(expertise=["blockchain"])
    key = await do_create_session(alice)
    first = await session_for_key(key)
    assert first is not None
    first.user.display_name = "Changed in memory only"
    first.user.expertise.append("drones")
    again = await session_for_key(key)
    assert again is not None and again.user is not first.user
    assert again.user.display_name == "Alice"
    assert again.user.expertise == ["blockchain"]


async def test_a_cached_page_links_back_to_the_address_its_visitor_asked_for(
    client: httpx.AsyncClient,
) -> None:
    await categories()
    first = await client.get("/c/welcome?from=newsletter")
    second = await client.get("/c/welcome?from=homepage")
    assert first.status_code == second.status_code == 200
    assert "from%3Dnewsletter" in first.text and "from%3Dnewsletter" not in second.text
    assert "from%3Dhomepage" in second.text


async def test_a_new_display_name_shows_at_once_on_cached_topic_pages(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    topic, _first = await do_create_topic(alice, cats["iot"], "Sensors at the border", "Hi.")
    await log_in(client, bob)
    before = await client.get(f"/t/{topic.id}")
    assert ">Alice<" in before.text
    changes = ProfileChanges(
        display_name="Alice Customs-Officer",
        position="",
        languages="",
        expertise=[],
        phone="",
        show_email=False,
        show_phone=False,
        administration_id=None,
        preferred_language="en",
    )
    await do_update_profile(alice, changes)
    after = await client.get(f"/t/{topic.id}")
    assert ">Alice Customs-Officer<" in after.text and ">Alice<" not in after.text
    answer = await client.get(f"/api/v1/topics/{topic.id}")
    assert answer.json()["posts"][0]["author"]["display_name"] == "Alice Customs-Officer"


async def test_cached_lists_show_a_new_topic_and_its_category_count_at_once(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    await do_create_topic(alice, cats["drones"], "Drones over the port", "First.")
    await log_in(client, bob)
    for page in ("/", "/c/drones"):
        assert "Drones over the port" in (await client.get(page)).text
    assert "1 topic<" in (await client.get("/")).text
    await do_create_topic(alice, cats["drones"], "Counter-drone rules", "Second.")
    home, category = await client.get("/"), await client.get("/c/drones")
    assert "Counter-drone rules" in home.text and "Counter-drone rules" in category.text
    assert "2 topics<" in home.text


async def test_live_pages_carry_the_newest_event_id_read_before_them(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    topic, _first = await do_create_topic(alice, cats["iot"], "Sensors at the border", "Hi.")
    await log_in(client, bob)

    def since(page: httpx.Response) -> int:
        found = re.search(r'<meta name="live-since" content="(\d+)">', page.text)
        assert found, "no live-since on the page"
        return int(found.group(1))

    for path in (f"/t/{topic.id}", "/c/iot", "/"):
        assert since(await client.get(path)) == await last_event_id() > 0
    before = await last_event_id()
    await do_create_topic(alice, cats["drones"], "Elsewhere", "An event on another channel.")
    # The topic page is served from its cache, and still says what is newest now.
    assert since(await client.get(f"/t/{topic.id}")) == await last_event_id() > before


async def test_a_list_kept_with_its_answer_shows_another_process_s_commit_at_once(
    client: httpx.AsyncClient, db: str
) -> None:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    topic, _first = await do_create_topic(alice, cats["drones"], "Drones over the port", "Hi.")
    await log_in(client, bob)
    for _ in range(2):  # the second answered from the kept shape
        home = (await client.get("/")).text
        assert "Drones over the port" in home and "Renamed by the CLI" not in home
    other = another_process(db)
    try:
        other.execute("UPDATE topics SET title = 'Renamed by the CLI' WHERE id = ?", (topic.id,))
        other.execute("UPDATE categories SET name = 'Unmanned aircraft' WHERE slug = 'drones'")
    finally:
        other.close()
    await asyncio.sleep(0)
    for path in ("/", "/c/drones"):
        page = (await client.get(path)).text
        assert "Renamed by the CLI" in page and "Drones over the port" not in page
    assert "Unmanned aircraft" in (await client.get("/")).text
    assert [c.name for c in await all_categories(shared=True) if c.slug == "drones"] == [
        "Unmanned aircraft"
    ]


async def test_what_was_made_of_answers_before_a_commit_is_not_kept_after_it(db: str) -> None:
    await categories()
    another_process(db).close()  # SQLite only
    snap = snapshot()
    assert snap is not None
    keep(snap, "made", "before")
    assert kept(snap, "made") == "before"
    later = snapshot()
    other = another_process(db)
    try:
        other.execute("UPDATE categories SET name = 'Renamed' WHERE slug = 'drones'")
    finally:
        other.close()
    await asyncio.sleep(0)  # the next batch of callbacks reads the version again
    assert kept(snap, "made") is None
    keep(later, "made", "made before the commit, kept after it")
    assert kept(snapshot(), "made") is None
