"""Images and files attached to posts from the composer (issue 14), on the documents' rules.

    attachment = await do_upload_attachment(settings, actor, spool, file_name)
    markdown_for(attachment)            # what the composer inserts: ![name](/attachments/7/name)
    await link_attachments(post, source, {author_id, editor_id})   # inside the post's atomic()

An upload streams into a `knowledge.storage.Spool` in `<var dir>/attachments/` (never served
as a folder), bounded by `Settings.attachment_max_bytes`; its type comes from its content
(`storage.sniff(..., images=True)`: PNG, JPEG, GIF, WebP, or a document's PDF/DOCX/XLSX/PPTX)
and the name must agree with it. A member's attachments add up to at most
`Settings.attachment_quota_bytes`, checked after locking the member's row, as documents do.
Whatever goes wrong, the spool is removed: a refused upload leaves no file and no row.

Who may download one is decided by the posts that show it: when a post is written or edited,
the `/attachments/<id>/` links in its source that name attachments of its author (or of the
editor) are recorded in `PostAttachment` (never removed, so earlier revisions keep theirs).
`forum.queries.attachments.access_attachment` asks `policy.can_see_attachment` on every
download.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from forum import policy
from forum.errors import Forbidden, Invalid
from forum.events import atomic
from forum.i18n import N_, _
from forum.models import Attachment, Post, PostAttachment, User
from forum.settings import Settings
from knowledge.storage import (
    Spool,
    check_name_matches,
    check_quota,
    clean_file_name,
    sniff,
)

# Shown as _(ACCEPTED) in refusals: "This file is an HTML page. Upload a <ACCEPTED> file."
ACCEPTED = N_("PNG, JPEG, GIF, WebP, PDF, Word (.docx), Excel (.xlsx) or PowerPoint (.pptx)")
LINK = re.compile(r"/attachments/([0-9]{1,10})/")
MAX_LINKS = 50  # attachments recorded per post
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~-])")


def attachment_dir(settings: Settings) -> Path:
    return settings.var_dir / "attachments"


def address(attachment: Attachment) -> str:
    return f"/attachments/{attachment.id}/{quote(attachment.file_name, safe='')}"


def is_image(attachment: Attachment) -> bool:
    return attachment.content_type.startswith("image/")


def markdown_for(attachment: Attachment) -> str:
    """`![name](address)` for an image, `[name](address)` for a file; the name escaped so
    no character of it is read as markdown."""
    label = _MARKDOWN_SPECIAL.sub(r"\\\1", attachment.file_name)
    return f"{'!' if is_image(attachment) else ''}[{label}]({address(attachment)})"


async def quota_used(user_id: int) -> int:
    sizes: list[Any] = await Attachment.filter(uploader_id=user_id).values_list("size", flat=True)
    return sum(int(s) for s in sizes)


async def _check_quota(settings: Settings, actor: User, size: int) -> None:
    message = _(
        "This file (%(size)s) would take you over your quota of %(quota)s for "
        "attachments: you use %(used)s already."
    )
    await check_quota(actor, size, settings.attachment_quota_bytes, quota_used, message)


async def do_upload_attachment(
    settings: Settings, actor: User, spool: Spool | None, file_name: str
) -> Attachment:
    """Keep an uploaded file as the actor's attachment. The spool is kept or removed."""
    try:
        if not policy.can_attach_files(actor):
            raise Forbidden(_("Only members who may post attach files."))
        if spool is None:
            raise Invalid(_("Choose a file to upload."), field="file")
        kind = await asyncio.to_thread(sniff, spool.path, images=True, accepted=ACCEPTED)
        name = check_name_matches(clean_file_name(file_name), kind)
        async with atomic():
            await _check_quota(settings, actor, spool.size)
            attachment = await Attachment.create(
                uploader_id=actor.id,
                file_name=name,
                stored_name=spool.stored_name,
                content_type=kind.content_type,
                size=spool.size,
                sha256=spool.sha256,
            )
            spool.keep()  # last: a failure before it leaves the spool to be removed below
    except BaseException:
        if spool is not None:
            spool.discard()
        raise
    return attachment


async def link_attachments(post: Post, source: str, owners: set[int]) -> None:
    """Record the attachments of `owners` that `source` links to as shown by `post` (the
    caller holds the transaction). Links to anyone else's attachments are left as they are:
    writing an address does not give its readers someone else's file."""
    ids = list(dict.fromkeys(int(m.group(1)) for m in LINK.finditer(source)))[:MAX_LINKS]
    if not ids:
        return
    mine: list[Any] = await Attachment.filter(id__in=ids, uploader_id__in=owners).values_list(
        "id", flat=True
    )
    known: list[Any] = await PostAttachment.filter(post_id=post.id).values_list(
        "attachment_id", flat=True
    )
    new = set(mine) - set(known)
    if new:
        await PostAttachment.bulk_create(
            [PostAttachment(post_id=post.id, attachment_id=i) for i in sorted(new)]
        )
