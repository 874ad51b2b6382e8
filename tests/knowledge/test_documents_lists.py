"""Lists of documents (the repository, the public section's publications, profiles,
administration pages, the API) show exactly what the policy lets the viewer see."""

from __future__ import annotations

import httpx

from forum.models import Administration, AuditLog, Role
from forum.settings import Settings
from knowledge.models import Document, DocumentVersion
from tests.helpers import bearer, categories, log_in, make_user
from tests.knowledge.documents_helpers import (
    make_document,
    small_limits,  # noqa: F401 (the settings fixture)
    stored_files,
)


async def _library(settings: Settings) -> None:
    await categories()
    admin = await make_user("secretariat", role=Role.ADMIN)
    alice = await make_user("alice")
    await make_document(
        settings, admin, title="AI in customs: a study", visibility="public", deliverable=True,
        technologies=("ai-ml",), doc_type="study",
    )  # fmt: skip
    await make_document(
        settings, admin, title="Blockchain pilots reviewed", deliverable=True,
        technologies=("blockchain",), doc_type="report",
    )  # fmt: skip
    await make_document(
        settings, alice, title="Drones aux frontières", technologies=("drones",),
        doc_type="case_study", language="fr",
    )  # fmt: skip


def _titles(page: str) -> set[str]:
    known = {"AI in customs: a study", "Blockchain pilots reviewed", "Drones aux frontières"}
    return {title for title in known if title in page}


async def test_the_public_section_lists_public_documents_only(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await _library(settings)
    assert _titles((await client.get("/publications")).text) == {"AI in customs: a study"}
    home = (await client.get("/")).text
    assert _titles(home) == {"AI in customs: a study"} and 'href="/publications"' in home
    assert _titles((await client.get("/knowledge/documents")).text) == {"AI in customs: a study"}
    await log_in(client, await make_user("bob"))
    assert _titles((await client.get("/publications")).text) == {"AI in customs: a study"}
    assert len(_titles((await client.get("/knowledge/documents")).text)) == 3


async def test_filters_have_stable_urls_on_the_page_and_in_the_api(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await _library(settings)
    headers = await bearer(await make_user("bob"))
    await log_in(client, await make_user("carol"))
    cases = {
        "deliverable=1": {"AI in customs: a study", "Blockchain pilots reviewed"},
        "deliverable=0": {"Drones aux frontières"},
        "lang=fr": {"Drones aux frontières"},
        "type=report": {"Blockchain pilots reviewed"},
        "technology=ai-ml": {"AI in customs: a study"},
        "technology=ai-ml&deliverable=0": set(),
    }
    for query, expected in cases.items():
        page = await client.get(f"/knowledge/documents?{query}")
        assert page.status_code == 200 and _titles(page.text) == expected, query
        api = await client.get(f"/api/v1/documents?{query}", headers=headers)
        assert {d["title"] for d in api.json()["documents"]} == expected, query
    for bad in ("type=poem", "lang=de", "deliverable=yes", "cursor=%00"):
        assert (await client.get(f"/knowledge/documents?{bad}")).status_code == 400, bad
        assert (await client.get(f"/api/v1/documents?{bad}", headers=headers)).status_code == 400


async def test_the_api_list_and_detail_follow_the_policy(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await _library(settings)
    anonymous = (await client.get("/api/v1/documents")).json()
    assert [d["title"] for d in anonymous["documents"]] == ["AI in customs: a study"]
    assert anonymous["documents"][0]["latest"]["download_url"].endswith("/versions/1/download")
    assert anonymous["documents"][0]["uploaded_by"] is None  # members are named to members
    newcomer = await bearer(await make_user("newcomer", verified=False))
    listed = (await client.get("/api/v1/documents", headers=newcomer)).json()["documents"]
    assert [d["title"] for d in listed] == ["AI in customs: a study"]
    members_only = await Document.get(title="Drones aux frontières")
    assert (await client.get(f"/api/v1/documents/{members_only.id}")).status_code == 404
    member = await bearer(await make_user("bob"))
    listed = (await client.get("/api/v1/documents", headers=member)).json()["documents"]
    assert len(listed) == 3 and not any(d["can_change"] for d in listed)
    assert {d["uploaded_by"]["username"] for d in listed} == {"secretariat", "alice"}
    detail = await client.get(f"/api/v1/documents/{members_only.id}", headers=member)
    assert detail.status_code == 200 and detail.json()["language"] == "fr"


async def test_pages_of_documents_follow_a_cursor(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await categories()
    alice = await make_user("alice")
    for n in range(23):
        await make_document(settings, alice, title=f"Note number {n:02d}")
    await log_in(client, alice)
    first = await client.get("/knowledge/documents")
    assert first.text.count('class="document-row"') == 20
    assert "Note number 22" in first.text and "Note number 02" not in first.text
    link = first.text.split('rel="next" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    second = await client.get(link)
    assert second.text.count('class="document-row"') == 3 and "Note number 00" in second.text
    api = (await client.get("/api/v1/documents", headers=await bearer(alice))).json()
    rest = await client.get(
        f"/api/v1/documents?cursor={api['next_cursor']}", headers=await bearer(alice)
    )
    assert len(api["documents"]) == 20 and len(rest.json()["documents"]) == 3


async def test_profiles_and_administration_pages_list_their_documents(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await categories()
    belgium = await Administration.create(name="Belgium", country_code="BE", region="EUR")
    alice = await make_user("alice")
    alice.administration_id = belgium.id
    await alice.save(update_fields=["administration_id"])
    fields_owner = await make_user("bob")
    from knowledge.documents import check_document_fields, do_create_document
    from knowledge.storage import spool_bytes
    from tests.knowledge.documents_helpers import pdf

    fields = await check_document_fields(
        alice, title="Belgian e-seals", abstract="", authors="", administration="BE",
        doc_type="case_study", language="en", published_on="", visibility="members",
        is_deliverable=False, technologies=["iot"],
    )  # fmt: skip
    await do_create_document(
        settings, alice, fields, spool_bytes(settings, pdf(), 10**6), "seals.pdf"
    )
    await log_in(client, fields_owner)
    assert "Belgian e-seals" in (await client.get("/u/alice")).text
    assert "Belgian e-seals" in (await client.get("/a/BE")).text
    assert "Belgian e-seals" not in (await client.get("/u/bob")).text


async def test_the_uploader_edits_and_deletes_and_an_administrator_is_audited(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await categories()
    alice = await make_user("alice")
    document = await make_document(settings, alice, title="First title")
    token = await log_in(client, await make_user("bob"))
    assert (await client.get(f"/knowledge/documents/{document.id}/edit")).status_code == 404
    token = await log_in(client, alice)
    form = {
        "csrf_token": token, "title": "A better title", "abstract": "Now with *emphasis*",
        "authors": "Alice", "administration": "", "doc_type": "report", "language": "en",
        "published_on": "not a date", "visibility": "members", "technologies": ["iot"],
    }  # fmt: skip
    refused = await client.post(f"/knowledge/documents/{document.id}/edit", data=form)
    assert refused.status_code == 422 and "YYYY-MM-DD" in refused.text
    assert 'id="error-published_on"' in refused.text
    form["published_on"] = "2026-11-30"
    saved = await client.post(f"/knowledge/documents/{document.id}/edit", data=form)
    assert saved.status_code == 303
    document = await Document.get(id=document.id)
    assert document.title == "A better title" and "<em>emphasis</em>" in document.abstract_html
    assert await AuditLog.all().count() == 0  # her own document: not a staff act
    admin = await make_user("secretariat", role=Role.ADMIN)
    token = await log_in(client, admin)
    response = await client.post(
        f"/knowledge/documents/{document.id}/delete",
        data={"csrf_token": token, "reason": "Duplicate of another"},
    )
    assert response.status_code == 303
    row = await AuditLog.get(action="document.delete")
    assert (row.actor_id, row.target_id, row.reason) == (
        admin.id,
        document.id,
        "Duplicate of another",
    )
    await log_in(client, alice)
    assert (await client.get(f"/knowledge/documents/{document.id}")).status_code == 404
    # Deleted files stay for administrators; nothing else was written.
    assert len(stored_files(settings)) == await DocumentVersion.all().count() == 1
