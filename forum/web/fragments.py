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
from datetime import datetime
from functools import lru_cache

from markupsafe import Markup, escape
from starlette.requests import Request

import forum.cache
from forum import i18n, policy
from forum.auth import identity
from forum.models import Category, User
from forum.queries.rows import PostRow
from forum.queries.topics import PostView, TopicList, TopicPage
from forum.web import templating
from forum.web.templating import environment, timeago

CSRF_MARK = Markup("<csrf/>")
READ_STATE = Markup("<read-state/>")
# Where the "time ago" words go (a post's date, a row's last activity): put in once a minute
# (`_PagePosts.ready`, `_ListRows.ready`), so a rendering never expires with the clock.
AGO_MARK = Markup("<ago/>")

# A cached rendering cut at its marks: segments between the time marks, each cut at the CSRF
# token (a tools fragment or a post without a date: one segment).
Cut = tuple[tuple[str, ...], ...]


def clear_cache() -> None:
    forum.cache.current().clear()


# A post's slots: `<slot:name/>` marks, which no user content can produce (autoescape and the
# sanitiser both escape `<`). A cached post is its markup cut at them: text, name, text, ...
_SLOT = re.compile(r"<slot:([a-z-]+)/>")


def slot(name: str) -> Markup:
    return Markup(f"<slot:{name}/>")  # noqa: S704 - a constant mark


# A toggle button's state (a reaction kind, the bookmark): what pressing it asks for, and
# whether it is pressed now.
_OFF = 'value="1" aria-pressed="false"'
_ON = 'value="0" aria-pressed="true"'


def _defaults() -> dict[str, str]:
    """What a post's slots hold for most viewers: read, nothing chosen, no bookmark, no tools
    (the CSRF token is the request's). Callers copy it before changing anything."""
    return _defaults_in(i18n.current_language())


@lru_cache(maxsize=8)
def _defaults_in(language: str) -> dict[str, str]:
    values = {
        "unread-class": "",
        "unread-badge": "",
        "bm": _OFF,
        "bm-label": str(escape(i18n.gettext("Bookmark", language))),
        "tools": "",
        "flag-off": "",  # " hidden" on the viewer's own posts: nobody flags their own
    }
    for kind in policy.REACTION_KINDS:
        values[f"rx-{kind}"] = _OFF
    return values


def _unread() -> dict[str, str]:
    badge = f'<span class="badge badge-new">{escape(i18n.gettext("New"))}</span>'
    return {"unread-class": " post-unread", "unread-badge": badge}


def _fill(pieces: tuple[str, ...], values: dict[str, str]) -> str:
    """A rendering cut at its `<slot:name/>` marks (text, name, text, ...), filled."""
    parts = [pieces[0]]
    for i in range(1, len(pieces), 2):
        parts.append(values[pieces[i]])
        parts.append(pieces[i + 1])
    return "".join(parts)


class _Post:
    """A post's shared rendering, cut at its slots; `ready` holds it filled with what most
    viewers see (read, nothing of their own), cut at the CSRF token and the time words (a
    page puts the words in once a minute: `_PagePosts.ready`, so most posts cost a request
    one join). The few other looks a post has (unread, the viewer's own reaction or bookmark,
    their tools) are filled once each and kept the same way (`variant`), their words put in
    per request (`joined`)."""

    __slots__ = ("pieces", "ready", "_variants")

    def __init__(self, html: str) -> None:
        self.pieces = tuple(_SLOT.split(html))
        self.ready = self._cut(_defaults())
        self._variants: dict[Hashable, Cut] = {}

    def _cut(self, values: dict[str, str]) -> Cut:
        html = _fill(self.pieces, {**values, "csrf": CSRF_MARK, "ago": AGO_MARK})
        return tuple(tuple(segment.split(CSRF_MARK)) for segment in html.split(AGO_MARK))

    def variant(self, look: _Look, post: PostRow) -> Cut:
        """The post filled for a viewer's own look at it, cut at the CSRF token and time."""
        found = self._variants.get(look)
        if found is None:
            if len(self._variants) >= _VARIANTS:
                del self._variants[next(iter(self._variants))]  # the oldest look
            found = self._variants[look] = self._cut(_own_values(look, post))
        return found

    def __len__(self) -> int:  # its size in the cache: the pieces, the filled copy and about
        return 3 * sum(map(len, self.pieces))  # one look (most posts have none, some several)


_VARIANTS = 4  # looks kept per post; most have none, a few (unread, own reactions) more

# A viewer's own look at a post: unread, written by them, their reactions, bookmarked, and
# whether they may edit and delete it.
_Look = tuple[bool, bool, frozenset[str], bool, bool, bool]


class _PagePosts:
    """The shared renderings of one page's posts for viewers of one kind (the same rights on
    posts that are not theirs), in page order; and, for the current minute, each post's
    default look with its "time ago" words put in, cut at the CSRF token (`ready`)."""

    __slots__ = ("posts", "_minute", "_ready", "_words", "_size")

    def __init__(self, posts: tuple[_Post, ...]) -> None:
        self.posts = posts
        self._minute = -1
        self._ready: tuple[tuple[str, ...], ...] = ()
        self._words: tuple[str, ...] = ()
        # the posts are counted where they are cached one by one; `ready` is about one copy
        self._size = 64 * len(posts) + sum(sum(map(len, post.pieces)) for post in posts)

    def ready(
        self, rows: list[PostRow], language: str
    ) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
        """Each post's default look with its words, and the words (escaped) for its other
        looks: made again when the minute turns (the words change at most once a minute), one
        fill of a few strings per post, not a rendering."""
        minute = templating.current_minute()
        if minute != self._minute:
            self._words = tuple(_ago(post.created_at, language) for post in rows)
            self._ready = tuple(
                _with_words(shared.ready, words)
                for words, shared in zip(self._words, self.posts, strict=True)
            )
            self._minute = minute
        return self._ready, self._words

    def __len__(self) -> int:  # fixed when cached: the cache subtracts what it added
        return self._size


def _tools(post: PostRow, can_edit: bool, can_delete: bool) -> str:
    """A post's edit and delete tools, the CSRF token at its mark: rendered once per rights
    and language (cached), the post's id put in."""
    if not (can_edit or can_delete):
        return ""
    cache = forum.cache.current().posts
    key = ("tools", can_edit, can_delete, i18n.current_language())
    pieces = cache.get(key)
    if pieces is None:
        template = environment().get_template("partials/post_tools.html")
        html = template.render(
            post_id=slot("post-id"), can_edit=can_edit, can_delete=can_delete, slot=slot
        )
        pieces = tuple(_SLOT.split(html))
        cache.put(key, pieces)
    return _fill(pieces, {"post-id": str(post.id), "csrf": str(CSRF_MARK)})


def joined(cut: Cut, csrf: str, ago: str) -> str:
    """A cached rendering filled: the CSRF token and the time words (both escaped) put back."""
    if len(cut) == 1:
        return csrf.join(cut[0])
    return ago.join([csrf.join(segment) for segment in cut])


def _with_words(cut: Cut, ago: str) -> tuple[str, ...]:
    """A cached rendering with its time words put in, still cut at the CSRF token."""
    pieces = list(cut[0])
    for segment in cut[1:]:
        pieces[-1] += ago + segment[0]
        pieces.extend(segment[1:])
    return tuple(pieces)


def _ago(value: datetime, language: str) -> str:
    return str(escape(timeago(value, language)))


def _own_values(look: _Look, post: PostRow) -> dict[str, str]:
    """The slots of a post that is unread, or on which the viewer left something of their
    own (the CSRF token left to the caller)."""
    unread, own, mine, bookmarked, can_edit, can_delete = look
    values = dict(_defaults())
    if own:
        values["flag-off"] = " hidden"
    if unread:
        values.update(_unread())
    for kind in mine:
        values[f"rx-{kind}"] = _ON
    if bookmarked:
        values["bm"] = _ON
        values["bm-label"] = str(escape(i18n.gettext("Remove bookmark")))
    values["tools"] = _tools(post, can_edit, can_delete)
    return values


def _shared_post(
    view: PostView, page: TopicPage, user: User | None, member: bool, language: str
) -> _Post:
    """One post's rendering shared by every viewer who sees it alike."""
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
        post.language,
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
        language,
    )
    cache = forum.cache.current().posts
    shared = cache.get(key)
    if shared is None:
        template = environment().get_template("partials/post.html")
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
    return shared


_NO_REACTIONS: frozenset[str] = frozenset()


def post_fragments(request: Request, page: TopicPage) -> Markup:
    """The page's posts as the viewer sees them: each post's shared rendering, its slots
    filled with the viewer's own state.

    The renderings of a whole page are kept for every viewer of the same kind (the same
    `TopicRights.signature`: the same rights on every post they did not write), the "time ago"
    words put in once a minute; a post the viewer wrote, reacted to, bookmarked, may edit or has
    not read yet takes its own look (`_Post.variant`)."""
    ident = identity(request)
    user = ident.user
    member = policy.is_member(user)
    language = i18n.current_language()
    rights = page.rights
    signed_in = user is not None
    key = ("page", page.shared_key, rights.signature, page.can_reply, member, signed_in, language)
    cache = forum.cache.current().posts
    entry = cache.get(key)
    if entry is None:
        views = page.posts
        entry = _PagePosts(tuple(_shared_post(v, page, user, member, language) for v in views))
        cache.put(key, entry)
    csrf = str(escape(ident.csrf_token))
    viewer_id = user.id if user is not None else None
    last_read = page.last_read
    mine_of, bookmarked = page.mine, page.bookmarked
    staff = rights.staff
    parts: list[str] = []
    rows = page.post_rows
    ready_looks, words = entry.ready(rows, language)
    for post, shared, ready, ago in zip(rows, entry.posts, ready_looks, words, strict=True):
        unread = last_read is not None and post.number > last_read
        own = post.author_id == viewer_id
        mine = mine_of.get(post.id)
        marked = post.id in bookmarked
        if not (unread or own or mine or marked or staff):
            parts.append(csrf.join(ready))
            continue
        can_edit = rights.edit(post)
        can_delete = rights.delete(post)
        look = (
            unread,
            own,
            frozenset(mine) if mine else _NO_REACTIONS,
            marked,
            can_edit,
            can_delete,
        )
        parts.append(joined(shared.variant(look, post), csrf, ago))
    return Markup("".join(parts))  # noqa: S704 - rendered by autoescaping templates


def _read_badge(topic_id: int, highest: int, last_read: int | None) -> str:
    """The viewer's "New" or unread-count badge of a topic-list row (empty when read)."""
    if last_read is None:
        return _new_badge(i18n.current_language())
    unread = highest - last_read
    if unread > 0:
        title = _unread_title(i18n.current_language(), unread)
        return f'<a class="badge badge-unread" href="/t/{topic_id}/unread" {title}>{unread}</a>'
    return ""


@lru_cache(maxsize=8)
def _new_badge(language: str) -> str:
    return f'<span class="badge badge-new">{escape(i18n.gettext("New", language))}</span>'


@lru_cache(maxsize=1024)
def _unread_title(language: str, unread: int) -> str:
    words = i18n.ngettext("%(num)d unread post", "%(num)d unread posts", unread, language)
    return f'title="{escape(words % {"num": unread})}"'


def _row_pieces(topics: TopicList, show_category: bool) -> tuple[tuple[str, str, str], ...]:
    """Each row of the list rendered (`partials/topic_row.html`), cut at its read state and
    its time words; each row is kept on its own too, by everything it shows."""
    template = environment().get_template("partials/topic_row.html")
    cache = forum.cache.current().topic_rows
    language = i18n.current_language()
    rows: list[tuple[str, str, str]] = []
    for row in topics.rows:
        topic = row.topic
        key: tuple[Hashable, ...] = (
            topic.id,
            topic.created_at,
            topic.title,
            topic.language,
            topic.pinned,
            topic.closed,
            topic.post_count,
            topic.views,
            topic.last_posted_at,
            row.last_poster.display_name if row.last_poster else None,
            (row.category.slug, row.category.name) if show_category else None,
            tuple(row.tags),
            language,
        )
        pieces = cache.get(key)
        if pieces is None:
            html = template.render(
                row=row,
                topic=topic,
                show_category=show_category,
                read_state=READ_STATE,
                ago=AGO_MARK,
            )
            before, mark, rest = html.partition(READ_STATE)
            middle, ago, after = rest.partition(AGO_MARK)
            assert mark and ago, "partials/topic_row.html lost its read_state or its ago"
            pieces = (before, middle, after)
            cache.put(key, pieces)
        rows.append((pieces[0], pieces[1], pieces[2]))
    return tuple(rows)


class _ListRows:
    """A whole list's rows, rendered, for lists that read alike (`TopicList.shared_key`), and
    for the current minute each row with its "time ago" words put in, cut at its read state
    (`ready`)."""

    __slots__ = ("rows", "_minute", "_ready", "_size")

    def __init__(self, rows: tuple[tuple[str, str, str], ...]) -> None:
        self.rows = rows
        self._minute = -1
        self._ready: tuple[tuple[str, str], ...] = ()
        # the rows are counted where they are cached one by one; `ready` is about one copy
        self._size = 64 * len(rows) + sum(len(b) + len(m) + len(a) for b, m, a in rows)

    def ready(self, topics: TopicList, language: str) -> tuple[tuple[str, str], ...]:
        minute = templating.current_minute()
        if minute != self._minute:  # the words change at most once a minute
            self._ready = tuple(
                (before, middle + _ago(read[3], language) + after)
                for (before, middle, after), read in zip(self.rows, topics.reads, strict=True)
            )
            self._minute = minute
        return self._ready

    def __len__(self) -> int:  # fixed when cached: the cache subtracts what it added
        return self._size


def topic_rows(topics: TopicList, show_category: bool, user: User | None) -> Markup:
    """The rows of a topic list, each with the viewer's read badge and the "time ago" words
    of its last activity. The rendered rows of the whole list are kept by what the list read
    (its rows' columns, tags and the categories): a list read alike is one lookup and a
    join."""
    cache = forum.cache.current().topic_rows
    language = i18n.current_language()
    key = ("list", topics.shared_key, show_category, language)
    entry = cache.get(key)
    if entry is None:
        entry = _ListRows(_row_pieces(topics, show_category))
        cache.put(key, entry)
    parts: list[str] = []
    signed_in = user is not None
    for (before, after), (topic_id, highest, last_read, _at) in zip(
        entry.ready(topics, language), topics.reads, strict=True
    ):
        parts += (before, _read_badge(topic_id, highest, last_read) if signed_in else "", after)
    return Markup("".join(parts))  # noqa: S704 - rendered by autoescaping templates


def cards_key(categories: list[Category]) -> tuple[Hashable, ...]:
    """Everything the category cards show: two lists of categories with equal keys look alike."""
    return tuple(
        (c.id, c.slug, c.name, c.description, c.topic_count, c.archived) for c in categories
    )


def category_cards(categories: list[Category]) -> Markup:
    """Category cards (`partials/category_cards.html`), rendered once per look: every viewer
    of the same categories sees the same."""
    key = ("category-cards", cards_key(categories), i18n.current_language())
    cache = forum.cache.current().topic_rows
    pieces = cache.get(key)
    if pieces is None:
        template = environment().get_template("partials/category_cards.html")
        pieces = (template.render(categories=categories),)
        cache.put(key, pieces)
    return Markup(pieces[0])  # noqa: S704 - rendered by an autoescaping template
