"""The knowledge entries' API under /api/v1/knowledge: thin handlers over knowledge/entries.py.

Members only: anonymous callers get 401, accounts that are not verified members 404, and an
entry the caller may not see (someone else's draft, an entry awaiting review) is a 404 too.
Moderators decide submitted entries through the review queue's API
(`POST /api/v1/review/{item_id}/decisions`, the item's `entry_id` names the entry).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from forum import policy
from forum.api.bodies import NO_NUL
from forum.api.operation import ApiRoute, operation
from forum.api.parsing import (
    ID_MAX,
    Body,
    BodySpec,
    Field,
    Integer,
    Text,
    path_id,
    query_cursor,
    read_body,
)
from forum.auth import require_user
from forum.errors import NotFound
from forum.i18n import _
from forum.models import Category, User
from knowledge import entries
from knowledge import entry_queries as queries
from knowledge.models import AdoptionStage, EntryKind, KnowledgeEntry

V1 = "/api/v1"


class LinkList(Field[list[dict[str, str]]]):
    """Links as objects `{url, title}`; the action checks addresses and lengths."""

    def __init__(self, name: str, *, description: str = "") -> None:
        super().__init__(name, description=description)
        self.url = Text("url", max_length=entries.URL_MAX, pattern=NO_NUL)
        self.title = Text("title", max_length=entries.LINK_TITLE_MAX, pattern=NO_NUL)

    def parse(self, value: object) -> list[dict[str, str]]:
        if not isinstance(value, list):
            raise self.invalid(_("{name} must be a list of {url, title} objects."))
        if len(value) > entries.LINKS_MAX:
            raise self.invalid(_("{name} has at most 10 links."))
        links = []
        for item in value:
            if not isinstance(item, dict) or "url" not in item:
                raise self.invalid(_("{name} must be a list of {url, title} objects."))
            url = self.url.parse(item["url"])
            title = self.title.parse(item.get("title", ""))
            links.append({"url": url, "title": title})
        return links

    def schema(self) -> dict[str, Any]:
        return {
            "type": "array",
            "maxItems": entries.LINKS_MAX,
            "items": {
                "type": "object",
                "properties": {"url": self.url.schema(), "title": self.title.schema()},
                "required": ["url"],
            },
        }


KIND = Text("kind", max_length=20, choices=[k.value for k in EntryKind])
TECHNOLOGY = Text(
    "technology", min_length=1, max_length=64, pattern=NO_NUL, description="A category slug."
)
STAGE = Text("stage", max_length=20, choices=[s.value for s in AdoptionStage])
MATURITY = Integer(
    "maturity", minimum=1, maximum=5, description="1 Initial … 5 Transformational (WCO scale)."
)
LANGUAGE = Text("language", max_length=2, choices=entries.LANGUAGES)
TITLE = Text("title", min_length=5, max_length=entries.TITLE_MAX, pattern=NO_NUL)
SUMMARY = Text("summary", max_length=entries.SUMMARY_MAX, pattern=NO_NUL, description="Plain text.")
SECTIONS = tuple(
    Text(name, max_length=entries.TEXT_MAX, pattern=NO_NUL, description="Markdown.")
    for name in entries.MARKDOWN_FIELDS
)
LINKS = LinkList("links", description="At most 10, each an http(s) address and a title.")
SUPERSEDES = Integer(
    "supersedes",
    minimum=1,
    maximum=ID_MAX,
    nullable=True,
    description="A published entry (yours or your administration's) this one replaces once"
    " published.",
)
OPTIONAL: tuple[Field[Any], ...] = (SUMMARY, *SECTIONS, LINKS, LANGUAGE, SUPERSEDES)
NEW_ENTRY = BodySpec("NewKnowledgeEntry", required=(KIND, TECHNOLOGY, STAGE, MATURITY, TITLE),
                     optional=OPTIONAL)  # fmt: skip
ENTRY_CHANGES = BodySpec(
    "KnowledgeEntryChanges",
    optional=(KIND, TECHNOLOGY, STAGE, MATURITY, TITLE, *OPTIONAL),
    at_least_one=True,
)
FIELDS: tuple[Field[Any], ...] = (KIND, TECHNOLOGY, STAGE, MATURITY, TITLE, *OPTIONAL)


def entry_id(request: Request) -> int:
    return path_id(request, "entry_id", _("No such entry."))


def require_member(request: Request) -> User:
    user = require_user(request)
    if not policy.is_member(user):
        raise NotFound(_("The knowledge space belongs to the members' area."))
    return user


def _user(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "display_name": user.display_name}


def _time(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def summary_json(row: queries.EntryRow) -> dict[str, Any]:
    e = row.entry
    return {
        "id": e.id,
        "url": f"/knowledge/entries/{e.id}",
        "kind": e.kind.value,
        "status": e.status.value,
        "title": e.title,
        "summary": e.summary,
        "technology": row.technology.slug,
        "administration": row.administration.name if row.administration else None,
        "country_code": row.administration.country_code if row.administration else None,
        "region": e.region.value if e.region else None,
        "stage": e.stage.value,
        "maturity": e.maturity,
        "language": e.language,
        "helpful_count": e.helpful_count,
        "author": _user(row.author),
        "published_at": _time(e.published_at),
    }


def entry_json(view: queries.EntryView, viewer: User) -> dict[str, Any]:
    e = view.entry
    row = queries.EntryRow(e, view.technology, view.author, view.administration)
    own = policy.is_entry_author(viewer, e) or policy.moderates(viewer, e.technology_id)
    return {
        **summary_json(row),
        **{name: getattr(e, name) for name in entries.MARKDOWN_FIELDS},
        "html": dict(e.html),
        "links": [dict(link) for link in e.links],
        "version": e.version,
        "pending_version": view.pending.number if view.pending is not None else None,
        "versions": [
            {"number": v.number, "status": v.status.value, "created_at": _time(v.created_at)}
            for v in view.versions
        ],
        "review_note": e.review_note if own else "",
        "topic_id": view.topic.id if view.topic is not None else None,
        "supersedes": view.supersedes.id if view.supersedes is not None else None,
        "superseded_by": view.superseded_by.id if view.superseded_by is not None else None,
        "marked_helpful": view.marked,
        "attachments": [{"id": d.id, "title": d.title} for d in view.attachments],
        "created_at": _time(e.created_at),
        "submitted_at": _time(e.submitted_at),
    }


async def _answer(user: User, entry: KnowledgeEntry, status: int = 200) -> Response:
    view = await queries.entry_view(user, entry.id)
    return JSONResponse(entry_json(view, user), status_code=status)


@operation(
    "Published knowledge entries, filtered",
    tag="knowledge",
    response="KnowledgeEntryList",
    auth="required",
    query=("kind", "technology", "region", "stage", "maturity", "lang", "sort", "cursor"),
    errors=(400, 401, 404),
    description="The same filters as the /knowledge/entries page, newest first or"
    " `sort=helpful`. Members only.",
)
async def list_knowledge(request: Request) -> Response:
    user = require_member(request)
    filters = queries.parse_filters(request.query_params)
    listing = await queries.list_entries(user, filters, cursor=query_cursor(request))
    return JSONResponse(
        {
            "entries": [summary_json(row) for row in listing.rows],
            "next_cursor": listing.next_cursor,
        }
    )


def _input(body: Body, base: entries.EntryInput) -> entries.EntryInput:
    """The typed values: the body's fields over `base` (the current content)."""
    values = {name: getattr(base, name) for name in entries.EntryInput.__dataclass_fields__}
    for field in FIELDS:
        if not body.has(field):
            continue
        value = body.get_optional(field)
        if field is LINKS:
            links: list[dict[str, str]] = value or []
            values["links"] = "\n".join(f"{k['url']} {k['title']}".strip() for k in links)
        elif field is SUPERSEDES:
            values["supersedes"] = str(value) if value else ""
        elif field is MATURITY:
            values["maturity"] = str(value)
        else:
            values[field.name] = str(value)
    return entries.EntryInput(**values)


@operation(
    "Write a knowledge entry (a draft, yours alone until submitted)",
    tag="knowledge",
    response="KnowledgeEntry",
    status=201,
    body=NEW_ENTRY,
    auth="required",
    errors=(401, 403, 404, 422),
    description="Your administration and its WCO region come from your profile.",
)
async def create_knowledge(request: Request) -> Response:
    user = require_member(request)
    body = await read_body(request, NEW_ENTRY)
    entry = await entries.do_create_entry(user, _input(body, entries.EntryInput()))
    return await _answer(user, entry, 201)


@operation(
    "A knowledge entry",
    tag="knowledge",
    response="KnowledgeEntry",
    auth="required",
    errors=(401, 404),
    description="Drafts and entries awaiting review are their author's and the moderators'"
    " only (404 for anyone else). A published entry shows its published version even while"
    " an edit awaits review (`pending_version`).",
)
async def get_knowledge(request: Request) -> Response:
    user = require_member(request)
    entry = await queries.access_entry(user, entry_id(request))
    return await _answer(user, entry)


@operation(
    "Edit a draft, or propose an edit of a published entry",
    tag="knowledge",
    response="KnowledgeEntry",
    body=ENTRY_CHANGES,
    auth="required",
    errors=(401, 403, 404, 409, 422),
    description="A draft changes at once. An edit of a published entry becomes its next"
    " version, submitted for review: the entry keeps showing the published version until a"
    " moderator approves it (409 while an entry or an edit awaits review).",
)
async def update_knowledge(request: Request) -> Response:
    user = require_member(request)
    wanted = entry_id(request)
    body = await read_body(request, ENTRY_CHANGES)
    entry = await queries.access_entry(user, wanted)
    technology = await Category.get(id=entry.technology_id)
    base = entries.EntryInput.of(entry, technology, queries.data_of(entry))
    await entries.do_update_entry(user, entry, _input(body, base))
    return await _answer(user, entry)


@operation(
    "Submit a draft for review",
    tag="knowledge",
    response="KnowledgeEntry",
    auth="required",
    errors=(401, 403, 404, 409, 422),
    description="The draft becomes its next version, awaiting a moderator's review in the"
    " queue of its technology; a rejection brings it back to draft with the reviewer's note"
    " (`review_note`). Summary, context, what was done, outcome and lessons are required.",
)
async def submit_knowledge(request: Request) -> Response:
    user = require_member(request)
    entry = await queries.access_entry(user, entry_id(request))
    await entries.do_submit_entry(user, entry)
    return await _answer(user, entry)


@operation(
    "Mark a published entry helpful (once per member)",
    tag="knowledge",
    response="HelpfulMark",
    auth="required",
    errors=(401, 403, 404),
    description="Idempotent: marking again changes nothing. Not your own entry.",
)
async def mark_helpful(request: Request) -> Response:
    user = require_member(request)
    entry = await queries.access_entry(user, entry_id(request))
    count = await entries.do_set_helpful(user, entry, True)
    return JSONResponse({"entry_id": entry.id, "helpful_count": count, "marked": True})


routes = [
    ApiRoute(f"{V1}/knowledge", GET=list_knowledge, POST=create_knowledge),
    ApiRoute(f"{V1}/knowledge/{{entry_id}}", GET=get_knowledge, PATCH=update_knowledge),
    ApiRoute(f"{V1}/knowledge/{{entry_id}}/submit", POST=submit_knowledge),
    ApiRoute(f"{V1}/knowledge/{{entry_id}}/helpful", POST=mark_helpful),
]
