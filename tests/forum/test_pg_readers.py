"""Hot reads on PostgreSQL go through connections of their own (forum.queries.sql._PgReaders):
they see every commit, never open more than their limit however many requests read at once,
and a read that fails or is cancelled leaves nothing broken behind."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import asyncpg
import pytest
from tortoise import connections
from tortoise.exceptions import OperationalError

from forum.actions.topics import do_create_topic
from forum.events import atomic
from forum.queries import sql
from forum.queries.topics import topic_page
from tests.helpers import categories, make_user


@pytest.fixture
def postgres(db: str) -> Iterator[str]:
    if not db.startswith("postgres"):
        pytest.skip("the readers are PostgreSQL's; SQLite reads on the event loop's thread")
    yield db


@pytest.fixture
def two_readers(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sql._PgReaders, "LIMIT", 2)
    return 2


async def until(condition: Callable[[], bool]) -> None:
    """Let the event loop run until `condition` holds (10 s at most: a round trip to the
    server may be on the way)."""
    deadline = asyncio.get_running_loop().time() + 10
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the condition never held")
        await asyncio.sleep(0.001)


def readers() -> sql._PgReaders:
    assert sql._pg is not None, "reads on PostgreSQL have readers of their own"
    return sql._pg


async def test_a_commit_on_another_connection_shows_on_the_next_read(postgres: str) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, _first = await do_create_topic(alice, cats["iot"], "Sensors at the border", "Hi.")
    assert (await topic_page(alice, topic.id)).topic.title == "Sensors at the border"
    other = await asyncpg.connect(postgres.replace("postgres://", "postgresql://", 1))
    try:
        await other.execute("UPDATE topics SET title = 'Renamed elsewhere' WHERE id = $1", topic.id)
    finally:
        await other.close()
    assert (await topic_page(alice, topic.id)).topic.title == "Renamed elsewhere"


async def test_reads_inside_a_transaction_see_its_own_writes(postgres: str) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, _first = await do_create_topic(alice, cats["iot"], "Before", "Hi.")
    assert await sql.fetch("SELECT title FROM topics WHERE id = ?", topic.id) == [
        {"title": "Before"}
    ]
    async with atomic():
        await sql.execute(
            connections.get("default"),
            "UPDATE topics SET title = ? WHERE id = ?",
            "In tx",
            topic.id,
        )
        inside = await sql.fetch("SELECT title FROM topics WHERE id = ?", topic.id)
        outside = await readers().rows("SELECT title FROM topics WHERE id = $1", (topic.id,))
    assert inside == [{"title": "In tx"}]
    assert outside == [{"title": "Before"}]  # not committed yet: no other connection sees it


async def test_many_reads_at_once_share_the_limit_and_all_get_their_answer(
    postgres: str, two_readers: int
) -> None:
    answers = await asyncio.gather(*(sql.fetch("SELECT ?::int AS n", n) for n in range(30)))
    assert [a[0]["n"] for a in answers] == list(range(30))
    assert readers().open == two_readers
    assert len(readers().idle) == two_readers  # all given back, none lost


async def test_a_cancelled_read_is_closed_and_the_next_in_line_still_answers(
    postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql._PgReaders, "LIMIT", 1)
    await sql.fetch("SELECT 1 AS one")  # the one connection, open and idle
    (first,) = readers().idle
    slow = asyncio.create_task(sql.fetch("SELECT pg_sleep(30) AS slept"))
    await until(lambda: not readers().idle)  # the slow read holds the only connection
    waiting = asyncio.create_task(sql.fetch("SELECT 2 AS two"))
    await until(lambda: bool(readers().waiting))
    slow.cancel()
    assert await waiting == [{"two": 2}]
    with pytest.raises(asyncio.CancelledError):
        await slow
    assert first.is_closed()  # never handed out again, mid-query as it was
    assert readers().open == 1


async def test_a_wrong_statement_fails_as_through_tortoise_and_the_reader_goes_on(
    postgres: str, two_readers: int
) -> None:
    with pytest.raises(OperationalError):
        await sql.fetch("SELECT no_such_column FROM topics")
    assert await sql.fetch("SELECT 3 AS three") == [{"three": 3}]
    assert readers().open == 1  # the same connection, back in the list after the error


async def test_a_waiter_cancelled_as_its_turn_comes_stays_cancelled_and_passes_it_on(
    postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql._PgReaders, "LIMIT", 1)
    await sql.fetch("SELECT 1 AS one")
    slow = asyncio.create_task(sql.fetch("SELECT pg_sleep(30) AS slept"))
    await until(lambda: not readers().idle)
    first = asyncio.create_task(sql.fetch("SELECT 2 AS two"))
    second = asyncio.create_task(sql.fetch("SELECT 3 AS three"))
    await until(lambda: len(readers().waiting) == 2)
    (held,) = readers().current
    readers()._lose(held)  # as a failed read does: the first in line may open another...
    first.cancel()  # ...but is cancelled before it runs: the second goes in its place
    assert await second == [{"three": 3}]
    with pytest.raises(asyncio.CancelledError):
        await first
    with pytest.raises(asyncpg.ConnectionDoesNotExistError):  # closed under it
        await slow
    assert readers().open == 1


async def test_reads_go_on_after_the_server_closed_the_idle_connections(
    postgres: str, two_readers: int
) -> None:
    await asyncio.gather(sql.fetch("SELECT 1 AS one"), sql.fetch("SELECT 2 AS two"))
    pids = [connection.get_server_pid() for connection in readers().idle]
    assert len(pids) == two_readers
    other = await asyncpg.connect(postgres.replace("postgres://", "postgresql://", 1))
    try:
        for pid in pids:  # as a restart of the database would
            await other.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await other.close()
    await until(lambda: all(c.is_closed() for c in readers().idle))
    answers = [await sql.fetch("SELECT ?::int AS n", n) for n in range(3)]
    assert answers == [[{"n": 0}], [{"n": 1}], [{"n": 2}]]
