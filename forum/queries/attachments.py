"""Reading a post's attachment: asked of the policy on every download (forum/policy.py:
`can_see_attachment`)."""

from __future__ import annotations

from typing import Any

from forum import policy
from forum.errors import NotFound
from forum.i18n import _
from forum.models import (
    Attachment,
    PostAttachment,
    ReviewItem,
    ReviewKind,
    ReviewStatus,
    User,
)

MAX_USES = 200  # posts asked about (one that may be read is enough)


async def access_attachment(user: User | None, attachment_id: int) -> Attachment:
    """The attachment, or NotFound when it does not exist or `user` may not see it."""
    attachment = await Attachment.get_or_none(id=attachment_id)
    if attachment is None:
        raise NotFound(_("This file is not available."))
    links = (
        await PostAttachment.filter(attachment_id=attachment.id)
        .select_related("post__topic__category")
        .order_by("id")
        .limit(MAX_USES)
    )
    uses = [(link.post, link.post.topic, link.post.topic.category) for link in links]
    if policy.can_see_attachment(user, attachment, uses):
        return attachment
    if policy.is_staff(user):  # a moderator deciding a held post that shows it
        queued = await _queued_in(attachment)
        if policy.can_see_attachment(user, attachment, uses, queued_in=queued):
            return attachment
    raise NotFound(_("This file is not available."))


async def _queued_in(attachment: Attachment) -> list[int]:
    """The categories where a reply or topic of the uploader that shows the attachment
    awaits approval (its text lives in the review item until then)."""
    found: list[Any] = await ReviewItem.filter(
        author_id=attachment.uploader_id,
        status=ReviewStatus.PENDING,
        kind__in=(ReviewKind.QUEUED_POST, ReviewKind.QUEUED_TOPIC),
        source__contains=f"/attachments/{attachment.id}/",
    ).values_list("category_id", flat=True)
    return [int(c) for c in found]
