"""Rendered posts, cached by everything they show.

Rendering a post's markup costs far more than reading it, and most views of a topic show the
same posts to the same kinds of viewer. Each post is rendered once per distinct look (its
version, reaction counts, the viewer's own choices and rights, the "time ago" text) and reused.
The per-session CSRF token is left out of the cache: fragments carry a raw `<csrf/>` mark,
which no user content can produce (autoescape and the sanitiser both escape `<`), replaced by
the viewer's token on the way out.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from forum import i18n, policy
from forum.auth import identity
from forum.cache import PageCache, user_key
from forum.queries.topics import TopicPage
from forum.web.templating import environment, render, timeago

CSRF_MARK = Markup("<csrf/>")
_CACHE: OrderedDict[tuple[Hashable, ...], str] = OrderedDict()
_CACHE_SIZE = 20_000


def clear_cache() -> None:
    from forum.api.topics import topic_answers

    _CACHE.clear()
    topic_pages.clear()
    list_pages.clear()
    topic_answers.clear()


def post_fragments(request: Request, page: TopicPage) -> Markup:
    ident = identity(request)
    user = ident.user
    member = policy.is_member(user)
    language = i18n.DEFAULT_LANGUAGE
    template = environment().get_template("partials/post.html")
    parts: list[str] = []
    for view in page.posts:
        post = view.post
        ago = timeago(post.created_at)
        unread = page.last_read is not None and post.number > page.last_read
        key = (
            post.id,
            post.created_at,  # with the id, tells apart posts of a reset or restored database
            post.version,
            post.deleted_at is not None,
            post.hidden,
            view.visible,
            tuple(sorted(view.reactions.items())),
            tuple(sorted(view.mine)),
            view.bookmarked,
            view.can_edit,
            view.can_delete,
            view.can_react,
            unread,
            page.can_reply,
            member,
            user is not None,
            view.reply_to_number,
            view.reply_to_username,
            post.author.username,
            post.author.display_name,
            ago,
            language,
        )
        html = _CACHE.get(key)
        if html is None:
            html = template.render(
                view=view,
                page=page,
                topic=page.topic,
                user=user,
                is_member=member,
                csrf_token=CSRF_MARK,
                lang=language,
            )
            _CACHE[key] = html
            if len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
        else:
            _CACHE.move_to_end(key)
        parts.append(html)
    token = str(escape(ident.csrf_token))
    return Markup("".join(parts).replace(str(CSRF_MARK), token))  # noqa: S704 - cached, escaped


# Live pages (topic, category, home) are rendered and cached with this mark for the id of the
# newest event, read per request before anything the page shows (forum.queries.live).
LIVE_SINCE = "live-since-mark"
_LIVE_SINCE_ATTRIBUTE = f'name="live-since" content="{LIVE_SINCE}"'.encode()


def with_since(body: bytes, since: int) -> bytes:
    """The page as sent: its live-since mark (in <head>, before any user content) replaced."""
    return body.replace(_LIVE_SINCE_ATTRIBUTE, b'name="live-since" content="%d"' % since, 1)


def live_page(
    request: Request,
    cache: PageCache,
    key: tuple[Hashable, ...],
    since: int,
    template: str,
    context: Callable[[], dict[str, Any]],
) -> HTMLResponse:
    """A live page from `cache` under `key`, rendered (with `context()`) and kept when missing,
    sent with `since` as its live-since."""
    body = cache.get(key)
    if body is None:
        body = bytes(render(request, template, {**context(), "live_since": LIVE_SINCE}).body)
        cache.put(key, body)
    return HTMLResponse(with_since(body, since))


topic_pages = PageCache()
list_pages = PageCache()


def viewer_key(request: Request) -> tuple[Hashable, ...]:
    """Everything about the viewer that a page shows or decides by. A template that starts
    showing something else about the viewer (a badge, a counter) must add it here."""
    ident = identity(request)
    return (
        ident.csrf_token,
        request.scope["path"],  # links back here (logging in returns to the page)
        request.scope["query_string"],
        i18n.DEFAULT_LANGUAGE,
        int(time.time() // 60),  # "3 minutes ago" texts
        user_key(ident.user),
    )
