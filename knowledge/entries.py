"""Knowledge entries: structured best practices, pitfalls, case studies and lessons learned.

Actions (`do_*`, the only code that writes entries), the checks of what authors type, and
the moderators' decision hook; the reads are in knowledge/entry_queries.py. Both ask
`forum.policy` (the "knowledge entries" block):

    draft ──submit──► submitted ──approve──► published ──(a newer entry is published)──► superseded
      ▲                   │ reject (note)         │ edit: a new submitted version,
      └───────────────────┘                       ▼ reviewed again; the published text stays

- A draft's content lives on the entry row. `do_submit_entry` copies it into a new
  `EntryVersion` (number n+1, submitted) and opens a `ReviewItem` of kind `knowledge_entry`
  in the entry's technology (category), which moderators decide from /review like any item
  (`moderation.review.do_decide` calls `decide_entry_item` here, inside its transaction, with
  its gate, audit row and events).
- Editing a published entry does not touch the row: it writes the next version, submitted,
  with its review item; readers keep seeing the published version until a moderator approves.
- Approval copies the version onto the row, marks it published and (at the first
  publication) starts the entry's discussion topic in its technology's category through the
  forum's own `insert_topic`. An entry that names an older one in `supersedes` replaces it
  when published: the older one becomes superseded and links back.
- Rejection keeps the reviewer's note (`review_note`, and the version's `note`): a never
  published entry goes back to draft; a rejected edit leaves the published entry as it was.
- Helpful marks: one row per member and entry (unique key); the count moves only when a row
  is inserted or deleted, in the same transaction, so concurrent marks count once each.

Events about an entry that is not published go only to its author's own channel
(`policy.entry_event_channels`); once published they go to its technology's category channel,
which the delivery side filters by the policy per subscriber.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise import connections
from tortoise.expressions import F

from forum import i18n, policy
from forum.errors import Conflict, Forbidden, Invalid, NotFound
from forum.events import atomic, record_event
from forum.i18n import N_, _
from forum.models import (
    Administration,
    Category,
    PostingRight,
    Region,
    ReviewItem,
    ReviewKind,
    User,
    Visibility,
)
from forum.queries.sql import execute
from forum.rendering import render_markdown
from knowledge.models import (
    AdoptionStage,
    Document,
    EntryAttachment,
    EntryKind,
    EntryStatus,
    EntryVersion,
    HelpfulMark,
    KnowledgeEntry,
    Maturity,
    VersionStatus,
)
from moderation import audit
from moderation.gate import require_moderator
from notifications import notify, outbox
from search import index as search_index

ID_MAX = 2**31 - 1
TITLE_MIN, TITLE_MAX = 5, 200
SUMMARY_MAX = 500
TEXT_MAX = 20_000  # each markdown field
LINKS_MAX = 10
LINK_TITLE_MAX = 200
URL_MAX = 500
LANGUAGES = ("en", "fr")
SORTS = ("newest", "helpful")
PER_PAGE = 20
RELATED_MAX = 6
MARKDOWN_FIELDS = ("context", "what_was_done", "outcome", "lessons", "costs_risks")
REQUIRED_TO_SUBMIT = ("summary", "context", "what_was_done", "outcome", "lessons")
# Everything a version records, and what publishing copies onto the entry.
CONTENT_FIELDS = (
    "kind",
    "technology_id",
    "stage",
    "maturity",
    "language",
    "title",
    "summary",
    *MARKDOWN_FIELDS,
    "links",
    "html",
)
OPEN = (EntryStatus.PUBLISHED, EntryStatus.SUPERSEDED)
_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)


def kind_label(kind: str) -> str:
    return {
        EntryKind.BEST_PRACTICE: _("Best practice"),
        EntryKind.PITFALL: _("Pitfall"),
        EntryKind.CASE_STUDY: _("Case study"),
        EntryKind.LESSON_LEARNED: _("Lesson learned"),
    }.get(EntryKind(kind), kind)


def stage_label(stage: str) -> str:
    return {
        AdoptionStage.CONSIDERING: _("Considering"),
        AdoptionStage.PILOT: _("Pilot"),
        AdoptionStage.IN_PRODUCTION: _("In production"),
        AdoptionStage.DISCONTINUED: _("Discontinued"),
    }.get(AdoptionStage(stage), stage)


def maturity_label(level: int) -> str:
    names = {
        Maturity.INITIAL: _("Initial"),
        Maturity.EXPERIMENTAL: _("Experimental"),
        Maturity.OPERATIONAL: _("Operational"),
        Maturity.ADVANCED: _("Advanced"),
        Maturity.TRANSFORMATIONAL: _("Transformational"),
    }
    return f"{level} {names.get(Maturity(level), '')}".strip() if 1 <= level <= 5 else str(level)


def language_label(code: str) -> str:
    return {"en": _("English"), "fr": _("French")}.get(code, code)


def status_label(status: str) -> str:
    return {
        EntryStatus.DRAFT: _("Draft"),
        EntryStatus.SUBMITTED: _("Awaiting review"),
        EntryStatus.PUBLISHED: _("Published"),
        EntryStatus.SUPERSEDED: _("Superseded"),
    }.get(EntryStatus(status), status)


def version_status_label(status: str) -> str:
    return {
        VersionStatus.SUBMITTED: _("Awaiting review"),
        VersionStatus.PUBLISHED: _("Published"),
        VersionStatus.REJECTED: _("Not approved"),
    }.get(VersionStatus(status), status)


# ---------------------------------------------------------------------------------------
# Technologies: the members' categories an entry can be about (its discussion lives there)


def is_technology(category: Category) -> bool:
    return (
        category.visibility == Visibility.MEMBERS
        and category.posting_right == PostingRight.MEMBERS
        and not category.archived
    )


async def technologies() -> list[Category]:
    return [c for c in await Category.all().order_by("position", "id") if is_technology(c)]


async def technology_by_slug(slug: str) -> Category:
    found = await Category.get_or_none(slug=slug) if 0 < len(slug) <= 64 else None
    if found is None or not is_technology(found):
        raise Invalid(_("Choose one of the listed technologies."), field="technology")
    return found


# ---------------------------------------------------------------------------------------
# Checking what an author writes


@dataclass
class EntryInput:
    """What an author sends for an entry; every value as typed (checked by `check_entry`)."""

    kind: str = ""
    technology: str = ""  # a category slug
    stage: str = ""
    maturity: str = ""
    language: str = "en"
    title: str = ""
    summary: str = ""
    context: str = ""
    what_was_done: str = ""
    outcome: str = ""
    lessons: str = ""
    costs_risks: str = ""
    links: str = ""  # one a line: "https://address Title"
    supersedes: str = ""  # an entry id, or empty

    @classmethod
    def of(cls, entry: KnowledgeEntry, technology: Category, data: dict[str, Any]) -> EntryInput:
        """The form's values for an entry's content (`data`: the row or a version's data)."""
        return cls(
            kind=str(data["kind"]),
            technology=technology.slug,
            stage=str(data["stage"]),
            maturity=str(data["maturity"]),
            language=str(data["language"]),
            title=str(data["title"]),
            summary=str(data["summary"]),
            **{name: str(data[name]) for name in MARKDOWN_FIELDS},
            links="\n".join(
                f"{link['url']} {link.get('title', '')}".strip() for link in data["links"]
            ),
            supersedes=str(entry.supersedes_id or ""),
        )


def _clean(value: str, name: str) -> str:
    if "\x00" in value:
        raise Invalid(_("This field must not contain NUL characters."), field=name)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid(_("This field is not valid Unicode text."), field=name) from None
    return value.replace("\r\n", "\n").strip()


def parse_links(text: str) -> list[dict[str, str]]:
    """One link a line: its address, then (optionally) its title."""
    links: list[dict[str, str]] = []
    for line in _clean(text, "links").splitlines():
        line = line.strip()
        if not line:
            continue
        url, _sep, title = line.partition(" ")
        if not _URL.fullmatch(url) or len(url) > URL_MAX:
            raise Invalid(
                _("Each line starts with an address beginning with http:// or https://."),
                field="links",
            )
        title = " ".join(title.split())
        if len(title) > LINK_TITLE_MAX:
            raise Invalid(_("A link's title has at most 200 characters."), field="links")
        links.append({"url": url, "title": title or url})
    if len(links) > LINKS_MAX:
        raise Invalid(_("An entry has at most 10 links."), field="links")
    return links


def render_fields(values: dict[str, Any]) -> dict[str, str]:
    """Each markdown field rendered and sanitised once, at write time."""
    return {name: render_markdown(str(values[name])) for name in MARKDOWN_FIELDS}


async def check_entry(author: User, typed: EntryInput) -> dict[str, Any]:
    """The entry's content as stored (`CONTENT_FIELDS` but `supersedes_id`), or Invalid
    naming the field."""
    values: dict[str, Any] = {}
    if typed.kind not in {k.value for k in EntryKind}:
        raise Invalid(_("Choose what kind of entry this is."), field="kind")
    values["kind"] = typed.kind
    values["technology_id"] = (await technology_by_slug(typed.technology)).id
    if typed.stage not in {s.value for s in AdoptionStage}:
        raise Invalid(_("Choose the adoption stage."), field="stage")
    values["stage"] = typed.stage
    if typed.maturity not in ("1", "2", "3", "4", "5"):
        raise Invalid(_("Choose a maturity level from 1 to 5."), field="maturity")
    values["maturity"] = int(typed.maturity)
    if typed.language not in LANGUAGES:
        raise Invalid(_("Choose English or French."), field="language")
    values["language"] = typed.language
    title = " ".join(_clean(typed.title, "title").split())
    if not TITLE_MIN <= len(title) <= TITLE_MAX:
        raise Invalid(_("A title has 5 to 200 characters."), field="title")
    values["title"] = title
    summary = " ".join(_clean(typed.summary, "summary").split())
    if len(summary) > SUMMARY_MAX:
        raise Invalid(_("A summary has at most 500 characters."), field="summary")
    values["summary"] = summary
    for name in MARKDOWN_FIELDS:
        text = _clean(getattr(typed, name), name)
        if len(text) > TEXT_MAX:
            raise Invalid(_("This field has at most 20,000 characters."), field=name)
        values[name] = text
    values["links"] = parse_links(typed.links)
    values["html"] = render_fields(values)
    return values


def check_complete(values: dict[str, Any]) -> None:
    """What a reviewer needs: a summary and the four main sections."""
    for name in REQUIRED_TO_SUBMIT:
        if not str(values.get(name, "")).strip():
            raise Invalid(_("Fill this in before submitting the entry."), field=name)


async def check_supersedes(author: User, raw: str, entry_id: int | None) -> int | None:
    """The older entry this one replaces: a published entry of the same author or the same
    administration (not already superseded, not this one)."""
    raw = raw.strip().lstrip("#")
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= ID_MAX:
        raise Invalid(_("Give the number of the entry this one replaces."), field="supersedes")
    older = await KnowledgeEntry.get_or_none(id=int(raw))
    if older is None or not policy.can_see_entry(author, older):
        raise Invalid(_("There is no such entry."), field="supersedes")
    if older.id == entry_id:
        raise Invalid(_("An entry cannot replace itself."), field="supersedes")
    if older.status != EntryStatus.PUBLISHED:
        raise Invalid(_("Only a published entry can be replaced."), field="supersedes")
    same_administration = (
        older.administration_id is not None and older.administration_id == author.administration_id
    )
    if older.author_id != author.id and not same_administration:
        raise Invalid(
            _("You may replace your own entries and those of your administration."),
            field="supersedes",
        )
    return older.id


async def _origin(author: User) -> tuple[int | None, Region | None]:
    """The author's administration and its WCO region."""
    if author.administration_id is None:
        return None, None
    administration = await Administration.get_or_none(id=author.administration_id)
    if administration is None:
        return None, None
    return administration.id, administration.region


def snapshot(entry: KnowledgeEntry) -> dict[str, Any]:
    """An entry's content as a version stores it (plain JSON)."""
    data: dict[str, Any] = {}
    for name in CONTENT_FIELDS:
        value = getattr(entry, name)
        data[name] = value.value if hasattr(value, "value") else value
    data["links"] = [dict(link) for link in entry.links]
    data["html"] = dict(entry.html)
    return data


def _apply(entry: KnowledgeEntry, values: dict[str, Any]) -> list[str]:
    """Copy content onto an entry; returns the fields set."""
    for name in CONTENT_FIELDS:
        value = values[name]
        if name == "kind":
            value = EntryKind(value)
        elif name == "stage":
            value = AdoptionStage(value)
        setattr(entry, name, value)
    return list(CONTENT_FIELDS)


async def _entry_event(entry: KnowledgeEntry, type: str, extra: dict[str, Any]) -> None:
    """One event about an entry, only where the policy lets it go. Every change of an entry
    records one, after its rows are written: the search index follows here, in the same
    transaction (published and superseded entries are searchable, anything else is not).
    A helpful mark changes nothing the index holds."""
    if type != "knowledge.entry.helpful":
        await search_index.index_entry(entry.id)
    category = await Category.get(id=entry.technology_id)
    for channel in policy.entry_event_channels(entry, category.slug):
        public = channel.startswith("category:")
        await record_event(
            type,
            channel,
            {"entry_id": entry.id, **extra},
            category_id=category.id if public else None,
            user_id=None if public else entry.author_id,
        )


# ---------------------------------------------------------------------------------------
# The author's actions


async def do_create_entry(author: User, typed: EntryInput) -> KnowledgeEntry:
    """A new draft, private to its author."""
    if not policy.can_create_entry(author):
        raise Forbidden(_("Only verified members may write entries."))
    values = await check_entry(author, typed)
    supersedes = await check_supersedes(author, typed.supersedes, None)
    administration_id, region = await _origin(author)
    async with atomic():
        entry = KnowledgeEntry(
            author_id=author.id,
            administration_id=administration_id,
            region=region,
            supersedes_id=supersedes,
            status=EntryStatus.DRAFT,
        )
        _apply(entry, values)
        await entry.save()
        await _entry_event(entry, "knowledge.entry.saved", {"status": entry.status.value})
    return entry


async def pending_version(entry: KnowledgeEntry) -> EntryVersion | None:
    return await EntryVersion.filter(entry_id=entry.id, status=VersionStatus.SUBMITTED).first()


async def do_update_entry(author: User, entry: KnowledgeEntry, typed: EntryInput) -> KnowledgeEntry:
    """A draft is edited in place; an edit of a published entry becomes its next version,
    submitted for review (the published text stays what readers see)."""
    if not policy.can_edit_entry(author, entry):
        if entry.status == EntryStatus.SUBMITTED and policy.is_entry_author(author, entry):
            raise Conflict(_("This entry is waiting for review: edit it after the decision."))
        if not policy.can_see_entry(author, entry):
            raise NotFound(_("No such entry."))
        raise Forbidden(_("You may not edit this entry."))
    values = await check_entry(author, typed)
    if entry.status == EntryStatus.DRAFT:
        supersedes = await check_supersedes(author, typed.supersedes, entry.id)
        administration_id, region = await _origin(author)
        async with atomic():
            _apply(entry, values)
            entry.supersedes_id = supersedes
            entry.administration_id = administration_id
            entry.region = region  # type: ignore[assignment]  # a nullable column
            await entry.save()
            await _entry_event(entry, "knowledge.entry.saved", {"status": entry.status.value})
        return entry
    # Published: the edit is reviewed again.
    check_complete(values)
    if await pending_version(entry) is not None:
        raise Conflict(_("An edit of this entry is already waiting for review."))
    async with atomic():
        await _open_version(author, entry, values, edit=True)
    return entry


async def do_submit_entry(author: User, entry: KnowledgeEntry) -> EntryVersion:
    """Send a draft for review: its next version, and an item in the review queue."""
    if not policy.is_entry_author(author, entry):
        if not policy.can_see_entry(author, entry):
            raise NotFound(_("No such entry."))
        raise Forbidden(_("Only its author may submit an entry."))
    if not policy.may_participate(author):
        raise Forbidden(_("You may not submit entries at the moment."))
    if entry.status != EntryStatus.DRAFT:
        raise Conflict(_("Only a draft can be submitted; this entry is %(status)s.")
                       % {"status": status_label(entry.status.value).lower()})  # fmt: skip
    values = snapshot(entry)
    check_complete(values)
    technology = await Category.get(id=entry.technology_id)
    if not is_technology(technology):
        raise Invalid(_("Choose one of the listed technologies."), field="technology")
    async with atomic():
        won = await KnowledgeEntry.filter(id=entry.id, status=EntryStatus.DRAFT).update(
            status=EntryStatus.SUBMITTED, submitted_at=datetime.now(UTC)
        )
        if not won:
            raise Conflict(_("This entry was submitted already."))
        entry.status = EntryStatus.SUBMITTED
        version = await _open_version(author, entry, values, edit=False)
    return version


async def _open_version(
    author: User, entry: KnowledgeEntry, values: dict[str, Any], *, edit: bool
) -> EntryVersion:
    """The next version, submitted, with its review item; inside the caller's atomic()."""
    from moderation.review import announce_counts

    last = await EntryVersion.filter(entry_id=entry.id).order_by("-number").first()
    data = {name: values[name] for name in CONTENT_FIELDS}
    version = await EntryVersion.create(
        entry_id=entry.id,
        number=(last.number if last else 0) + 1,
        status=VersionStatus.SUBMITTED,
        data=data,
        author_id=author.id,
    )
    await ReviewItem.create(
        kind=ReviewKind.KNOWLEDGE_ENTRY,
        category_id=data["technology_id"],
        entry_id=entry.id,
        author_id=author.id,
        title=data["title"],
        source=data["summary"],
        html=review_html(data),
        reason="knowledge_edit" if edit else "knowledge_new",
    )
    await record_event(  # a submission is its author's business until it is published
        "knowledge.entry.submitted",
        f"user:{entry.author_id}",
        {"entry_id": entry.id, "version": version.number, "edit": edit, "title": data["title"]},
        user_id=entry.author_id,
    )
    await announce_counts([int(data["technology_id"])])
    return version


def review_html(data: dict[str, Any]) -> str:
    """What a moderator reads in the queue: the summary and each section, already rendered
    and sanitised (`render_fields`); the summary is plain text, escaped here."""
    from markupsafe import escape

    parts = [f"<p><strong>{escape(data.get('summary', ''))}</strong></p>"]
    titles = section_titles()
    for name in MARKDOWN_FIELDS:
        html = data.get("html", {}).get(name, "")
        if html:
            parts.append(f"<h4>{escape(titles[name])}</h4>{html}")
    return "\n".join(parts)


def template_labels() -> dict[str, Any]:
    """The label functions templates show entries with."""
    return {
        "kind": kind_label,
        "stage": stage_label,
        "maturity": maturity_label,
        "language": language_label,
        "status": status_label,
        "version_status": version_status_label,
        "sections": section_titles(),
    }


def section_titles() -> dict[str, str]:
    return {
        "context": _("Context"),
        "what_was_done": _("What was done"),
        "outcome": _("Outcome"),
        "lessons": _("Lessons"),
        "costs_risks": _("Costs and risks"),
    }


# ---------------------------------------------------------------------------------------
# Moderators' decisions (called by moderation.review.do_decide, inside its transaction,
# after its gate `require_moderator(actor, item.category_id)`; it writes the audit row)

ENTRY_DECISIONS = ("approve", "reject")


async def decide_entry_item(
    actor: User, item: ReviewItem, action: str, reason: str, now: datetime
) -> dict[str, Any]:
    entry = await KnowledgeEntry.get_or_none(id=item.entry_id) if item.entry_id else None
    version = await pending_version(entry) if entry is not None else None
    if entry is None or version is None:
        from moderation.review import item_state

        raise Conflict(_("This entry changed meanwhile."), detail=item_state(item))
    if action == "approve":
        return await _publish(actor, entry, version, now)
    return await _reject(actor, entry, version, reason, now)


async def publish_reviewed(reviewer: User, entry: KnowledgeEntry, *, now: datetime) -> None:
    """Publish a draft as `reviewer` approved it, without the queue: for `forum seed-demo`'s
    demo content only (as its demo topics skip the queue). Inside the caller's atomic()."""
    last = await EntryVersion.filter(entry_id=entry.id).order_by("-number").first()
    version = await EntryVersion.create(
        entry_id=entry.id,
        number=(last.number if last else 0) + 1,
        status=VersionStatus.SUBMITTED,
        data=snapshot(entry),
        author_id=entry.author_id,
    )
    entry.submitted_at = now
    await _publish(reviewer, entry, version, now, tell=False)


async def _publish(
    actor: User, entry: KnowledgeEntry, version: EntryVersion, now: datetime, *, tell: bool = True
) -> dict[str, Any]:
    from forum.actions.topics import insert_topic

    first = entry.published_at is None
    was = entry.status
    _apply(entry, version.data)
    entry.status = EntryStatus.PUBLISHED if was != EntryStatus.SUPERSEDED else was
    entry.version = version.number
    entry.review_note = ""
    if first:
        entry.published_at = now
    await entry.save()
    await EntryVersion.filter(id=version.id).update(
        status=VersionStatus.PUBLISHED, decided_by_id=actor.id, decided_at=now
    )
    technology = await Category.get(id=entry.technology_id)
    author = await User.get(id=entry.author_id)
    summary: dict[str, Any] = {"entry_id": entry.id, "version": version.number}
    if entry.topic_id is None:
        language = i18n.content_language(entry.language, i18n.DEFAULT_LANGUAGE)
        with i18n.using(language):  # the whole post in the entry's language
            body = _discussion_body(entry)
        topic, _post = await insert_topic(
            author,
            technology,
            _topic_title(entry.title),
            body,
            ["knowledge"],
            now=now,
            language=language,
        )
        await KnowledgeEntry.filter(id=entry.id).update(topic_id=topic.id)
        entry.topic_id = topic.id
        summary["topic_id"] = topic.id
    await _entry_event(
        entry,
        "knowledge.entry.published",
        {"version": version.number, "title": entry.title, "first": first},
    )
    if first and entry.supersedes_id is not None:
        older = await KnowledgeEntry.get_or_none(id=entry.supersedes_id)
        if older is not None and older.status == EntryStatus.PUBLISHED:
            await _supersede(older, entry)
            summary["superseded"] = older.id
    if not tell:
        return summary
    with i18n.using(author.mail_language):  # the author reads it in their language
        told = (
            _("Your knowledge entry \u201c%(title)s\u201d was published.")
            if first
            else _("Your edit of \u201c%(title)s\u201d was approved.")
        ) % {"title": entry.title}
    await _tell(author, "knowledge_approved", told, entry)
    return summary


def _topic_title(title: str) -> str:
    return title if len(title) >= 5 else f"{title} (entry)"


def _discussion_body(entry: KnowledgeEntry) -> str:
    kind = kind_label(entry.kind.value)
    link = f"/knowledge/entries/{entry.id}"
    summary = entry.summary or entry.title
    return (
        f"**{kind}:** {summary}\n\n"
        + _("Read the whole entry in the knowledge space: [%(link)s](%(link)s)") % {"link": link}
        + "\n\n"
        + _("This topic is for discussing it.")
    )


async def _reject(
    actor: User, entry: KnowledgeEntry, version: EntryVersion, reason: str, now: datetime
) -> dict[str, Any]:
    await EntryVersion.filter(id=version.id).update(
        status=VersionStatus.REJECTED, decided_by_id=actor.id, decided_at=now, note=reason
    )
    back_to_draft = entry.status == EntryStatus.SUBMITTED
    changes: dict[str, Any] = {"review_note": reason}
    if back_to_draft:
        changes["status"] = EntryStatus.DRAFT
    await KnowledgeEntry.filter(id=entry.id).update(**changes)
    entry.review_note = reason
    if back_to_draft:
        entry.status = EntryStatus.DRAFT
    await record_event(  # the reviewer's note is the author's alone
        "knowledge.entry.rejected",
        f"user:{entry.author_id}",
        {"entry_id": entry.id, "version": version.number, "note": reason},
        user_id=entry.author_id,
    )
    author = await User.get(id=entry.author_id)
    with i18n.using(author.mail_language):
        told = _("Your knowledge entry \u201c%(title)s\u201d was not approved: %(reason)s") % {
            "title": version.data.get("title", entry.title),
            "reason": reason,
        }
    await _tell(author, "knowledge_rejected", told, entry)
    return {"entry_id": entry.id, "version": version.number, "entry_status": entry.status.value}


async def _tell(author: User, kind: str, message: str, entry: KnowledgeEntry) -> None:
    """The author hears of a decision in the app and by email (outbox), in its transaction."""
    await notify.on_moderation(author.id, kind, message, link=f"/knowledge/entries/{entry.id}")
    if author.is_active:
        await outbox.enqueue(
            author,
            "moderation_notice",
            N_("A moderator's decision about your knowledge entry"),
            {
                "name": author.display_name,
                "message": message,
                "link": f"/knowledge/entries/{entry.id}",
            },
        )


async def _supersede(older: KnowledgeEntry, newer: KnowledgeEntry) -> None:
    """Link both ways; the older one becomes superseded. Inside the caller's atomic()."""
    won = await KnowledgeEntry.filter(id=older.id, status=EntryStatus.PUBLISHED).update(
        status=EntryStatus.SUPERSEDED, superseded_by_id=newer.id
    )
    if not won:
        raise Conflict(_("That entry is not published any more."))
    await KnowledgeEntry.filter(id=newer.id).update(supersedes_id=older.id)
    older.status, older.superseded_by_id = EntryStatus.SUPERSEDED, newer.id
    newer.supersedes_id = older.id
    await _entry_event(older, "knowledge.entry.superseded", {"superseded_by": newer.id})


async def do_supersede(actor: User, older: KnowledgeEntry, newer_id: int) -> KnowledgeEntry:
    """A moderator marks a published entry as replaced by a newer published one."""
    require_moderator(actor, older.technology_id)
    newer = await KnowledgeEntry.get_or_none(id=newer_id) if 0 < newer_id <= ID_MAX else None
    if newer is None or not policy.can_see_entry(actor, newer):
        raise Invalid(_("There is no such entry."), field="superseded_by")
    if newer.id == older.id:
        raise Invalid(_("An entry cannot replace itself."), field="superseded_by")
    if older.status != EntryStatus.PUBLISHED or newer.status != EntryStatus.PUBLISHED:
        raise Conflict(_("Both entries must be published."))
    if newer.supersedes_id not in (None, older.id):
        raise Conflict(_("The newer entry already replaces another one."))
    async with atomic():
        await _supersede(older, newer)
        await audit.append(
            actor,
            "knowledge.supersede",
            "knowledge_entry",
            older.id,
            data={"superseded_by": newer.id},
            before={"status": "published"},
            after={"status": "superseded", "superseded_by": newer.id},
        )
    return older


# ---------------------------------------------------------------------------------------
# Helpful marks

_MARK = (
    "INSERT INTO knowledge_helpful_marks (entry_id, user_id, created_at) VALUES (?, ?, ?)"
    " ON CONFLICT (entry_id, user_id) DO NOTHING RETURNING id"
)


async def do_set_helpful(user: User, entry: KnowledgeEntry, helpful: bool = True) -> int:
    """Mark (or unmark) an entry helpful, once per member; returns the entry's count."""
    if not policy.can_see_entry(user, entry):
        raise NotFound(_("No such entry."))
    if not policy.can_mark_entry_helpful(user, entry):
        if user.id == entry.author_id:
            raise Forbidden(_("You cannot mark your own entry helpful."))
        raise Forbidden(_("You may not mark this entry helpful."))
    async with atomic():
        if helpful:
            changed = len(
                await execute(
                    connections.get("default"), _MARK, entry.id, user.id, datetime.now(UTC)
                )
            )
        else:
            changed = -await HelpfulMark.filter(entry_id=entry.id, user_id=user.id).delete()
        if changed:
            await KnowledgeEntry.filter(id=entry.id).update(
                helpful_count=F("helpful_count") + changed
            )
        count = (await KnowledgeEntry.filter(id=entry.id).values_list("helpful_count", flat=True))[
            0
        ]
        if changed:
            await _entry_event(entry, "knowledge.entry.helpful", {"helpful_count": count})
    entry.helpful_count = int(count)  # type: ignore[call-overload]
    return entry.helpful_count


# --- attachments ------------------------------------------------------------------------


async def do_attach_document(user: User, entry: KnowledgeEntry, document_id: int) -> None:
    """Attach a document the author may see (their own, or any in the repository)."""
    if not policy.can_attach_to_entry(user, entry):
        raise Forbidden(_("Only the entry's author may attach documents, while it may be edited."))
    document = await Document.get_or_none(id=document_id)
    if document is None or document.is_deleted or not policy.can_see_document(user, document):
        raise NotFound(_("No such document."))
    async with atomic():
        await EntryAttachment.bulk_create(
            [EntryAttachment(entry_id=entry.id, document_id=document.id)], ignore_conflicts=True
        )
        await _entry_event(entry, "knowledge.entry.saved", {"status": entry.status.value})


async def do_detach_document(user: User, entry: KnowledgeEntry, document_id: int) -> None:
    if not policy.can_attach_to_entry(user, entry):
        raise Forbidden(
            _("Only the entry's author may remove attachments, while it may be edited.")
        )
    async with atomic():
        removed = await EntryAttachment.filter(entry_id=entry.id, document_id=document_id).delete()
        if not removed:
            raise NotFound(_("That document is not attached to this entry."))
        await _entry_event(entry, "knowledge.entry.saved", {"status": entry.status.value})


async def attachable_documents(user: User, entry: KnowledgeEntry) -> list[Document]:
    """The author's own documents not yet attached (newest first, at most 50)."""
    attached = await EntryAttachment.filter(entry_id=entry.id).values_list("document_id", flat=True)
    return (
        await Document.filter(uploaded_by_id=user.id, is_deleted=False)
        .exclude(id__in=list(attached))
        .order_by("-id")
        .limit(50)
    )
