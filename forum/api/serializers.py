"""Rows and query results to plain JSON-ready dicts. No database access happens here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from forum import policy
from forum.models import Category, PostRevision, User
from forum.queries.rows import Author
from forum.queries.topics import PostView, TopicList, TopicPage, TopicRow

JSON = dict[str, Any]


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def user_json(user: User | Author) -> JSON:
    return {"id": user.id, "username": user.username, "display_name": user.display_name}


def me_json(user: User) -> JSON:
    return {
        **user_json(user),
        "email": user.email,
        "role": str(user.role),
        "is_verified": user.is_verified,
        "is_staff": user.is_staff,
    }


def category_json(category: Category, viewer: User | None) -> JSON:
    return {
        "id": category.id,
        "slug": category.slug,
        "name": category.name,
        "description": category.description,
        "visibility": str(category.visibility),
        "posting_right": str(category.posting_right),
        "topic_count": category.topic_count,
        "post_count": category.post_count,
        "requires_approval": category.requires_approval,
        "archived": category.archived,
        "can_create_topic": policy.can_create_topic(viewer, category),
    }


def _topic_fields(row: TopicRow, author: User | Author) -> JSON:
    topic = row.topic
    return {
        "id": topic.id,
        "title": topic.title,
        "lang": topic.language,
        "category": row.category.slug,
        "tags": row.tags,
        "pinned": topic.pinned,
        "closed": topic.closed,
        "reply_count": topic.reply_count,
        "views": topic.views,
        "created_at": iso(topic.created_at),
        "last_posted_at": iso(topic.last_posted_at),
        "author": user_json(author),
        "unread": row.unread,
        "is_new": row.is_new,
    }


def topic_summary_json(row: TopicRow) -> JSON:
    """A row of a topic list (rows from `list_topics` carry their author and last poster)."""
    assert row.author is not None
    last_poster = row.last_poster
    return {
        **_topic_fields(row, row.author),
        "last_poster": user_json(last_poster) if last_poster is not None else None,
    }


def topic_list_json(listing: TopicList) -> JSON:
    return {
        "topics": [topic_summary_json(row) for row in listing.rows],
        "next_cursor": listing.next_cursor,
    }


def topic_json(page: TopicPage, author: User | Author) -> JSON:
    """The topic itself, as seen by the caller of `topic_page`; `author` is its starter."""
    row = TopicRow(page.topic, page.category, page.tags, page.last_read)
    return {
        **_topic_fields(row, author),
        "highest_post_number": page.topic.highest_post_number,
        "last_read_post_number": page.last_read,
        "can_reply": page.can_reply,
        "can_moderate": page.can_moderate,
    }


def topic_page_json(page: TopicPage, author: User | Author) -> JSON:
    return {
        **topic_json(page, author),
        "posts": [post_json(view) for view in page.posts],
        "next_cursor": page.next_cursor,
        "prev_cursor": page.prev_cursor,
    }


def post_json(view: PostView) -> JSON:
    """A post in its topic. Without the right to read its body, the text stays out."""
    post = view.post
    data: JSON = {
        "id": post.id,
        "topic_id": post.topic_id,
        "number": post.number,
        "author": user_json(post.author),
        "lang": post.language,
        "html": post.html if view.visible else "",
        "reply_to": view.reply_to_number,
        "reply_to_username": view.reply_to_username,
        "created_at": iso(post.created_at),
        "edited_at": iso(post.edited_at),
        "version": post.version,
        "deleted": post.deleted_at is not None,
        "hidden": post.hidden,
        "reactions": reactions_json(view.reactions),
        "my_reactions": my_reactions_json(view.mine),
        "bookmarked": view.bookmarked,
        "can_edit": view.can_edit,
        "can_delete": view.can_delete,
        "can_react": view.can_react,
    }
    if view.visible:
        data["source"] = post.source
    return data


def reactions_json(counts: dict[str, int]) -> dict[str, int]:
    """Counts in the fixed order of the reaction kinds, leaving out the zeros."""
    return {kind: counts[kind] for kind in policy.REACTION_KINDS if counts.get(kind)}


def my_reactions_json(mine: set[str]) -> list[str]:
    return [kind for kind in policy.REACTION_KINDS if kind in mine]


def revision_json(revision: PostRevision) -> JSON:
    return {
        "version": revision.version,
        "html": revision.html,
        "source": revision.source,
        "editor": user_json(revision.editor),
        "created_at": iso(revision.created_at),
    }
