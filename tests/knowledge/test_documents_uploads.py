"""Uploading documents through the page and the API: what is accepted, and every refusal,
each with a clear message and nothing left behind (no file in the store, no row)."""

from __future__ import annotations

import httpx
import pytest

from forum.models import AuditLog, Role
from forum.settings import Settings
from knowledge.models import Document, DocumentTechnology, DocumentVersion, DocumentVisibility
from knowledge.storage import store_dir
from tests.helpers import bearer, categories, log_in, make_user
from tests.knowledge.documents_helpers import (
    EXE,
    HTML,
    SVG,
    TEST_MAX_BYTES,
    docx,
    make_document,
    nothing_left,
    pdf,
    small_limits,  # noqa: F401 (the settings fixture)
    stored_files,
    xlsx,
)

FIELDS = {
    "title": "Machine learning for risk targeting",
    "abstract": "What we **learnt**.<script>alert(1)</script>",
    "authors": "A. Member",
    "doc_type": "research",
    "language": "en",
    "published_on": "2026-06-30",
    "visibility": "members",
    "technologies": ["ai-ml", "big-data"],
}


async def _upload_page(
    client: httpx.AsyncClient, token: str, name: str, data: bytes, **changes: object
) -> httpx.Response:
    return await client.post(
        f"/knowledge/documents/new?csrf_token={token}",
        data={**FIELDS, **changes},
        files={"file": (name, data, "application/pdf")},
    )


async def test_a_member_shares_a_pdf_stored_under_a_random_name(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await categories()
    alice = await make_user("alice")
    token = await log_in(client, alice)
    content = pdf()
    response = await _upload_page(client, token, "risk targeting.pdf", content)
    assert response.status_code == 303, response.text
    document = await Document.get()
    assert response.headers["location"] == f"/knowledge/documents/{document.id}?saved=created"
    assert document.visibility == DocumentVisibility.MEMBERS and not document.is_deliverable
    assert "<script" not in document.abstract_html and "<strong>learnt</strong>" in (
        document.abstract_html
    )
    assert await DocumentTechnology.filter(document_id=document.id).count() == 2
    version = await DocumentVersion.get(document_id=document.id)
    assert (version.number, version.file_name, version.size) == (
        1,
        "risk targeting.pdf",
        len(content),
    )
    assert version.content_type == "application/pdf"
    (stored,) = stored_files(settings)
    assert stored.name == version.stored_name and stored.read_bytes() == content
    assert "risk" not in stored.name  # a random name, not the uploaded one
    page = await client.get(f"/knowledge/documents/{document.id}")
    assert "Machine learning for risk targeting" in page.text and "risk targeting.pdf" in page.text


async def test_office_files_are_recognised_from_their_structure(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await categories()
    token = await log_in(client, await make_user("alice"))
    for name, data in (("report.docx", docx()), ("figures.xlsx", xlsx())):
        response = await _upload_page(client, token, name, data)
        assert response.status_code == 303, response.text
    types = await DocumentVersion.all().order_by("id").values_list("content_type", flat=True)
    assert types == [
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ]


REFUSED = [
    ("an HTML page named .pdf", "study.pdf", HTML, 422, "This file is an HTML page."),
    ("an SVG image named .pdf", "study.pdf", SVG, 422, "This file is an SVG image."),
    ("an executable named .docx", "report.docx", EXE, 422, "This file is an executable program."),
    (
        "an ELF program named .pdf",
        "a.pdf",
        b"\x7fELF\x02\x01\x01" + b"\x00" * 64,
        422,
        "This file is an executable program.",
    ),
    ("a PDF named .docx", "report.docx", None, 422, "named .docx but its content is a PDF"),
    ("a Word file named .pdf", "report.pdf", "docx", 422, "named .pdf but its content is a Word"),
    ("an empty file", "empty.pdf", b"", 422, "The file is empty."),
    ("a truncated PDF", "cut.pdf", "cut-pdf", 422, "This PDF is truncated"),
    ("a truncated Word file", "cut.docx", "cut-docx", 422, "damaged or truncated"),
    ("a ZIP that is no Office file", "a.docx", "zip", 422, "not a Word, Excel or PowerPoint"),
    ("a file over the size limit", "big.pdf", "big", 413, "larger than the limit of 64 KiB"),
]


def _content(kind: bytes | str | None) -> bytes:
    if isinstance(kind, bytes):
        return kind
    whole_pdf, whole_docx = pdf(), docx()
    import io
    import zipfile

    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("readme.txt", "just a zip")
    return {
        None: whole_pdf,
        "docx": whole_docx,
        "cut-pdf": whole_pdf[: len(whole_pdf) // 2],
        "cut-docx": whole_docx[: len(whole_docx) // 2],
        "zip": other.getvalue(),
        "big": pdf(size=TEST_MAX_BYTES + 1024),
    }[kind]


@pytest.mark.parametrize(("what", "name", "kind", "status", "message"), REFUSED)
async def test_a_refused_upload_says_why_and_leaves_nothing_behind(
    client: httpx.AsyncClient,
    settings: Settings,
    what: str,
    name: str,
    kind: bytes | str | None,
    status: int,
    message: str,
) -> None:
    await categories()
    token = await log_in(client, await make_user("alice"))
    response = await _upload_page(client, token, name, _content(kind))
    assert response.status_code == status, (what, response.text[:300])
    assert message in response.text, what
    assert 'id="error-file"' in response.text  # next to the file field
    assert "Machine learning for risk targeting" in response.text  # what was typed is kept
    assert await nothing_left(settings), what


async def test_the_api_refuses_the_same_files_with_the_error_envelope(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await categories()
    headers = await bearer(await make_user("alice"))
    for name, data, status in (
        ("study.pdf", HTML, 422),
        ("study.pdf", SVG, 422),
        ("setup.docx", EXE, 422),
        ("empty.pdf", b"", 422),
        ("big.pdf", _content("big"), 413),
    ):
        response = await client.post(
            "/api/v1/documents",
            headers=headers,
            data={"title": "A study", "doc_type": "study"},
            files={"file": (name, data, "application/pdf")},
        )
        assert response.status_code == status, (name, response.text)
        error = response.json()["error"]
        assert error["message"] and error["code"] in ("invalid", "too_large"), error
        assert await nothing_left(settings), name
    no_file = await client.post(
        "/api/v1/documents", headers=headers, data={"title": "A study", "doc_type": "study"}
    )
    assert no_file.status_code == 400  # not multipart at all
    empty_form = await client.post(
        "/api/v1/documents",
        headers=headers,
        data={"title": "A study", "doc_type": "study"},
        files={"note": (None, b"no file here")},
    )
    assert empty_form.status_code == 422
    assert "Choose a file" in empty_form.json()["error"]["message"]


async def test_an_announced_body_over_the_limit_is_refused_before_it_is_read(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    headers = await bearer(await make_user("alice"))
    response = await client.post(
        "/api/v1/documents",
        headers={
            **headers,
            "Content-Type": "multipart/form-data; boundary=x",
            "Content-Length": str(50 * 1024 * 1024),
        },
        content=b"--x--\r\n",
    )
    assert response.status_code == 413
    assert await nothing_left(settings)


async def test_the_quota_counts_every_version_a_member_uploaded(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await categories()
    alice = await make_user("alice")
    for n in range(2):
        await make_document(settings, alice, title=f"Earlier {n}", data=pdf(size=56_000))
    before = stored_files(settings)
    token = await log_in(client, alice)
    response = await _upload_page(client, token, "third.pdf", pdf(size=56_000))
    assert response.status_code == 413, response.text
    assert "over your quota of 160 KiB" in response.text
    assert stored_files(settings) == before and await Document.all().count() == 2
    # A deleted document's files no longer count.
    first = await Document.get(title="Earlier 0")
    assert (
        await client.post(f"/knowledge/documents/{first.id}/delete", data={"csrf_token": token})
    ).status_code == 303
    assert (await _upload_page(client, token, "third.pdf", pdf(size=56_000))).status_code == 303


async def test_only_administrators_publish_publicly_or_as_deliverables(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await categories()
    token = await log_in(client, await make_user("alice"))
    for change in ({"visibility": "public"}, {"is_deliverable": "1"}):
        response = await _upload_page(client, token, "study.pdf", pdf(), **change)
        assert response.status_code == 403, change
        assert "Only administrators publish documents publicly" in response.text
        assert await nothing_left(settings)
    admin = await make_user("secretariat", role=Role.ADMIN)
    token = await log_in(client, admin)
    response = await _upload_page(
        client, token, "study.pdf", pdf(), visibility="public", is_deliverable="1"
    )
    assert response.status_code == 303, response.text
    document = await Document.get()
    assert document.visibility == DocumentVisibility.PUBLIC and document.is_deliverable
    row = await AuditLog.get(action="document.publish")
    assert (row.actor_id, row.target_id) == (admin.id, document.id)


async def test_an_administrator_without_two_factor_is_sent_to_set_it_up(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await categories()
    lax = await make_user("laxadmin", role=Role.ADMIN, two_factor=False)
    token = await log_in(client, lax)
    response = await _upload_page(client, token, "study.pdf", pdf(), visibility="public")
    assert response.status_code == 303
    assert response.headers["location"] == "/account/security?notice=staff_two_factor"
    assert await nothing_left(settings) and await AuditLog.all().count() == 0


async def test_visitors_and_unverified_accounts_cannot_upload(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await client.get("/knowledge/documents/new")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    token = await log_in(client, await make_user("newcomer", verified=False))
    assert (await client.get("/knowledge/documents/new")).status_code == 404
    assert (await _upload_page(client, token, "a.pdf", pdf())).status_code == 404
    headers = await bearer(await make_user("applicant", verified=False))
    response = await client.post(
        "/api/v1/documents",
        headers=headers,
        data={"title": "A study", "doc_type": "study"},
        files={"file": ("a.pdf", pdf(), "application/pdf")},
    )
    assert response.status_code == 403
    assert await nothing_left(settings)
    assert not store_dir(settings).exists() or stored_files(settings) == []
