"""The knowledge space's pages for entries: thin, over knowledge/entries.py.

Every page belongs to the members' area: visitors are sent to log in, accounts that are not
verified members get a 404 (as for a page that does not exist). What each page shows of an
entry is asked of the policy by the reads in knowledge/entries.py.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from forum import policy
from forum.auth import require_member
from forum.errors import Conflict, Forbidden, ForumError, Invalid
from forum.i18n import _
from forum.models import Category, Region
from forum.web.forms import parse_id, path_id, read_form, redirect
from forum.web.staff import require_staff
from forum.web.templating import render
from knowledge import entries
from knowledge import entry_queries as queries
from knowledge.document_queries import DocumentFilter, list_documents
from knowledge.models import AdoptionStage, EntryKind, EntryStatus, KnowledgeEntry
from moderation import review

GET, POST, FORM = ["GET"], ["POST"], ["GET", "POST"]


def choices() -> dict[str, Any]:
    """The lists the filters and the form offer, with their labels."""
    return {
        "kinds": [(k.value, entries.kind_label(k.value)) for k in EntryKind],
        "stages": [(s.value, entries.stage_label(s.value)) for s in AdoptionStage],
        "maturities": [(str(n), entries.maturity_label(n)) for n in range(1, 6)],
        "languages": [(code, entries.language_label(code)) for code in entries.LANGUAGES],
        "regions": [r.value for r in Region],
        "sorts": [("newest", _("Newest")), ("helpful", _("Most helpful"))],
        "labels": entries.template_labels(),
    }


async def home(request: Request) -> Response:
    user = require_member(request)
    latest = await queries.list_entries(user, queries.Filters(), limit=5)
    helpful = await queries.list_entries(user, queries.Filters(sort="helpful"), limit=5)
    mine = [r for r in await queries.own_entries(user) if r.entry.status != EntryStatus.PUBLISHED]
    context = {
        "latest": latest.rows,
        "helpful": [r for r in helpful.rows if r.entry.helpful_count > 0],
        "mine": mine,
        "technologies": await entries.technologies(),
        "documents": (await list_documents(user, DocumentFilter(), limit=5)).rows,
        **choices(),
    }
    return render(request, "knowledge/home.html", context)


async def list_page(request: Request) -> Response:
    user = require_member(request)
    filters = queries.parse_filters(request.query_params)
    cursor = request.query_params.get("cursor") or None
    canonical = filters.query(cursor)
    if request.url.query != canonical:  # one address per combination of filters
        return RedirectResponse(
            "/knowledge/entries" + (f"?{canonical}" if canonical else ""), status_code=301
        )
    listing = await queries.list_entries(user, filters, cursor=cursor)
    context = {
        "listing": listing,
        "filters": filters,
        "technologies": await entries.technologies(),
        **choices(),
    }
    return render(request, "knowledge/list.html", context)


def _typed(form: dict[str, str]) -> entries.EntryInput:
    names = entries.EntryInput.__dataclass_fields__
    return entries.EntryInput(**{name: form.get(name, "") for name in names})


async def _form(
    request: Request,
    values: entries.EntryInput,
    *,
    entry: KnowledgeEntry | None = None,
    error: ForumError | None = None,
) -> Response:
    context = {
        "values": values,
        "entry": entry,
        "error": error,
        "technologies": await entries.technologies(),
        **choices(),
    }
    status = error.status if error is not None else 200
    return render(request, "knowledge/form.html", context, status=status)


async def new_entry(request: Request) -> Response:
    user = require_member(request)
    if not policy.can_create_entry(user):
        raise Forbidden(_("You may not write entries at the moment."))
    if request.method == "GET":
        technology = request.query_params.get("technology", "")
        return await _form(request, entries.EntryInput(technology=technology[:64]))
    form = await read_form(request)
    values = _typed(form)
    try:
        entry = await entries.do_create_entry(user, values)
    except Invalid as exc:
        return await _form(request, values, error=exc)
    if form.get("then") == "submit":
        try:
            await entries.do_submit_entry(user, entry)
        except (Invalid, Conflict) as exc:  # saved as a draft: the form now edits it
            return await _form(request, values, entry=entry, error=exc)
        return redirect(f"/knowledge/entries/{entry.id}?submitted=1")
    return redirect(f"/knowledge/entries/{entry.id}?saved=1")


async def show_entry(request: Request, *, error: ForumError | None = None) -> Response:
    user = require_member(request)
    view = await queries.entry_view(user, path_id(request))
    notice = next(
        (n for n in ("saved", "submitted", "decided", "superseded") if request.query_params.get(n)),
        "",
    )
    can_attach = policy.can_attach_to_entry(user, view.entry)
    context = {
        "view": view,
        "entry": view.entry,
        "error": error,
        "notice": notice,
        "can_attach": can_attach,
        "attachable": await entries.attachable_documents(user, view.entry) if can_attach else [],
        **choices(),
    }
    status = error.status if error is not None else 200
    return render(request, "knowledge/entry.html", context, status=status)


async def attach(request: Request) -> Response:
    user = require_member(request)
    entry = await queries.access_entry(user, path_id(request))
    form = await read_form(request)
    document_id = parse_id(form.get("document_id"))
    if document_id is None:
        return await show_entry(request, error=Invalid(_("Choose a document to attach.")))
    await entries.do_attach_document(user, entry, document_id)
    return redirect(f"/knowledge/entries/{entry.id}#attachments")


async def detach(request: Request) -> Response:
    user = require_member(request)
    entry = await queries.access_entry(user, path_id(request))
    await read_form(request)
    await entries.do_detach_document(user, entry, path_id(request, "document_id"))
    return redirect(f"/knowledge/entries/{entry.id}#attachments")


async def edit_entry(request: Request) -> Response:
    user = require_member(request)
    entry = await queries.access_entry(user, path_id(request))
    if not policy.can_edit_entry(user, entry):
        if entry.status == EntryStatus.SUBMITTED and policy.is_entry_author(user, entry):
            raise Conflict(_("This entry is waiting for review: edit it after the decision."))
        raise Forbidden(_("You may not edit this entry."))
    technology = await queries.category_of(entry)
    if request.method == "GET":
        data = queries.data_of(entry)
        view = await queries.entry_view(user, entry.id)
        if view.pending is not None:
            raise Conflict(_("An edit of this entry is already waiting for review."))
        if view.last_rejected is not None and entry.status != EntryStatus.DRAFT:
            data = dict(view.last_rejected.data)  # start again from the edit sent back
            found = await Category.get_or_none(id=data["technology_id"])
            technology = found or technology
        return await _form(request, entries.EntryInput.of(entry, technology, data), entry=entry)
    form = await read_form(request)
    values = _typed(form)
    try:
        await entries.do_update_entry(user, entry, values)
        if form.get("then") == "submit" and entry.status == EntryStatus.DRAFT:
            await entries.do_submit_entry(user, entry)
            return redirect(f"/knowledge/entries/{entry.id}?submitted=1")
    except (Invalid, Conflict) as exc:
        return await _form(request, values, entry=entry, error=exc)
    submitted = entry.status != EntryStatus.DRAFT
    return redirect(f"/knowledge/entries/{entry.id}?{'submitted' if submitted else 'saved'}=1")


async def submit_entry(request: Request) -> Response:
    user = require_member(request)
    entry = await queries.access_entry(user, path_id(request))
    await read_form(request)
    try:
        await entries.do_submit_entry(user, entry)
    except (Invalid, Conflict) as exc:
        return await show_entry(request, error=exc)
    return redirect(f"/knowledge/entries/{entry.id}?submitted=1")


async def helpful(request: Request) -> Response:
    user = require_member(request)
    entry = await queries.access_entry(user, path_id(request))
    form = await read_form(request)
    await entries.do_set_helpful(user, entry, form.get("helpful", "1") != "0")
    return redirect(f"/knowledge/entries/{entry.id}#helpful")


async def decide(request: Request) -> Response:
    """A moderator approves or rejects an entry from its page: the queue's own decision."""
    user = require_staff(request)
    entry = await queries.access_entry(user, path_id(request))
    form = await read_form(request)
    view = await queries.entry_view(user, entry.id)
    if view.review_item is None:
        return await show_entry(request, error=Conflict(_("Nothing of this entry awaits review.")))
    try:
        await review.do_decide(
            user, view.review_item.id, form.get("action", ""), form.get("reason", "")
        )
    except (Invalid, Conflict, Forbidden) as exc:
        return await show_entry(request, error=exc)
    return redirect(f"/knowledge/entries/{entry.id}?decided=1")


async def supersede(request: Request) -> Response:
    user = require_staff(request)
    entry = await queries.access_entry(user, path_id(request))
    form = await read_form(request)
    raw = form.get("superseded_by", "").strip().lstrip("#")
    try:
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 10):
            raise Invalid(_("Give the number of the newer entry."), field="superseded_by")
        await entries.do_supersede(user, entry, int(raw))
    except (Invalid, Conflict) as exc:
        return await show_entry(request, error=exc)
    return redirect(f"/knowledge/entries/{entry.id}?superseded=1")


async def history(request: Request) -> Response:
    user = require_member(request)
    view = await queries.entry_view(user, path_id(request))
    context = {"view": view, "entry": view.entry, **choices()}
    return render(request, "knowledge/history.html", context)


async def show_version(request: Request) -> Response:
    user = require_member(request)
    entry, version = await queries.access_version(
        user, path_id(request), path_id(request, "number")
    )
    technology = await Category.get_or_none(id=version.data.get("technology_id"))
    context = {
        "entry": entry,
        "version": version,
        "data": version.data,
        "technology": technology,
        "current": version.number == entry.version,
        **choices(),
    }
    return render(request, "knowledge/version.html", context)


async def mine(request: Request) -> Response:
    user = require_member(request)
    rows = await queries.own_entries(user)
    return render(request, "knowledge/mine.html", {"rows": rows, **choices()})


routes: list[BaseRoute] = [
    Route("/knowledge", home, methods=GET),
    Route("/knowledge/mine", mine, methods=GET),
    Route("/knowledge/entries", list_page, methods=GET),
    Route("/knowledge/entries/new", new_entry, methods=FORM),
    Route("/knowledge/entries/{id:int}", show_entry, methods=GET),
    Route("/knowledge/entries/{id:int}/edit", edit_entry, methods=FORM),
    Route("/knowledge/entries/{id:int}/submit", submit_entry, methods=POST),
    Route("/knowledge/entries/{id:int}/helpful", helpful, methods=POST),
    Route("/knowledge/entries/{id:int}/decide", decide, methods=POST),
    Route("/knowledge/entries/{id:int}/supersede", supersede, methods=POST),
    Route("/knowledge/entries/{id:int}/attachments", attach, methods=POST),
    Route("/knowledge/entries/{id:int}/attachments/{document_id:int}/remove", detach, methods=POST),
    Route("/knowledge/entries/{id:int}/versions", history, methods=GET),
    Route("/knowledge/entries/{id:int}/versions/{number:int}", show_version, methods=GET),
]
