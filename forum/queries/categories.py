"""Reading categories through the policy."""

from __future__ import annotations

from forum import policy
from forum.errors import NotFound
from forum.i18n import _
from forum.models import Category, User
from forum.queries.sql import fetch, from_row, select_list

# Every page asks for the categories (menus, lists, permission checks): plain rows, built
# through the memo in forum.queries.sql.
_ALL_SQL = "SELECT {columns} FROM categories c ORDER BY c.position, c.id"
_BY_SLUG_SQL = "SELECT {columns} FROM categories c WHERE c.slug = ?"


def _sql(template: str) -> str:
    return template.format(columns=select_list(Category, "c"))


async def all_categories() -> list[Category]:
    return [from_row(Category, row) for row in await fetch(_sql(_ALL_SQL))]


async def visible_categories(user: User | None) -> list[Category]:
    return policy.visible_categories(user, await all_categories())


def find_category(user: User | None, categories: list[Category], slug: str) -> Category:
    """`access_category` among categories already read (all of them, `all_categories`)."""
    for category in categories:
        if category.slug == slug and policy.can_see_category(user, category):
            return category
    raise NotFound(_("No such category."))


async def access_category(user: User | None, slug: str) -> Category:
    """The category, or NotFound when it does not exist or the user may not see it."""
    rows = await fetch(_sql(_BY_SLUG_SQL), slug[:64])
    category = from_row(Category, rows[0]) if rows else None
    if category is None or not policy.can_see_category(user, category):
        raise NotFound(_("No such category."))
    return category
