"""Administrators' pages for categories and moderators. Thin: each opens with `require_admin`,
parses the form, calls one action of moderation.categories / moderation.moderators, and
renders or redirects; a refused form is shown again with what was typed."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from forum.errors import Conflict, Forbidden, Invalid, NotFound
from forum.models import Category, PostingRight, Role, Visibility
from forum.web.forms import path_id, read_form, redirect
from forum.web.staff import require_admin
from forum.web.templating import render
from moderation.categories import (
    access_category_by_id,
    check_new_category,
    do_archive_category,
    do_create_category,
    do_move_category,
    do_update_category,
)
from moderation.moderators import do_promote_by_username, do_set_moderation, staff_members

Refused = (Invalid, Conflict, Forbidden, NotFound)


async def _checked_ids(request: Request, name: str) -> tuple[dict[str, str], list[int]]:
    """The form's text fields, and the ids ticked in its checkboxes called `name`."""
    async with request.form() as form:
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        raw = [v for v in form.getlist(name) if isinstance(v, str)]
    ids = sorted({int(v) for v in raw if v.isascii() and v.isdigit() and len(v) <= 10})
    return fields, ids


# --- categories ----------------------------------------------------------------------------


async def _list(request: Request, status: int = 200, **extra: Any) -> Response:
    context = {
        "categories": await Category.all().order_by("position", "id"),
        "done": request.query_params.get("done", ""),
        **extra,
    }
    return render(request, "admin/categories.html", context, status=status)


async def categories(request: Request) -> Response:
    require_admin(request)
    return await _list(request)


def _values(form: dict[str, str]) -> dict[str, Any]:
    return {
        "slug": form.get("slug", "")[:200],
        "name": form.get("name", "")[:300],
        "description": form.get("description", "")[:4000],
        "visibility": form.get("visibility", ""),
        "posting_right": form.get("posting_right", ""),
        "requires_approval": form.get("requires_approval") == "1",
    }


async def category_form(request: Request) -> Response:
    actor = require_admin(request)
    existing = None
    if "id" in request.path_params:
        existing = await access_category_by_id(path_id(request))
    values: dict[str, Any] = {
        "slug": existing.slug if existing else "",
        "name": existing.name if existing else "",
        "description": existing.description if existing else "",
        "visibility": (existing.visibility if existing else Visibility.MEMBERS).value,
        "posting_right": (existing.posting_right if existing else PostingRight.MEMBERS).value,
        "requires_approval": existing.requires_approval if existing else False,
    }
    context: dict[str, Any] = {
        "category": existing,
        "visibilities": list(Visibility),
        "posting_rights": list(PostingRight),
    }
    if request.method == "GET":
        return render(request, "admin/category_form.html", {**context, "values": values})
    values = _values(await read_form(request))
    try:
        if existing is None:
            new = check_new_category(**values)
            await do_create_category(actor, new)
        else:
            values["slug"] = existing.slug
            changes = {k: v for k, v in values.items() if k != "slug"}
            await do_update_category(actor, existing, changes)
    except Refused as exc:
        context.update(values=values, error=exc)
        return render(request, "admin/category_form.html", context, status=exc.status)
    return redirect("/admin/categories?done=saved")


async def move_category(request: Request) -> Response:
    actor = require_admin(request)
    category = await access_category_by_id(path_id(request))
    form = await read_form(request)
    try:
        await do_move_category(actor, category, form.get("direction", ""))
    except Refused as exc:
        return await _list(request, exc.status, error=exc)
    return redirect(f"/admin/categories?done=moved#category-{category.id}")


async def archive_category(request: Request) -> Response:
    actor = require_admin(request)
    category = await access_category_by_id(path_id(request))
    form = await read_form(request)
    archived = form.get("archived", "1") != "0"
    await do_archive_category(actor, category, archived)
    return redirect("/admin/categories?done=" + ("archived" if archived else "unarchived"))


# --- moderators ----------------------------------------------------------------------------


async def _moderators(request: Request, status: int = 200, **extra: Any) -> Response:
    context = {
        "staff": await staff_members(),
        "categories": await Category.all().order_by("position", "id"),
        "done": request.query_params.get("done", ""),
        "values": {"username": ""},
        "ticked": [],
        **extra,
    }
    return render(request, "admin/moderators.html", context, status=status)


async def moderators(request: Request) -> Response:
    require_admin(request)
    return await _moderators(request)


async def promote(request: Request) -> Response:
    actor = require_admin(request)
    form, ids = await _checked_ids(request, "category")
    username = form.get("username", "")[:200]
    try:
        await do_promote_by_username(actor, username, ids)
    except Refused as exc:
        return await _moderators(
            request, exc.status, error=exc, values={"username": username}, ticked=ids
        )
    return redirect("/admin/moderators?done=promoted")


async def assign(request: Request) -> Response:
    actor = require_admin(request)
    user_id = path_id(request)
    _form, ids = await _checked_ids(request, "category")
    try:
        await do_set_moderation(actor, user_id, Role.MODERATOR, ids)
    except Refused as exc:
        return await _moderators(request, exc.status, error=exc, error_id=user_id)
    return redirect(f"/admin/moderators?done=assigned#staff-{user_id}")


async def demote(request: Request) -> Response:
    actor = require_admin(request)
    user_id = path_id(request)
    try:
        await do_set_moderation(actor, user_id, Role.MEMBER)
    except Refused as exc:
        return await _moderators(request, exc.status, error=exc, error_id=user_id)
    return redirect("/admin/moderators?done=demoted")


GET, POST, FORM = ["GET"], ["POST"], ["GET", "POST"]

routes: list[BaseRoute] = [
    Route("/admin/categories", categories, methods=GET),
    Route("/admin/categories/new", category_form, methods=FORM),
    Route("/admin/categories/{id:int}/edit", category_form, methods=FORM),
    Route("/admin/categories/{id:int}/move", move_category, methods=POST),
    Route("/admin/categories/{id:int}/archive", archive_category, methods=POST),
    Route("/admin/moderators", moderators, methods=GET),
    Route("/admin/moderators/promote", promote, methods=POST),
    Route("/admin/moderators/{id:int}/categories", assign, methods=POST),
    Route("/admin/moderators/{id:int}/demote", demote, methods=POST),
]
