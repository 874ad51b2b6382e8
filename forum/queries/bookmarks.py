"""A user's bookmarks, limited to the posts they may still read."""

from __future__ import annotations

from dataclasses import dataclass

from forum import policy
from forum.models import Bookmark, Category, Post, Topic, User
from forum.pagination import decode_cursor, encode_cursor
from forum.queries.categories import visible_categories
from forum.rendering import plain_text

BOOKMARKS_PER_PAGE = 30


@dataclass
class BookmarkRow:
    bookmark: Bookmark
    post: Post
    topic: Topic
    category: Category
    excerpt: str


@dataclass
class BookmarkList:
    rows: list[BookmarkRow]
    next_cursor: str | None


async def list_bookmarks(
    user: User, *, cursor: str | None = None, limit: int = BOOKMARKS_PER_PAGE
) -> BookmarkList:
    """Newest bookmark first, keyset-paginated; posts the user may no longer read drop out."""
    categories = {c.id: c for c in await visible_categories(user)}
    if not categories:
        return BookmarkList([], None)
    query = Bookmark.filter(
        user_id=user.id,
        post__deleted_at=None,
        post__hidden=False,
        post__topic__category_id__in=list(categories),
    )
    if not policy.is_staff(user):
        query = query.filter(post__topic__deleted_at=None)
    if cursor:
        (last_id,) = decode_cursor(cursor, int)
        query = query.filter(id__lt=last_id)
    found = (
        await query.select_related("post__topic", "post__author").order_by("-id").limit(limit + 1)
    )
    more = len(found) > limit
    found = found[:limit]
    rows = []
    for bookmark in found:
        post: Post = bookmark.post
        topic, category = post.topic, categories[post.topic.category_id]
        # The query already filters; the policy has the last word.
        if policy.can_see_topic(user, topic, category) and policy.can_see_post_body(
            user, post, category
        ):
            rows.append(BookmarkRow(bookmark, post, topic, category, plain_text(post.html, 200)))
    next_cursor = encode_cursor(found[-1].id) if more and found else None
    return BookmarkList(rows, next_cursor)
