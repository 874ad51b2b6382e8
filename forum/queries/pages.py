"""The public section's pages and their menu."""

from __future__ import annotations

from forum import policy
from forum.errors import NotFound
from forum.i18n import _
from forum.models import PublicPage, User


async def menu_pages() -> list[PublicPage]:
    """Published pages in menu order (only what the menu shows is read)."""
    return (
        await PublicPage.filter(published=True)
        .order_by("position", "id")
        .only("id", "slug", "title", "position")
    )


async def all_pages() -> list[PublicPage]:
    return await PublicPage.all().order_by("position", "id")


async def access_public_page(viewer: User | None, slug: str) -> PublicPage:
    """A published page, or a draft for administrators; NotFound otherwise."""
    page = await PublicPage.get_or_none(slug=slug[:64])
    if page is None or not (page.published or policy.is_admin(viewer)):
        raise NotFound(_("No such page."))
    return page
