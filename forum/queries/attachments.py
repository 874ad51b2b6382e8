"""Reading a post's attachment: asked of the policy on every download."""

from __future__ import annotations

from forum import policy
from forum.errors import NotFound
from forum.i18n import _
from forum.models import Attachment, PostAttachment, User

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
    if not policy.can_see_attachment(user, attachment, uses):
        raise NotFound(_("This file is not available."))
    return attachment
