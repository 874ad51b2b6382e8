"""Moderators' decisions on topics: close, open, pin, unpin, retitle or retag someone else's
topic, move it to another category, merge it into another topic.

Each is one `do_*` that passes the gate first (`require_moderator`, for every category the act
touches), then writes the change, its audit row and its events in one transaction, and calls
`touch_topics` for every topic whose pages change.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from tortoise import connections
from tortoise.expressions import F

from forum import policy
from forum.actions.topics import check_tags, check_title, set_tags
from forum.cache import touch_topics
from forum.errors import BadRequest, Conflict, Invalid
from forum.events import atomic, record_event
from forum.i18n import _
from forum.models import Category, Post, Topic, TopicTag, User
from forum.queries.categories import all_categories
from forum.queries.sql import execute
from moderation import audit
from moderation.gate import require_moderator
from search import index as search_index


def _status_action(changes: dict[str, Any]) -> str:
    """The audit row's action: the one decision taken, or `topic.update` for several."""
    if len(changes) != 1:
        return "topic.update"
    ((key, value),) = changes.items()
    if key == "closed":
        return "topic.close" if value else "topic.open"
    if key == "pinned":
        return "topic.pin" if value else "topic.unpin"
    return "topic.retitle" if key == "title" else "topic.retag"


async def _tags_of(topic: Topic) -> list[str]:
    names = await TopicTag.filter(topic_id=topic.id).values_list("tag__name", flat=True)
    return sorted(str(n) for n in names)


async def do_moderate_topic(
    actor: User,
    topic: Topic,
    category: Category,
    *,
    closed: bool | None = None,
    pinned: bool | None = None,
    title: str | None = None,
    tags: list[str] | None = None,
) -> Topic:
    """Close, open, pin, unpin, retitle or retag a topic as its category's moderator."""
    actor = require_moderator(actor, category.id)
    if topic.merged_into_id is not None:
        raise Conflict(_("This topic was merged into another."))
    changes: dict[str, Any] = {}
    if title is not None:
        changes["title"] = check_title(title)
    if closed is not None:
        changes["closed"] = closed
    if pinned is not None:
        changes["pinned"] = pinned
    names = check_tags(tags) if tags is not None else None
    if not changes and names is None:
        raise BadRequest(_("Say whether to close, open, pin or unpin the topic."))
    before: dict[str, Any] = {key: getattr(topic, key) for key in changes}
    async with atomic():
        if names is not None:
            before["tags"] = await _tags_of(topic)
        if changes:
            await Topic.filter(id=topic.id).update(**changes)
            for key, value in changes.items():
                setattr(topic, key, value)
        if names is not None:
            await set_tags(topic, names)
            changes["tags"] = names
        await touch_topics([topic.id])
        if "title" in changes:
            await search_index.reindex_topic_title(topic.id)
        await audit.append(
            actor,
            _status_action(changes),
            "topic",
            topic.id,
            data={"category_id": category.id, **changes},
            before=before,
            after=changes,
        )
        await record_event(
            "topic.updated",
            f"topic:{topic.id}",
            {"topic_id": topic.id, **changes},
            category_id=category.id,
        )
    return topic


async def do_set_topic_status(
    actor: User,
    topic: Topic,
    category: Category,
    *,
    closed: bool | None = None,
    pinned: bool | None = None,
) -> Topic:
    """Close or open, pin or unpin (the topic page's buttons)."""
    if closed is None and pinned is None:
        require_moderator(actor, category.id)
        raise BadRequest(_("Say whether to close, open, pin or unpin the topic."))
    return await do_moderate_topic(actor, topic, category, closed=closed, pinned=pinned)


async def do_move_topic(actor: User, topic: Topic, category: Category, to: Category) -> Topic:
    """Move a topic to another category; the actor moderates both. Open pages and sockets
    re-judge the topic by its new category (`topic.updated` carries its id)."""
    actor = require_moderator(actor, category.id)
    require_moderator(actor, to.id)
    if topic.merged_into_id is not None:
        raise Conflict(_("This topic was merged into another."))
    if to.id == category.id:
        raise Invalid(_("The topic is already in this category."), field="category")
    async with atomic():
        moved = await Topic.filter(id=topic.id, category_id=category.id).update(category_id=to.id)
        if not moved:
            raise Conflict(_("This topic was moved meanwhile; reload the page."))
        listed = 0 if topic.deleted_at is not None else 1
        await Category.filter(id=category.id).update(
            topic_count=F("topic_count") - listed, post_count=F("post_count") - topic.post_count
        )
        await Category.filter(id=to.id).update(
            topic_count=F("topic_count") + listed, post_count=F("post_count") + topic.post_count
        )
        topic.category_id = to.id
        await touch_topics([topic.id])
        await search_index.reindex_topic(topic.id)  # its rows answer to the new category
        await audit.append(
            actor,
            "topic.move",
            "topic",
            topic.id,
            data={"from_category_id": category.id, "to_category_id": to.id},
            before={"category": category.slug},
            after={"category": to.slug},
        )
        payload = {"topic_id": topic.id, "category": to.slug}
        await record_event("topic.updated", f"topic:{topic.id}", payload, category_id=to.id)
        await record_event("topic.moved", f"category:{to.slug}", payload, category_id=to.id)
    topic.category = to
    return topic


async def do_merge_topic(
    actor: User, topic: Topic, category: Category, into: Topic, into_category: Category
) -> Topic:
    """Merge `topic` into `into`: its posts follow the target's last post, in their order,
    with their authors and dates, numbered after the target's highest number. The merged
    topic keeps its row (`merged_into_id`, and `deleted_at` so no list shows it): its
    addresses redirect to the target. Returns the target."""
    actor = require_moderator(actor, category.id)
    require_moderator(actor, into_category.id)
    if into.id == topic.id:
        raise Invalid(_("A topic cannot be merged into itself."), field="into")
    if into.merged_into_id is not None or into.deleted_at is not None:
        raise Invalid(_("That topic was merged or deleted; choose another."), field="into")
    if topic.merged_into_id is not None:
        raise Conflict(_("This topic was merged into another already."))
    now = datetime.now(UTC)
    async with atomic():
        conn = connections.get("default")  # the transaction's
        # The source first, conditionally: of two merges at once, one wins.
        source = await Topic.get(id=topic.id)
        taken = await Topic.filter(id=topic.id, merged_into_id=None).update(
            merged_into_id=into.id, deleted_at=source.deleted_at or now, post_count=0
        )
        if not taken:
            raise Conflict(_("This topic was merged into another already."))
        # Reserve the numbers after the target's highest, as a reply does (insert_post).
        reserved = await execute(
            conn,
            "UPDATE topics SET highest_post_number = highest_post_number + ?,"
            " post_count = post_count + ? WHERE id = ? AND merged_into_id IS NULL"
            " AND deleted_at IS NULL RETURNING highest_post_number, post_count",
            source.highest_post_number,
            source.post_count,
            into.id,
        )
        if not reserved:
            raise Conflict(_("That topic was merged or deleted meanwhile; choose another."))
        base = int(reserved[0]["highest_post_number"]) - source.highest_post_number
        # Every post keeps its gaps and order; the new numbers are all above the target's,
        # so (topic_id, number) stays unique at every row the statement writes.
        await execute(
            conn,
            "UPDATE posts SET topic_id = ?, number = number + ? WHERE topic_id = ?",
            into.id,
            base,
            topic.id,
        )
        # Whoever had read the whole target and part of the source has read as far in the
        # merged posts; everyone else finds them unread.
        await execute(
            conn,
            "UPDATE topic_users SET last_read_post_number = ? + (SELECT s.last_read_post_number"
            " FROM topic_users s WHERE s.topic_id = ? AND s.user_id = topic_users.user_id)"
            " WHERE topic_id = ? AND last_read_post_number >= ?"
            " AND user_id IN (SELECT user_id FROM topic_users WHERE topic_id = ?)",
            base,
            topic.id,
            into.id,
            base,
            topic.id,
        )
        last = await Post.filter(topic_id=into.id).order_by("-created_at", "-id").first()
        if last is not None:
            await Topic.filter(id=into.id).update(
                last_posted_at=last.created_at, last_poster_id=last.author_id
            )
        if source.deleted_at is None:
            await Category.filter(id=category.id).update(topic_count=F("topic_count") - 1)
        if category.id != into_category.id:
            await Category.filter(id=category.id).update(
                post_count=F("post_count") - source.post_count
            )
            await Category.filter(id=into_category.id).update(
                post_count=F("post_count") + source.post_count
            )
        await touch_topics([topic.id, into.id])
        await search_index.remove_topic(topic.id)
        await search_index.reindex_topic(into.id)
        await audit.append(
            actor,
            "topic.merge",
            "topic",
            topic.id,
            data={
                "into": into.id,
                "posts": source.post_count,
                "first_number": base + 1,
                "category_id": category.id,
                "into_category_id": into_category.id,
            },
            before={"topic": topic.id, "title": source.title, "posts": source.post_count},
            after={"merged_into": into.id, "title": into.title, "numbers_from": base + 1},
        )
        payload = {"topic_id": topic.id, "into": into.id}
        await record_event("topic.merged", f"topic:{topic.id}", payload, category_id=category.id)
        await record_event(
            "topic.merged", f"topic:{into.id}", payload, category_id=into_category.id
        )
    topic.merged_into_id = into.id
    return await Topic.get(id=into.id)


_TOPIC_REFERENCE = re.compile(r"(?:(?:https?://[^/\s]+)?/t/|#)?(\d{1,10})(?:[/?#]\S*)?")


def parse_topic_reference(value: str) -> int:
    """A topic named by its number, `#number`, or its address (`/t/12`, a full URL)."""
    found = _TOPIC_REFERENCE.fullmatch(value.strip())
    if found is None or not 0 < int(found.group(1)) <= 2**31 - 1:
        raise Invalid(_("Give the target topic's number or address."), field="into")
    return int(found.group(1))


async def find_merge_target(actor: User, topic_id: int) -> tuple[Topic, Category]:
    """The topic to merge into, merged or not (do_merge_topic refuses a merged one)."""
    topic = await Topic.filter(id=topic_id).select_related("category").first()
    if topic is None or not policy.can_see_category(actor, topic.category):
        raise Invalid(_("No such topic: check its number."), field="into")
    return topic, topic.category


async def find_move_target(actor: User, slug: str) -> Category:
    """The category to move to, by its slug."""
    found = [c for c in await all_categories() if c.slug == slug.strip()]
    if not found or not policy.can_see_category(actor, found[0]):
        raise Invalid(_("Choose a category to move the topic to."), field="category")
    return found[0]
