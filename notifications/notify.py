"""In-app notifications: the rows the forum's actions write, inside their transactions.

Who hears about a post: the author of the post answered (`reply`), of a post quoted (`quote`,
a `/p/<id>` link), the members mentioned (`mention`), those watching the topic or its category
(`watching`), and for a topic's first post those watching the category's first posts
(`new_topic`). One notification per member and post, the most specific kind first. Never the
actor, never someone the policy does not let see the topic, never someone who muted the topic
or its category: muting wins. Each row records `notification.created` on `user:<id>` with the
member's unread count, so the header badge follows.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from tortoise.functions import Count

from forum import policy
from forum.errors import Invalid
from forum.events import atomic, record_event
from forum.i18n import _
from forum.models import (
    Category,
    CategoryNotification,
    Notification,
    NotificationLevel,
    Post,
    Topic,
    TopicNotification,
    User,
)

MENTION, REPLY, QUOTE, WATCHING, NEW_TOPIC = "mention", "reply", "quote", "watching", "new_topic"
REACTION, ACCESS, MODERATION = "reaction", "access", "moderation"
EMAILED_KINDS = (MENTION, REPLY, QUOTE)  # the kinds with an immediate email
_POST_LINK = re.compile(r"\]\(/p/(\d{1,10})\)")
MAX_REACTORS = 50  # remembered per grouped reaction row


def quoted_post_ids(source: str) -> list[int]:
    ids = [int(m.group(1)) for m in _POST_LINK.finditer(source)]
    return [i for i in dict.fromkeys(ids) if 0 < i < 2**31][:20]


def check_level(level: str) -> NotificationLevel:
    try:
        return NotificationLevel(level)
    except ValueError:
        raise Invalid(_("Unknown notification level."), field="level") from None


async def unread_counts(user_ids: list[int]) -> dict[int, int]:
    if not user_ids:
        return {}
    rows = (
        await Notification.filter(user_id__in=user_ids, read_at=None)
        .group_by("user_id")
        .annotate(n=Count("id"))
        .values_list("user_id", "n")
    )
    return {int(u): int(n) for u, n in rows}  # type: ignore[call-overload]


async def _announce(
    notes: list[Notification], extra: dict[int, dict[str, Any]] | None = None
) -> None:
    counts = await unread_counts(sorted({n.user_id for n in notes}))
    for note in notes:
        await record_event(
            "notification.created",
            f"user:{note.user_id}",
            {
                "id": note.id,
                "kind": note.kind,
                "topic_id": note.topic_id,
                "post_id": note.post_id,
                "unread": counts.get(note.user_id, 0),
                **((extra or {}).get(note.id, {})),
            },
            user_id=note.user_id,
        )


async def _levels(topic: Topic, category: Category) -> tuple[dict[int, str], dict[int, str]]:
    topic_levels = {
        int(u): str(lv)
        for u, lv in await TopicNotification.filter(topic_id=topic.id).values_list(
            "user_id", "level"
        )
    }
    category_levels = {
        int(u): str(lv)
        for u, lv in await CategoryNotification.filter(category_id=category.id).values_list(
            "user_id", "level"
        )
    }
    return topic_levels, category_levels


def _muted(user_id: int, topic_levels: dict[int, str], category_levels: dict[int, str]) -> bool:
    muted = NotificationLevel.MUTED.value
    return topic_levels.get(user_id) == muted or category_levels.get(user_id) == muted


async def on_post(
    post: Post,
    author: User,
    topic: Topic,
    category: Category,
    *,
    reply_to: Post | None,
    mentioned: list[User],
) -> None:
    """Notify about a new post (the caller holds its transaction); the author starts
    tracking the topic unless they chose a level for it already."""
    topic_levels, category_levels = await _levels(topic, category)
    if author.id not in topic_levels:
        await TopicNotification.bulk_create(
            [TopicNotification(user_id=author.id, topic_id=topic.id, level="tracking")],
            ignore_conflicts=True,
        )
    kinds: dict[int, str] = {}
    if reply_to is not None and reply_to.author_id is not None:
        kinds[reply_to.author_id] = REPLY
    quoted = [i for i in quoted_post_ids(post.source) if reply_to is None or i != reply_to.id]
    if quoted:
        for author_id in await Post.filter(id__in=quoted).values_list("author_id", flat=True):
            kinds.setdefault(int(author_id), QUOTE)  # type: ignore[call-overload]
    for user in mentioned:
        kinds.setdefault(user.id, MENTION)
    watching = NotificationLevel.WATCHING.value
    for user_id, level in topic_levels.items():
        if level == watching:
            kinds.setdefault(user_id, WATCHING)
    for user_id, level in category_levels.items():
        if user_id in topic_levels:  # the topic's own level decides
            continue
        if level == watching:
            kinds.setdefault(user_id, NEW_TOPIC if post.number == 1 else WATCHING)
        elif level == NotificationLevel.WATCHING_FIRST_POST.value and post.number == 1:
            kinds.setdefault(user_id, NEW_TOPIC)
    kinds.pop(author.id, None)
    for user_id in [u for u in kinds if _muted(u, topic_levels, category_levels)]:
        del kinds[user_id]
    if not kinds:
        return
    known = {u.id: u for u in mentioned}
    missing = [u for u in kinds if u not in known]
    if missing:
        known.update({u.id: u for u in await User.filter(id__in=missing, is_active=True)})
    notes = [
        Notification(
            user_id=user_id,
            kind=kind,
            topic_id=topic.id,
            post_id=post.id,
            actor_id=author.id,
            data={"number": post.number},
        )
        for user_id, kind in kinds.items()
        if user_id in known and policy.can_see_topic(known[user_id], topic, category)
    ]
    await _create(notes)


async def _create(notes: list[Notification]) -> None:
    for note in notes:  # one by one: the events carry each row's id, on every database
        await note.save()
    if notes:
        await _announce(notes)


async def on_mentions_edited(
    post: Post, editor: User, topic: Topic, category: Category, mentioned: list[User]
) -> None:
    """Members newly mentioned by an edit."""
    if not mentioned:
        return
    topic_levels, category_levels = await _levels(topic, category)
    await _create(
        [
            Notification(
                user_id=u.id,
                kind=MENTION,
                topic_id=topic.id,
                post_id=post.id,
                actor_id=editor.id,
                data={"number": post.number},
            )
            for u in mentioned
            if u.id != editor.id
            and not _muted(u.id, topic_levels, category_levels)
            and policy.can_see_topic(u, topic, category)
        ]
    )


async def on_reaction(reactor: User, post: Post, topic: Topic, category: Category) -> None:
    """A reaction to someone's post: one unread row per post, "Ana and 3 others reacted"."""
    if post.author_id is None or post.author_id == reactor.id:
        return
    owner = await User.get_or_none(id=post.author_id, is_active=True)
    if owner is None or not policy.can_see_topic(owner, topic, category):
        return
    topic_levels, category_levels = await _levels(topic, category)
    if _muted(owner.id, topic_levels, category_levels):
        return
    key = f"reaction:{post.id}"
    note = await Notification.filter(user_id=owner.id, group_key=key, read_at=None).first()
    if note is None:
        note = Notification(
            user_id=owner.id,
            kind=REACTION,
            topic_id=topic.id,
            post_id=post.id,
            actor_id=reactor.id,
            group_key=key,
            data={"number": post.number, "actors": [reactor.id]},
        )
        await note.save()
    else:
        actors: list[int] = list(note.data.get("actors", []))
        if reactor.id in actors and note.actor_id == reactor.id:
            return  # another kind from the same member: nothing new to say
        if reactor.id in actors:
            actors.remove(reactor.id)
        actors = [*actors, reactor.id][-MAX_REACTORS:]
        note.data = {**note.data, "actors": actors}
        note.count = len(actors)
        note.actor_id = reactor.id
        note.created_at = datetime.now(UTC)  # back to the top of the list
        await note.save(update_fields=["data", "count", "actor_id", "created_at", "updated_at"])
    await _announce([note])


async def on_access_decided(user: User, approved: bool, actor: User) -> None:
    note = Notification(
        user_id=user.id,
        kind=ACCESS,
        actor_id=actor.id,
        data={"approved": approved},
    )
    await _create([note])


async def on_moderation(
    user_id: int,
    kind: str,
    message: str,
    *,
    topic_id: int | None = None,
    post_id: int | None = None,
    link: str | None = None,
) -> None:
    """A moderation decision on a member's post or account (the member always hears it);
    `link`, a local path, is where the notification leads when it is about no post
    (a knowledge entry)."""
    data = {"decision": kind, "message": message, **({"link": link} if link else {})}
    note = Notification(
        user_id=user_id,
        kind=MODERATION,
        topic_id=topic_id,
        post_id=post_id,
        data=data,
    )
    await note.save()
    await _announce([note], {note.id: {"decision": kind, "message": message}})


# ---------------------------------------------------------------------------------------
# Levels


async def do_set_topic_level(user: User, topic: Topic, level: str) -> NotificationLevel:
    chosen = check_level(level)
    async with atomic():
        updated = await TopicNotification.filter(user_id=user.id, topic_id=topic.id).update(
            level=chosen
        )
        if not updated:
            await TopicNotification.bulk_create(
                [TopicNotification(user_id=user.id, topic_id=topic.id, level=chosen)],
                ignore_conflicts=True,
            )
    return chosen


async def do_set_category_level(user: User, category: Category, level: str) -> NotificationLevel:
    chosen = check_level(level)
    async with atomic():
        if chosen == NotificationLevel.NORMAL:  # the default needs no row
            await CategoryNotification.filter(user_id=user.id, category_id=category.id).delete()
            return chosen
        updated = await CategoryNotification.filter(
            user_id=user.id, category_id=category.id
        ).update(level=chosen)
        if not updated:
            await CategoryNotification.bulk_create(
                [CategoryNotification(user_id=user.id, category_id=category.id, level=chosen)],
                ignore_conflicts=True,
            )
    return chosen


# ---------------------------------------------------------------------------------------
# Reading them


async def do_mark_read(user: User, ids: list[int] | None) -> int:
    """Mark some (`ids`) or all (`None`) of the member's notifications read; returns how many
    changed. The badge hears the new count."""
    async with atomic():
        query = Notification.filter(user_id=user.id, read_at=None)
        if ids is not None:
            query = query.filter(id__in=ids)
        changed = await query.update(read_at=datetime.now(UTC)) if ids != [] else 0
        if changed:
            counts = await unread_counts([user.id])
            await record_event(
                "notification.read",
                f"user:{user.id}",
                {"unread": counts.get(user.id, 0)},
                user_id=user.id,
            )
    return int(changed)


async def do_set_email_preferences(
    user: User, *, mentions: bool, replies: bool, quotes: bool
) -> None:
    async with atomic():
        await User.filter(id=user.id).update(
            email_mentions=mentions, email_replies=replies, email_quotes=quotes
        )
    user.email_mentions, user.email_replies, user.email_quotes = mentions, replies, quotes
