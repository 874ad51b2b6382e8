"""A topic's page, jumping to the first unread post, and replying (moderators' forms:
moderation/web_topics.py)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from forum import policy
from forum.actions.posts import do_create_post
from forum.auth import current_user, identity, require_user
from forum.errors import Forbidden, Invalid, NotFound
from forum.i18n import _
from forum.models import Category, Post, Topic, User
from forum.queries.topics import access_post, access_topic, topic_page
from forum.web.forms import parse_id, path_id, post_url, read_form, redirect
from forum.web.fragments import post_fragments
from forum.web.templating import cached_macro, render, render_shared
from moderation.queue import own_items
from moderation.sanctions import Silenced, check_may_speak, silence_notice
from moderation.web_topics import move_choices


async def show_topic(request: Request) -> Response:
    user = current_user(request)
    query = request.query_params if request.scope["query_string"] else None
    page = await topic_page(
        user,
        path_id(request),
        cursor=(query.get("cursor") or None) if query else None,
        near=parse_id(query.get("near")) if query else None,
    )
    topic, category = page.topic, page.category
    heading = cached_macro(
        "partials/topic_heading.html",
        "topic_heading",
        topic.id,
        topic.title,
        topic.language,
        topic.pinned,
        topic.closed,
        topic.deleted_at is not None,
        category.archived,
        " ".join(page.tags),
        topic.reply_count,
        topic.highest_post_number,
        topic.views,
        policy.is_member(user),
        page.notification_level or "normal",
        csrf_token=identity(request).csrf_token,
    )
    context: dict[str, Any] = {
        "topic": topic,
        "category": category,
        "can_reply": page.can_reply,
        "can_moderate": page.can_moderate,
        "prev_cursor": page.prev_cursor,
        "next_cursor": page.next_cursor,
        "has_posts": bool(page.post_rows),
        "signed_in": user is not None,
        "silence_notice": await silence_notice(user),  # a query only for a silenced member
        "pending": None,
        "move_to": None,
        "flagged": bool(query and query.get("flagged")),
    }
    slots = {
        "heading": heading,
        "posts": post_fragments(request, page),
        "live_since": page.live_since,
    }
    if user is not None and page.pending_ids:  # their own replies awaiting approval
        context["pending"] = await own_items(user, topic_id=page.topic.id)
    if page.can_moderate:
        assert user is not None
        context["move_to"] = await move_choices(user, page.category)
    if context["silence_notice"] or context["pending"] or context["move_to"] or context["flagged"]:
        response = render(request, "topic.html", {**context, **slots})  # this viewer's alone
    else:
        key = (
            page.shared_key,
            page.rights.signature,
            page.can_reply,
            page.can_moderate,
            user is not None,
            (category.id, category.slug, category.name, category.archived),
        )
        response = render_shared(request, "topic.html", key, context, slots)
    request.app.state.views.hit(page.topic.id, request.app.state.views.viewers(request))
    shown = page.last_number
    advances = shown is not None and (page.last_read is None or shown > page.last_read)
    if user is not None and shown is not None and advances:
        # Buffered, not written here: the next page and lists merge it in (forum/reads.py).
        number = min(shown, page.topic.highest_post_number)
        await request.app.state.reads.note(user.id, page.topic.id, number)
    return response


async def first_unread(request: Request) -> Response:
    topic_id = path_id(request)
    page = await topic_page(current_user(request), topic_id, limit=1)
    number = page.first_unread_number
    return redirect(f"/t/{topic_id}?near={number}#p{number}")


def quote_markdown(post: Post) -> str:
    """The markdown that quotes a post: its author, a link back, and its source."""
    lines = [f"> {line}" if line else ">" for line in post.source.splitlines()]
    header = f"> **@{post.author.username}** [{_('wrote')}](/p/{post.id}):"
    return "\n".join([header, *lines]) + "\n\n"


async def _check_can_reply(user: User, topic: Topic, category: Category) -> None:
    await check_may_speak(user)  # a silenced member is told why and until when
    if not policy.can_reply(user, topic, category):
        if category.archived:
            raise Forbidden(_("This category is archived: it takes no new topics or replies."))
        if topic.closed:
            raise Forbidden(_("This topic is closed; it takes no new replies."))
        raise Forbidden(_("You may not reply in this topic."))


async def _reply_target(user: User, post_id: int | None) -> Post | None:
    if post_id is None:
        return None
    post, _topic, _category = await access_post(user, post_id)
    return post


async def reply(request: Request) -> Response:
    user = require_user(request)
    topic, category = await access_topic(user, path_id(request))
    if request.method == "POST":
        form = await read_form(request)
        body = form.get("body", "")
        language = form.get("lang", "")
        target = await _reply_target(user, parse_id(form.get("reply_to")))
        try:
            await _check_can_reply(user, topic, category)
            post = await do_create_post(user, topic, category, body, target, language=language)
        except (Invalid, Silenced) as exc:  # the form comes back with what was typed
            context = {
                "topic": topic,
                "body": body,
                "reply_to": target,
                "post_language": language,
                "error": exc,
            }
            return render(request, "reply.html", context, status=exc.status)
        return redirect(post_url(post))
    await _check_can_reply(user, topic, category)
    body = ""
    target = await _reply_target(user, parse_id(request.query_params.get("reply_to")))
    quoted = await _reply_target(user, parse_id(request.query_params.get("quote")))
    if quoted is not None:
        if not policy.can_see_post_body(user, quoted, category):
            raise NotFound(_("No such post."))
        body = quote_markdown(quoted)
        target = target or quoted
    if target is not None and target.topic_id != topic.id:
        target = None  # quoting another topic is fine; replying to it here is not
    return render(request, "reply.html", {"topic": topic, "body": body, "reply_to": target})
