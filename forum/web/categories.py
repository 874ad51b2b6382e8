"""The home page, category pages, and starting a topic."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum import policy
from forum.actions.topics import do_create_topic
from forum.auth import current_user, require_user
from forum.cache import category_key
from forum.errors import Forbidden, Invalid
from forum.i18n import _
from forum.queries.categories import access_category, visible_categories
from forum.queries.live import last_event_id
from forum.queries.topics import list_topics
from forum.web.forms import read_form, redirect, split_tags
from forum.web.fragments import list_pages, live_page, viewer_key
from forum.web.templating import render


async def home(request: Request) -> Response:
    user = current_user(request)
    since = await last_event_id()  # before anything the page shows
    categories = await visible_categories(user)
    topics = await list_topics(user, cursor=request.query_params.get("cursor") or None)
    shown = tuple((*category_key(c), c.topic_count) for c in categories)
    key = ("home", shown, topics.identity, viewer_key(request))
    context = {"categories": categories, "topics": topics}
    return live_page(request, list_pages, key, since, "home.html", lambda: context)


async def show_category(request: Request) -> Response:
    user = current_user(request)
    since = await last_event_id()  # before anything the page shows
    category = await access_category(user, request.path_params["slug"])
    topics = await list_topics(
        user, category=category, cursor=request.query_params.get("cursor") or None
    )
    can_create = policy.can_create_topic(user, category)
    key = ("category", category_key(category), topics.identity, can_create, viewer_key(request))
    context = {"category": category, "topics": topics, "can_create_topic": can_create}
    return live_page(request, list_pages, key, since, "category.html", lambda: context)


async def new_topic(request: Request) -> Response:
    user = require_user(request)
    category = await access_category(user, request.path_params["slug"])
    if not policy.can_create_topic(user, category):
        raise Forbidden(_("You may not start a topic in this category."))
    values = {"title": "", "body": "", "tags": ""}
    if request.method == "POST":
        form = await read_form(request)
        values = {name: form.get(name, "") for name in values}
        try:
            topic, post = await do_create_topic(
                user, category, values["title"], values["body"], split_tags(values["tags"])
            )
        except Invalid as exc:
            context = {"category": category, "values": values, "error": exc}
            return render(request, "topic_form.html", context, status=422)
        return redirect(f"/t/{topic.id}")
    return render(request, "topic_form.html", {"category": category, "values": values})
