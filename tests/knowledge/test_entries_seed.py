"""`forum seed-demo` fills the knowledge space with a few realistic entries, once."""

from __future__ import annotations

import httpx

from forum.models import Topic, User
from forum.seed import seed_demo
from knowledge.models import EntryStatus, EntryVersion, KnowledgeEntry
from tests.helpers import PASSWORD, log_in


async def test_the_demo_has_published_entries_across_kinds_and_regions_and_one_draft(
    client: httpx.AsyncClient,
) -> None:
    report = await seed_demo(PASSWORD)
    assert report.created_entries == 6
    again = await seed_demo(PASSWORD)
    assert again.created_entries == 0
    entries = await KnowledgeEntry.all()
    shown = [e for e in entries if e.status == EntryStatus.PUBLISHED]
    assert len(shown) == 5 and len(entries) == 6
    assert {e.kind.value for e in shown} == {"best_practice", "pitfall", "case_study",
                                            "lesson_learned"}  # fmt: skip
    assert len({e.region for e in shown}) >= 3 and len({e.maturity for e in shown}) >= 4
    assert len({e.technology_id for e in shown}) >= 3
    assert {e.language for e in shown} == {"en", "fr"}
    for entry in shown:
        assert entry.topic_id is not None and await Topic.exists(id=entry.topic_id)
        assert await EntryVersion.filter(entry_id=entry.id, status="published").count() == 1
    (kept,) = [e for e in entries if e.status == EntryStatus.DRAFT]

    newcomer = await User.get(username="newcomer")
    await log_in(client, newcomer)
    home = await client.get("/knowledge")
    assert home.status_code == 200
    assert "Explain every risk flag to the officer who acts on it" in home.text
    assert kept.title not in home.text
    assert (await client.get(f"/knowledge/entries/{kept.id}")).status_code == 404
    await log_in(client, await User.get(username="member"))
    assert kept.title in (await client.get("/knowledge/mine")).text
    assert "/knowledge" in (await client.get("/")).text  # in the main navigation
