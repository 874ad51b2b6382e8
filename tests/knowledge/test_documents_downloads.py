"""Every download asks the policy again, and is served as an attachment that no browser will
render: the sniffed type, nosniff, a sandbox, and the original name safely encoded."""

from __future__ import annotations

from urllib.parse import unquote

import httpx

from forum.errors import Conflict
from forum.models import AuditLog, Role
from forum.settings import Settings
from knowledge.documents import do_delete_document
from knowledge.models import Document
from tests.helpers import bearer, categories, log_in, make_user
from tests.knowledge.documents_helpers import (
    add_version,
    docx,
    make_document,
    pdf,
    small_limits,  # noqa: F401 (the settings fixture)
)


async def _world(settings: Settings) -> dict[str, int]:
    await categories()
    admin = await make_user("secretariat", role=Role.ADMIN)
    alice = await make_user("alice")
    public = await make_document(
        settings, admin, title="AI in customs: a study", visibility="public", deliverable=True
    )
    members = await make_document(settings, alice, title="Our risk engine")
    deleted = await make_document(settings, alice, title="A withdrawn draft")
    await do_delete_document(alice, deleted)
    return {"public": public.id, "members": members.id, "deleted": deleted.id}


def _urls(document_id: int) -> list[str]:
    base = f"/knowledge/documents/{document_id}"
    return [
        f"{base}/download",
        f"{base}/versions/1/download",
        f"/api/v1/documents/{document_id}/versions/1/download",
    ]


async def _statuses(
    client: httpx.AsyncClient, ids: dict[str, int], **headers: str
) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for name, document_id in ids.items():
        found[name] = {
            (await client.get(url, headers=headers)).status_code for url in _urls(document_id)
        }
        found[name].add(
            (await client.get(f"/knowledge/documents/{document_id}", headers=headers)).status_code
        )
        found[name].add(
            (await client.get(f"/api/v1/documents/{document_id}", headers=headers)).status_code
        )
    return found


async def test_visitors_download_public_documents_only(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    ids = await _world(settings)
    assert await _statuses(client, ids) == {"public": {200}, "members": {404}, "deleted": {404}}


async def test_unverified_accounts_download_public_documents_only(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    ids = await _world(settings)
    newcomer = await make_user("newcomer", verified=False)
    await log_in(client, newcomer)
    assert await _statuses(client, ids) == {"public": {200}, "members": {404}, "deleted": {404}}
    client.cookies.clear()
    headers = await bearer(newcomer)
    assert await _statuses(client, ids, **headers) == {
        "public": {200},
        "members": {404},
        "deleted": {404},
    }


async def test_members_download_members_and_public_documents_not_deleted_ones(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    ids = await _world(settings)
    await log_in(client, await make_user("bob"))
    assert await _statuses(client, ids) == {"public": {200}, "members": {200}, "deleted": {404}}


async def test_administrators_still_reach_deleted_documents(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    ids = await _world(settings)
    headers = await bearer(await make_user("admin2", role=Role.ADMIN))
    assert await _statuses(client, ids, **headers) == {
        "public": {200},
        "members": {200},
        "deleted": {200},
    }


async def test_a_revoked_member_loses_the_download_at_once(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    ids = await _world(settings)
    bob = await make_user("bob")
    await log_in(client, bob)
    url = _urls(ids["members"])[1]
    assert (await client.get(url)).status_code == 200
    bob.is_verified = False
    await bob.save(update_fields=["is_verified"])
    assert (await client.get(url)).status_code == 404


async def test_a_download_is_an_attachment_with_its_name_safely_encoded(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await categories()
    alice = await make_user("alice")
    content = pdf()
    name = 'Étude "IA" en douane;\r\nSet-Cookie: x=1.pdf'
    document = await make_document(settings, alice, data=content, file_name=name)
    await log_in(client, alice)
    response = await client.get(f"/knowledge/documents/{document.id}/versions/1/download")
    assert response.status_code == 200
    assert response.content == content
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"].startswith("sandbox")
    assert "set-cookie" not in {k.lower() for k in response.headers if k.lower() != "set-cookie"}
    disposition = response.headers["content-disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    assert disposition.startswith('attachment; filename="')
    fallback = disposition.split('filename="', 1)[1].split('"', 1)[0]
    assert fallback == "Etude _IA_ en douane_Set-Cookie_ x_1.pdf"
    encoded = disposition.split("filename*=UTF-8''", 1)[1]
    assert '"' not in encoded and ";" not in encoded and " " not in encoded
    assert unquote(encoded) == 'Étude "IA" en douane;Set-Cookie: x=1.pdf'


async def test_an_office_file_keeps_its_own_type(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await categories()
    alice = await make_user("alice")
    document = await make_document(settings, alice, data=docx(), file_name="report.docx")
    await log_in(client, alice)
    response = await client.get(f"/knowledge/documents/{document.id}/download")
    assert response.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    assert response.headers["content-disposition"].startswith('attachment; filename="report.docx"')


async def test_older_versions_stay_listed_and_downloadable(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await categories()
    alice = await make_user("alice")
    first, second = pdf("first edition"), pdf("second edition, revised")
    document = await make_document(settings, alice, data=first, file_name="study-v1.pdf")
    token = await log_in(client, alice)
    response = await client.post(
        f"/knowledge/documents/{document.id}/versions?csrf_token={token}",
        data={"note": "Revised figures"},
        files={"file": ("study-v2.pdf", second, "application/pdf")},
    )
    assert response.status_code == 303, response.text
    base = f"/knowledge/documents/{document.id}"
    assert (await client.get(f"{base}/versions/1/download")).content == first
    assert (await client.get(f"{base}/versions/2/download")).content == second
    assert (await client.get(f"{base}/download")).content == second  # the latest
    page = (await client.get(base)).text
    assert "study-v1.pdf" in page and "study-v2.pdf" in page and "Revised figures" in page
    detail = (await client.get(f"/api/v1/documents/{document.id}")).json()
    assert detail["current_version"] == 2
    assert [v["number"] for v in detail["versions"]] == [2, 1]
    assert (await client.get(f"{base}/versions/3/download")).status_code == 404


async def test_only_the_uploader_or_an_administrator_adds_a_version(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await categories()
    alice = await make_user("alice")
    document = await make_document(settings, alice)
    bob_headers = await bearer(await make_user("bob"))
    response = await client.post(
        f"/api/v1/documents/{document.id}/versions",
        headers=bob_headers,
        files={"file": ("b.pdf", pdf(), "application/pdf")},
    )
    assert response.status_code == 403
    admin = await make_user("secretariat", role=Role.ADMIN)
    response = await client.post(
        f"/api/v1/documents/{document.id}/versions",
        headers=await bearer(admin),
        files={"file": ("b.pdf", pdf(), "application/pdf")},
        data={"note": "Corrected by the Secretariat"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["current_version"] == 2
    row = await AuditLog.get(action="document.version")
    assert (row.actor_id, row.target_id) == (admin.id, document.id)
    stale = document  # read before the administrator's version: refused, not overwritten
    try:
        await add_version(settings, alice, stale, pdf("mine"), "c.pdf")
    except Conflict as exc:
        assert "Another version was added meanwhile" in exc.message
    else:
        raise AssertionError("a stale version number was accepted")
    fresh = await Document.get(id=document.id)
    assert (await add_version(settings, alice, fresh, pdf("mine"), "c.pdf")).number == 3
