"""Rendered posts and topic-list rows, cached by everything they show.

Rendering markup costs far more than reading it, and every viewer of a topic sees its posts
and its row in a list almost alike. Each post and each row is rendered once per distinct look
and kept in `forum.cache.current()`; what is the viewer's own is merged in per request:

- a post's markup carries `<slot:name/>` marks wherever it shows the viewer's own state (the
  CSRF token, unread or not, their own reactions and bookmark, their edit and delete tools):
  the cached markup is cut at the marks once, and each request puts its values between the
  pieces, so every viewer of a kind (anonymous, member, staff) shares one rendering;
- a topic-list row's "New" / unread-count badge goes where its `<read-state/>` mark stands.

Whole pages are rendered per request around these pieces (see ARCHITECTURE.md, Speed, for the
figures that decided it), so a template may show anything about the viewer without telling a
cache.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from functools import lru_cache
from typing import Any

from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse

import forum.cache
from forum import i18n, policy
from forum.auth import identity
from forum.models import Category, User
from forum.queries.topics import PostView, TopicList, TopicPage, TopicRow
from forum.web.templating import environment, render, timeago

CSRF_MARK = Markup("<csrf/>")
READ_STATE = Markup("<read-state/>")


def clear_cache() -> None:
    forum.cache.current().clear()


# A post's slots: `<slot:name/>` marks, which no user content can produce (autoescape and the
# sanitiser both escape `<`). A cached post is its markup cut at them: text, name, text, ...
_SLOT = re.compile(r"<slot:([a-z-]+)/>")


def slot(name: str) -> Markup:
    return Markup(f"<slot:{name}/>")  # noqa: S704 - a constant mark


def _defaults() -> dict[str, str]:
    """What a post's slots hold for most viewers: read, nothing chosen, no bookmark, no tools
    (the CSRF token is the request's). Callers copy it before changing anything."""
    return _defaults_in(i18n.current_language())


@lru_cache(maxsize=8)
def _defaults_in(language: str) -> dict[str, str]:
    values = {
        "unread-class": "",
        "unread-badge": "",
        "bm-on": "1",
        "bm-chosen": "",
        "bm-pressed": "false",
        "bm-label": str(escape(i18n.gettext("Bookmark", language))),
        "tools": "",
        "flag-off": "",  # " hidden" on the viewer's own posts: nobody flags their own
    }
    for kind in policy.REACTION_KINDS:
        values[f"rx-on-{kind}"] = "1"
        values[f"rx-chosen-{kind}"] = ""
        values[f"rx-pressed-{kind}"] = "false"
    return values


def _unread() -> dict[str, str]:
    badge = f'<span class="badge badge-new">{escape(i18n.gettext("New"))}</span>'
    return {"unread-class": " post-unread", "unread-badge": badge}


class _Post:
    """A post's shared rendering, cut at its slots; `ready` holds it filled with what most
    viewers see (read, nothing of their own) and cut only at the CSRF token, so that most
    posts cost a request one join: `token.join(ready)`."""

    __slots__ = ("pieces", "ready")

    def __init__(self, html: str) -> None:
        self.pieces = tuple(_SLOT.split(html))
        filled = self.fill({**_defaults(), "csrf": CSRF_MARK})
        self.ready = tuple(filled.split(CSRF_MARK))

    def fill(self, values: dict[str, str]) -> str:
        pieces = self.pieces
        parts = [pieces[0]]
        for i in range(1, len(pieces), 2):
            parts.append(values[pieces[i]])
            parts.append(pieces[i + 1])
        return "".join(parts)

    def __len__(self) -> int:  # its size in the cache: the pieces and the filled copy
        return 2 * sum(map(len, self.pieces))


def _tools(view: PostView, csrf: str) -> str:
    """A post's edit and delete tools for this viewer (cached per post and rights)."""
    if not (view.can_edit or view.can_delete):
        return ""
    cache = forum.cache.current().posts
    key = ("tools", view.post.id, view.can_edit, view.can_delete, i18n.current_language())
    tools = cache.get(key)
    if tools is None:
        template = environment().get_template("partials/post_tools.html")
        tools = _Post(
            template.render(
                post=view.post, can_edit=view.can_edit, can_delete=view.can_delete, slot=slot
            )
        )
        cache.put(key, tools)
    return csrf.join(tools.ready)


def _own_values(view: PostView, unread: bool, csrf: str, own: bool) -> dict[str, str]:
    """The slots of a post that is unread, or on which the viewer left something of their
    own."""
    values = {**_defaults(), "csrf": csrf}
    if own:
        values["flag-off"] = " hidden"
    if unread:
        values.update(_unread())
    for kind in view.mine:
        values[f"rx-on-{kind}"] = "0"
        values[f"rx-chosen-{kind}"] = " is-chosen"
        values[f"rx-pressed-{kind}"] = "true"
    if view.bookmarked:
        values["bm-on"] = "0"
        values["bm-chosen"] = " is-chosen"
        values["bm-pressed"] = "true"
        values["bm-label"] = str(escape(i18n.gettext("Remove bookmark")))
    values["tools"] = _tools(view, csrf)
    return values


def post_fragments(request: Request, page: TopicPage) -> Markup:
    """The page's posts as the viewer sees them: each post's shared rendering, its slots
    filled with the viewer's own state."""
    ident = identity(request)
    user = ident.user
    member = policy.is_member(user)
    language = i18n.current_language()
    template = environment().get_template("partials/post.html")
    cache = forum.cache.current().posts
    csrf = str(escape(ident.csrf_token))
    viewer_id = user.id if user is not None else None
    parts: list[str] = []
    for view in page.posts:
        post = view.post
        key = (
            post.id,
            post.created_at,  # with the id, tells apart posts of a reset or restored database
            post.topic_id,  # a merge moves and renumbers posts
            post.number,
            post.version,
            post.edited_by,
            post.deleted_at is not None,
            post.hidden,
            view.visible,
            tuple(sorted(view.reactions.items())),
            view.can_react,
            page.can_reply,
            member,
            user is not None,
            view.reply_to_number,
            view.reply_to_username,
            post.author.username,
            post.author.display_name,
            timeago(post.created_at),
            language,
        )
        shared = cache.get(key)
        if shared is None:
            html = template.render(
                view=view,
                page=page,
                topic=page.topic,
                user=user,
                is_member=member,
                slot=slot,
                lang=language,
            )
            shared = _Post(html)
            cache.put(key, shared)
        unread = page.last_read is not None and post.number > page.last_read
        own = post.author_id == viewer_id
        if unread or view.mine or view.bookmarked or view.can_edit or view.can_delete or own:
            parts.append(shared.fill(_own_values(view, unread, csrf, own)))
        else:
            parts.append(csrf.join(shared.ready))
    return Markup("".join(parts))  # noqa: S704 - rendered by autoescaping templates


def _read_badge(row: TopicRow) -> str:
    """The viewer's "New" or unread-count badge of a topic-list row (empty when read)."""
    if row.is_new:
        return f'<span class="badge badge-new">{escape(i18n.gettext("New"))}</span>'
    if row.unread:
        title = i18n.ngettext("%(num)d unread post", "%(num)d unread posts", row.unread)
        return (
            f'<a class="badge badge-unread" href="/t/{row.topic.id}/unread"'
            f' title="{escape(title % {"num": row.unread})}">{row.unread}</a>'
        )
    return ""


def topic_rows(topics: TopicList, show_category: bool, user: User | None) -> Markup:
    """The rows of a topic list (`partials/topic_row.html`), each rendered once per look."""
    template = environment().get_template("partials/topic_row.html")
    cache = forum.cache.current().topic_rows
    language = i18n.current_language()
    parts: list[str] = []
    for row in topics.rows:
        topic = row.topic
        key: tuple[Hashable, ...] = (
            topic.id,
            topic.created_at,
            topic.title,
            topic.pinned,
            topic.closed,
            topic.post_count,
            topic.views,
            topic.last_posted_at,
            timeago(topic.last_posted_at),
            row.last_poster.display_name if row.last_poster else None,
            (row.category.slug, row.category.name) if show_category else None,
            tuple(row.tags),
            language,
        )
        pieces = cache.get(key)
        if pieces is None:
            html = template.render(
                row=row, topic=topic, show_category=show_category, read_state=READ_STATE
            )
            before, mark, after = html.partition(READ_STATE)
            assert mark, "partials/topic_row.html lost its read_state"
            pieces = (before, after)
            cache.put(key, pieces)
        parts += (pieces[0], _read_badge(row) if user is not None else "", pieces[1])
    return Markup("".join(parts))  # noqa: S704 - rendered by autoescaping templates


def category_cards(categories: list[Category]) -> Markup:
    """Category cards (`partials/category_cards.html`), rendered once per look: every viewer
    of the same categories sees the same."""
    key = (
        "category-cards",
        tuple((c.id, c.slug, c.name, c.description, c.topic_count, c.archived) for c in categories),
        i18n.current_language(),
    )
    cache = forum.cache.current().topic_rows
    pieces = cache.get(key)
    if pieces is None:
        template = environment().get_template("partials/category_cards.html")
        pieces = (template.render(categories=categories),)
        cache.put(key, pieces)
    return Markup(pieces[0])  # noqa: S704 - rendered by an autoescaping template


# Live pages (topic, category, home) carry the id of the newest event, read per request before
# anything the page shows (forum.queries.live), for live.js to subscribe from.


def live_page(request: Request, since: int, template: str, context: dict[str, Any]) -> HTMLResponse:
    """A live page, rendered with `since` as its live-since."""
    return render(request, template, {**context, "live_since": since})
