"""`forum reindex` as an operator runs it: a real process, a progress bar, the same results."""

from __future__ import annotations

import asyncio
from pathlib import Path

from forum.db import close_db, init_db
from forum.models import User
from search.query import SearchRequest, search
from tests.forum.test_cli import run


async def _search_as_member(url: str, q: str) -> int:
    await init_db(url)
    try:
        member = await User.get(email="member@example.org")
        return (await search(member, SearchRequest(q=q))).count
    finally:
        await close_db()


def test_reindex_rebuilds_the_demo_forum_with_a_progress_bar(tmp_path: Path) -> None:
    db = f"sqlite://{tmp_path}/forum.sqlite3"
    assert run(["migrate"], tmp_path, FORUM_DATABASE_URL=db).returncode == 0
    seeded = run(["seed-demo"], tmp_path, FORUM_DATABASE_URL=db)
    assert seeded.returncode == 0, seeded.stderr
    before = asyncio.run(_search_as_member(db, "customs"))

    rebuilt = run(["reindex"], tmp_path, FORUM_DATABASE_URL=db)

    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "search index rebuilt:" in rebuilt.stdout and " posts" in rebuilt.stdout
    assert "post      [##############################]" in rebuilt.stderr
    assert asyncio.run(_search_as_member(db, "customs")) == before > 0
