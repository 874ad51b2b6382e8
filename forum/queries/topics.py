"""Topic lists and topic pages: a constant number of queries whatever the data's size."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from tortoise.expressions import Q
from tortoise.functions import Count

from forum import policy
from forum.errors import NotFound
from forum.i18n import _
from forum.models import (
    Bookmark,
    Category,
    Post,
    PostRevision,
    Reaction,
    Topic,
    TopicTag,
    TopicUser,
    User,
)
from forum.pagination import decode_cursor, encode_cursor
from forum.queries.categories import all_categories

TOPICS_PER_PAGE = 30
POSTS_PER_PAGE = 20


@dataclass
class TopicRow:
    topic: Topic
    category: Category
    tags: list[str]
    last_read: int | None  # None: never opened

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
    rows: list[TopicRow]
    next_cursor: str | None


async def _tags_by_topic(topic_ids: list[int]) -> dict[int, list[str]]:
    tags: dict[int, list[str]] = defaultdict(list)
    if topic_ids:
        rows = await TopicTag.filter(topic_id__in=topic_ids).values_list("topic_id", "tag__name")
        for topic_id, name in sorted(rows, key=lambda r: (r[0], r[1])):
            tags[topic_id].append(name)
    return tags


async def _last_read(user: User | None, topic_ids: list[int]) -> dict[int, int]:
    if user is None or not topic_ids:
        return {}
    rows = await TopicUser.filter(user_id=user.id, topic_id__in=topic_ids).values_list(
        "topic_id", "last_read_post_number"
    )
    return dict(rows)


async def list_topics(
    user: User | None,
    *,
    category: Category | None = None,
    cursor: str | None = None,
    limit: int = TOPICS_PER_PAGE,
) -> TopicList:
    """Topics by last activity (pinned first within a category), keyset-paginated."""
    categories = {c.id: c for c in await all_categories()}
    visible = [cid for cid, c in categories.items() if policy.can_see_category(user, c)]
    if category is not None:
        if category.id not in visible:
            raise NotFound(_("No such category."))
        visible = [category.id]
    query = Topic.filter(category_id__in=visible, deleted_at=None).select_related(
        "author", "last_poster"
    )
    pinned_first = category is not None
    if cursor:
        if pinned_first:
            pinned, at, last_id = decode_cursor(cursor, bool, datetime.fromisoformat, int)
            after = Q(last_posted_at__lt=at) | Q(last_posted_at=at, id__lt=last_id)
            condition = Q(pinned=pinned) & after
            query = query.filter(condition | Q(pinned=False) if pinned else condition)
        else:
            at, last_id = decode_cursor(cursor, datetime.fromisoformat, int)
            query = query.filter(Q(last_posted_at__lt=at) | Q(last_posted_at=at, id__lt=last_id))
    order = ["-last_posted_at", "-id"]
    topics = await query.order_by(*(["-pinned"] if pinned_first else []), *order).limit(limit + 1)
    more = len(topics) > limit
    topics = topics[:limit]
    ids = [t.id for t in topics]
    tags = await _tags_by_topic(ids)
    reads = await _last_read(user, ids)
    rows = [
        TopicRow(t, categories[t.category_id], tags.get(t.id, []), reads.get(t.id)) for t in topics
    ]
    next_cursor = None
    if more and topics:
        last = topics[-1]
        key = (last.last_posted_at.isoformat(), last.id)
        next_cursor = encode_cursor(last.pinned, *key) if pinned_first else encode_cursor(*key)
    return TopicList(rows, next_cursor)


async def access_topic(user: User | None, topic_id: int) -> tuple[Topic, Category]:
    """The topic and its category, or NotFound when missing or not visible to the user."""
    topic = await Topic.filter(id=topic_id).select_related("category").first()
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
    post: Post
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
    posts: list[PostView]
    next_cursor: str | None
    prev_cursor: str | None
    last_read: int | None
    can_reply: bool
    can_moderate: bool

    @property
    def first_unread_number(self) -> int:
        read = self.last_read or 0
        return min(read + 1, self.topic.highest_post_number)


async def topic_page(
    user: User | None,
    topic_id: int,
    *,
    cursor: str | None = None,
    near: int | None = None,
    limit: int = POSTS_PER_PAGE,
) -> TopicPage:
    """One page of a topic's posts, with reactions, bookmarks and read state."""
    topic, category = await access_topic(user, topic_id)
    query = Post.filter(topic_id=topic.id).select_related("author", "reply_to__author")
    backwards = False
    if cursor:
        direction, number = decode_cursor(cursor, str, int)
        if direction not in ("a", "b"):
            decode_cursor("", str)  # raises BadRequest
        backwards = direction == "b"
        query = query.filter(number__lt=number) if backwards else query.filter(number__gt=number)
    elif near is not None:
        query = query.filter(number__gte=max(near, 1))
    posts = await query.order_by("-number" if backwards else "number").limit(limit + 1)
    more = len(posts) > limit
    posts = posts[:limit]
    if backwards:
        posts.reverse()
    ids = [p.id for p in posts]
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    mine: dict[int, set[str]] = defaultdict(set)
    bookmarked: set[int] = set()
    last_read: int | None = None
    tags = await _tags_by_topic([topic.id])
    if ids:
        rows = (
            await Reaction.filter(post_id__in=ids)
            .annotate(n=Count("id"))
            .group_by("post_id", "kind")
            .values_list("post_id", "kind", "n")
        )
        for post_id, kind, n in rows:
            counts[post_id][kind] = n
    if user is not None:
        reads = await _last_read(user, [topic.id])
        last_read = reads.get(topic.id)
        if ids:
            for post_id, kind in await Reaction.filter(
                post_id__in=ids, user_id=user.id
            ).values_list("post_id", "kind"):
                mine[post_id].add(kind)
            marked = Bookmark.filter(post_id__in=ids, user_id=user.id)
            bookmarked = set(await marked.values_list("post_id", flat=True))  # type: ignore[arg-type]
    views = []
    for post in posts:
        parent = post.reply_to
        views.append(
            PostView(
                post=post,
                visible=policy.can_see_post_body(user, post),
                reactions=counts.get(post.id, {}),
                mine=mine.get(post.id, set()),
                bookmarked=post.id in bookmarked,
                reply_to_number=parent.number if parent else None,
                reply_to_username=parent.author.username if parent else None,
                can_edit=policy.can_edit_post(user, post, topic, category),
                can_delete=policy.can_delete_post(user, post, topic, category),
                can_react=policy.can_react(user, post, topic, category),
            )
        )
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
        tags=tags.get(topic.id, []),
        posts=views,
        next_cursor=next_cursor,
        prev_cursor=prev_cursor,
        last_read=last_read,
        can_reply=policy.can_reply(user, topic, category),
        can_moderate=policy.can_moderate_topic(user, topic, category),
    )


async def post_revisions(user: User | None, post_id: int) -> tuple[Post, list[PostRevision]]:
    post, topic, category = await access_post(user, post_id)
    if not policy.can_see_revisions(user, post, topic, category):
        raise NotFound(_("No such post."))
    revisions = (
        await PostRevision.filter(post_id=post.id).select_related("editor").order_by("-version")
    )
    return post, revisions
