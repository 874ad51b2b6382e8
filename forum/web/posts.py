"""One post: its permalink, editing, revisions, deletion, reactions and bookmarks."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from forum import policy
from forum.actions.posts import check_may_edit, do_delete_post, do_edit_post
from forum.actions.reactions import do_set_reaction
from forum.actions.reading import do_set_bookmark
from forum.actions.topics import do_update_topic
from forum.auth import current_user, require_user
from forum.errors import Invalid, NotFound
from forum.i18n import _
from forum.models import Category, Post, Topic, User
from forum.queries.topics import access_post, post_revisions, topic_page, topic_tag_names
from forum.web.forms import parse_flag, path_id, post_url, read_form, redirect, split_tags
from forum.web.fragments import post_fragments
from forum.web.templating import render


async def permalink(request: Request) -> Response:
    post, _topic, _category = await access_post(current_user(request), path_id(request))
    return redirect(post_url(post))


async def fragment(request: Request) -> Response:
    """One post's <article>, exactly as its topic page shows it to this viewer (for live.js).
    topic_page asks the policy: 404 when the topic is not visible; a hidden or deleted post
    is its placeholder."""
    post_id = path_id(request)
    found = await Post.filter(id=post_id).values_list("topic_id", "number")
    if not found:
        raise NotFound(_("No such post."))
    topic_id, number = found[0]
    page = await topic_page(current_user(request), topic_id, near=number, limit=1)
    if not page.posts or page.posts[0].post.id != post_id:
        raise NotFound(_("No such post."))
    return HTMLResponse(post_fragments(request, page).strip())


def _topic_fields(user: User, post: Post, topic: Topic, category: Category) -> bool:
    """Whether editing this post also edits its topic's title and tags: the first post, by
    someone who may retitle the topic (its author while open, or its moderators)."""
    if post.number != 1:
        return False
    return policy.can_retitle_topic(user, topic) or policy.can_moderate_topic(user, topic, category)


async def edit(request: Request) -> Response:
    user = require_user(request)
    post, topic, category = await access_post(user, path_id(request))
    check_may_edit(user, post, topic, category)  # staff without 2FA are sent to set it up
    with_topic = _topic_fields(user, post, topic, category)
    tags = await topic_tag_names(topic.id) if with_topic else []
    tag_text = ", ".join(tags)
    context: dict[str, object] = {
        "post": post,
        "topic": topic,
        "body": post.source,
        "with_topic": with_topic,
        "title": topic.title,
        "tags": tag_text,
    }
    if request.method == "POST":
        form = await read_form(request)
        body = form.get("body", "")
        language = form.get("lang", "") or post.language
        title, tag_text = form.get("title", topic.title), form.get("tags", tag_text)
        context.update(body=body, title=title, tags=tag_text, post_language=language)
        retopic = with_topic and (title != topic.title or split_tags(tag_text) != tags)
        try:
            if retopic:
                await do_update_topic(user, topic, category, title=title, tags=split_tags(tag_text))
            if body != post.source or language != post.language or not retopic:
                await do_edit_post(user, post, topic, category, body, language=language)
        except Invalid as exc:  # the form comes back with what was typed, and why
            return render(request, "edit.html", {**context, "error": exc}, status=exc.status)
        return redirect(post_url(post))
    return render(request, "edit.html", context)


async def revisions(request: Request) -> Response:
    post, found = await post_revisions(current_user(request), path_id(request))
    return render(request, "revisions.html", {"post": post, "revisions": found})


async def delete(request: Request) -> Response:
    user = require_user(request)
    post, topic, category = await access_post(user, path_id(request))
    await do_delete_post(user, post, topic, category)
    return redirect(post_url(post))


async def react(request: Request) -> Response:
    user = require_user(request)
    post, topic, category = await access_post(user, path_id(request))
    form = await read_form(request)
    # A post's reaction form sends the pressed button, named for its kind, 1 to turn it on and
    # 0 to turn it off; `kind` and `on` fields are the same request spelt out.
    kind = next((k for k in policy.REACTION_KINDS if k in form), None)
    if kind is None:
        kind, on = form.get("kind", ""), form.get("on")
    else:
        on = form.get(kind)
    await do_set_reaction(user, post, topic, category, kind, parse_flag(on))
    return redirect(post_url(post))


async def bookmark(request: Request) -> Response:
    user = require_user(request)
    post, topic, category = await access_post(user, path_id(request))
    form = await read_form(request)
    await do_set_bookmark(user, post, topic, category, parse_flag(form.get("on")))
    return redirect(post_url(post))
