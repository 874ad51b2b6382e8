"""Per-user read state and bookmarks."""

from __future__ import annotations

import contextlib

from tortoise.exceptions import IntegrityError

from forum import policy
from forum.errors import Forbidden
from forum.i18n import _
from forum.models import Bookmark, Category, Post, Topic, User
from forum.reads import store_position


async def do_mark_read(user: User, topic: Topic, post_number: int) -> None:
    """Advance the user's read position now (one upsert); it never moves backwards. Page views
    buffer theirs instead (`forum.reads`)."""
    number = min(post_number, topic.highest_post_number)
    await store_position(user.id, topic.id, number)


async def do_set_bookmark(
    user: User, post: Post, topic: Topic, category: Category, present: bool
) -> bool:
    if not policy.can_see_topic(user, topic, category) or user is None:
        raise Forbidden(_("You may not bookmark this post."))
    if present:
        with contextlib.suppress(IntegrityError):  # bookmarked concurrently: same result
            await Bookmark.get_or_create(user_id=user.id, post_id=post.id)
    else:
        await Bookmark.filter(user_id=user.id, post_id=post.id).delete()
    return present
