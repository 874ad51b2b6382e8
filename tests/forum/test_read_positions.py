"""Read positions: a view writes nothing on the request's path, yet the reader's next page and
lists show their reading at once, in one worker and across workers; a graceful shutdown
stores what was buffered; an explicit "mark read" answers only once stored; nothing is ever
moved backwards."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import sqlite3
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from forum.actions.posts import do_create_post
from forum.actions.topics import do_create_topic
from forum.actions.users import do_create_session
from forum.auth import CSRF_COOKIE, SESSION_COOKIE
from forum.db import close_db, init_db
from forum.models import TopicUser
from forum.reads import KEEP_SECONDS, ReadBuffer
from tests.clock import ManualClock
from tests.helpers import bearer, categories, log_in, make_user, relax_moderation
from tests.realtime.support import eventually
from tests.served import forum_serve, healthy, two_servers

REDIS_URL = os.environ.get("FORUM_TEST_REDIS_URL", "")
ALICE: dict[str, str] = {}


def row_of(html: str, topic_id: int) -> str:
    found = re.search(rf'<tr class="topic-row[^"]*" id="topic-{topic_id}">.*?</tr>', html, re.S)
    assert found, f"no row for topic {topic_id}"
    return found.group(0)


async def stored(user_id: int, topic_id: int) -> int | None:
    rows = await TopicUser.filter(user_id=user_id, topic_id=topic_id).values_list(
        "last_read_post_number", flat=True
    )
    return rows[0] if rows else None


async def test_a_view_writes_nothing_yet_the_next_page_and_lists_show_it_read(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    topic, _ = await do_create_topic(alice, cats["iot"], "Electronic seals", "one")
    for n in range(2, 5):
        await do_create_post(alice, topic, cats["iot"], f"reply {n}")
    await log_in(client, bob)
    assert "badge-new" in row_of((await client.get("/c/iot")).text, topic.id)

    await client.get(f"/t/{topic.id}")
    assert await stored(bob.id, topic.id) is None  # buffered, not written by the view

    assert "badge" not in row_of((await client.get("/c/iot")).text, topic.id)
    assert "badge" not in row_of((await client.get("/")).text, topic.id)
    api = (await client.get(f"/api/v1/topics/{topic.id}")).json()
    assert api["last_read_post_number"] == 4
    page = await client.get(f"/t/{topic.id}")
    assert "post-unread" not in page.text

    await do_create_post(alice, topic, cats["iot"], "reply 5")
    unread = row_of((await client.get("/c/iot")).text, topic.id)
    assert 'title="1 unread post">1</a>' in unread
    jump = await client.get(f"/t/{topic.id}/unread")
    assert jump.headers["location"] == f"/t/{topic.id}?near=5#p5"
    assert "post-unread" in (await client.get(jump.headers["location"])).text

    assert await app.state.reads.flush() == 1  # one row for bob: the later view won
    assert await stored(bob.id, topic.id) == 5


async def test_a_position_never_moves_backwards_and_one_for_a_vanished_topic_is_dropped(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    topic, _ = await do_create_topic(alice, cats["iot"], "Paging", "one")
    for n in range(2, 31):
        await do_create_post(alice, topic, cats["iot"], f"reply {n}")
    await log_in(client, bob)
    await client.get(f"/t/{topic.id}?near=21")  # posts 21-30
    await client.get(f"/t/{topic.id}")  # posts 1-20: an earlier page
    await app.state.reads.flush()
    assert await stored(bob.id, topic.id) == 30

    reads: ReadBuffer = app.state.reads
    await reads.note(bob.id, topic.id, 12)  # an older position noted later changes nothing
    await reads.flush()
    assert await stored(bob.id, topic.id) == 30

    await reads.note(bob.id, topic.id + 1000, 3)  # a topic that is gone: dropped, not retried
    await reads.note(alice.id, topic.id, 30)
    assert await reads.flush() == 2
    assert reads.pending == 0
    assert await stored(alice.id, topic.id) == 30


async def test_a_noted_position_is_kept_until_stored_then_forgotten_a_while_after(
    db: str,
) -> None:
    """Noted positions are held in memory KEEP_SECONDS after they were noted (the memory stays
    bounded; by then the database has them), and one not yet stored is kept however old."""
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    topic, _ = await do_create_topic(alice, cats["welcome"], "Kept a while", "x")
    clock = ManualClock()  # time moves only when the test says so
    reads = ReadBuffer(clock=clock)
    await reads.note(alice.id, topic.id, 1)
    clock.advance(KEEP_SECONDS + 1)
    await reads.note(bob.id, topic.id, 1)  # noting prunes the old ones...
    assert reads.position(alice.id, topic.id) == 1  # ...but this one is not stored yet
    assert await reads.flush() == 2
    clock.advance(KEEP_SECONDS / 2)
    await reads.note(alice.id, topic.id + 1000, 1)  # prunes again
    assert reads.position(alice.id, topic.id) is None  # stored and old: the database has it
    assert reads.merged(alice.id, topic.id, await stored(alice.id, topic.id)) == 1
    assert reads.position(bob.id, topic.id) == 1  # stored, but noted recently: kept


async def test_mark_read_through_the_api_is_stored_before_it_answers(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    topic, _ = await do_create_topic(alice, cats["iot"], "Explicit", "one")
    await do_create_post(alice, topic, cats["iot"], "two")
    answer = await client.post(
        f"/api/v1/topics/{topic.id}/read", json={"post_number": 2}, headers=await bearer(bob)
    )
    assert answer.status_code in (200, 204), answer.text
    assert await stored(bob.id, topic.id) == 2


async def _shared_forum(template: Path, tmp_path: Path) -> tuple[str, int, int, dict[str, str]]:
    """A SQLite file two servers open: a topic of 3 posts by alice (her API token is in
    `ALICE`) and bob's browser session."""
    path = tmp_path / "shared.sqlite3"
    shutil.copy(template, path)
    url = f"sqlite://{path}"
    await init_db(url)
    try:
        await relax_moderation()
        cats = await categories()
        alice, bob = await make_user("alice"), await make_user("bob")
        topic, _ = await do_create_topic(alice, cats["iot"], "Across workers", "one")
        for n in (2, 3):
            await do_create_post(alice, topic, cats["iot"], f"reply {n}")
        key = await do_create_session(bob)
        ALICE.update(await bearer(alice))
    finally:
        await close_db()
    cookies = {SESSION_COOKIE: key, CSRF_COOKIE: "c"}
    return url, topic.id, bob.id, cookies


def stored_in(database_url: str, user_id: int, topic_id: int) -> int | None:
    path = database_url.removeprefix("sqlite://")
    with contextlib.closing(sqlite3.connect(path)) as db:
        row = db.execute(
            "SELECT last_read_post_number FROM topic_users WHERE user_id = ? AND topic_id = ?",
            (user_id, topic_id),
        ).fetchone()
    return row[0] if row else None


@pytest.mark.skipif(not REDIS_URL, reason="set FORUM_TEST_REDIS_URL")
async def test_the_next_request_on_another_worker_shows_the_topic_read(
    sqlite_template: Path, tmp_path: Path
) -> None:
    url, topic_id, bob_id, cookies = await _shared_forum(sqlite_template, tmp_path)
    broker = f"{REDIS_URL}{'&' if '?' in REDIS_URL else '?'}channel=reads-{tmp_path.name}"
    async with two_servers(tmp_path, url, broker) as (a, b):
        a, b = f"http://{a}", f"http://{b}"
        async with httpx.AsyncClient(cookies=cookies) as http:
            assert "badge-new" in row_of((await http.get(f"{b}/c/iot")).text, topic_id)
            assert (await http.get(f"{a}/t/{topic_id}")).status_code == 200
            # Nothing is stored yet (A flushes every few seconds), and B already knows.
            assert stored_in(url, bob_id, topic_id) is None
            assert "badge" not in row_of((await http.get(f"{b}/c/iot")).text, topic_id)
            api = (await http.get(f"{b}/api/v1/topics/{topic_id}")).json()
            assert api["last_read_post_number"] == 3
            await eventually(lambda: stored_in(url, bob_id, topic_id) == 3, within=10)


async def test_a_graceful_shutdown_stores_the_buffered_positions(
    sqlite_template: Path, tmp_path: Path
) -> None:
    url, topic_id, bob_id, cookies = await _shared_forum(sqlite_template, tmp_path)
    with forum_serve(tmp_path, "a", url, "memory://") as (a, process):
        await healthy(a, process)
        async with httpx.AsyncClient(cookies=cookies) as http:
            assert (await http.get(f"http://{a}/t/{topic_id}")).status_code == 200
        assert stored_in(url, bob_id, topic_id) is None
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)  # uvicorn shuts down gracefully, then re-raises the signal
    assert "Application shutdown complete" in (tmp_path / "a.log").read_text()
    assert stored_in(url, bob_id, topic_id) == 3


@pytest.mark.skipif(not REDIS_URL, reason="set FORUM_TEST_REDIS_URL")
async def test_a_page_cached_by_one_worker_never_shows_a_post_changed_through_another(
    sqlite_template: Path, tmp_path: Path
) -> None:
    url, topic_id, _bob_id, cookies = await _shared_forum(sqlite_template, tmp_path)
    broker = f"{REDIS_URL}{'&' if '?' in REDIS_URL else '?'}channel=stale-{tmp_path.name}"
    async with two_servers(tmp_path, url, broker) as (a, b):
        a, b = f"http://{a}", f"http://{b}"
        async with httpx.AsyncClient(cookies=cookies) as reader, httpx.AsyncClient() as writer:
            first = (await reader.get(f"{b}/api/v1/topics/{topic_id}")).json()["posts"]
            assert "reply 2" in (await reader.get(f"{b}/t/{topic_id}")).text  # B has it cached
            second = first[1]["id"]
            edited = await writer.patch(
                f"{a}/api/v1/posts/{second}", json={"body": "reply 2, corrected"}, headers=ALICE
            )
            assert edited.status_code == 200, edited.text
            page = (await reader.get(f"{b}/t/{topic_id}")).text
            assert "reply 2, corrected" in page
            deleted = await writer.delete(f"{a}/api/v1/posts/{second}", headers=ALICE)
            assert deleted.status_code in (200, 204), deleted.text
            page = (await reader.get(f"{b}/t/{topic_id}")).text
            assert "corrected" not in page and "This post was deleted." in page
