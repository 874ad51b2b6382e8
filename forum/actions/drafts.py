"""Drafts: what a member is writing, saved by the composer as they type (forum/web/composer.py).

A draft is the member's own: nobody else reads it, so saving one is not an event. It is kept
per place (`topic-<id>` for a reply, `new-topic` for a topic being started) and deleted, in the
same transaction, when the reply or topic is submitted (published or held for approval).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from forum.actions.posts import MAX_BODY
from forum.errors import Invalid, NotFound
from forum.i18n import _
from forum.models import Draft, User
from forum.queries.topics import access_topic

NEW_TOPIC = "new-topic"
_KEY = re.compile(r"topic-([1-9][0-9]{0,9})|new-topic")
MAX_TITLE = 300


def reply_key(topic_id: int) -> str:
    return f"topic-{topic_id}"


async def check_key(user: User, key: str) -> str:
    """The draft's place, checked: a topic the member may see, or a new topic."""
    match = _KEY.fullmatch(key)
    if match is None:
        raise NotFound(_("No such draft."))
    if match.group(1) is not None:
        await access_topic(user, int(match.group(1)))  # NotFound when it is not visible
    return key


async def do_save_draft(user: User, key: str, body: str, title: str = "") -> Draft:
    key = await check_key(user, key)
    if len(body) > MAX_BODY:
        raise Invalid(_("A post has at most 50,000 characters."), field="body")
    if len(title) > MAX_TITLE:
        raise Invalid(_("A title has at most 300 characters."), field="title")
    now = datetime.now(UTC)
    draft = await Draft.get_or_none(user_id=user.id, key=key)
    if draft is None:
        return await Draft.create(user=user, key=key, body=body, title=title, updated_at=now)
    draft.body, draft.title, draft.updated_at = body, title, now
    await draft.save(update_fields=["body", "title", "updated_at"])
    return draft


async def find_draft(user: User, key: str) -> Draft | None:
    key = await check_key(user, key)
    return await Draft.get_or_none(user_id=user.id, key=key)


async def do_discard_draft(user: User, key: str) -> None:
    """Delete the member's draft of that place (nothing to do when there is none). Called by
    the composer, and by the actions that submit a reply or a topic, in their transaction."""
    await Draft.filter(user_id=user.id, key=key).delete()
