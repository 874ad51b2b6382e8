"""`forum seed-demo`'s documents: realistic, valid PDFs, a second version, idempotent."""

from __future__ import annotations

import httpx

from forum.seed import seed_demo
from forum.settings import Settings
from knowledge.models import Document, DocumentVersion, DocumentVisibility
from knowledge.seed_documents import DEMO_DOCUMENTS, seed_demo_documents
from tests.helpers import PASSWORD
from tests.knowledge.documents_helpers import (
    small_limits,  # noqa: F401 (the settings fixture)
    stored_files,
)


async def test_the_demo_seeds_documents_once(client: httpx.AsyncClient, settings: Settings) -> None:
    await seed_demo(PASSWORD)
    assert await seed_demo_documents(settings) == len(DEMO_DOCUMENTS)
    assert await seed_demo_documents(settings) == 0
    assert await Document.all().count() == len(DEMO_DOCUMENTS)
    versions = await DocumentVersion.all()
    assert len(versions) == len(DEMO_DOCUMENTS) + 1 == len(stored_files(settings))
    public = await Document.get(visibility=DocumentVisibility.PUBLIC)
    assert public.is_deliverable and public.current_version == 2
    page = (await client.get("/publications")).text
    assert public.title in page
    assert "Risk targeting with machine learning" not in page  # members only
    download = await client.get(f"/knowledge/documents/{public.id}/versions/1/download")
    assert download.status_code == 200
    assert download.content.startswith(b"%PDF-1.4") and download.content.rstrip().endswith(b"%%EOF")
