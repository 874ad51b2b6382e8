"""Reading categories through the policy."""

from __future__ import annotations

import forum.cache
from forum import policy
from forum.errors import NotFound
from forum.events import in_atomic
from forum.i18n import _
from forum.models import Category, User
from forum.queries.sql import fetch, from_row, select_list

# Every page asks for the categories (menus, lists, permission checks): plain rows, built
# through the memo in forum.queries.sql.
_ALL_SQL = "SELECT {columns} FROM categories c ORDER BY c.position, c.id"
_BY_SLUG_SQL = "SELECT {columns} FROM categories c WHERE c.slug = ?"


def _sql(template: str) -> str:
    return template.format(columns=select_list(Category, "c"))


# The categories' version on PostgreSQL, read with every member's session
# (forum.actions.users._SESSION_SQL): each row's id and `xmin` (the transaction that wrote
# that row's current version), so any committed insert, update or delete changes it, whoever
# made it (an action, the CLI, another worker). A scan of a few rows in a statement that is
# sent anyway, against a statement of its own on every home and category page.
CATEGORIES_VERSION_SQL = (
    "(SELECT string_agg(c.id::text || ':' || c.xmin::text, ',' ORDER BY c.id) FROM categories c)"
)


async def all_categories(version: str | None = None) -> list[Category]:
    """Every category, in order.

    `version`: the categories' version this request read with its session
    (`Identity.categories_version`, PostgreSQL only); the categories are then kept by it
    (`Caches.categories`) and shared: the caller reads them, never changes them. Read once the
    version was, the categories kept under it are never older than it, so a change (a new
    version) is never missed; outside a transaction only, where nothing this request wrote
    can be newer than the version."""
    if version is None or in_atomic():
        return [from_row(Category, row) for row in await fetch(_sql(_ALL_SQL))]
    cache = forum.cache.current().categories
    kept = cache.get(version)
    if kept is None:
        rows = await fetch(_sql(_ALL_SQL))
        kept = tuple(from_row(Category, row, memo=False) for row in rows)
        cache.put(version, kept)
    return list(kept)


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
