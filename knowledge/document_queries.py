"""Reading documents through the policy: lists with filters and keyset pages, one document
with its versions, one version to download. `access_*` raise NotFound for what does not exist
and for what the viewer may not see alike.

The SQL already leaves out what the viewer may not see (deleted documents, members documents
for visitors); `policy.can_see_document` then has the last word on every row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from tortoise.expressions import Q, Subquery

from forum import policy
from forum.errors import BadRequest, NotFound
from forum.i18n import _
from forum.models import Administration, Category, User
from forum.pagination import decode_cursor, encode_cursor
from knowledge.documents import LANGUAGES, TYPE_LABELS, technologies_of
from knowledge.models import (
    Document,
    DocumentTechnology,
    DocumentType,
    DocumentVersion,
    DocumentVisibility,
)
from knowledge.storage import human_size

PAGE_SIZE = 20
RECENT = 10


@dataclass(frozen=True)
class DocumentFilter:
    doc_type: DocumentType | None = None
    technology: str = ""  # a category slug
    language: str = ""
    deliverable: bool | None = None  # True: deliverables, False: member contributions
    deleted: bool = False  # administrators: the deleted ones instead

    def query_string(self, cursor: str | None = None) -> str:
        from urllib.parse import urlencode

        pairs = [
            ("type", str(self.doc_type) if self.doc_type else ""),
            ("technology", self.technology),
            ("lang", self.language),
            ("deliverable", "" if self.deliverable is None else str(int(self.deliverable))),
            ("deleted", "1" if self.deleted else ""),
            ("cursor", cursor or ""),
        ]
        return urlencode([(k, v) for k, v in pairs if v])


def parse_filter(params: Mapping[str, str]) -> DocumentFilter:
    """The filters of a list URL (the pages' and the API's are the same); nonsense is a 400."""
    raw_type = params.get("type", "")
    try:
        doc_type = DocumentType(raw_type) if raw_type else None
    except ValueError:
        raise BadRequest(_("Unknown document type.")) from None
    language = params.get("lang", "")
    if language and language not in LANGUAGES:
        raise BadRequest(_("The language is en or fr."))
    technology = params.get("technology", "")
    if len(technology) > 64:
        raise BadRequest(_("Unknown technology."))
    deliverable = params.get("deliverable", "")
    if deliverable not in ("", "0", "1"):
        raise BadRequest(_("deliverable is 1 (deliverables) or 0 (member contributions)."))
    deleted = params.get("deleted", "")
    if deleted not in ("", "0", "1"):
        raise BadRequest(_("deleted is 1 or 0."))
    return DocumentFilter(
        doc_type=doc_type,
        technology=technology,
        language=language,
        deliverable=None if deliverable == "" else deliverable == "1",
        deleted=deleted == "1",
    )


@dataclass
class DocumentRow:
    document: Document
    uploader: User
    administration: Administration | None
    technologies: list[Category]
    latest: DocumentVersion | None
    versions: list[DocumentVersion] = field(default_factory=list)  # the detail page's

    @property
    def type_label(self) -> str:
        return _(TYPE_LABELS[self.document.doc_type])

    @property
    def language_name(self) -> str:
        return LANGUAGES.get(self.document.language, self.document.language)

    @property
    def latest_size(self) -> str:
        return human_size(self.latest.size) if self.latest is not None else ""


@dataclass
class DocumentPage:
    rows: list[DocumentRow]
    next_cursor: str | None


def _visible(viewer: User | None, *, public_only: bool = False, deleted: bool = False) -> Q:
    """What the viewer may see, as SQL (the policy checks every row again)."""
    if deleted and policy.is_admin(viewer):
        return Q(is_deleted=True)
    condition = Q(is_deleted=False)
    if public_only or not policy.is_member(viewer):
        condition &= Q(visibility=DocumentVisibility.PUBLIC)
    return condition


async def _rows(viewer: User | None, documents: list[Document]) -> list[DocumentRow]:
    documents = [d for d in documents if policy.can_see_document(viewer, d)]
    if not documents:
        return []
    ids = [d.id for d in documents]
    technologies = await technologies_of(ids)
    every = [t for found in technologies.values() for t in found]
    seen = {c.id for c in policy.visible_categories(viewer, every)}
    latest: dict[int, DocumentVersion] = {}
    wanted = Q(*[Q(document_id=d.id, number=d.current_version) for d in documents], join_type="OR")
    for version in await DocumentVersion.filter(wanted):
        latest[version.document_id] = version
    users = {u.id: u for u in await User.filter(id__in={d.uploaded_by_id for d in documents})}
    admin_ids = {d.administration_id for d in documents if d.administration_id}
    administrations = {a.id: a for a in await Administration.filter(id__in=admin_ids)}
    return [
        DocumentRow(
            document=d,
            uploader=users[d.uploaded_by_id],
            administration=administrations.get(d.administration_id or 0),
            technologies=[t for t in technologies[d.id] if t.id in seen],
            latest=latest.get(d.id),
        )
        for d in documents
    ]


async def list_documents(
    viewer: User | None,
    wanted: DocumentFilter,
    *,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
    public_only: bool = False,
) -> DocumentPage:
    """Newest first (by id), `limit` at a time; `public_only` for the public section."""
    query = Document.filter(_visible(viewer, public_only=public_only, deleted=wanted.deleted))
    if wanted.doc_type is not None:
        query = query.filter(doc_type=wanted.doc_type)
    if wanted.language:
        query = query.filter(language=wanted.language)
    if wanted.deliverable is not None:
        query = query.filter(is_deliverable=wanted.deliverable)
    if wanted.technology:
        category = await Category.get_or_none(slug=wanted.technology)
        if category is None or not policy.can_see_category(viewer, category):
            return DocumentPage([], None)
        ids = DocumentTechnology.filter(technology_id=category.id).values("document_id")
        query = query.filter(id__in=Subquery(ids))
    if cursor:
        (last_id,) = decode_cursor(cursor, int)
        query = query.filter(id__lt=last_id)
    documents = await query.order_by("-id").limit(limit + 1)
    more = len(documents) > limit
    documents = documents[:limit]
    rows = await _rows(viewer, documents)
    return DocumentPage(rows, encode_cursor(documents[-1].id) if more and documents else None)


async def access_document(viewer: User | None, document_id: int) -> Document:
    document = await Document.get_or_none(id=document_id)
    if document is None or not policy.can_see_document(viewer, document):
        raise NotFound(_("No such document."))
    return document


async def document_detail(viewer: User | None, document_id: int) -> DocumentRow:
    """A document with every version, newest first."""
    document = await access_document(viewer, document_id)
    (row,) = await _rows(viewer, [document])
    row.versions = await DocumentVersion.filter(document_id=document.id).order_by("-number")
    return row


async def access_version(
    viewer: User | None, document_id: int, number: int | None
) -> tuple[Document, DocumentVersion]:
    """A version to download (None: the latest). The policy is asked on every call."""
    document = await access_document(viewer, document_id)
    version = await DocumentVersion.get_or_none(
        document_id=document.id, number=number if number is not None else document.current_version
    )
    if version is None:
        raise NotFound(_("No such version."))
    return document, version


async def documents_by(
    viewer: User | None, user: User, *, limit: int = RECENT
) -> list[DocumentRow]:
    """What a member uploaded that the viewer may see (their profile)."""
    query = Document.filter(_visible(viewer), uploaded_by_id=user.id)
    return await _rows(viewer, await query.order_by("-id").limit(limit))


async def documents_of_administration(
    viewer: User | None, administration: Administration, *, limit: int = RECENT
) -> list[DocumentRow]:
    query = Document.filter(_visible(viewer), administration_id=administration.id)
    return await _rows(viewer, await query.order_by("-id").limit(limit))


async def latest_publications(viewer: User | None, *, limit: int = 5) -> list[DocumentRow]:
    """The newest public documents, for the public home page."""
    return (await list_documents(viewer, DocumentFilter(), limit=limit, public_only=True)).rows
