"""Actions on documents: member contributions and project deliverables, and their versions.

    fields = await check_document_fields(actor, title=..., ...)      # Invalid / Forbidden
    document = await do_create_document(settings, actor, fields, spool, file_name)

Every upload arrives as a `knowledge.storage.Spool` already in the store. The action checks
what the file is from its content (`storage.sniff`), the name against it and the member's
quota, then writes the rows and moves the file to its stored name in one transaction. Whatever
goes wrong, the spool (or the moved file) is removed: a refused upload leaves no file and no
row. Public visibility and the deliverable mark are administrators' powers: they pass
`moderation.gate.require_administrator` and write an audit row in the same transaction, as
does an administrator acting on someone else's document.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from forum import policy
from forum.errors import Conflict, Forbidden, Invalid, NotFound
from forum.events import atomic, record_event
from forum.i18n import N_, _
from forum.inputs import clean_text
from forum.models import Administration, Category, User
from forum.queries.categories import visible_categories
from forum.rendering import render_markdown
from forum.settings import Settings
from knowledge.models import (
    Document,
    DocumentTechnology,
    DocumentType,
    DocumentVersion,
    DocumentVisibility,
)
from knowledge.storage import (
    Spool,
    check_name_matches,
    check_quota,
    clean_file_name,
    sniff,
)
from knowledge.text import initial_state
from moderation import audit, gate
from search import index as search_index

TITLE_MIN, TITLE_MAX = 3, 200
ABSTRACT_MAX = 20_000
AUTHORS_MAX = 500
NOTE_MAX = 1000
MAX_TECHNOLOGIES = 8
LANGUAGES = {"en": "English", "fr": "Français"}
EARLIEST, LATEST = date(1900, 1, 1), date(2100, 12, 31)

TYPE_LABELS = {
    DocumentType.RESEARCH: N_("Research"),
    DocumentType.PERSPECTIVE: N_("Perspective"),
    DocumentType.STUDY: N_("Study"),
    DocumentType.REPORT: N_("Report"),
    DocumentType.TOOL: N_("Tool"),
    DocumentType.CASE_STUDY: N_("Case study"),
}


@dataclass
class DocumentFields:
    title: str
    abstract: str
    authors: str
    administration_id: int | None
    doc_type: DocumentType
    language: str
    published_on: date | None
    visibility: DocumentVisibility
    is_deliverable: bool
    technology_ids: list[int] = field(default_factory=list)


def _text(value: str, name: str, *, maximum: int, minimum: int = 0, one_line: bool = False) -> str:
    value = clean_text(value, name).strip()
    if one_line and ("\n" in value or "\r" in value):
        raise Invalid(_("Write this on one line."), field=name)
    if len(value) < minimum:
        raise Invalid(_("At least %(n)d characters, please.") % {"n": minimum}, field=name)
    if len(value) > maximum:
        raise Invalid(_("At most %(n)d characters, please.") % {"n": maximum}, field=name)
    return value


def _date(value: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            raise ValueError(value)
        found = date.fromisoformat(value)
    except ValueError:
        raise Invalid(_("Give the date as YYYY-MM-DD."), field="published_on") from None
    if not EARLIEST <= found <= LATEST:
        raise Invalid(_("That date is out of range."), field="published_on")
    return found


def _require_publisher(actor: User, name: str) -> None:
    """Public visibility and deliverables: administrators with 2FA only."""
    if not policy.has_staff_role(actor):
        raise Forbidden(
            _("Only administrators publish documents publicly or as project deliverables."),
            field=name,
        )
    gate.require_administrator(actor)


async def check_document_fields(
    actor: User,
    *,
    title: str,
    abstract: str,
    authors: str,
    administration: str,
    doc_type: str,
    language: str,
    published_on: str,
    visibility: str,
    is_deliverable: bool,
    technologies: list[str],
    existing: Document | None = None,
) -> DocumentFields:
    """The metadata of a new or edited document, validated for this actor. Members keep
    their own administration (or none) and members-only, non-deliverable documents; an
    administrator may set anything. `administration` is a country code or empty."""
    try:
        kind = DocumentType(doc_type)
    except ValueError:
        raise Invalid(_("Choose the type of document."), field="doc_type") from None
    if language not in LANGUAGES:
        raise Invalid(_("Choose English or French."), field="language")
    try:
        seen = DocumentVisibility(visibility)
    except ValueError:
        raise Invalid(_("Choose who may read it."), field="visibility") from None
    publishing_before = (
        (existing.visibility, existing.is_deliverable)
        if existing is not None
        else (DocumentVisibility.MEMBERS, False)
    )
    if (seen, is_deliverable) != publishing_before:  # for a new one: public or deliverable
        _require_publisher(actor, "visibility" if seen != publishing_before[0] else "deliverable")
    code = clean_text(administration, "administration").strip().upper()
    administration_id: int | None = None
    if code:
        found = await Administration.get_or_none(country_code=code[:2]) if len(code) == 2 else None
        if found is None:
            raise Invalid(_("Choose an administration from the list."), field="administration")
        unchanged = existing is not None and existing.administration_id == found.id
        if found.id != actor.administration_id and not unchanged and not policy.is_admin(actor):
            raise Invalid(
                _("Members attribute documents to their own administration."),
                field="administration",
            )
        administration_id = found.id
    slugs = list(dict.fromkeys(s.strip() for s in technologies if s.strip()))
    if len(slugs) > MAX_TECHNOLOGIES:
        raise Invalid(
            _("At most %(n)d technologies.") % {"n": MAX_TECHNOLOGIES}, field="technologies"
        )
    known = {c.slug: c for c in await visible_categories(actor)}
    unknown = [s for s in slugs if s not in known]
    if unknown:
        raise Invalid(_("Choose technologies from the list."), field="technologies")
    return DocumentFields(
        title=_text(title, "title", minimum=TITLE_MIN, maximum=TITLE_MAX, one_line=True),
        abstract=_text(abstract, "abstract", maximum=ABSTRACT_MAX),
        authors=_text(authors, "authors", maximum=AUTHORS_MAX, one_line=True),
        administration_id=administration_id,
        doc_type=kind,
        language=language,
        published_on=_date(published_on),
        visibility=seen,
        is_deliverable=is_deliverable,
        technology_ids=[known[s].id for s in slugs],
    )


def check_note(note: str) -> str:
    return _text(note, "note", maximum=NOTE_MAX)


async def _check_file(spool: Spool | None, file_name: str) -> tuple[str, str]:
    """(content type, file name) of an uploaded file, from its content."""
    if spool is None:
        raise Invalid(_("Choose a file to upload."), field="file")
    kind = await asyncio.to_thread(sniff, spool.path)
    return kind.content_type, check_name_matches(clean_file_name(file_name), kind)


async def quota_used(user_id: int) -> int:
    """What a member's files take: every version of their documents that are not deleted."""
    sizes: list[Any] = await DocumentVersion.filter(
        uploaded_by_id=user_id, document__is_deleted=False
    ).values_list("size", flat=True)
    return sum(int(s) for s in sizes)


async def _check_quota(settings: Settings, actor: User, size: int) -> None:
    """Administrators publish the project's deliverables and have no quota."""
    if policy.is_admin(actor):
        return
    message = _(
        "This file (%(size)s) would take you over your quota of %(quota)s: you use "
        "%(used)s already. Delete an old document or ask the Secretariat."
    )
    await check_quota(actor, size, settings.document_quota_bytes, quota_used, message)


def _summary(document: Document) -> dict[str, Any]:
    return {
        "title": document.title,
        "visibility": str(document.visibility),
        "is_deliverable": document.is_deliverable,
    }


async def do_create_document(
    settings: Settings,
    actor: User,
    fields: DocumentFields,
    spool: Spool | None,
    file_name: str,
    *,
    note: str = "",
) -> Document:
    """A new document and its first version. The spool is kept or removed, never left."""
    try:
        if not policy.can_upload_document(actor):
            raise Forbidden(_("Only verified members may share documents."))
        content_type, name = await _check_file(spool, file_name)
        assert spool is not None
        note = check_note(note)
        async with atomic():
            await _check_quota(settings, actor, spool.size)
            document = await Document.create(
                title=fields.title,
                abstract=fields.abstract,
                abstract_html=render_markdown(fields.abstract),
                authors=fields.authors,
                administration_id=fields.administration_id,
                doc_type=fields.doc_type,
                is_deliverable=fields.is_deliverable,
                language=fields.language,
                published_on=fields.published_on,
                visibility=fields.visibility,
                uploaded_by_id=actor.id,
                current_version=1,
            )
            await _set_technologies(document, fields.technology_ids)
            version = await _insert_version(document, 1, actor, spool, name, content_type, note)
            if fields.visibility == DocumentVisibility.PUBLIC or fields.is_deliverable:
                await audit.append(
                    actor, "document.publish", "document", document.id, after=_summary(document)
                )
            await search_index.index_document(document.id)  # issue 13
            await record_event(
                "document.created",
                f"user:{actor.id}",
                {"document_id": document.id, "version": version.number},
                user_id=actor.id,
            )
            spool.keep()  # last: a failure before it leaves the spool to be removed below
    except BaseException:
        if spool is not None:
            spool.discard()
        raise
    return document


async def _set_technologies(document: Document, technology_ids: list[int]) -> None:
    await DocumentTechnology.filter(document_id=document.id).delete()
    if technology_ids:
        await DocumentTechnology.bulk_create(
            [DocumentTechnology(document_id=document.id, technology_id=t) for t in technology_ids]
        )


async def _insert_version(
    document: Document,
    number: int,
    actor: User,
    spool: Spool,
    file_name: str,
    content_type: str,
    note: str,
) -> DocumentVersion:
    return await DocumentVersion.create(
        document_id=document.id,
        number=number,
        file_name=file_name,
        stored_name=spool.stored_name,
        content_type=content_type,
        size=spool.size,
        sha256=spool.sha256,
        text_state=initial_state(content_type),  # PDFs are read after commit (knowledge/text.py)
        note=note,
        uploaded_by_id=actor.id,
    )


def _staff_act(actor: User, document: Document) -> bool:
    """Acting on someone else's document is an administrator's power (gate and audit)."""
    if document.uploaded_by_id == actor.id:
        return False
    gate.require_administrator(actor)
    return True


def _require_change(actor: User, document: Document) -> None:
    if not policy.can_see_document(actor, document):
        raise NotFound(_("No such document."))
    if not policy.can_change_document(actor, document) and not policy.has_staff_role(actor):
        raise Forbidden(_("Only its uploader or an administrator may change this document."))
    if document.is_deleted:
        raise Conflict(_("This document is deleted."))


async def do_add_version(
    settings: Settings,
    actor: User,
    document: Document,
    spool: Spool | None,
    file_name: str,
    *,
    note: str = "",
) -> DocumentVersion:
    """A new version; the older ones stay listed and downloadable."""
    try:
        _require_change(actor, document)
        staff = _staff_act(actor, document)
        content_type, name = await _check_file(spool, file_name)
        assert spool is not None
        note = check_note(note)
        async with atomic():
            await _check_quota(settings, actor, spool.size)
            number = document.current_version + 1
            moved = await Document.filter(
                id=document.id, current_version=document.current_version, is_deleted=False
            ).update(current_version=number)
            if not moved:
                raise Conflict(_("Another version was added meanwhile: reload and try again."))
            version = await _insert_version(
                document, number, actor, spool, name, content_type, note
            )
            if staff:
                await audit.append(
                    actor,
                    "document.version",
                    "document",
                    document.id,
                    data={"version": number, "file_name": name},
                )
            await search_index.index_document(document.id)  # issue 13
            await record_event(
                "document.version_added",
                f"user:{document.uploaded_by_id}",
                {"document_id": document.id, "version": number},
                user_id=document.uploaded_by_id,
            )
            spool.keep()
        document.current_version = number
    except BaseException:
        if spool is not None:
            spool.discard()
        raise
    return version


async def do_update_document(actor: User, document: Document, fields: DocumentFields) -> None:
    """New metadata (the file stays). Publishing changes and edits of someone else's
    document are audited."""
    _require_change(actor, document)
    staff = _staff_act(actor, document)
    before = _summary(document)
    publishing = (fields.visibility, fields.is_deliverable) != (
        document.visibility,
        document.is_deliverable,
    )
    changes: dict[str, Any] = {
        "title": fields.title,
        "abstract": fields.abstract,
        "abstract_html": render_markdown(fields.abstract),
        "authors": fields.authors,
        "administration_id": fields.administration_id,
        "doc_type": fields.doc_type,
        "language": fields.language,
        "published_on": fields.published_on,
        "visibility": fields.visibility,
        "is_deliverable": fields.is_deliverable,
    }
    async with atomic():
        await Document.filter(id=document.id).update(**changes)
        for name, value in changes.items():
            setattr(document, name, value)
        await _set_technologies(document, fields.technology_ids)
        if publishing:
            await audit.append(
                actor, "document.publish", "document", document.id, before=before,
                after=_summary(document),
            )  # fmt: skip
        elif staff:
            await audit.append(actor, "document.edit", "document", document.id, after=before)
        await search_index.index_document(document.id)  # issue 13
        await record_event(
            "document.updated",
            f"user:{document.uploaded_by_id}",
            {"document_id": document.id},
            user_id=document.uploaded_by_id,
        )


async def do_delete_document(actor: User, document: Document, *, reason: str = "") -> None:
    """Gone from every list and download for everyone but administrators (the files stay,
    for them). Its uploader or an administrator (audited)."""
    _require_change(actor, document)
    staff = _staff_act(actor, document)
    reason = _text(reason, "reason", maximum=NOTE_MAX)
    async with atomic():
        deleted = await Document.filter(id=document.id, is_deleted=False).update(is_deleted=True)
        if not deleted:
            raise Conflict(_("This document is deleted already."))
        document.is_deleted = True
        if staff:
            await audit.append(
                actor, "document.delete", "document", document.id, reason=reason,
                before=_summary(document),
            )  # fmt: skip
        await search_index.index_document(document.id)  # issue 13
        await record_event(
            "document.deleted",
            f"user:{document.uploaded_by_id}",
            {"document_id": document.id},
            user_id=document.uploaded_by_id,
        )


async def technologies_of(document_ids: list[int]) -> dict[int, list[Category]]:
    """Each document's technologies, for a page of documents in one query."""
    found: dict[int, list[Category]] = {i: [] for i in document_ids}
    if not document_ids:
        return found
    rows = await DocumentTechnology.filter(document_id__in=document_ids).select_related(
        "technology"
    )
    for row in sorted(rows, key=lambda r: (r.technology.position, r.technology.id)):
        found[row.document_id].append(row.technology)
    return found
