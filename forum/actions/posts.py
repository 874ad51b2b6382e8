"""Replying, editing with revisions, soft deletion, and @mentions."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tortoise import connections
from tortoise.expressions import F

from forum import i18n, policy
from forum.actions.attachments import link_attachments
from forum.actions.reading import do_mark_read
from forum.cache import touch_topics
from forum.errors import Conflict, Forbidden, Held, Invalid
from forum.events import atomic, record_event
from forum.i18n import _
from forum.models import Category, Mention, Post, PostRevision, Topic, User
from forum.queries.sql import execute
from forum.rendering import render_markdown
from moderation import audit
from moderation.gate import require_moderator
from moderation.sanctions import check_may_speak
from notifications import notify
from search import index as search_index

MAX_BODY = 50_000
_MENTION = re.compile(r"(?<![\w@`])@([A-Za-z0-9_][A-Za-z0-9_.-]{1,38}[A-Za-z0-9_])")


def check_body(body: str) -> str:
    if not body.strip():
        raise Invalid(_("Write something first."), field="body")
    if len(body) > MAX_BODY:
        raise Invalid(_("A post has at most 50,000 characters."), field="body")
    return body


def check_language(language: str | None) -> str:
    """A post's language: English or French, by default the language its author is writing
    in now (the request's)."""
    if language is None or language == "":
        return i18n.current_language()
    if language not in i18n.LANGUAGES:
        raise Invalid(_("Choose English or French for the post's language."), field="lang")
    return language


def mentioned_usernames(source: str) -> list[str]:
    return list(dict.fromkeys(m.group(1) for m in _MENTION.finditer(source)))[:20]


async def render_post(body: str) -> str:
    """A post's HTML: its `@name`s of existing members link to their profiles (one query,
    only when the text mentions someone)."""
    names = mentioned_usernames(body)
    known: list[str] = []
    if names:
        known = await User.filter(username__in=names).values_list("username", flat=True)  # type: ignore[assignment]
    return render_markdown(body, mentions=known)


async def _record_mentions(
    post: Post, author: User, topic: Topic, category: Category
) -> list[User]:
    """Record the members newly mentioned; returns them (notifications/notify.py decides
    who hears about it)."""
    names = mentioned_usernames(post.source)
    if not names:
        return []
    found: list[User] = []
    already: set[int] = set(
        await Mention.filter(post_id=post.id).values_list("user_id", flat=True)  # type: ignore[arg-type]
    )
    for user in await User.filter(username__in=names, is_active=True):
        if user.id == author.id or user.id in already:
            continue
        await Mention.create(post_id=post.id, user_id=user.id)
        found.append(user)
        # Only someone who can read the topic hears about it.
        if policy.can_see_topic(user, topic, category):
            await record_event(
                "mention.created",
                f"user:{user.id}",
                {"post_id": post.id, "topic_id": topic.id, "by": author.username},
                category_id=category.id,
                user_id=user.id,
            )
    return found


async def insert_post(
    user: User,
    topic: Topic,
    category: Category,
    body: str,
    *,
    reply_to: Post | None,
    now: datetime,
    language: str = i18n.DEFAULT_LANGUAGE,
) -> Post:
    """Write a post and its first revision; the caller holds the transaction."""
    counted = await execute(
        connections.get("default"),  # the transaction's
        "UPDATE topics SET highest_post_number = highest_post_number + 1,"
        " post_count = post_count + 1, last_posted_at = ?, last_poster_id = ?"
        " WHERE id = ? AND merged_into_id IS NULL RETURNING highest_post_number, post_count",
        now,
        user.id,
        topic.id,
    )
    if not counted:  # merged into another topic since it was read
        raise Conflict(_("This topic was merged into another one; reply there."))
    topic.highest_post_number = counted[0]["highest_post_number"]
    topic.post_count = counted[0]["post_count"]
    html = await render_post(body)
    post = await Post.create(
        topic=topic,
        number=topic.highest_post_number,
        author=user,
        reply_to=reply_to,
        source=body,
        html=html,
        created_at=now,
        language=language,
    )
    await PostRevision.create(post=post, version=1, source=body, html=html, editor=user)
    await link_attachments(post, body, {user.id})  # its readers may download them
    await do_mark_read(user, topic, post.number)  # your own words are never unread
    await Category.filter(id=category.id).update(post_count=F("post_count") + 1)
    mentioned = await _record_mentions(post, user, topic, category)
    await notify.on_post(post, user, topic, category, reply_to=reply_to, mentioned=mentioned)
    await touch_topics([topic.id])
    await search_index.reindex_post(post.id)
    await record_event(
        "post.created",
        f"topic:{topic.id}",
        {"topic_id": topic.id, "post_id": post.id, "number": post.number, "author": user.username},
        category_id=category.id,
    )
    return post


def held_message() -> str:
    return _("Thank you! Your post will appear once a moderator has approved it.")


async def do_create_post(
    user: User,
    topic: Topic,
    category: Category,
    body: str,
    reply_to: Post | None = None,
    *,
    language: str | None = None,
) -> Post:
    """Publish a reply, or keep it for approval (raising `Held`: see moderation/review.py)."""
    from forum.actions.drafts import do_discard_draft, reply_key  # drafts import this module
    from moderation import review

    body = check_body(body)
    language = check_language(language)
    await check_may_speak(user)
    if not policy.can_reply(user, topic, category):
        if category.archived:
            raise Forbidden(_("This category is archived: it takes no new topics or replies."))
        if topic.closed:
            raise Forbidden(_("This topic is closed; it takes no new replies."))
        raise Forbidden(_("You may not reply in this topic."))
    if reply_to is not None and reply_to.topic_id != topic.id:
        raise Invalid(_("You can only reply to a post in the same topic."), field="reply_to")
    screened = await review.intake(user, category, body)
    async with atomic():
        await do_discard_draft(user, reply_key(topic.id))  # submitted
        if screened.hold is not None:
            item = await review.hold_reply(
                user, topic, category, body, reply_to, screened.hold, language=language
            )
        else:
            post = await insert_post(
                user,
                topic,
                category,
                body,
                reply_to=reply_to,
                now=datetime.now(UTC),
                language=language,
            )
            if screened.flag is not None:
                await review.flag_by_word(post, category, screened.flag)
            return post
    raise Held(held_message(), item_id=item.id)


def check_may_edit(user: User, post: Post, topic: Topic, category: Category) -> None:
    """Editing someone else's post is a moderation act: it passes the moderators' gate."""
    if user.id != post.author_id:
        require_moderator(user, category.id)
    if not policy.can_edit_post(user, post, topic, category):
        raise Forbidden(_("You may not edit this post."))


async def do_edit_post(
    user: User,
    post: Post,
    topic: Topic,
    category: Category,
    body: str,
    *,
    language: str | None = None,
) -> Post:
    """A new version of a post, or only a new language for it (no revision then); `language`
    None keeps its language. A first post's language is its topic's title's too."""
    body = check_body(body)
    language = post.language if language is None else check_language(language)
    check_may_edit(user, post, topic, category)
    new_text = body != post.source
    relabelled = language != post.language
    if not (new_text or relabelled):
        return post
    now = datetime.now(UTC)
    before = post.source
    async with atomic():
        post.language = language
        if relabelled and post.number == 1:
            await Topic.filter(id=topic.id).update(language=language)
            topic.language = language
            await search_index.reindex_topic_title(topic.id)
        if new_text:
            post.source = body
            post.html = await render_post(body)
            post.version += 1
            post.edited_at = now
            await post.save(update_fields=["source", "html", "version", "edited_at", "language"])
            await PostRevision.create(
                post=post, version=post.version, source=body, html=post.html, editor=user
            )
            await link_attachments(post, body, {post.author_id, user.id})
            mentioned = await _record_mentions(post, user, topic, category)
            await notify.on_mentions_edited(post, user, topic, category, mentioned)
        else:
            await post.save(update_fields=["language"])
        await touch_topics([topic.id])
        await search_index.reindex_post(post.id)
        if user.id != post.author_id:
            data = {
                "topic_id": topic.id,
                "author_id": post.author_id,
                "version": post.version,
                "language": language,
            }
            await audit.append(
                user, "post.edit", "post", post.id, data=data, before=before, after=body
            )
        await record_event(
            "post.edited",
            f"topic:{topic.id}",
            {"topic_id": topic.id, "post_id": post.id, "version": post.version},
            category_id=category.id,
        )
    return post


async def do_delete_post(user: User, post: Post, topic: Topic, category: Category) -> Post:
    if user.id != post.author_id:  # someone else's post: a moderation act
        require_moderator(user, category.id)
    if not policy.can_delete_post(user, post, topic, category):
        raise Forbidden(_("You may not delete this post."))
    async with atomic():
        post.deleted_at = datetime.now(UTC)
        post.deleted_by_id = user.id
        await post.save(update_fields=["deleted_at", "deleted_by_id"])
        await touch_topics([topic.id])
        await search_index.reindex_post(post.id)
        if user.id != post.author_id:
            data = {"topic_id": topic.id, "author_id": post.author_id}
            await audit.append(
                user, "post.delete", "post", post.id, data=data, before=post.source, after=""
            )
        await record_event(
            "post.deleted",
            f"topic:{topic.id}",
            {"topic_id": topic.id, "post_id": post.id},
            category_id=category.id,
        )
    return post
