"""Home and category pages keep the categories by the version read with the member's session
(PostgreSQL: forum.queries.categories.all_categories): a change made anywhere — an action, a
post's counts, another connection as another worker or the CLI would write it — shows on the
very next page, and a category closed to members is gone from their pages at once. On SQLite
the same pages ask the reader's remembered answer: the tests hold on both."""

from __future__ import annotations

import re

import asyncpg
import httpx

from forum.actions.topics import do_create_topic
from forum.db import count_queries
from forum.models import Role
from moderation.categories import do_update_category
from tests.helpers import categories, log_in, make_user


def card_count(page: str, slug: str) -> str:
    """What the home page's card of a category says of its topics."""
    found = re.search(rf'href="/c/{slug}">.*?<span class="count">(.*?)</span>', page, re.S)
    assert found is not None, f"no card for {slug}"
    return found.group(1)


async def test_a_renamed_category_shows_on_the_next_page(client: httpx.AsyncClient) -> None:
    cats = await categories()
    admin = await make_user("secretariat", role=Role.ADMIN)
    alice = await make_user("alice")
    await do_create_topic(alice, cats["iot"], "Sensors at the border", "Hi.")
    await log_in(client, alice)
    assert "Internet of Things" in (await client.get("/")).text
    assert "Internet of Things" in (await client.get("/c/iot")).text  # kept by now

    await do_update_category(admin, cats["iot"], {"name": "Connected devices"})

    home = (await client.get("/")).text
    assert "Connected devices" in home and "Internet of Things" not in home
    assert "<h1>Connected devices</h1>" in (await client.get("/c/iot")).text


async def test_a_category_closed_to_members_leaves_their_pages_at_once(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    admin = await make_user("secretariat", role=Role.ADMIN)
    alice = await make_user("alice")
    await do_create_topic(admin, cats["drones"], "Drones over the yard", "Hi.")
    await log_in(client, alice)
    assert "Drones over the yard" in (await client.get("/")).text
    assert (await client.get("/c/drones")).status_code == 200

    await do_update_category(admin, cats["drones"], {"visibility": "staff"})

    assert "Drones over the yard" not in (await client.get("/")).text
    assert (await client.get("/c/drones")).status_code == 404


async def test_counts_and_changes_from_another_connection_show_on_the_next_page(
    client: httpx.AsyncClient, db: str
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    await do_create_topic(alice, cats["iot"], "Sensors at the border", "Hi.")
    await log_in(client, alice)
    assert card_count((await client.get("/")).text, "iot") == "1 topic"

    await do_create_topic(alice, cats["iot"], "Seals that report", "A second topic.")
    assert card_count((await client.get("/")).text, "iot") == "2 topics"

    # Another process writing (another worker, `forum` on the command line): no action of
    # this process runs, only the database knows.
    if db.startswith("postgres"):
        other = await asyncpg.connect(db.replace("postgres://", "postgresql://", 1))
        try:
            await other.execute(
                "UPDATE categories SET name = 'Renamed elsewhere' WHERE slug = 'iot'"
            )
        finally:
            await other.close()
    else:
        await cats["iot"].filter(slug="iot").update(name="Renamed elsewhere")
    with count_queries() as counter:
        page = (await client.get("/c/iot")).text
    assert "<h1>Renamed elsewhere</h1>" in page
    assert counter.count >= 3  # the categories were asked again: their version changed
