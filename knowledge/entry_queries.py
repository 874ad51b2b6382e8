"""Reading knowledge entries: one entry with what its page shows, filtered lists of published
entries by keyset, an author's own entries, a member's or an administration's published ones.
Every read asks `forum.policy` (`can_see_entry`, `can_see_entry_version`): `access_*` raise
NotFound when an entry does not exist *or* the caller may not see it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from tortoise.expressions import Q

from forum import policy
from forum.errors import BadRequest, NotFound
from forum.i18n import _
from forum.models import (
    Administration,
    Category,
    Region,
    ReviewItem,
    ReviewKind,
    ReviewStatus,
    Topic,
    User,
)
from forum.pagination import decode_cursor, encode_cursor
from knowledge.entries import (
    ID_MAX,
    LANGUAGES,
    OPEN,
    PER_PAGE,
    RELATED_MAX,
    SORTS,
    is_technology,
    snapshot,
)
from knowledge.models import (
    AdoptionStage,
    Document,
    EntryAttachment,
    EntryKind,
    EntryStatus,
    EntryVersion,
    HelpfulMark,
    KnowledgeEntry,
    VersionStatus,
)

FILTERS = ("kind", "technology", "region", "stage", "maturity", "lang", "sort")


async def access_entry(user: User | None, entry_id: int) -> KnowledgeEntry:
    """An entry the user may see; NotFound otherwise, as for one that does not exist."""
    entry = await KnowledgeEntry.get_or_none(id=entry_id) if 0 < entry_id <= ID_MAX else None
    if entry is None or not policy.can_see_entry(user, entry):
        raise NotFound(_("No such entry."))
    return entry


@dataclass
class Filters:
    """A listing's filters, checked. `query()` is the canonical query string: the filters in
    the order of `FILTERS`, empty and default values left out, so one combination has one
    address."""

    kind: str = ""
    technology: str = ""
    region: str = ""
    stage: str = ""
    maturity: str = ""
    lang: str = ""
    sort: str = "newest"

    def pairs(self) -> list[tuple[str, str]]:
        pairs = [(name, getattr(self, name)) for name in FILTERS]
        return [(k, v) for k, v in pairs if v and not (k == "sort" and v == "newest")]

    def query(self, cursor: str | None = None) -> str:
        pairs = self.pairs() + ([("cursor", cursor)] if cursor else [])
        return urlencode(pairs)

    def with_(self, **changes: str) -> str:
        """The canonical query of these filters with some changed (for the filter links)."""
        values = {name: getattr(self, name) for name in FILTERS}
        values.update(changes)
        return Filters(**values).query()


def parse_filters(params: Any) -> Filters:
    """Filters from a query string; an unknown value is a 400 naming the parameter."""
    found = Filters()

    def bad(name: str, allowed: str) -> BadRequest:
        return BadRequest(
            _("Unknown %(name)s: choose one of %(allowed)s.") % {"name": name, "allowed": allowed}
        )

    kind = params.get("kind", "")
    if kind and kind not in {k.value for k in EntryKind}:
        raise bad("kind", ", ".join(k.value for k in EntryKind))
    stage = params.get("stage", "")
    if stage and stage not in {s.value for s in AdoptionStage}:
        raise bad("stage", ", ".join(s.value for s in AdoptionStage))
    region = params.get("region", "")
    if region and region not in {r.value for r in Region}:
        raise bad("region", ", ".join(r.value for r in Region))
    maturity = params.get("maturity", "")
    if maturity and maturity not in ("1", "2", "3", "4", "5"):
        raise bad("maturity", "1, 2, 3, 4, 5")
    lang = params.get("lang", "")
    if lang and lang not in LANGUAGES:
        raise bad("lang", ", ".join(LANGUAGES))
    sort = params.get("sort", "") or "newest"
    if sort not in SORTS:
        raise bad("sort", ", ".join(SORTS))
    technology = params.get("technology", "")
    if len(technology) > 64 or "\x00" in technology:
        raise bad("technology", _("the technologies' slugs"))
    found.kind, found.stage, found.region, found.maturity = kind, stage, region, maturity
    found.lang, found.sort, found.technology = lang, sort, technology
    return found


@dataclass
class EntryRow:
    entry: KnowledgeEntry
    technology: Category
    author: User
    administration: Administration | None


@dataclass
class EntryList:
    rows: list[EntryRow]
    next_cursor: str | None
    filters: Filters


async def _rows(entries: list[KnowledgeEntry]) -> list[EntryRow]:
    """Entries with their technology, author and administration: three queries at most."""
    if not entries:
        return []
    categories = {c.id: c for c in await Category.filter(id__in={e.technology_id for e in entries})}
    users = {u.id: u for u in await User.filter(id__in={e.author_id for e in entries})}
    admin_ids = {e.administration_id for e in entries if e.administration_id}
    administrations = (
        {a.id: a for a in await Administration.filter(id__in=admin_ids)} if admin_ids else {}
    )
    return [
        EntryRow(
            e,
            categories[e.technology_id],
            users[e.author_id],
            administrations.get(e.administration_id) if e.administration_id else None,
        )
        for e in entries
    ]


async def list_entries(
    user: User | None, filters: Filters, *, cursor: str | None = None, limit: int = PER_PAGE
) -> EntryList:
    """Published entries matching the filters, newest or most helpful first, by keyset."""
    if not policy.is_member(user):
        raise NotFound(_("The knowledge space belongs to the members' area."))
    query = KnowledgeEntry.filter(status=EntryStatus.PUBLISHED)
    if filters.kind:
        query = query.filter(kind=filters.kind)
    if filters.technology:
        found = await Category.get_or_none(slug=filters.technology)
        if found is None or not is_technology(found):
            raise BadRequest(_("Unknown technology: choose one of the listed technologies."))
        query = query.filter(technology_id=found.id)
    if filters.region:
        query = query.filter(region=filters.region)
    if filters.stage:
        query = query.filter(stage=filters.stage)
    if filters.maturity:
        query = query.filter(maturity=int(filters.maturity))
    if filters.lang:
        query = query.filter(language=filters.lang)
    helpful = filters.sort == "helpful"
    if cursor:
        if helpful:
            count, at, last = decode_cursor(cursor, int, datetime.fromisoformat, int)
            query = query.filter(
                Q(helpful_count__lt=count)
                | Q(helpful_count=count, published_at__lt=at)
                | Q(helpful_count=count, published_at=at, id__lt=last)
            )
        else:
            at, last = decode_cursor(cursor, datetime.fromisoformat, int)
            query = query.filter(Q(published_at__lt=at) | Q(published_at=at, id__lt=last))
    order = ("-helpful_count", "-published_at", "-id") if helpful else ("-published_at", "-id")
    entries = await query.order_by(*order).limit(limit + 1)
    more = len(entries) > limit
    entries = [e for e in entries[:limit] if policy.can_see_entry(user, e)]
    next_cursor = None
    if more and entries:
        last_entry = entries[-1]
        assert last_entry.published_at is not None
        stamp = last_entry.published_at.isoformat()
        next_cursor = (
            encode_cursor(last_entry.helpful_count, stamp, last_entry.id)
            if helpful
            else encode_cursor(stamp, last_entry.id)
        )
    return EntryList(await _rows(entries), next_cursor, filters)


async def own_entries(user: User) -> list[EntryRow]:
    """The member's own entries, drafts and those waiting for review first."""
    if not policy.is_member(user):
        return []
    entries = await KnowledgeEntry.filter(author_id=user.id).order_by("-updated_at", "-id")
    rank = {EntryStatus.DRAFT: 0, EntryStatus.SUBMITTED: 1}
    entries.sort(key=lambda e: rank.get(e.status, 2))
    return await _rows([e for e in entries if policy.can_see_entry(user, e)])


async def published_by(
    viewer: User | None, *, author: User | None = None, administration_id: int | None = None
) -> list[EntryRow]:
    """Published entries of a member (their profile) or an administration (its page)."""
    if not policy.is_member(viewer):
        return []
    query = KnowledgeEntry.filter(status=EntryStatus.PUBLISHED)
    if author is not None:
        query = query.filter(author_id=author.id)
    if administration_id is not None:
        query = query.filter(administration_id=administration_id)
    entries = await query.order_by("-published_at", "-id").limit(50)
    return await _rows([e for e in entries if policy.can_see_entry(viewer, e)])


@dataclass
class EntryView:
    entry: KnowledgeEntry
    technology: Category
    author: User
    administration: Administration | None
    versions: list[EntryVersion]  # those the viewer may see, newest first
    pending: EntryVersion | None  # an edit (or the submission) waiting for review
    review_item: ReviewItem | None  # its item, for the moderators of the technology
    attachments: list[Document]
    supersedes: KnowledgeEntry | None
    superseded_by: KnowledgeEntry | None
    related: list[EntryRow]
    topic: Topic | None
    marked: bool
    can_edit: bool
    can_submit: bool
    can_mark: bool
    can_decide: bool
    can_supersede: bool
    last_rejected: EntryVersion | None = None
    extra: dict[str, Any] = field(default_factory=dict)


async def entry_view(user: User | None, entry_id: int) -> EntryView:
    entry = await access_entry(user, entry_id)
    assert user is not None  # can_see_entry needs a member
    technology = await Category.get(id=entry.technology_id)
    author = await User.get(id=entry.author_id)
    administration = (
        await Administration.get_or_none(id=entry.administration_id)
        if entry.administration_id
        else None
    )
    versions = [
        v
        for v in await EntryVersion.filter(entry_id=entry.id).order_by("-number")
        if policy.can_see_entry_version(user, entry, v)
    ]
    pending = next((v for v in versions if v.status == VersionStatus.SUBMITTED), None)
    last = versions[0] if versions else None
    last_rejected = last if last is not None and last.status == VersionStatus.REJECTED else None
    moderator = policy.moderates(user, entry.technology_id)
    review_item = None
    if pending is not None and moderator:
        review_item = await ReviewItem.filter(
            entry_id=entry.id, kind=ReviewKind.KNOWLEDGE_ENTRY, status=ReviewStatus.PENDING
        ).first()
    document_ids = await EntryAttachment.filter(entry_id=entry.id).values_list(
        "document_id", flat=True
    )
    attachments = [
        document
        for document in (
            await Document.filter(id__in=list(document_ids)).order_by("title")
            if document_ids
            else []
        )
        if policy.can_see_document(user, document) and not document.is_deleted
    ]
    supersedes = await _visible(user, entry.supersedes_id)
    superseded_by = await _visible(user, entry.superseded_by_id)
    topic = None
    if entry.topic_id is not None:
        found = await Topic.get_or_none(id=entry.topic_id)
        if found is not None and policy.can_see_topic(user, found, technology):
            topic = found
    marked = await HelpfulMark.exists(entry_id=entry.id, user_id=user.id)
    related = await related_entries(user, entry) if entry.status in OPEN else []
    return EntryView(
        entry=entry,
        technology=technology,
        author=author,
        administration=administration,
        versions=versions,
        pending=pending,
        review_item=review_item,
        attachments=list(attachments),
        supersedes=supersedes,
        superseded_by=superseded_by,
        related=related,
        topic=topic,
        marked=marked,
        can_edit=policy.can_edit_entry(user, entry) and pending is None,
        can_submit=policy.is_entry_author(user, entry) and entry.status == EntryStatus.DRAFT,
        can_mark=policy.can_mark_entry_helpful(user, entry),
        can_decide=review_item is not None,
        can_supersede=moderator and entry.status == EntryStatus.PUBLISHED,
        last_rejected=last_rejected,
    )


async def _visible(user: User, entry_id: int | None) -> KnowledgeEntry | None:
    if entry_id is None:
        return None
    found = await KnowledgeEntry.get_or_none(id=entry_id)
    return found if found is not None and policy.can_see_entry(user, found) else None


async def related_entries(user: User, entry: KnowledgeEntry) -> list[EntryRow]:
    """Same technology and kind first, then the same region."""
    base = KnowledgeEntry.filter(status=EntryStatus.PUBLISHED).exclude(id=entry.id)
    order = ("-helpful_count", "-published_at", "-id")
    found = (
        await base.filter(technology_id=entry.technology_id, kind=entry.kind)
        .order_by(*order)
        .limit(RELATED_MAX)
    )
    if len(found) < RELATED_MAX and entry.region is not None:
        seen = [e.id for e in found]
        found += (
            await base.filter(region=entry.region)
            .exclude(id__in=seen or [0])
            .order_by(*order)
            .limit(RELATED_MAX - len(found))
        )
    return await _rows([e for e in found if policy.can_see_entry(user, e)])


async def access_version(user: User | None, entry_id: int, number: int) -> tuple[
    KnowledgeEntry, EntryVersion
]:  # fmt: skip
    entry = await access_entry(user, entry_id)
    version = (
        await EntryVersion.get_or_none(entry_id=entry.id, number=number)
        if 0 < number <= ID_MAX
        else None
    )
    if version is None or not policy.can_see_entry_version(user, entry, version):
        raise NotFound(_("No such version."))
    return entry, version


async def category_of(entry: KnowledgeEntry) -> Category:
    return await Category.get(id=entry.technology_id)


def data_of(entry: KnowledgeEntry) -> dict[str, Any]:
    """The entry's content fields as a dict (what templates and the API read)."""
    return snapshot(entry)
