"""Per-user read state and bookmarks."""

from __future__ import annotations

import contextlib

from tortoise.exceptions import IntegrityError

from forum import policy
from forum.errors import Forbidden
from forum.i18n import _
from forum.models import Bookmark, Category, Post, Topic, TopicUser, User


async def do_mark_read(user: User, topic: Topic, post_number: int) -> None:
    """Advance the user's read position; it never moves backwards."""
    number = min(post_number, topic.highest_post_number)
    updated = await TopicUser.filter(
        user_id=user.id, topic_id=topic.id, last_read_post_number__lt=number
    ).update(last_read_post_number=number)
    if updated:
        return
    with contextlib.suppress(IntegrityError):  # created concurrently: the next read wins
        await TopicUser.get_or_create(
            user_id=user.id, topic_id=topic.id, defaults={"last_read_post_number": number}
        )


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
