"""Browsing entries: filters with one stable address per combination and the same answer from
the API, keyset pages, related entries, helpful marks once per member, and bad input refused
with a message."""

from __future__ import annotations

import asyncio

import httpx

from forum.models import Role, User
from knowledge.entries import do_set_helpful
from knowledge.models import HelpfulMark, KnowledgeEntry
from tests.helpers import bearer, categories, log_in, make_user
from tests.knowledge.entries_support import (
    _api_follows_the_document,  # noqa: F401  (an autouse fixture)
    place,
    published,
)


async def _library() -> dict[str, KnowledgeEntry]:
    await categories()
    kenya = await place(await make_user("kenya"), "KE")
    france = await place(await make_user("france"), "FR")
    singapore = await place(await make_user("singapore"), "SG")
    mod = await make_user("mod", role=Role.MODERATOR)
    return {
        "ke_ai_bp": await published(kenya, mod, title="Kenya: explainable targeting"),
        "ke_ai_pit": await published(kenya, mod, kind="pitfall", stage="discontinued",
                                     maturity=2, title="Kenya: a model nobody retrained"),
        "fr_chain": await published(france, mod, technology="blockchain", language="fr",
                                    kind="case_study", stage="in_production", maturity=4,
                                    title="Certificats d'origine sur registre partagé"),
        "sg_iot": await published(singapore, mod, technology="iot", kind="best_practice",
                                  stage="in_production", maturity=5,
                                  title="Singapore: e-seals on every transit container"),
        "fr_ai_bp": await published(france, mod, title="France: risk scores in the clearance flow",
                                    maturity=4, stage="in_production"),
    }  # fmt: skip


async def test_every_filter_combination_has_one_address_and_the_api_agrees(
    client: httpx.AsyncClient,
) -> None:
    library = await _library()
    bob = await make_user("bob")
    await log_in(client, bob)
    headers = await bearer(bob)
    # The same filters in another order (and empty ones) lead to one canonical address.
    messy = "/knowledge/entries?stage=pilot&technology=ai-ml&lang=&kind=best_practice&region=ESA"
    moved = await client.get(messy)
    assert moved.status_code == 301
    canonical = "/knowledge/entries?kind=best_practice&technology=ai-ml&region=ESA&stage=pilot"
    assert moved.headers["location"] == canonical
    other_order = await client.get(
        "/knowledge/entries?region=ESA&kind=best_practice&stage=pilot&technology=ai-ml"
    )
    assert other_order.headers["location"] == canonical
    page = await client.get(canonical)
    assert page.status_code == 200
    assert "Kenya: explainable targeting" in page.text
    assert "France: risk scores" not in page.text and "model nobody retrained" not in page.text
    api = await client.get(
        "/api/v1/knowledge?region=ESA&technology=ai-ml&stage=pilot&kind=best_practice",
        headers=headers,
    )
    assert [e["id"] for e in api.json()["entries"]] == [library["ke_ai_bp"].id]
    assert api.json()["entries"][0]["region"] == "ESA"
    assert api.json()["entries"][0]["administration"] == "Kenya Revenue Authority"

    cases = {
        "technology=ai-ml": {"ke_ai_bp", "ke_ai_pit", "fr_ai_bp"},
        "kind=pitfall": {"ke_ai_pit"},
        "region=EUR": {"fr_chain", "fr_ai_bp"},
        "region=A%2FP": {"sg_iot"},
        "stage=in_production": {"fr_chain", "sg_iot", "fr_ai_bp"},
        "maturity=4": {"fr_chain", "fr_ai_bp"},
        "lang=fr": {"fr_chain"},
        "technology=ai-ml&maturity=4": {"fr_ai_bp"},
        "kind=case_study&lang=en": set(),
    }
    for query, expected in cases.items():
        wanted = {library[name].id for name in expected}
        api = await client.get(f"/api/v1/knowledge?{query}", headers=headers)
        assert {e["id"] for e in api.json()["entries"]} == wanted, query
        page = await client.get(f"/knowledge/entries?{query}")
        assert page.status_code == 200, (query, page.headers.get("location"))
        for name, entry in library.items():
            assert (f'href="/knowledge/entries/{entry.id}"' in page.text) == (name in expected), (
                query,
                name,
            )
    empty = await client.get("/knowledge/entries?kind=case_study&lang=en")
    assert "No published entry matches these filters." in empty.text
    # Newest first by default; "helpful" puts the most marked first.
    newest = await client.get("/api/v1/knowledge", headers=headers)
    ids = [e["id"] for e in newest.json()["entries"]]
    assert ids == [e.id for e in reversed(list(library.values()))]
    for n in range(3):
        await do_set_helpful(await make_user(f"reader{n}"), library["sg_iot"])
    await do_set_helpful(bob, library["ke_ai_pit"])
    helpful = await client.get("/api/v1/knowledge?sort=helpful", headers=headers)
    first = [e["id"] for e in helpful.json()["entries"]][:2]
    assert first == [library["sg_iot"].id, library["ke_ai_pit"].id]
    assert (await client.get("/knowledge/entries?sort=newest")).headers["location"] == (
        "/knowledge/entries"
    )


async def test_pages_of_entries_follow_the_cursor_on_the_page_and_in_the_api(
    client: httpx.AsyncClient,
) -> None:
    await categories()
    alice = await make_user("alice")
    mod = await make_user("mod", role=Role.MODERATOR)
    made = [await published(alice, mod, title=f"Entry number {n:02d}") for n in range(23)]
    bob = await make_user("bob")
    headers = await bearer(bob)
    first = await client.get("/api/v1/knowledge?technology=ai-ml", headers=headers)
    cursor = first.json()["next_cursor"]
    assert len(first.json()["entries"]) == 20 and cursor
    second = await client.get(
        f"/api/v1/knowledge?technology=ai-ml&cursor={cursor}", headers=headers
    )
    assert second.json()["next_cursor"] is None
    seen = [e["id"] for e in first.json()["entries"] + second.json()["entries"]]
    assert seen == [e.id for e in reversed(made)]
    await log_in(client, bob)
    page = await client.get("/knowledge/entries?technology=ai-ml")
    assert f'href="/knowledge/entries?technology=ai-ml&amp;cursor={cursor}"' in page.text
    following = await client.get(f"/knowledge/entries?technology=ai-ml&cursor={cursor}")
    assert following.status_code == 200 and "Entry number 00" in following.text
    assert "Entry number 22" not in following.text
    # Sorted by helpfulness, pages are keyed on the count too.
    for n in range(2):
        await do_set_helpful(await make_user(f"fan{n}"), made[5])
    by_helpful = await client.get("/api/v1/knowledge?sort=helpful", headers=headers)
    assert by_helpful.json()["entries"][0]["id"] == made[5].id
    rest = await client.get(
        f"/api/v1/knowledge?sort=helpful&cursor={by_helpful.json()['next_cursor']}",
        headers=headers,
    )
    together = [e["id"] for e in by_helpful.json()["entries"] + rest.json()["entries"]]
    assert sorted(together) == sorted(e.id for e in made) and len(set(together)) == 23


async def test_related_entries_share_technology_and_kind_then_region(
    client: httpx.AsyncClient,
) -> None:
    library = await _library()
    bob = await make_user("bob")
    await log_in(client, bob)
    page = await client.get(f"/knowledge/entries/{library['ke_ai_bp'].id}")
    related = page.text.split("Related entries", 1)[1]
    # Same technology and kind first (France's AI best practice), then the same region.
    assert related.index("France: risk scores") < related.index("model nobody retrained")
    assert "Singapore" not in related and "Certificats" not in related


async def test_a_member_marks_an_entry_helpful_once(client: httpx.AsyncClient) -> None:
    library = await _library()
    entry = library["sg_iot"]
    bob = await make_user("bob")
    headers = await bearer(bob)
    for _ in range(3):
        marked = await client.post(f"/api/v1/knowledge/{entry.id}/helpful", headers=headers)
        assert marked.status_code == 200 and marked.json()["helpful_count"] == 1
    # At the same instant, twice: still one mark.
    carol = await make_user("carol")
    await asyncio.gather(do_set_helpful(carol, entry), do_set_helpful(carol, entry))
    await entry.refresh_from_db()
    assert entry.helpful_count == 2
    assert await HelpfulMark.filter(entry_id=entry.id).count() == 2
    # The page shows it and lets the member take it back.
    token = await log_in(client, bob)
    page = await client.get(f"/knowledge/entries/{entry.id}")
    assert "You found this helpful (undo)" in page.text and "2 members found this" in page.text
    undone = await client.post(
        f"/knowledge/entries/{entry.id}/helpful", data={"csrf_token": token, "helpful": "0"}
    )
    assert undone.status_code == 303
    assert (await KnowledgeEntry.get(id=entry.id)).helpful_count == 1
    again = await client.post(
        f"/knowledge/entries/{entry.id}/helpful", data={"csrf_token": token, "helpful": "0"}
    )
    assert again.status_code == 303 and (await KnowledgeEntry.get(id=entry.id)).helpful_count == 1
    # Not one's own entry.
    own = await client.post(
        f"/api/v1/knowledge/{entry.id}/helpful",
        headers=await bearer(await User.get(id=entry.author_id)),
    )
    assert own.status_code == 403 and "your own entry" in own.json()["error"]["message"]


async def test_bad_input_is_refused_with_a_message(client: httpx.AsyncClient) -> None:
    await categories()
    alice = await place(await make_user("alice"), "KE")
    headers = await bearer(alice)
    valid = {"kind": "pitfall", "technology": "iot", "stage": "pilot", "maturity": 2,
             "title": "Seals that lose their charge"}  # fmt: skip
    created = await client.post("/api/v1/knowledge", json=valid, headers=headers)
    assert created.status_code == 201 and created.json()["status"] == "draft"
    assert created.json()["region"] == "ESA"
    entry_id = created.json()["id"]
    refusals = [
        ({**valid, "kind": "rumour"}, "kind"),
        ({**valid, "technology": "welcome"}, "technolog"),  # public: not a technology
        ({**valid, "technology": "staff-room"}, "technolog"),
        ({**valid, "maturity": 6}, "maturity"),
        ({**valid, "title": "abc"}, "title"),
        ({**valid, "links": [{"url": "javascript:alert(1)", "title": "x"}]}, "http"),
        ({**valid, "supersedes": 2147483647}, "no such entry"),
        ({**valid, "language": "de"}, "language"),
    ]
    for body, words in refusals:
        refused = await client.post("/api/v1/knowledge", json=body, headers=headers)
        assert refused.status_code == 422, body
        assert words.lower() in refused.json()["error"]["message"].lower(), (body, refused.text)
    # An incomplete draft cannot be submitted; the message names what is missing.
    incomplete = await client.post(f"/api/v1/knowledge/{entry_id}/submit", headers=headers)
    assert incomplete.status_code == 422
    assert "before submitting" in incomplete.json()["error"]["message"]
    nothing = await client.patch(f"/api/v1/knowledge/{entry_id}", json={}, headers=headers)
    assert nothing.status_code == 422
    for query in ("kind=rumour", "region=Mars", "maturity=9", "sort=oldest", "lang=de",
                  "technology=nowhere", "cursor=abc"):  # fmt: skip
        bad = await client.get(f"/api/v1/knowledge?{query}", headers=headers)
        assert bad.status_code == 400, query
        assert bad.json()["error"]["message"], query
    token = await log_in(client, alice)
    page = await client.get("/knowledge/entries?kind=rumour")
    assert page.status_code == 400 and "Unknown kind" in page.text
    # The form keeps what was typed and shows the message next to the field.
    form = await client.post(
        "/knowledge/entries/new",
        data={"csrf_token": token, "kind": "pitfall", "technology": "iot", "stage": "pilot",
              "maturity": "2", "language": "en", "title": "Seal", "summary": "kept text"},
    )  # fmt: skip
    assert form.status_code == 422
    assert 'id="title-error"' in form.text and "5 to 200 characters" in form.text
    assert "kept text" in form.text and 'aria-invalid="true"' in form.text
    assert (await client.get("/knowledge/entries/2147483648")).status_code == 404
    assert (await client.get(f"/knowledge/entries/{entry_id}/versions/9")).status_code == 404


async def test_a_new_entry_that_cannot_be_submitted_yet_is_kept_once_as_a_draft(
    client: httpx.AsyncClient,
) -> None:
    await categories()
    alice = await make_user("alice")
    token = await log_in(client, alice)
    form = {"csrf_token": token, "then": "submit", "kind": "pitfall", "technology": "iot",
            "stage": "pilot", "maturity": "2", "language": "en",
            "title": "Seals that lose their charge", "summary": "Batteries."}  # fmt: skip
    first = await client.post("/knowledge/entries/new", data=form)
    assert first.status_code == 422 and "before submitting" in first.text
    (entry,) = await KnowledgeEntry.all()
    assert entry.status.value == "draft"
    # The form now edits that draft, so sending it again makes no second entry.
    assert f'action="/knowledge/entries/{entry.id}/edit"' in first.text
    again = await client.post(
        f"/knowledge/entries/{entry.id}/edit",
        data={**form, "context": "c", "what_was_done": "w", "outcome": "o", "lessons": "l"},
    )
    assert again.status_code == 303 and await KnowledgeEntry.all().count() == 1
    assert (await KnowledgeEntry.get(id=entry.id)).status.value == "submitted"


async def test_a_page_of_entries_costs_the_same_queries_however_many_it_shows(
    client: httpx.AsyncClient,
) -> None:
    from forum.db import count_queries

    await categories()
    mod = await make_user("mod", role=Role.MODERATOR)
    authors = [await place(await make_user(f"author{n}"), code) for n, code in
               enumerate(("KE", "FR", "SG", "BR"))]  # fmt: skip
    await published(authors[0], mod, title="The only entry at first")
    bob = await make_user("bob")
    await log_in(client, bob)
    headers = await bearer(bob)
    with count_queries() as one:
        assert (await client.get("/knowledge/entries")).status_code == 200
    with count_queries() as one_api:
        assert (await client.get("/api/v1/knowledge", headers=headers)).status_code == 200
    for n in range(12):
        await published(authors[n % 4], mod, title=f"More entries, number {n}",
                        technology=("ai-ml", "iot", "blockchain")[n % 3])  # fmt: skip
    with count_queries() as many:
        page = await client.get("/knowledge/entries")
    assert page.text.count('class="entry-row"') == 13
    with count_queries() as many_api:
        listed = await client.get("/api/v1/knowledge", headers=headers)
    assert len(listed.json()["entries"]) == 13
    assert len(many.statements) == len(one.statements)
    assert len(many_api.statements) == len(one_api.statements)
