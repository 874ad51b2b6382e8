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
from collections.abc import Hashable

from markupsafe import Markup, escape
from starlette.requests import Request

from forum import i18n, policy
from forum.auth import identity
from forum.queries.topics import TopicPage
from forum.web.templating import environment, timeago

CSRF_MARK = Markup("<csrf/>")
_CACHE: OrderedDict[tuple[Hashable, ...], str] = OrderedDict()
_CACHE_SIZE = 20_000


def clear_cache() -> None:
    _CACHE.clear()
    topic_pages.clear()


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


class PageCache:
    """Whole rendered pages by a key naming everything they show, bounded in bytes (LRU)."""

    def __init__(self, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._pages: OrderedDict[tuple[Hashable, ...], bytes] = OrderedDict()
        self._bytes = 0

    def get(self, key: tuple[Hashable, ...]) -> bytes | None:
        body = self._pages.get(key)
        if body is not None:
            self._pages.move_to_end(key)
        return body

    def put(self, key: tuple[Hashable, ...], body: bytes) -> None:
        if len(body) > self.max_bytes // 8 or key in self._pages:
            return
        self._pages[key] = body
        self._bytes += len(body)
        while self._bytes > self.max_bytes:
            _old, dropped = self._pages.popitem(last=False)
            self._bytes -= len(dropped)

    def clear(self) -> None:
        self._pages.clear()
        self._bytes = 0


topic_pages = PageCache()


def viewer_key(request: Request) -> tuple[Hashable, ...]:
    """Everything about the viewer that a page shows or decides by. A template that starts
    showing something else about the viewer (a badge, a counter) must add it here."""
    ident = identity(request)
    user = ident.user
    return (
        ident.csrf_token,
        i18n.DEFAULT_LANGUAGE,
        int(time.time() // 60),  # "3 minutes ago" texts
        None
        if user is None
        else (
            user.id,
            user.username,
            user.display_name,
            user.role,
            user.is_verified,
            user.verified_until,
            user.is_active,
            user.totp_enabled,
        ),
    )
