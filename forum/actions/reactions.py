"""Reactions: a small fixed set, at most one of each kind per user and post."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError

from forum import policy
from forum.cache import touch_topics
from forum.errors import Forbidden, Invalid
from forum.events import atomic, record_event
from forum.i18n import _
from forum.models import Category, Post, Reaction, Topic, User
from moderation.sanctions import check_may_speak
from notifications import notify


def check_kind(kind: str) -> str:
    if kind not in policy.REACTION_KINDS:
        raise Invalid(
            _("Unknown reaction; use one of: ") + ", ".join(policy.REACTION_KINDS), field="kind"
        )
    return kind


async def do_set_reaction(
    user: User, post: Post, topic: Topic, category: Category, kind: str, present: bool
) -> dict[str, int]:
    """Add or remove the user's reaction; returns the post's counts by kind."""
    kind = check_kind(kind)
    await check_may_speak(user)
    if not policy.can_react(user, post, topic, category):
        raise Forbidden(_("You may not react to this post."))
    async with atomic():
        existing = await Reaction.filter(post_id=post.id, user_id=user.id, kind=kind).exists()
        changed = False
        if present and not existing:
            try:
                await Reaction.create(post_id=post.id, user_id=user.id, kind=kind)
                changed = True
                await notify.on_reaction(user, post, topic, category)
            except IntegrityError:  # a concurrent request added it first
                pass
        elif not present and existing:
            await Reaction.filter(post_id=post.id, user_id=user.id, kind=kind).delete()
            changed = True
        counts = await reaction_counts(post.id)
        if changed:
            await touch_topics([topic.id])
            await record_event(
                "reaction.changed",
                f"topic:{topic.id}",
                {"topic_id": topic.id, "post_id": post.id, "counts": counts},
                category_id=category.id,
            )
    return counts


async def reaction_counts(post_id: int) -> dict[str, int]:
    counts = {kind: 0 for kind in policy.REACTION_KINDS}
    for kind in await Reaction.filter(post_id=post_id).values_list("kind", flat=True):
        counts[str(kind)] = counts.get(str(kind), 0) + 1
    return {k: v for k, v in counts.items() if v}
