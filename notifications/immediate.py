"""Immediate emails for mentions, replies and quotes.

A member not seen for 10 minutes who has not turned a kind off gets ONE email for the
notifications of a 10-minute window: the round waits until the oldest pending one is 10
minutes old, then lists every pending one. The policy is asked as the member at send time.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from tortoise import connections

from forum import policy
from forum.events import atomic
from forum.i18n import N_
from forum.models import Category, Notification, Post, User
from forum.queries.sql import execute, placeholders
from forum.rendering import plain_text
from forum.settings import Settings
from notifications import outbox
from notifications.listing import describe, target_url
from notifications.notify import EMAILED_KINDS

WINDOW = timedelta(minutes=10)
POLL_SECONDS = 60.0
log = logging.getLogger(__name__)


def _wanted(user: User, kind: str) -> bool:
    return {"mention": user.email_mentions, "reply": user.email_replies}.get(
        kind, user.email_quotes
    )


async def send_immediate(settings: Settings, now: datetime | None = None) -> int:
    """One round; returns how many emails were queued."""
    now = now or datetime.now(UTC)
    due = await Notification.filter(
        emailed_at=None, kind__in=EMAILED_KINDS, created_at__lte=now - WINDOW
    ).values_list("user_id", flat=True)
    queued = 0
    categories = {c.id: c for c in await Category.all()}
    for user_id in sorted({int(u) for u in due}):  # type: ignore[call-overload]
        async with atomic():
            # Claim the member's pending ones first: of two workers at once, each row goes to
            # one (the second's UPDATE finds them already emailed), so nothing is sent twice.
            claimed = await execute(
                connections.get("default"),  # the transaction's
                "UPDATE notifications SET emailed_at = ? WHERE user_id = ? AND emailed_at IS NULL"
                f" AND kind IN ({placeholders(len(EMAILED_KINDS))}) RETURNING id",
                now,
                user_id,
                *EMAILED_KINDS,
            )
            if not claimed:
                continue
            user = await User.get_or_none(id=user_id)
            notes = (
                await Notification.filter(id__in=[row["id"] for row in claimed])
                .select_related("actor", "topic")
                .order_by("id")
            )
            recent = user is not None and user.last_seen_at and user.last_seen_at > now - WINDOW
            items = []
            if user is not None and user.is_active and not recent:
                posts = await _posts(notes)
                for note in notes:
                    topic = note.topic
                    category = categories.get(topic.category_id) if topic else None
                    if note.read_at is not None or not _wanted(user, note.kind):
                        continue
                    if topic is None or category is None:
                        continue
                    if not policy.can_see_topic(user, topic, category):
                        continue
                    post = posts.get(note.post_id or 0)
                    shown = post is not None and policy.can_see_post_body(user, post, category)
                    items.append(
                        {
                            "text": describe(note),
                            "title": topic.title,
                            "title_lang": topic.language,
                            "link": settings.base_url + target_url(note),
                            # What was written, in its own language (`lang` in the HTML part).
                            "excerpt": plain_text(post.html, 200) if post and shown else "",
                            "lang": post.language if post else "",
                        }
                    )
            if items and user is not None:
                await outbox.enqueue(
                    user,
                    "notifications_immediate",
                    N_("New activity for you on the Smart Customs Forum"),
                    {"name": user.display_name, "items": items},
                )
                queued += 1
    return queued


async def _posts(notes: list[Notification]) -> dict[int, Post]:
    """The posts the notifications are about that are still shown (one query)."""
    ids = [note.post_id for note in notes if note.post_id is not None]
    if not ids:
        return {}
    found = await Post.filter(id__in=ids, deleted_at__isnull=True, hidden=False)
    return {post.id: post for post in found}


class ImmediateSender:
    def __init__(self, settings: Settings, poll: float = POLL_SECONDS) -> None:
        self.settings = settings
        self.poll = poll

    async def run(self) -> None:
        while True:
            try:
                await send_immediate(self.settings)
            except Exception:  # the next round tries again
                log.exception("immediate notification emails failed")
            await asyncio.sleep(self.poll)
