"""The home page, category pages, and starting a topic."""

from __future__ import annotations

from collections.abc import Hashable

from starlette.requests import Request
from starlette.responses import Response

from forum import policy
from forum.actions.topics import do_create_topic
from forum.auth import current_user, identity, require_user
from forum.errors import Forbidden, Invalid
from forum.i18n import _
from forum.models import Category, User
from forum.queries.categories import access_category, all_categories, find_category
from forum.queries.live import live_since
from forum.queries.topics import TopicList, list_topics
from forum.web.forms import read_form, redirect, split_tags
from forum.web.fragments import cards_key, topic_rows
from forum.web.templating import cached_macro, render, render_shared
from moderation.sanctions import Silenced, check_may_speak, silence_notice
from notifications.listing import category_level


def list_key(topics: TopicList) -> tuple[Hashable, ...]:
    """Everything a page shows of its topic list but the viewer's read badges (the `rows`
    slot, `topic_rows`)."""
    return (topics.shared_key, topics.next_cursor, bool(topics.reads))


# The home and category pages are live: they carry the id of the newest event, read per
# request before anything the page shows (forum.queries.live), for live.js to subscribe from.


async def home(request: Request) -> Response:
    user = current_user(request)
    since = await live_since(identity(request))  # before anything the page shows
    every = await all_categories(identity(request).categories_version, shared=True)
    cursor = request.query_params.get("cursor") or None
    topics = await list_topics(user, cursor=cursor, categories=every)
    shown = policy.visible_categories(user, every)
    context = {"categories": shown, "topics": topics}
    slots = {"rows": topic_rows(topics, True, user), "live_since": since}
    key = (cards_key(shown), list_key(topics))
    return render_shared(request, "home.html", key, context, slots)


async def show_category(request: Request) -> Response:
    user = current_user(request)
    since = await live_since(identity(request))  # before anything the page shows
    every = await all_categories(identity(request).categories_version, shared=True)
    category = find_category(user, every, request.path_params["slug"])
    cursor = request.query_params.get("cursor") or None
    member = user is not None and policy.is_member(user)
    topics = await list_topics(
        user, category=category, cursor=cursor, categories=every, level=member
    )
    can_create = policy.can_create_topic(user, category)
    level = topics.level  # read with the topics where it could be (PostgreSQL)
    if level is None and user is not None and member:
        level = await category_level(user, category.id)
    context = {
        "category": category,
        "topics": topics,
        "can_create_topic": can_create,
        "shows_level": level is not None,
        "silence_notice": await silence_notice(user),  # a query only for a silenced member
    }
    slots = {
        "rows": topic_rows(topics, False, user),
        "live_since": since,
        "level_form": cached_macro(
            "notifications/level_form.html",
            "level_form",
            f"/c/{category.slug}/notifications",
            level,
            csrf_token=identity(request).csrf_token,
        )
        if level is not None
        else "",
    }
    if context["silence_notice"]:
        return render(request, "category.html", {**context, **slots})  # this viewer's alone
    shown = (category.id, category.slug, category.name, category.description, category.archived)
    key = (shown, list_key(topics), can_create, level is not None)
    return render_shared(request, "category.html", key, context, slots)


async def _check_can_create(user: User, category: Category) -> None:
    await check_may_speak(user)  # a silenced member is told why and until when
    if not policy.can_create_topic(user, category):
        if category.archived:
            raise Forbidden(_("This category is archived: it takes no new topics or replies."))
        raise Forbidden(_("You may not start a topic in this category."))


async def new_topic(request: Request) -> Response:
    user = require_user(request)
    category = await access_category(user, request.path_params["slug"])
    values = {"title": "", "body": "", "tags": "", "lang": ""}
    if request.method == "POST":
        form = await read_form(request)
        values = {name: form.get(name, "") for name in values}
        try:
            await _check_can_create(user, category)
            topic, post = await do_create_topic(
                user,
                category,
                values["title"],
                values["body"],
                split_tags(values["tags"]),
                language=values["lang"],
            )
        except (Invalid, Silenced) as exc:  # the form comes back with what was typed
            context = {"category": category, "values": values, "error": exc}
            return render(request, "topic_form.html", context, status=exc.status)
        return redirect(f"/t/{topic.id}")
    await _check_can_create(user, category)
    return render(request, "topic_form.html", {"category": category, "values": values})
