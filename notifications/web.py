"""Pages: the notifications list, opening one, levels for a topic or category, settings."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from forum.auth import require_user
from forum.errors import NotFound
from forum.i18n import _
from forum.models import Notification
from forum.queries.categories import access_category
from forum.queries.topics import access_topic
from forum.web.forms import path_id, read_form, redirect
from forum.web.templating import render
from notifications import notify
from notifications.listing import category_levels, list_notifications, target_url


async def show_notifications(request: Request) -> Response:
    user = require_user(request)
    found = await list_notifications(user, cursor=request.query_params.get("cursor") or None)
    return render(request, "notifications/list.html", {"notes": found})


async def open_notification(request: Request) -> Response:
    """Mark one read and go to what it is about."""
    user = require_user(request)
    note = await Notification.get_or_none(id=path_id(request), user_id=user.id)
    if note is None:
        raise NotFound(_("No such notification."))
    if note.read_at is None:
        await notify.do_mark_read(user, [note.id])
    return redirect(target_url(note))


async def read_all(request: Request) -> Response:
    user = require_user(request)
    await notify.do_mark_read(user, None)
    return redirect("/notifications")


async def topic_level(request: Request) -> Response:
    user = require_user(request)
    topic, _category = await access_topic(user, path_id(request))
    form = await read_form(request)
    await notify.do_set_topic_level(user, topic, form.get("level", ""))
    return redirect(f"/t/{topic.id}")


async def category_level(request: Request) -> Response:
    user = require_user(request)
    category = await access_category(user, request.path_params["slug"])
    form = await read_form(request)
    await notify.do_set_category_level(user, category, form.get("level", ""))
    back = form.get("back", "")
    return redirect("/account/notifications" if back == "settings" else f"/c/{category.slug}")


async def settings_page(request: Request) -> Response:
    """`/account/notifications`: email toggles and category levels. Other sections (the
    digest) extend `notifications/settings.html` through its `more_settings` block."""
    user = require_user(request)
    saved = False
    if request.method == "POST":
        form = await read_form(request)
        await notify.do_set_email_preferences(
            user,
            mentions=form.get("email_mentions") == "1",
            replies=form.get("email_replies") == "1",
            quotes=form.get("email_quotes") == "1",
        )
        saved = True
    return render(
        request,
        "notifications/settings.html",
        {"levels": await category_levels(user), "saved": saved},
    )


routes: list[BaseRoute] = [
    Route("/notifications", show_notifications, methods=["GET"]),
    Route("/notifications/read", read_all, methods=["POST"]),
    Route("/notifications/{id:int}", open_notification, methods=["GET"]),
    Route("/t/{id:int}/notifications", topic_level, methods=["POST"]),
    Route("/c/{slug}/notifications", category_level, methods=["POST"]),
    Route("/account/notifications", settings_page, methods=["GET", "POST"]),
]
