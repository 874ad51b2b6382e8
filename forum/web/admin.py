"""Administrators' pages: the access-request queue, invitations, members, administrations
and public pages (the audit log's are in moderation/web_audit.py). Every page asks
`require_admin` first (an administrator with two-factor authentication on)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from forum.actions.administrations import (
    check_administration,
    do_create_administration,
    do_update_administration,
)
from forum.actions.membership import (
    do_approve_request,
    do_invite,
    do_reject_request,
    do_reverify_member,
    do_revoke_membership,
)
from forum.actions.pages import do_create_page, do_move_page, do_update_page
from forum.errors import BadRequest, Conflict, Invalid, NotFound
from forum.i18n import _
from forum.models import Administration, PublicPage, Region
from forum.queries.administrations import all_administrations
from forum.queries.membership import (
    MEMBER_VIEWS,
    outstanding_invitations,
    pending_requests,
    recent_decisions,
    unconfirmed_count,
    verified_members,
)
from forum.queries.pages import all_pages
from forum.settings import Settings
from forum.web.forms import parse_id, path_id, read_form, redirect
from forum.web.staff import require_admin
from forum.web.templating import render


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def index(request: Request) -> Response:
    require_admin(request)
    context = {
        "pending": len(await pending_requests()),
        "unconfirmed": await unconfirmed_count(),
        "lapsing": len(await verified_members("lapsing")),
        "lapsed": len(await verified_members("lapsed")),
    }
    return render(request, "admin/index.html", context)


# --- access requests ---------------------------------------------------------------------


async def _queue(request: Request, status: int = 200, **extra: Any) -> Response:
    context = {
        "requests": await pending_requests(),
        "unconfirmed": await unconfirmed_count(),
        "decisions": await recent_decisions(),
        "done": request.query_params.get("done", ""),
        **extra,
    }
    return render(request, "admin/access_requests.html", context, status=status)


async def access_requests(request: Request) -> Response:
    require_admin(request)
    return await _queue(request)


async def approve(request: Request) -> Response:
    return await _decide(request, approve=True)


async def reject(request: Request) -> Response:
    return await _decide(request, approve=False)


async def _decide(request: Request, *, approve: bool) -> Response:
    actor = require_admin(request)
    request_id = path_id(request)
    form = await read_form(request)
    note = form.get("note", "")
    try:
        if approve:
            await do_approve_request(actor, _settings(request), request_id, note)
            return redirect("/admin/access-requests?done=approved")
        await do_reject_request(actor, _settings(request), request_id, note)
        return redirect("/admin/access-requests?done=rejected")
    except (Invalid, Conflict) as exc:
        return await _queue(request, exc.status, error=exc, error_id=request_id)


# --- invitations -------------------------------------------------------------------------


async def invitations(request: Request) -> Response:
    actor = require_admin(request)
    values = {"email": "", "full_name": "", "administration": "", "note": ""}
    error = None
    status = 200
    if request.method == "POST":
        form = await read_form(request)
        values = {name: form.get(name, "")[:4000] for name in values}
        try:
            try:
                administration_id = parse_id(values["administration"])
            except BadRequest:
                administration_id = None
            await do_invite(
                actor,
                _settings(request),
                values["email"],
                full_name=values["full_name"],
                administration_id=administration_id,
                note=values["note"],
            )
            return redirect("/admin/invitations?done=invited")
        except (Invalid, Conflict) as exc:
            error, status = exc, exc.status
    context = {
        "values": values,
        "error": error,
        "invitations": await outstanding_invitations(),
        "administrations": await all_administrations(),
        "done": request.query_params.get("done", ""),
    }
    return render(request, "admin/invitations.html", context, status=status)


# --- members -----------------------------------------------------------------------------


async def _members(request: Request, status: int = 200, **extra: Any) -> Response:
    view = request.query_params.get("view", "all")
    if view not in MEMBER_VIEWS:
        view = "all"
    context = {
        "rows": await verified_members(view),
        "view": view,
        "views": MEMBER_VIEWS,
        "done": request.query_params.get("done", ""),
        **extra,
    }
    return render(request, "admin/members.html", context, status=status)


async def members(request: Request) -> Response:
    require_admin(request)
    return await _members(request)


async def revoke(request: Request) -> Response:
    return await _member_action(request, revoke=True)


async def reverify(request: Request) -> Response:
    return await _member_action(request, revoke=False)


async def _member_action(request: Request, *, revoke: bool) -> Response:
    actor = require_admin(request)
    user_id = path_id(request)
    form = await read_form(request)
    reason = form.get("reason", "")
    try:
        if revoke:
            await do_revoke_membership(actor, user_id, reason)
            return redirect("/admin/members?done=revoked")
        await do_reverify_member(actor, user_id, reason)
        return redirect("/admin/members?done=reverified")
    except (Invalid, Conflict) as exc:
        return await _members(request, exc.status, error=exc, error_id=user_id)


# --- administrations ---------------------------------------------------------------------


async def administrations(request: Request) -> Response:
    require_admin(request)
    context = {
        "administrations": await all_administrations(),
        "done": request.query_params.get("done", ""),
    }
    return render(request, "admin/administrations.html", context)


async def administration_form(request: Request) -> Response:
    actor = require_admin(request)
    existing: Administration | None = None
    if "id" in request.path_params:
        existing = await Administration.get_or_none(id=path_id(request))
        if existing is None:
            raise NotFound(_("No such administration."))
    values = {
        "name": existing.name if existing else "",
        "country_code": existing.country_code if existing else "",
        "region": existing.region.value if existing else "",
    }
    context: dict[str, Any] = {"administration": existing, "regions": list(Region)}
    if request.method == "GET":
        return render(request, "admin/administration_form.html", {**context, "values": values})
    form = await read_form(request)
    values = {name: form.get(name, "")[:300] for name in values}
    try:
        data = check_administration(values["name"], values["country_code"], values["region"])
        if existing is None:
            await do_create_administration(actor, data)
        else:
            await do_update_administration(actor, existing, data)
    except (Invalid, Conflict) as exc:
        context.update(values=values, error=exc)
        return render(request, "admin/administration_form.html", context, status=exc.status)
    return redirect("/admin/administrations?done=saved")


# --- public pages ------------------------------------------------------------------------


async def pages(request: Request) -> Response:
    require_admin(request)
    context = {"pages": await all_pages(), "done": request.query_params.get("done", "")}
    return render(request, "admin/pages.html", context)


async def page_form(request: Request) -> Response:
    actor = require_admin(request)
    existing: PublicPage | None = None
    if "id" in request.path_params:
        existing = await PublicPage.get_or_none(id=path_id(request))
        if existing is None:
            raise NotFound(_("No such page."))
    values: dict[str, Any] = {
        "slug": existing.slug if existing else "",
        "title": existing.title if existing else "",
        "source": existing.source if existing else "",
        "published": existing.published if existing else True,
    }
    if request.method == "GET":
        return render(request, "admin/page_form.html", {"page": existing, "values": values})
    form = await read_form(request)
    values = {
        "slug": form.get("slug", "")[:100],
        "title": form.get("title", "")[:300],
        "source": form.get("source", ""),
        "published": form.get("published") == "1",
    }
    try:
        if existing is None:
            await do_create_page(
                actor,
                values["slug"],
                values["title"],
                values["source"],
                published=values["published"],
            )
        else:
            await do_update_page(
                actor,
                existing,
                values["slug"],
                values["title"],
                values["source"],
                published=values["published"],
            )
    except (Invalid, Conflict) as exc:
        context = {"page": existing, "values": values, "error": exc}
        return render(request, "admin/page_form.html", context, status=exc.status)
    return redirect("/admin/pages?done=saved")


async def move_page(request: Request) -> Response:
    actor = require_admin(request)
    page = await PublicPage.get_or_none(id=path_id(request))
    if page is None:
        raise NotFound(_("No such page."))
    form = await read_form(request)
    await do_move_page(actor, page, form.get("direction", ""))
    return redirect("/admin/pages?done=moved")
