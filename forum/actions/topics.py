"""Starting topics and changing their status."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tortoise.expressions import F

from forum import i18n, policy
from forum.actions.posts import check_body, check_language, held_message, insert_post
from forum.cache import touch_topics
from forum.errors import Forbidden, Held, Invalid
from forum.events import atomic, record_event
from forum.i18n import _
from forum.models import Category, Post, Tag, Topic, TopicTag, User
from moderation.sanctions import check_may_speak
from search import index as search_index

MAX_TAGS = 5
_TAG = re.compile(r"^[a-z0-9][a-z0-9-]{0,29}$")


def check_title(title: str) -> str:
    title = " ".join(title.split())
    if not 5 <= len(title) <= 200:
        raise Invalid(_("A title has 5 to 200 characters."), field="title")
    return title


def check_tags(tags: list[str]) -> list[str]:
    cleaned: list[str] = []
    for raw in tags:
        tag = "-".join(str(raw).strip().lower().split())
        if not tag:
            continue
        if not _TAG.match(tag):
            raise Invalid(
                _("A tag has up to 30 lowercase letters, digits and dashes."), field="tags"
            )
        if tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        raise Invalid(_("A topic has at most 5 tags."), field="tags")
    return cleaned


async def set_tags(topic: Topic, names: list[str]) -> None:
    await TopicTag.filter(topic_id=topic.id).delete()
    for name in names:
        tag, _created = await Tag.get_or_create(name=name)
        await TopicTag.create(topic_id=topic.id, tag_id=tag.id)


async def insert_topic(
    user: User,
    category: Category,
    title: str,
    body: str,
    names: list[str],
    *,
    now: datetime,
    language: str = i18n.DEFAULT_LANGUAGE,
) -> tuple[Topic, Post]:
    """Write a topic, its tags and its first post (the title in the post's language); the
    caller holds the transaction."""
    topic = await Topic.create(
        category=category,
        author=user,
        title=title,
        last_posted_at=now,
        last_poster=user,
        language=language,
    )
    await set_tags(topic, names)
    await search_index.reindex_topic_title(topic.id)
    post = await insert_post(user, topic, category, body, reply_to=None, now=now, language=language)
    await Category.filter(id=category.id).update(topic_count=F("topic_count") + 1)
    await record_event(
        "topic.created",
        f"category:{category.slug}",
        {"topic_id": topic.id, "title": topic.title, "author": user.username},
        category_id=category.id,
    )
    return topic, post


async def do_create_topic(
    user: User,
    category: Category,
    title: str,
    body: str,
    tags: list[str] | None = None,
    *,
    language: str | None = None,
) -> tuple[Topic, Post]:
    """Publish a topic, or keep it for approval (raising `Held`: see moderation/review.py)."""
    from forum.actions.drafts import NEW_TOPIC, do_discard_draft  # drafts import actions
    from moderation import review

    title = check_title(title)
    body = check_body(body)
    names = check_tags(tags or [])
    language = check_language(language)
    await check_may_speak(user)
    if not policy.can_create_topic(user, category):
        if category.archived:
            raise Forbidden(_("This category is archived: it takes no new topics or replies."))
        raise Forbidden(_("You may not start a topic in this category."))
    screened = await review.intake(user, category, title, body)
    async with atomic():
        await do_discard_draft(user, NEW_TOPIC)  # submitted
        if screened.hold is not None:
            item = await review.hold_topic(
                user, category, title, body, names, screened.hold, language=language
            )
        else:
            topic, post = await insert_topic(
                user, category, title, body, names, now=datetime.now(UTC), language=language
            )
            if screened.flag is not None:
                await review.flag_by_word(post, category, screened.flag)
            return topic, post
    raise Held(held_message(), item_id=item.id)


async def do_update_topic(
    user: User,
    topic: Topic,
    category: Category,
    *,
    closed: bool | None = None,
    pinned: bool | None = None,
    title: str | None = None,
    tags: list[str] | None = None,
) -> Topic:
    """Its author may retitle or retag a topic while it is open; closing, pinning and changing
    someone else's topic are moderation acts (moderation.topics.do_moderate_topic)."""
    is_author = policy.is_topic_author(user, topic)
    staff_act = closed is not None or pinned is not None or not is_author
    if staff_act or (topic.closed and policy.moderates(user, category.id)):
        # moderation.topics builds on this module's checks, so it is imported when needed.
        from moderation.topics import do_moderate_topic

        return await do_moderate_topic(
            user, topic, category, closed=closed, pinned=pinned, title=title, tags=tags
        )
    if not policy.can_retitle_topic(user, topic):
        raise Forbidden(_("You may not edit this topic."))
    changes: dict[str, object] = {}
    if title is not None:
        changes["title"] = check_title(title)
    names = check_tags(tags) if tags is not None else None
    async with atomic():
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
        await record_event(
            "topic.updated",
            f"topic:{topic.id}",
            {"topic_id": topic.id, **changes},
            category_id=category.id,
        )
    return topic
