"""Knowledge entries and documents in the index, through `index_entry` / `index_document`
(the knowledge actions call them in their transactions): rows made with the ORM here."""

from __future__ import annotations

from forum.events import atomic
from forum.models import Administration, Category, Region, Role, User
from knowledge.models import (
    AdoptionStage,
    Document,
    DocumentTechnology,
    DocumentType,
    DocumentVersion,
    DocumentVisibility,
    EntryKind,
    EntryStatus,
    KnowledgeEntry,
)
from search.index import index_document, index_entry, rebuild
from tests.helpers import categories, make_user
from tests.search.support import count, found, staff_room


async def _entry(author: User, technology: Category, status: EntryStatus, title: str) -> int:
    adm, _ = await Administration.get_or_create(
        country_code="FR", defaults={"name": "France", "region": Region.EUR}
    )
    entry = await KnowledgeEntry.create(
        kind=EntryKind.BEST_PRACTICE,
        status=status,
        author=author,
        administration=adm,
        region=Region.EUR,
        technology=technology,
        stage=AdoptionStage.PILOT,
        maturity=3,
        language="fr",
        title=title,
        summary="Résumé des contrôles douaniers",
        context="Les **données** des déclarations",
        html={"context": "<p>Les <strong>données</strong> des déclarations</p>"},
    )
    async with atomic():
        await index_entry(entry.id)
    return entry.id


async def test_only_published_and_superseded_entries_are_found_and_only_by_members(
    db: str,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    published = await _entry(alice, cats["ai-ml"], EntryStatus.PUBLISHED, "Ciblage publié")
    superseded = await _entry(alice, cats["ai-ml"], EntryStatus.SUPERSEDED, "Ciblage ancien")
    await _entry(alice, cats["ai-ml"], EntryStatus.DRAFT, "Ciblage brouillon")
    await _entry(alice, cats["ai-ml"], EntryStatus.SUBMITTED, "Ciblage soumis")
    mod = await make_user("mod", role=Role.MODERATOR)

    expected = {("entry", published), ("entry", superseded)}
    assert set(await found(alice, "ciblage")) == expected
    assert set(await found(mod, "ciblage")) == expected  # drafts are their author's, not search's
    assert set(await found(alice, "donnees declaration", kind="entry")) == expected
    assert set(await found(alice, "controle douanier", region="EUR", administration="FR")) == (
        expected
    )
    assert set(await found(alice, "ciblage", category="ai-ml")) == expected
    assert await found(alice, "ciblage", category="iot") == []
    unverified = await make_user("newbie", verified=False)
    for viewer in (None, unverified):
        assert await count(viewer, "ciblage") == 0


async def test_an_entry_leaves_the_index_when_it_goes_back_to_draft(db: str) -> None:
    cats = await categories()
    alice = await make_user("alice")
    entry_id = await _entry(alice, cats["iot"], EntryStatus.PUBLISHED, "Scellés électroniques")
    assert await found(alice, "scelle electronique") == [("entry", entry_id)]
    await KnowledgeEntry.filter(id=entry_id).update(status=EntryStatus.DRAFT)
    async with atomic():
        await index_entry(entry_id)
    assert await found(alice, "scelle") == []


async def test_an_entry_of_a_staff_only_technology_reaches_only_staff(db: str) -> None:
    await categories()
    room = await staff_room()
    alice = await make_user("alice")
    mod = await make_user("mod", role=Role.MODERATOR)
    entry_id = await _entry(alice, room, EntryStatus.PUBLISHED, "Procédure interne")
    assert await found(alice, "procedure") == []
    assert await found(mod, "procedure") == [("entry", entry_id)]


async def _document(
    uploader: User, title: str, text: str, visibility: DocumentVisibility, technology: Category
) -> int:
    doc = await Document.create(
        title=title,
        abstract="An abstract",
        abstract_html="<p>An <em>abstract</em> about interoperability</p>",
        authors="WCO Secretariat",
        doc_type=DocumentType.STUDY,
        visibility=visibility,
        uploaded_by=uploader,
        language="en",
    )
    await DocumentTechnology.create(document=doc, technology=technology)
    await DocumentVersion.create(
        document=doc,
        number=1,
        file_name="study.pdf",
        stored_name=f"stored-{doc.id}",
        content_type="application/pdf",
        size=10,
        sha256="0" * 64,
        text=text,
        uploaded_by=uploader,
    )
    async with atomic():
        await index_document(doc.id)
    return doc.id


async def test_documents_are_found_by_their_text_and_members_ones_only_by_members(
    db: str,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    public = await _document(
        alice, "Public study", "Blockchain for certificates of origin", DocumentVisibility.PUBLIC,
        cats["blockchain"],
    )  # fmt: skip
    members = await _document(
        alice, "Members study", "Blockchain pilots and their costs", DocumentVisibility.MEMBERS,
        cats["blockchain"],
    )  # fmt: skip

    assert set(await found(alice, "blockchain")) == {("document", public), ("document", members)}
    assert await found(None, "blockchain") == [("document", public)]
    assert await found(None, "pilot cost") == []
    assert set(await found(alice, "interoperability secretariat", kind="document")) == {
        ("document", public),
        ("document", members),
    }
    assert set(await found(alice, "blockchain", category="blockchain")) == {
        ("document", public),
        ("document", members),
    }


async def test_a_new_version_and_a_deletion_reach_the_index(db: str) -> None:
    cats = await categories()
    alice = await make_user("alice")
    doc_id = await _document(
        alice, "Versioned", "first text about drones", DocumentVisibility.MEMBERS, cats["drones"]
    )
    await DocumentVersion.create(
        document_id=doc_id,
        number=2,
        file_name="v2.pdf",
        stored_name="stored-v2",
        content_type="application/pdf",
        size=10,
        sha256="1" * 64,
        text="second text about satellites",
        uploaded_by=alice,
    )
    async with atomic():
        await index_document(doc_id)
    assert await found(alice, "satellite") == [("document", doc_id)]
    assert await found(alice, "drones") == []  # the current version's text is searched

    await Document.filter(id=doc_id).update(is_deleted=True)
    async with atomic():
        await index_document(doc_id)
    assert await found(alice, "satellite") == []


async def test_rebuild_indexes_entries_and_documents_too(db: str) -> None:
    cats = await categories()
    alice = await make_user("alice")
    entry_id = await _entry(alice, cats["iot"], EntryStatus.PUBLISHED, "Capteurs connectés")
    doc_id = await _document(
        alice, "Sensor study", "connected sensors", DocumentVisibility.MEMBERS, cats["iot"]
    )
    counts = await rebuild()
    assert counts["entry"] == 1 and counts["document"] == 1
    assert set(await found(alice, "capteur")) == {("entry", entry_id)}
    assert set(await found(alice, "sensor")) == {("document", doc_id)}
