"""Pages for moderators' decisions on a topic: its status buttons, moving and merging.

The topic page shows the forms to the moderators of its category; a refused move or merge
comes back on `/t/{id}/moderate` with the message and what was typed."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from forum import policy
from forum.errors import Invalid
from forum.models import Category, Topic, User
from forum.queries.categories import all_categories
from forum.queries.topics import access_topic
from forum.web.forms import optional_flag, path_id, read_form, redirect
from forum.web.staff import require_staff
from forum.web.templating import render
from moderation.gate import require_moderator
from moderation.topics import (
    do_merge_topic,
    do_move_topic,
    do_set_topic_status,
    find_merge_target,
    find_move_target,
    parse_topic_reference,
)


async def _topic(request: Request) -> tuple[User, Topic, Category]:
    user = require_staff(request)
    topic, category = await access_topic(user, path_id(request))
    require_moderator(user, category.id)
    return user, topic, category


async def move_choices(user: User, category: Category) -> list[Category]:
    """The categories a moderator may move a topic of `category` to."""
    return [
        c for c in await all_categories() if c.id != category.id and policy.moderates(user, c.id)
    ]


async def _form_page(
    request: Request,
    user: User,
    topic: Topic,
    category: Category,
    *,
    values: dict[str, str] | None = None,
    error: Invalid | None = None,
) -> Response:
    context = {
        "topic": topic,
        "category": category,
        "move_to": await move_choices(user, category),
        "values": values or {},
        "error": error,
    }
    return render(request, "moderate_topic.html", context, status=422 if error else 200)


async def moderate(request: Request) -> Response:
    user, topic, category = await _topic(request)
    return await _form_page(request, user, topic, category)


async def status(request: Request) -> Response:
    user, topic, category = await _topic(request)
    form = await read_form(request)
    closed, pinned = optional_flag(form.get("closed")), optional_flag(form.get("pinned"))
    await do_set_topic_status(user, topic, category, closed=closed, pinned=pinned)
    return redirect(f"/t/{topic.id}")


async def move(request: Request) -> Response:
    user, topic, category = await _topic(request)
    form = await read_form(request)
    slug = form.get("category", "")
    try:
        to = await find_move_target(user, slug)
        await do_move_topic(user, topic, category, to)
    except Invalid as exc:
        values = {"category": slug}
        return await _form_page(request, user, topic, category, values=values, error=exc)
    return redirect(f"/t/{topic.id}")


async def merge(request: Request) -> Response:
    user, topic, category = await _topic(request)
    form = await read_form(request)
    typed = form.get("into", "")
    try:
        into, into_category = await find_merge_target(user, parse_topic_reference(typed))
        await do_merge_topic(user, topic, category, into, into_category)
    except Invalid as exc:
        values = {"into": typed}
        return await _form_page(request, user, topic, category, values=values, error=exc)
    return redirect(f"/t/{into.id}")


routes: list[BaseRoute] = [
    Route("/t/{id:int}/moderate", moderate, methods=["GET"]),
    Route("/t/{id:int}/status", status, methods=["POST"]),
    Route("/t/{id:int}/move", move, methods=["POST"]),
    Route("/t/{id:int}/merge", merge, methods=["POST"]),
]
