"""Reading a member's notifications: newest first, keyset-paginated, only what they may see."""

from __future__ import annotations

from dataclasses import dataclass

from forum import policy
from forum.i18n import _
from forum.models import Category, CategoryNotification, Notification, User
from forum.pagination import decode_cursor, encode_cursor
from forum.queries.categories import visible_categories
from forum.queries.sql import fetch

PER_PAGE = 30


@dataclass
class NotificationRow:
    note: Notification
    text: str  # plain text: templates escape it
    url: str
    title: str  # the topic's title ("" when none)


@dataclass
class NotificationList:
    rows: list[NotificationRow]
    next_cursor: str | None


def describe(note: Notification) -> str:
    actor = note.actor.display_name if note.actor is not None else _("Someone")
    if note.kind == "mention":
        return _("%(name)s mentioned you") % {"name": actor}
    if note.kind == "reply":
        return _("%(name)s replied to your post") % {"name": actor}
    if note.kind == "quote":
        return _("%(name)s quoted your post") % {"name": actor}
    if note.kind == "watching":
        return _("%(name)s posted in a topic you watch") % {"name": actor}
    if note.kind == "new_topic":
        return _("%(name)s started a new topic") % {"name": actor}
    if note.kind == "reaction":
        if note.count > 1:
            return _("%(name)s and %(n)d others reacted to your post") % {
                "name": actor,
                "n": note.count - 1,
            }
        return _("%(name)s reacted to your post") % {"name": actor}
    if note.kind == "access":
        if note.data.get("approved"):
            return _("Your access to the forum was approved")
        return _("Your request for access was declined")
    if note.kind == "moderation":
        return str(note.data.get("message", "")) or _("A moderator decided about your post")
    return _("Notification")


def target_url(note: Notification) -> str:
    if note.post_id is not None:
        return f"/p/{note.post_id}"
    if note.topic_id is not None:
        return f"/t/{note.topic_id}"
    link = note.data.get("link") if isinstance(note.data, dict) else None
    if isinstance(link, str) and link.startswith("/") and not link.startswith("//"):
        return link  # a local page (e.g. a knowledge entry's)
    return "/"


async def list_notifications(
    user: User, *, cursor: str | None = None, limit: int = PER_PAGE
) -> NotificationList:
    """Newest first; a topic the member can no longer see drops out (moderation decisions
    about their own posts stay)."""
    query = Notification.filter(user_id=user.id)
    if cursor:
        (last_id,) = decode_cursor(cursor, int)
        query = query.filter(id__lt=last_id)
    found = await query.select_related("actor", "topic").order_by("-id").limit(limit + 1)
    more = len(found) > limit
    found = found[:limit]
    categories: dict[int, Category] = {c.id: c for c in await visible_categories(user)}
    rows = []
    for note in found:
        topic = note.topic
        title = ""
        if topic is not None and note.kind != "moderation":
            category = categories.get(topic.category_id)
            if category is None or not policy.can_see_topic(user, topic, category):
                continue
            title = topic.title
        rows.append(NotificationRow(note, describe(note), target_url(note), title))
    next_cursor = encode_cursor(found[-1].id) if more and found else None
    return NotificationList(rows, next_cursor)


_CATEGORY_LEVEL_SQL = (
    "SELECT level FROM category_notifications WHERE user_id = ? AND category_id = ?"
)


async def category_level(user: User, category_id: int) -> str:
    """The member's level for one category (`normal` without a row). Every category page
    asks it: a plain row, not the ORM (whose query building cost more than the read)."""
    rows = await fetch(_CATEGORY_LEVEL_SQL, user.id, category_id)
    return str(rows[0]["level"]) if rows else "normal"


async def category_levels(user: User) -> list[tuple[Category, str]]:
    """Every category the member can see, with their level for it."""
    levels = dict(
        await CategoryNotification.filter(user_id=user.id).values_list("category_id", "level")
    )
    return [(c, str(levels.get(c.id, "normal"))) for c in await visible_categories(user)]
