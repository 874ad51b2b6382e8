"""Reading categories through the policy."""

from __future__ import annotations

from forum import policy
from forum.errors import NotFound
from forum.i18n import _
from forum.models import Category, User


async def all_categories() -> list[Category]:
    return await Category.all().order_by("position", "id")


async def visible_categories(user: User | None) -> list[Category]:
    return policy.visible_categories(user, await all_categories())


async def access_category(user: User | None, slug: str) -> Category:
    """The category, or NotFound when it does not exist or the user may not see it."""
    category = await Category.get_or_none(slug=slug[:64])
    if category is None or not policy.can_see_category(user, category):
        raise NotFound(_("No such category."))
    return category
