"""The review queue: what enters it, and every decision taken on it.

One reviewable per target (`ReviewItem`):
- `queued_post` / `queued_topic`: a reply or a new topic held for approval (a new member's
  first posts, a category whose posts need approval, a watched word). Its text lives on the
  item, not in `posts`, until a moderator approves it: no read path that lists posts can show
  it to anyone. Its author sees it (marked "awaiting approval") on the topic page and on
  /review/mine; the moderators of its category see it in the queue.
- `flagged_post`: the flags on one published post, merged; its score is their count (a
  moderator's flag counts as the threshold). At the threshold the post is hidden pending
  review (`post.hidden`) and its author is told why.

Decisions (`do_decide`) are taken once: a conditional UPDATE on `status = 'pending'` lets
exactly one of two concurrent decisions win; the other gets a 409 with the item as it now
is. A claimed item can be decided only by its claimer unless someone takes it over.

| action  | queued post / topic            | flagged post                       | status   |
| ------- | ------------------------------ | ---------------------------------- | -------- |
| approve | published                      | stays or becomes visible           | approved |
| reject  | not published, author told why | hidden, author told why            | rejected |
| hide    | -                              | hidden, author told why            | rejected |
| unhide  | -                              | visible again                      | approved |
| delete  | discarded, author told         | deleted (placeholder), author told | deleted  |
| ignore  | -                              | flags set aside, post left as it is | ignored |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.expressions import F

from forum import i18n, policy, ratelimit
from forum.actions.posts import insert_post, render_post
from forum.cache import touch_topics
from forum.errors import Conflict, Forbidden, Invalid, NotFound, RateLimited
from forum.events import atomic, record_event
from forum.i18n import N_, _
from forum.models import (
    Category,
    Flag,
    FlagReason,
    Post,
    ReviewItem,
    ReviewKind,
    ReviewStatus,
    Role,
    Topic,
    User,
)
from moderation import audit
from moderation import settings as moderation_settings
from moderation.gate import require_moderator
from moderation.sanctions import check_may_speak
from moderation.watched import screen
from notifications import notify, outbox
from search import index as search_index

NOTE_MAX = 1000
REASON_MAX = 2000
DECISIONS = ("approve", "reject", "hide", "unhide", "delete", "ignore")
QUEUED_DECISIONS = ("approve", "reject", "delete")
STATUS_OF = {
    "approve": ReviewStatus.APPROVED,
    "reject": ReviewStatus.REJECTED,
    "hide": ReviewStatus.REJECTED,
    "unhide": ReviewStatus.APPROVED,
    "delete": ReviewStatus.DELETED,
    "ignore": ReviewStatus.IGNORED,
}
QUEUED = (ReviewKind.QUEUED_POST, ReviewKind.QUEUED_TOPIC)


def reason_label(reason: str) -> str:
    """Why an item is in the queue, in words (stored as a code and, for words, the word)."""
    code, _sep, word = reason.partition(":")
    if code == "first_post":
        return _("a new member's first posts")
    if code == "category":
        return _("posts in this category need approval")
    if code == "watched_word":
        return _("contains the watched word \u201c%(word)s\u201d") % {"word": word}
    if code == "flags":
        return _("flagged by members")
    if code == "knowledge_new":
        return _("a knowledge entry to publish")
    if code == "knowledge_edit":
        return _("an edit of a published knowledge entry")
    return reason


def flag_reason_label(reason: str) -> str:
    return {
        FlagReason.OFF_TOPIC: _("off-topic"),
        FlagReason.INAPPROPRIATE: _("inappropriate"),
        FlagReason.SPAM: _("spam"),
        FlagReason.SENSITIVE: _("sensitive or confidential information"),
        FlagReason.OTHER: _("something else"),
    }.get(FlagReason(reason), reason)


# ---------------------------------------------------------------------------------------
# What enters the queue


@dataclass(frozen=True)
class Intake:
    """What happens to a new post: held for review (`hold` says why), flagged by a watched
    word (`flag`), or neither."""

    hold: str | None = None
    flag: str | None = None


async def _screen(*texts: str) -> tuple[str | None, str | None, str | None]:
    """(blocked word, approval word, flag word) from the watched words."""
    found = await screen(*texts)
    return found.blocked, found.require_approval, found.flag


async def _check_rate(user: User, config: moderation_settings.ModerationSettings) -> None:
    """Posting too fast is refused (429, Retry-After); stricter in a member's first days."""
    created = user.created_at
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    new = datetime.now(UTC) - created < timedelta(days=config.new_member_days)
    short = (
        (config.new_posts_per_interval, config.new_interval_seconds)
        if new
        else (config.posts_per_interval, config.interval_seconds)
    )
    hourly = config.new_posts_per_hour if new else config.posts_per_hour
    windows = [
        (f"post:{user.id}:short", short[0], timedelta(seconds=short[1])),
        (f"post:{user.id}:hour", hourly, timedelta(hours=1)),
    ]
    for key, limit, window in windows:
        wait = await ratelimit.wait_for(key, limit, window)
        if wait is not None:
            raise RateLimited(
                _("You are posting too fast. Try again in %(seconds)d seconds.")
                % {"seconds": wait},
                retry_after=wait,
            )
    await ratelimit.hit_all([key for key, _limit, _window in windows])


async def intake(user: User, category: Category, *texts: str) -> Intake:
    """Screen a new post or topic before it is written: a blocked word refuses it (422,
    naming the word; the form keeps the text), posting too fast refuses it (429), and the
    rest decides whether it waits for approval. The moderators of the category are exempt
    from all of it."""
    if policy.moderates(user, category.id):
        return Intake()
    blocked, approval, flag = await _screen(*texts)
    if blocked is not None:
        raise Invalid(
            _("Your post contains \u201c%(word)s\u201d, which is not allowed here.")
            % {"word": blocked},
            field="body",
        )
    config = await moderation_settings.load()
    await _check_rate(user, config)
    if category.requires_approval:
        return Intake(hold="category", flag=flag)
    if approval is not None:
        return Intake(hold=f"watched_word:{approval}", flag=flag)
    if config.approve_first_posts:
        # Read no more of a prolific member's posts than the setting asks about.
        published = await (
            Post.filter(author_id=user.id, deleted_at__isnull=True)
            .limit(config.approve_first_posts)
            .values_list("id", flat=True)
        )
        if len(published) < config.approve_first_posts:
            return Intake(hold="first_post", flag=flag)
    return Intake(flag=flag)


async def hold_reply(
    user: User,
    topic: Topic,
    category: Category,
    body: str,
    reply_to: Post | None,
    reason: str,
    *,
    language: str = i18n.DEFAULT_LANGUAGE,
) -> ReviewItem:
    """Keep a reply for approval; call inside the caller's `atomic()`."""
    item = await ReviewItem.create(
        kind=ReviewKind.QUEUED_POST,
        category_id=category.id,
        topic_id=topic.id,
        author_id=user.id,
        source=body,
        html=await render_post(body),
        reply_to_id=reply_to.id if reply_to is not None else None,
        reason=reason,
        language=language,
    )
    await _queued(item, user)
    return item


async def hold_topic(
    user: User,
    category: Category,
    title: str,
    body: str,
    tags: list[str],
    reason: str,
    *,
    language: str = i18n.DEFAULT_LANGUAGE,
) -> ReviewItem:
    """Keep a new topic for approval; call inside the caller's `atomic()`."""
    item = await ReviewItem.create(
        kind=ReviewKind.QUEUED_TOPIC,
        category_id=category.id,
        author_id=user.id,
        title=title,
        tags=tags,
        source=body,
        html=await render_post(body),
        reason=reason,
        language=language,
    )
    await _queued(item, user)
    return item


async def _queued(item: ReviewItem, author: User) -> None:
    await record_event(
        "review.queued",
        f"user:{author.id}",
        {"item_id": item.id, "topic_id": item.topic_id, "kind": item.kind.value},
        user_id=author.id,
    )
    await announce_counts([item.category_id])


async def flag_by_word(post: Post, category: Category, word: str) -> ReviewItem:
    """A watched word of the *flag* list put the post in the queue (no member's flag)."""
    item = await _pending_flag_item(post, category)
    if not item.reason:
        item.reason = f"watched_word:{word}"
        await item.save(update_fields=["reason"])
    await announce_counts([category.id])
    return item


async def _pending_flag_item(post: Post, category: Category) -> ReviewItem:
    """The one pending item for a post's flags, made when the first flag arrives. Callers
    hold the transaction; on PostgreSQL the post's row is locked first, so two first flags
    at once still make one item."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        await conn.execute_query("SELECT id FROM posts WHERE id = $1 FOR UPDATE", [post.id])
    item = await ReviewItem.filter(
        kind=ReviewKind.FLAGGED_POST, post_id=post.id, status=ReviewStatus.PENDING
    ).first()
    if item is None:
        item = await ReviewItem.create(
            kind=ReviewKind.FLAGGED_POST,
            category_id=category.id,
            topic_id=post.topic_id,
            post_id=post.id,
            author_id=post.author_id,
        )
    return item


def check_flag(reason: str, note: str) -> tuple[FlagReason, str]:
    try:
        kind = FlagReason(reason)
    except ValueError:
        raise Invalid(
            _("Choose why you flag this post: %(kinds)s.")
            % {"kinds": ", ".join(r.value for r in FlagReason)},
            field="reason",
        ) from None
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise Invalid(_("A note has at most 1,000 characters."), field="note")
    if kind == FlagReason.OTHER and not note:
        raise Invalid(_("Say what is wrong in the note."), field="note")
    return kind, note


async def do_flag(
    user: User, post: Post, topic: Topic, category: Category, reason: str, note: str = ""
) -> ReviewItem:
    """A member flags a post once; at the threshold the post is hidden pending review."""
    kind, note = check_flag(reason, note)
    await check_may_speak(user)  # a silenced member is told why and until when
    if not policy.can_flag(user, post, topic, category):
        if post.author_id == user.id:
            raise Forbidden(_("You cannot flag your own post."))
        raise Forbidden(_("You may not flag this post."))
    if await Flag.exists(post_id=post.id, user_id=user.id):
        raise Conflict(_("You have already flagged this post."))
    config = await moderation_settings.load()
    weight = config.flag_threshold if policy.moderates(user, category.id) else 1
    async with atomic():
        item = await _pending_flag_item(post, category)
        await Flag.create(item_id=item.id, post_id=post.id, user_id=user.id, reason=kind, note=note)
        await ReviewItem.filter(id=item.id).update(score=F("score") + weight, reason="flags")
        await item.refresh_from_db(fields=["score", "reason"])
        hidden = (
            await Post.filter(id=post.id, hidden=False).update(hidden=True)
            if (item.score >= config.flag_threshold)
            else 0
        )
        if hidden:
            post.hidden = True
            await touch_topics([topic.id])
            await search_index.reindex_post(post.id)
            await record_event(
                "post.hidden",
                f"topic:{topic.id}",
                {"topic_id": topic.id, "post_id": post.id},
                category_id=category.id,
            )
            await _tell_author(
                post.author_id,
                "post_hidden",
                lambda: (
                    _(
                        "Your post in \u201c%(title)s\u201d was hidden after members flagged it;"
                        " a moderator will review it."
                    )
                    % {"title": topic.title}
                ),
                topic_id=topic.id,
                post_id=post.id,
            )
            await audit.append(
                None,
                "post.hide",
                "post",
                post.id,
                reason=_("reached %(n)d flags") % {"n": config.flag_threshold},
                data={"review_item": item.id, "automatic": True},
            )
        await announce_counts([category.id])
    return item


async def _tell_author(author_id: int, kind: str, message: Callable[[], str], **data: Any) -> None:
    """An author hears about a decision on their content on their own channel (live pages,
    the header badge) and by email through the outbox, in the decision's transaction.
    The in-app row records the `notification.created` event (notifications/notify.py).
    `message()` words it, in the author's language."""
    author = await User.get_or_none(id=author_id, is_active=True)
    with i18n.using(author.mail_language if author else i18n.DEFAULT_LANGUAGE):
        message_text = message()
    await notify.on_moderation(
        author_id, kind, message_text, topic_id=data.get("topic_id"), post_id=data.get("post_id")
    )
    if author is not None:
        link = f"/p/{data['post_id']}" if data.get("post_id") else ""
        await outbox.enqueue(
            author,
            "moderation_notice",
            N_("A moderator's decision about your post"),
            {"name": author.display_name, "message": message_text, "link": link},
        )


# ---------------------------------------------------------------------------------------
# Working the queue


async def pending_counts(category_ids: list[int] | None) -> dict[int, int]:
    """Pending items per category (`None`: every category)."""
    query = ReviewItem.filter(status=ReviewStatus.PENDING)
    if category_ids is not None:
        query = query.filter(category_id__in=category_ids)
    counts: dict[int, int] = {}
    for category_id in await query.values_list("category_id", flat=True):
        counts[int(category_id)] = counts.get(int(category_id), 0) + 1  # type: ignore[call-overload]
    return counts


async def announce_counts(category_ids: list[int], change: dict[str, Any] | None = None) -> None:
    """Tell each moderator of these categories their pending count and what changed
    (`review.counts` on their own `user:<id>` channel, never on `staff`: a category
    moderator hears of their categories' items only)."""
    moderators = await User.filter(
        role__in=[Role.MODERATOR, Role.ADMIN], is_active=True, totp_enabled=True
    )
    concerned = [m for m in moderators if any(policy.moderates(m, cid) for cid in category_ids)]
    if not concerned:
        return
    counts = await pending_counts(None)
    for moderator in concerned:
        scope = policy.moderated_categories(moderator)
        total = sum(n for cid, n in counts.items() if scope is None or cid in scope)
        await record_event(
            "review.counts",
            f"user:{moderator.id}",
            {"pending": total, **(change or {})},
            user_id=moderator.id,
        )


async def access_item(user: User | None, item_id: int) -> ReviewItem:
    """An item the moderator may see (404 otherwise, as for one that does not exist)."""
    actor = require_moderator(user)
    item = await ReviewItem.get_or_none(id=item_id) if 0 < item_id < 2**31 else None
    if item is None or not policy.moderates(actor, item.category_id):
        raise NotFound(_("No such review item."))
    return item


def item_state(item: ReviewItem) -> dict[str, Any]:
    """What a refused decision answers: the item as it now is."""
    return {
        "id": item.id,
        "status": item.status.value,
        "claimed_by_id": item.claimed_by_id,
        "decided_by_id": item.decided_by_id,
        "decision": item.decision,
    }


async def do_claim(actor: User, item_id: int, *, take_over: bool = False) -> ReviewItem:
    item = await access_item(actor, item_id)
    require_moderator(actor, item.category_id)
    if item.status != ReviewStatus.PENDING:
        raise Conflict(_("This item has been decided already."), detail=item_state(item))
    if item.claimed_by_id not in (None, actor.id) and not take_over:
        raise Conflict(
            _("Another moderator has claimed this item; take it over to work on it."),
            detail=item_state(item),
        )
    async with atomic():
        previous = item.claimed_by_id
        query = ReviewItem.filter(id=item.id, status=ReviewStatus.PENDING)
        if not take_over:
            query = query.filter(claimed_by_id__isnull=True) if previous is None else query
        updated = await query.update(claimed_by_id=actor.id, claimed_at=datetime.now(UTC))
        if not updated:
            await item.refresh_from_db()
            raise Conflict(_("This item changed meanwhile."), detail=item_state(item))
        item.claimed_by_id = actor.id
        await audit.append(
            actor,
            "review.take_over" if previous not in (None, actor.id) else "review.claim",
            "review_item",
            item.id,
            before={"claimed_by": previous},
            after={"claimed_by": actor.id},
        )
        await announce_counts(
            [item.category_id], {"item_id": item.id, "claimed_by": actor.username}
        )
    return item


async def do_unclaim(actor: User, item_id: int) -> ReviewItem:
    item = await access_item(actor, item_id)
    require_moderator(actor, item.category_id)
    if item.claimed_by_id != actor.id:
        raise Conflict(_("You have not claimed this item."), detail=item_state(item))
    async with atomic():
        await ReviewItem.filter(id=item.id, claimed_by_id=actor.id).update(
            claimed_by_id=None, claimed_at=None
        )
        item.claimed_by_id = None
        await audit.append(actor, "review.unclaim", "review_item", item.id)
        await announce_counts([item.category_id], {"item_id": item.id, "claimed_by": None})
    return item


def check_decision(item: ReviewItem, action: str, reason: str) -> str:
    if action not in DECISIONS:
        raise Invalid(
            _("Choose a decision: %(actions)s.") % {"actions": ", ".join(DECISIONS)},
            field="action",
        )
    if item.kind == ReviewKind.KNOWLEDGE_ENTRY and action not in ("approve", "reject"):
        raise Invalid(_("A knowledge entry can be approved or rejected."), field="action")
    if item.kind in QUEUED and action not in QUEUED_DECISIONS:
        raise Invalid(
            _("A post awaiting approval can be approved, rejected or deleted."), field="action"
        )
    reason = reason.strip()
    if len(reason) > REASON_MAX:
        raise Invalid(_("A reason has at most 2,000 characters."), field="reason")
    if action in ("reject", "hide") and not reason:
        raise Invalid(_("Give the reason: the author is told."), field="reason")
    return reason


async def do_decide(
    actor: User, item_id: int, action: str, reason: str = "", *, take_over: bool = False
) -> ReviewItem:
    """Decide an item once. Of two decisions at the same instant exactly one wins."""
    item = await access_item(actor, item_id)
    require_moderator(actor, item.category_id)
    if item.author_id == actor.id:
        raise Forbidden(_("This is about your own post: another moderator decides it."))
    reason = check_decision(item, action, reason)
    if item.status != ReviewStatus.PENDING:
        raise Conflict(_("This item has been decided already."), detail=item_state(item))
    if item.claimed_by_id not in (None, actor.id) and not take_over:
        raise Conflict(
            _("Another moderator has claimed this item; take it over to decide it."),
            detail=item_state(item),
        )
    now = datetime.now(UTC)
    status = STATUS_OF[action]
    async with atomic():
        query = ReviewItem.filter(id=item.id, status=ReviewStatus.PENDING)
        if not take_over:
            query = query.filter(claimed_by_id=item.claimed_by_id)
        won = await query.update(
            status=status,
            decided_by_id=actor.id,
            decided_at=now,
            decision=action,
            decision_reason=reason,
        )
        if not won:
            await item.refresh_from_db()
            raise Conflict(_("Another moderator decided this item first."), detail=item_state(item))
        item.status, item.decided_by_id, item.decided_at = status, actor.id, now
        item.decision, item.decision_reason = action, reason
        if item.kind == ReviewKind.KNOWLEDGE_ENTRY:  # knowledge/entries.py
            from knowledge.entries import decide_entry_item

            summary = await decide_entry_item(actor, item, action, reason, now)
        elif item.kind in QUEUED:
            summary = await _decide_queued(actor, item, action, reason, now)
        else:
            summary = await _decide_flagged(actor, item, action, reason)
        await audit.append(
            actor,
            f"review.{action}",
            "review_item",
            item.id,
            reason=reason,
            data={
                "kind": item.kind.value,
                "post_id": item.post_id,
                "topic_id": item.topic_id,
                **({"entry_id": item.entry_id} if item.entry_id else {}),
            },
            before={"status": "pending"},
            after={"status": status.value, **summary},
        )
        await announce_counts(
            [item.category_id],
            {"item_id": item.id, "status": status.value, "decided_by": actor.username},
        )
    return item


async def _decide_queued(
    actor: User, item: ReviewItem, action: str, reason: str, now: datetime
) -> dict[str, Any]:
    author = await User.get(id=item.author_id)
    category = await Category.get(id=item.category_id)
    if action != "approve":

        def message() -> str:
            return (
                _("Your post was not approved: %(reason)s") % {"reason": reason}
                if action == "reject"
                else _("Your post awaiting approval was removed by a moderator.")
            )

        await _tell_author(author.id, f"queued_{action}", message, item_id=item.id)
        return {}
    if item.kind == ReviewKind.QUEUED_TOPIC:
        from forum.actions.topics import insert_topic

        topic, post = await insert_topic(
            author,
            category,
            item.title,
            item.source,
            list(item.tags),
            now=now,
            language=item.language,
        )
    else:
        found = await Topic.get_or_none(id=item.topic_id)
        if found is None or found.deleted_at is not None or found.merged_into_id is not None:
            raise Conflict(
                _("The topic of this reply is gone; reject or delete the reply instead."),
                detail=item_state(item),
            )
        topic = found
        if topic.category_id != category.id:  # moved meanwhile
            category = await Category.get(id=topic.category_id)
        reply_to = (
            await Post.get_or_none(id=item.reply_to_id, topic_id=topic.id)
            if item.reply_to_id is not None
            else None
        )
        post = await insert_post(
            author,
            topic,
            category,
            item.source,
            reply_to=reply_to,
            now=now,
            language=item.language,
        )
    await ReviewItem.filter(id=item.id).update(post_id=post.id, topic_id=topic.id)
    item.post_id, item.topic_id = post.id, topic.id
    await _tell_author(
        author.id,
        "queued_approve",
        lambda: _("Your post in \u201c%(title)s\u201d was approved.") % {"title": topic.title},
        topic_id=topic.id,
        post_id=post.id,
        item_id=item.id,
    )
    return {"post_id": post.id}


async def _decide_flagged(
    actor: User, item: ReviewItem, action: str, reason: str
) -> dict[str, Any]:
    post = await Post.get_or_none(id=item.post_id)
    if post is None:
        return {}
    topic = await Topic.get(id=post.topic_id)
    hide = action in ("reject", "hide")
    show = action in ("approve", "unhide")
    changed = ""
    if hide and not post.hidden:
        await Post.filter(id=post.id).update(hidden=True)
        changed = "post.hidden"
    elif show and post.hidden:
        await Post.filter(id=post.id).update(hidden=False)
        changed = "post.edited"  # visible again: open pages fetch it afresh
    elif action == "delete" and post.deleted_at is None:
        await Post.filter(id=post.id).update(deleted_at=datetime.now(UTC), deleted_by_id=actor.id)
        changed = "post.deleted"
    if changed:
        await touch_topics([topic.id])
        await search_index.reindex_post(post.id)
        await record_event(
            changed,
            f"topic:{topic.id}",
            {"topic_id": topic.id, "post_id": post.id},
            category_id=topic.category_id,
        )
    if hide or action == "delete":

        def message() -> str:
            told = (
                _("A moderator removed your post in \u201c%(title)s\u201d.")
                if action == "delete"
                else _("A moderator hid your post in \u201c%(title)s\u201d.")
            ) % {"title": topic.title}
            if reason:
                told += " " + _("Reason: %(reason)s") % {"reason": reason}
            return told

        await _tell_author(
            post.author_id, f"post_{action}", message, topic_id=topic.id, post_id=post.id
        )
    return {"post_hidden": hide or (post.hidden and not show), "post_deleted": action == "delete"}
