"""Topic lists and topic pages: a constant number of queries whatever the data's size."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

import forum.cache
import forum.reads
from forum import policy
from forum.cache import Key
from forum.errors import NotFound, TopicMerged
from forum.i18n import _
from forum.models import (
    Category,
    Post,
    PostRevision,
    Topic,
    TopicTag,
    User,
)
from forum.pagination import decode_cursor, encode_cursor
from forum.queries.categories import all_categories
from forum.queries.rows import Author, PostRow
from forum.queries.sql import (
    as_bool,
    as_datetime,
    attach,
    fetch,
    from_row,
    in_list,
    keep,
    kept,
    on_postgres,
    placeholders,
    remembers,
    select_list,
    snapshot,
)

TOPICS_PER_PAGE = 30
POSTS_PER_PAGE = 20


@dataclass
class TopicRow:
    topic: Topic
    category: Category
    tags: list[str]
    last_read: int | None  # None: never opened
    author: Author | None = None  # who started it and who posted last, in topic lists
    last_poster: Author | None = None

    @property
    def unread(self) -> int:
        if self.last_read is None:
            return 0
        return max(self.topic.highest_post_number - self.last_read, 0)

    @property
    def is_new(self) -> bool:
        return self.last_read is None


@dataclass
class TopicList:
    next_cursor: str | None
    _build_rows: Callable[[], list[TopicRow]] = field(repr=False)
    _rows: list[TopicRow] | None = field(default=None, repr=False)
    # Everything the rows show, as read (the rows' columns, their tags, the categories): two
    # lists with equal keys render alike (forum.web.fragments.topic_rows).
    shared_key: Hashable = ()
    # Per row, in order: (topic id, highest post number, the viewer's read position or None,
    # the last activity, whose "time ago" words forum.web.fragments puts in).
    reads: list[tuple[int, int, int | None, datetime]] = field(default_factory=list)
    # The viewer's notification level for the listed category, when read with the rows
    # (`list_topics(level=True)` on PostgreSQL), else None.
    level: str | None = None

    def __len__(self) -> int:
        return len(self.reads)

    @property
    def rows(self) -> list[TopicRow]:
        """The topics with their tags and the viewer's read state, built on first use."""
        if self._rows is None:
            self._rows = self._build_rows()
        return self._rows


async def _tags_by_topic(topic_ids: list[int]) -> dict[int, list[str]]:
    tags: dict[int, list[str]] = defaultdict(list)
    if topic_ids:
        rows = await TopicTag.filter(topic_id__in=topic_ids).values_list("topic_id", "tag__name")
        for topic_id, name in sorted(rows, key=lambda r: (r[0], r[1])):
            tags[topic_id].append(name)
    return tags


async def topic_tag_names(topic_id: int) -> list[str]:
    """A topic's tags, by name."""
    names = await TopicTag.filter(topic_id=topic_id).values_list("tag__name", flat=True)
    return sorted(str(name) for name in names)


async def _last_read(user: User, topic_ids: list[int]) -> dict[int, int]:
    """The member's stored read positions in these topics (a topic never opened has none)."""
    if not topic_ids:
        return {}
    rows = await fetch(_LAST_READ_SQL.format(ids=in_list(topic_ids)), user.id, *topic_ids)
    return {r["topic_id"]: r["number"] for r in rows if r["number"] is not None}


_LAST_READ_SQL = (
    "SELECT topic_id, last_read_post_number AS number FROM topic_users"
    " WHERE user_id = ? AND topic_id IN ({ids})"
)


_LIST_SQL = (
    "SELECT {topic_columns}, a.username AS a_username, a.display_name AS a_display_name,"
    " lp.username AS lp_username, lp.display_name AS lp_display_name,"
    # the viewer's level for the category and read position, last: every column before them
    # is the same for every viewer
    " {level} AS cn_level, tu.last_read_post_number AS tu_read"
    " FROM topics t JOIN users a ON a.id = t.author_id"
    " LEFT JOIN users lp ON lp.id = t.last_poster_id"
    " LEFT JOIN topic_users tu ON tu.topic_id = t.id AND tu.user_id = ?"
    " WHERE {category_term} IN ({categories}) AND t.deleted_at IS NULL{after}"
    " ORDER BY {order} LIMIT ?"
)
_LIST_TAGS_SQL = (
    "SELECT tt.topic_id AS topic_id, g.name AS name FROM topic_tags tt"
    " JOIN tags g ON g.id = tt.tag_id WHERE tt.topic_id IN ({ids})"
)
_AFTER = " AND (t.last_posted_at < ? OR (t.last_posted_at = ? AND t.id < ?))"
# The viewer's notification level for the listed category (notifications/listing.py), asked
# with the rows where each statement is a round trip (PostgreSQL).
_LEVEL = (
    "COALESCE((SELECT n.level FROM category_notifications n"
    " WHERE n.user_id = ? AND n.category_id = ?), 'normal')"
)


def _posted(row: dict[str, Any]) -> datetime:
    """A listed topic's last activity (SQLite answers text: parsed once per distinct value)."""
    value = row["t_last_posted_at"]
    return value if isinstance(value, datetime) else _moment(value)


@lru_cache(maxsize=8192)
def _moment(text: str) -> datetime:
    at = as_datetime(text)
    assert at is not None  # the column is NOT NULL
    return at


def _listed_row(row: dict[str, Any], category: Category) -> TopicRow:
    """A row of a topic list (tags and read state are added by the caller)."""
    topic = from_row(Topic, row, "t_")
    last_poster = None
    if topic.last_poster_id is not None:
        last_poster = Author(topic.last_poster_id, row["lp_username"], row["lp_display_name"])
    author = Author(topic.author_id, row["a_username"], row["a_display_name"])
    return TopicRow(topic, category, [], None, author, last_poster)


async def _list_tags(rows: list[dict[str, Any]]) -> dict[int, tuple[str, ...]]:
    """The tags of the listed topics, sorted by name: kept per topic by its version (tags are
    changed by `set_tags`, which touches the topic), so a warm list reads none."""
    cache = forum.cache.current().topic_tags
    found: dict[int, tuple[str, ...]] = {}
    missing: dict[int, Any] = {}
    for r in rows:
        key = (r["t_id"], r["t_created_at"], r["t_version"])
        names = cache.get(key)
        if names is None:
            missing[r["t_id"]] = key
        else:
            found[r["t_id"]] = names
    if missing:
        ids = list(missing)
        read: dict[int, list[str]] = defaultdict(list)
        for x in await fetch(_LIST_TAGS_SQL.format(ids=in_list(ids)), *ids, remember=False):
            read[x["topic_id"]].append(x["name"])
        for topic_id, key in missing.items():
            names = found[topic_id] = tuple(sorted(read.get(topic_id, ())))
            cache.put(key, names)
    return found


async def list_topics(
    user: User | None,
    *,
    category: Category | None = None,
    cursor: str | None = None,
    limit: int = TOPICS_PER_PAGE,
    categories: list[Category] | None = None,
    level: bool = False,
) -> TopicList:
    """Topics by last activity (pinned first within a category), keyset-paginated.

    Queries: categories, one page of topics with authors and the viewer's read positions (on
    SQLite, the topics as a visitor reads them, so that every viewer shares the remembered
    answer, and the viewer's positions apart), and the tags of topics whose tags are not
    cached for their version yet. `level`: on PostgreSQL, the signed-in viewer's notification
    level for `category` comes with the rows (`TopicList.level`; None where it was not read:
    SQLite, or no rows).
    """
    every = await all_categories(shared=True) if categories is None else categories
    by_id = {c.id: c for c in every}
    visible = [c.id for c in policy.visible_categories(user, every)]
    if category is not None:
        if category.id not in visible:
            raise NotFound(_("No such category."))
        visible = [category.id]
    pinned_first = category is not None
    after, args = "", []
    if cursor:
        if pinned_first:
            pinned, at, last_id = decode_cursor(cursor, bool, datetime.fromisoformat, int)
            after = f" AND ((t.pinned = ?{_AFTER})" + (" OR t.pinned = ?)" if pinned else ")")
            args = [pinned, at, at, last_id] + ([False] if pinned else [])
        else:
            at, last_id = decode_cursor(cursor, datetime.fromisoformat, int)
            after, args = _AFTER, [at, at, last_id]
    order = "t.last_posted_at DESC, t.id DESC"
    across_most = not pinned_first and 2 * len(visible) >= len(by_id)
    # Where answers are remembered (SQLite), the rows are asked for as a visitor sees them,
    # so every viewer of the list shares one remembered answer, and the viewer's read
    # positions apart; elsewhere (PostgreSQL) with the rows, in the same statement.
    apart = user is not None and remembers()
    viewer = user.id if user is not None and not apart else 0
    level_of = category.id if level and category is not None and viewer else None
    sql = _LIST_SQL.format(
        topic_columns=select_list(Topic, "t", "t_"),
        # Across most categories (a member's home page), the newest topics are found by
        # walking the index on last_posted_at and stopping at the page's end; SQLite would
        # otherwise read every topic of every listed category through the category index and
        # sort them all (a unary + keeps a column's index out of a term). Across a few (a
        # visitor's public categories) the category index still reads fewer topics.
        category_term="+t.category_id" if across_most else "t.category_id",
        categories=in_list(visible),
        after=after,
        order=f"t.pinned DESC, {order}" if pinned_first else order,
        level="NULL" if level_of is None else _LEVEL,
    )
    asked = () if level_of is None else (viewer, level_of)
    params = (*asked, viewer, *visible, *args, limit + 1)
    categories_key = tuple((c.id, c.slug, c.name) for c in by_id.values())
    snap = snapshot()  # before the reads the list's shape is made of
    rows = await fetch(sql, *params) if visible else []
    # What the list is made of, but the viewer's read positions: the same for every viewer
    # who asks it alike, so kept with the remembered answer (SQLite) until the next commit.
    memo = ("list", sql, params, categories_key)
    shape: _ListShape | None = kept(snap, memo)
    if shape is None:
        shape = await _shape(rows, limit, pinned_first, categories_key)
        keep(snap, memo, shape)
    shown, ids, tags = shape.shown, shape.ids, shape.tags
    noted = forum.reads.current().positions(user.id, ids) if user else {}
    if apart:
        assert user is not None
        reads = await _last_read(user, ids)
    else:
        reads = {r["t_id"]: r["tu_read"] for r in shown if r["tu_read"] is not None}
    for topic_id, number in noted.items():  # read, not stored yet
        reads[topic_id] = max(number, reads.get(topic_id, 0))
    row_reads = [(i, highest, reads.get(i), at) for i, highest, at in shape.posted]

    def build_rows() -> list[TopicRow]:
        result = [_listed_row(r, by_id[r["t_category_id"]]) for r in shown]
        for r in result:
            r.tags = list(tags.get(r.topic.id, ()))
            r.last_read = reads.get(r.topic.id)
        return result

    read_level = rows[0]["cn_level"] if level_of is not None and rows else None
    return TopicList(
        shape.next_cursor,
        build_rows,
        shared_key=shape.shared_key,
        reads=row_reads,
        level=read_level,
    )


@dataclass(frozen=True, slots=True)
class _ListShape:
    """A list's rows as read and what follows from them alone: the rows shown, their ids and
    tags, each row's (id, highest post number, last activity), the next page's cursor and the
    key of everything the rows show (`TopicList.shared_key`, hashed once)."""

    shown: list[dict[str, Any]]
    ids: list[int]
    tags: dict[int, tuple[str, ...]]
    posted: list[tuple[int, int, datetime]]
    next_cursor: str | None
    shared_key: Key


async def _shape(
    rows: list[dict[str, Any]],
    limit: int,
    pinned_first: bool,
    categories_key: tuple[tuple[int, str, str], ...],
) -> _ListShape:
    shown = rows[:limit]
    ids = [r["t_id"] for r in shown]
    tags = await _list_tags(shown)
    shared_key = Key(
        (
            tuple(tuple(r.values())[:-2] for r in shown),  # without the viewer's level and reads
            tuple(tags.get(i, ()) for i in ids),
            categories_key,
        )
    )
    posted = [(r["t_id"], r["t_highest_post_number"], _posted(r)) for r in shown]
    next_cursor = None
    if len(rows) > limit and shown:
        last = shown[-1]
        at = as_datetime(last["t_last_posted_at"])
        assert at is not None
        key = (at.isoformat(), last["t_id"])
        pinned = as_bool(last["t_pinned"])
        next_cursor = encode_cursor(pinned, *key) if pinned_first else encode_cursor(*key)
    return _ListShape(shown, ids, tags, posted, next_cursor, shared_key)


def check_not_merged(user: User | None, topic: Topic, category: Category) -> None:
    """A merged topic's address leads to the topic it was merged into, for whoever could see
    where it was (the target then answers for itself: 404 when it is not visible)."""
    if topic.merged_into_id is not None and policy.can_see_category(user, category):
        message = _("This topic was merged into another.")
        raise TopicMerged(message, topic_id=topic.id, into=topic.merged_into_id)


async def access_topic(user: User | None, topic_id: int) -> tuple[Topic, Category]:
    """The topic and its category, or NotFound when missing or not visible to the user
    (TopicMerged when it was merged into another)."""
    topic = await Topic.filter(id=topic_id).select_related("category").first()
    if topic is not None:
        check_not_merged(user, topic, topic.category)
    if topic is None or not policy.can_see_topic(user, topic, topic.category):
        raise NotFound(_("No such topic."))
    return topic, topic.category


async def access_post(user: User | None, post_id: int) -> tuple[Post, Topic, Category]:
    post = await Post.filter(id=post_id).select_related("topic__category", "author").first()
    if post is None or not policy.can_see_topic(user, post.topic, post.topic.category):
        raise NotFound(_("No such post."))
    return post, post.topic, post.topic.category


@dataclass
class PostView:
    post: PostRow
    visible: bool
    reactions: dict[str, int] = field(default_factory=dict)
    mine: set[str] = field(default_factory=set)
    bookmarked: bool = False
    reply_to_number: int | None = None
    reply_to_username: str | None = None
    can_edit: bool = False
    can_delete: bool = False
    can_react: bool = False


@dataclass
class TopicPage:
    topic: Topic
    category: Category
    tags: list[str]
    next_cursor: str | None
    prev_cursor: str | None
    last_read: int | None
    can_reply: bool
    can_moderate: bool
    live_since: int  # the newest event's id, read with the topic (see forum.queries.live)
    last_number: int | None
    post_rows: list[PostRow]  # the page's posts as read, before the viewer's rights
    pending_ids: list[int]  # the viewer's own replies here awaiting approval (review items)
    notification_level: str | None  # the viewer's level for the topic; None: not chosen
    rights: policy.TopicRights  # what the viewer may do with the posts here
    shared_key: tuple[Any, ...]  # the key of the shared page of posts (forum.cache)
    mine: dict[int, set[str]]  # post id -> the viewer's own reactions
    bookmarked: set[int]  # ids of the posts here the viewer bookmarked
    _build_posts: Callable[[], list[PostView]] = field(repr=False)
    _posts: list[PostView] | None = field(default=None, repr=False)

    @property
    def posts(self) -> list[PostView]:
        """The page's posts with the viewer's rights, built on first use."""
        if self._posts is None:
            self._posts = self._build_posts()
        return self._posts

    @property
    def first_unread_number(self) -> int:
        read = self.last_read or 0
        return min(read + 1, self.topic.highest_post_number)


@dataclass(frozen=True)
class SharedPage:
    """What every viewer of one page of a topic sees alike; cached by topic version
    (`forum.cache.Caches.topic_pages`)."""

    posts: list[PostRow]
    parents: dict[int, tuple[int, str]]  # reply_to post id -> (number, username)
    counts: dict[int, dict[str, int]]
    tags: list[str]
    more: bool
    key: tuple[Any, ...]  # what it is cached under: the topic's id, version and the page


# The newest event's id comes with the topic, in the same statement (one snapshot, one round
# trip fewer on PostgreSQL): a live page hands it to live.js as its first `since`.
_TOPIC_SQL = (
    "SELECT {topic_columns}, {category_columns}, (SELECT MAX(id) FROM events) AS live_since"
    " FROM topics t JOIN categories c ON c.id = t.category_id WHERE t.id = ?"
)


@lru_cache(maxsize=1)
def _topic_sql() -> str:
    return _TOPIC_SQL.format(
        topic_columns=select_list(Topic, "t", "t_"),
        category_columns=select_list(Category, "c", "c_"),
    )


_POSTS_SQL = (
    "SELECT p.id, p.number, p.author_id, p.reply_to_id, p.source, p.html, p.version,"
    " p.created_at, p.edited_at, p.deleted_at, p.hidden, p.language, u.username, u.display_name,"
    " r.number AS parent_number, ru.username AS parent_username,"
    " pv.editor_id, eu.username AS editor_username, eu.display_name AS editor_display_name"
    " FROM posts p JOIN users u ON u.id = p.author_id"
    " LEFT JOIN posts r ON r.id = p.reply_to_id LEFT JOIN users ru ON ru.id = r.author_id"
    " LEFT JOIN post_revisions pv ON pv.post_id = p.id AND pv.version = p.version"
    " AND pv.editor_id <> p.author_id LEFT JOIN users eu ON eu.id = pv.editor_id"
    " WHERE p.topic_id = ? AND {where} ORDER BY p.number {order} LIMIT ?"
)
_EXTRAS_SQL = (
    "SELECT 'tag' AS k, 0 AS a, g.name AS b, 0 AS n FROM topic_tags tt"
    " JOIN tags g ON g.id = tt.tag_id WHERE tt.topic_id = ?"
    " UNION ALL SELECT 'rx', post_id, kind, COUNT(*) FROM reactions"
    " WHERE post_id IN ({ids}) GROUP BY post_id, kind"
)
_MINE_SQL = (
    "SELECT 'read' AS k, last_read_post_number AS a, CAST(NULL AS VARCHAR(20)) AS b"
    " FROM topic_users WHERE user_id = ? AND topic_id = ?"
    " UNION ALL SELECT 'rx', post_id, kind FROM reactions WHERE user_id = ? AND post_id IN ({ids})"
    " UNION ALL SELECT 'bm', post_id, NULL FROM bookmarks WHERE user_id = ? AND post_id IN ({ids})"
    # The viewer's own replies awaiting approval here (moderation/review.py): shown to them only.
    " UNION ALL SELECT 'q', id, NULL FROM review_items"
    " WHERE author_id = ? AND topic_id = ? AND status = 'pending' AND kind = 'queued_post'"
    # The viewer's notification level for the topic (notifications/notify.py).
    " UNION ALL SELECT 'lv', 0, level FROM topic_notifications WHERE user_id = ? AND topic_id = ?"
)


@lru_cache(maxsize=64)
def _mine_sql(posts: int) -> str:
    return _MINE_SQL.format(ids=placeholders(posts))


# Where every statement is a round trip (PostgreSQL), a signed-in viewer's own part of the page
# comes in the topic's statement, as one JSON array of its (k, a, b) rows; the page's posts are
# named by the same terms that read them (`_POSTS_SQL`), not by their ids.
_TOPIC_MINE_SQL = (
    "SELECT {topic_columns}, {category_columns}, (SELECT MAX(id) FROM events) AS live_since,"
    " (SELECT json_agg(json_build_array(m.k, m.a, m.b)) FROM ({mine}) m) AS mine"
    " FROM topics t JOIN categories c ON c.id = t.category_id WHERE t.id = ?"
)
_PAGE_IDS_SQL = (
    "SELECT p.id FROM posts p WHERE p.topic_id = ? AND {where} ORDER BY p.number {order} LIMIT ?"
)


@lru_cache(maxsize=8)
def _topic_mine_sql(where: str, order: str) -> str:
    return _TOPIC_MINE_SQL.format(
        topic_columns=select_list(Topic, "t", "t_"),
        category_columns=select_list(Category, "c", "c_"),
        mine=_MINE_SQL.format(ids=_PAGE_IDS_SQL.format(where=where, order=order)),
    )


def _topic_from_row(row: dict[str, Any]) -> tuple[Topic, Category]:
    topic = from_row(Topic, row, "t_")
    category = from_row(Category, row, "c_")
    attach(topic, "category", category)
    return topic, category


async def _shared_page(topic: Topic, where: str, order: str, arg: int, limit: int) -> SharedPage:
    # created_at tells apart two topics that got the same id (a restored or reset database).
    key = (topic.id, topic.created_at, topic.version, where, order, arg, limit)
    cache = forum.cache.current().topic_pages
    cached = cache.get(key)
    if cached is not None:
        return cached
    sql = _POSTS_SQL.format(where=where, order=order)
    rows = await fetch(sql, topic.id, arg, limit + 1, remember=False)  # cached here, shaped
    more = len(rows) > limit
    rows = rows[:limit]
    if order == "DESC":
        rows.reverse()
    posts: list[PostRow] = []
    parents: dict[int, tuple[int, str]] = {}
    for r in rows:
        created = as_datetime(r["created_at"])
        assert created is not None
        posts.append(
            PostRow(
                id=r["id"],
                topic_id=topic.id,
                number=r["number"],
                author_id=r["author_id"],
                author=Author(r["author_id"], r["username"], r["display_name"]),
                reply_to_id=r["reply_to_id"],
                source=r["source"],
                html=r["html"],
                version=r["version"],
                created_at=created,
                edited_at=as_datetime(r["edited_at"]),
                deleted_at=as_datetime(r["deleted_at"]),
                hidden=as_bool(r["hidden"]),
                language=r["language"],
                edited_by=Author(r["editor_id"], r["editor_username"], r["editor_display_name"])
                if r["editor_id"] is not None
                else None,
            )
        )
        if r["reply_to_id"] is not None and r["parent_number"] is not None:
            parents[r["reply_to_id"]] = (r["parent_number"], r["parent_username"])
    ids = [p.id for p in posts]
    tags: list[str] = []
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for x in await fetch(_EXTRAS_SQL.format(ids=in_list(ids)), topic.id, *ids):
        if x["k"] == "tag":
            tags.append(x["b"])
        else:
            counts[x["a"]][x["b"]] = x["n"]
    shared = SharedPage(posts, parents, dict(counts), sorted(tags), more, key)
    cache.put(key, shared)
    return shared


async def topic_page(
    user: User | None,
    topic_id: int,
    *,
    cursor: str | None = None,
    near: int | None = None,
    limit: int = POSTS_PER_PAGE,
) -> TopicPage:
    """One page of a topic's posts, with reactions, bookmarks and read state.

    Queries: the topic (always, for access and version), the posts with tags and reaction
    counts (only when the topic changed since it was last cached), and the viewer's own
    read state, reactions and bookmarks (only for a logged-in viewer).
    """
    backwards = False
    where, order, arg = "p.number > ?", "ASC", 0
    if cursor:
        direction, number = decode_cursor(cursor, str, int)
        if direction not in ("a", "b"):
            decode_cursor("", str)  # raises BadRequest
        backwards = direction == "b"
        where, order, arg = (
            ("p.number < ?", "DESC", number) if backwards else (where, order, number)
        )
    elif near is not None:
        arg = max(min(near, 2**31), 1) - 1
    # PostgreSQL: the viewer's part in the topic's statement (not on SQLite, in a transaction
    # or in memory, where nothing is remembered either: its SQL is PostgreSQL's)
    together = user is not None and not remembers() and on_postgres()
    rows: list[dict[str, Any]] = []  # an id no topic can have is not asked about
    if 0 < topic_id < 2**31 and user is not None and together:
        page = (topic_id, arg, limit)
        args = (user.id, topic_id, user.id, *page, user.id, *page, user.id, topic_id)
        rows = await fetch(_topic_mine_sql(where, order), *args, user.id, topic_id, topic_id)
    elif 0 < topic_id < 2**31:
        rows = await fetch(_topic_sql(), topic_id)
    if not rows:
        raise NotFound(_("No such topic."))
    topic, category = _topic_from_row(rows[0])
    check_not_merged(user, topic, category)
    if not policy.can_see_topic(user, topic, category):
        raise NotFound(_("No such topic."))
    shared = await _shared_page(topic, where, order, arg, limit)
    posts = shared.posts
    ids = [p.id for p in posts]
    mine: dict[int, set[str]] = defaultdict(set)
    bookmarked: set[int] = set()
    pending: list[int] = []
    last_read: int | None = None
    level: str | None = None
    if user is not None:
        if together:
            own = [dict(zip("kab", x, strict=True)) for x in json.loads(rows[0]["mine"] or "[]")]
        else:
            sql = _mine_sql(len(ids))
            asked = (user.id, topic.id, user.id, *ids, user.id, *ids, user.id, topic.id)
            own = await fetch(sql, *asked, user.id, topic.id)
        for x in own:
            if x["k"] == "read":
                last_read = x["a"]
            elif x["k"] == "rx":
                mine[x["a"]].add(x["b"])
            elif x["k"] == "bm":
                bookmarked.add(x["a"])
            elif x["k"] == "lv":
                level = x["b"]
            else:
                pending.append(x["a"])
        last_read = forum.reads.current().merged(user.id, topic.id, last_read)

    rights = policy.TopicRights(user, topic, category)

    def build_posts() -> list[PostView]:
        views = []
        for post in posts:
            parent = shared.parents.get(post.reply_to_id) if post.reply_to_id else None
            views.append(
                PostView(
                    post=post,
                    visible=rights.see_body(post),
                    reactions=shared.counts.get(post.id, {}),
                    mine=mine.get(post.id, set()),
                    bookmarked=post.id in bookmarked,
                    reply_to_number=parent[0] if parent else None,
                    reply_to_username=parent[1] if parent else None,
                    can_edit=rights.edit(post),
                    can_delete=rights.delete(post),
                    can_react=rights.react(post),
                )
            )
        return views

    more = shared.more
    if backwards:
        prev_cursor = encode_cursor("b", posts[0].number) if more and posts else None
        next_cursor = encode_cursor("a", posts[-1].number) if posts else None
    else:
        next_cursor = encode_cursor("a", posts[-1].number) if more and posts else None
        first = posts[0].number if posts else 0
        prev_cursor = encode_cursor("b", first) if first > 1 else None
    return TopicPage(
        topic=topic,
        category=category,
        tags=shared.tags,
        next_cursor=next_cursor,
        prev_cursor=prev_cursor,
        last_read=last_read,
        can_reply=rights.reply(topic),
        can_moderate=rights.moderate,
        live_since=int(rows[0]["live_since"] or 0),
        last_number=posts[-1].number if posts else None,
        post_rows=posts,
        pending_ids=sorted(pending),
        notification_level=level,
        rights=rights,
        shared_key=shared.key,
        mine=mine,
        bookmarked=bookmarked,
        _build_posts=build_posts,
    )


async def post_revisions(user: User | None, post_id: int) -> tuple[Post, list[PostRevision]]:
    post, topic, category = await access_post(user, post_id)
    if not policy.can_see_revisions(user, post, topic, category):
        raise NotFound(_("No such post."))
    revisions = (
        await PostRevision.filter(post_id=post.id).select_related("editor").order_by("-version")
    )
    return post, revisions
