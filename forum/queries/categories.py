"""Reading categories through the policy."""

from __future__ import annotations

from typing import Any

import forum.cache
from forum import policy
from forum.errors import NotFound
from forum.events import in_atomic
from forum.i18n import _
from forum.models import Category, User
from forum.queries.sql import fetch, from_row, keep, kept, select_list, snapshot

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


async def all_categories(version: str | None = None, *, shared: bool = False) -> list[Category]:
    """Every category, in order.

    `shared`: the caller reads the categories, never changes them, so they may be built once
    and handed to every request: kept by `version`, the categories' version this request read
    with its session (`Identity.categories_version`, PostgreSQL: `Caches.categories`), or on
    SQLite with the reader's remembered answer until the next commit (`sql.keep`). Read once
    the version was, the categories kept under it are never older than it, so a change (a new
    version) is never missed. Outside a transaction only, where nothing this request wrote can
    be newer than what is kept; everywhere else they are built for the caller."""
    if not shared or in_atomic():
        return [from_row(Category, row) for row in await fetch(_sql(_ALL_SQL))]
    if version is not None:
        cache = forum.cache.current().categories
        found = cache.get(version)
        if found is None:
            found = _built(await fetch(_sql(_ALL_SQL)))
            cache.put(version, found)
        return list(found)
    snap = snapshot()
    rows = await fetch(_sql(_ALL_SQL))  # asked (and counted) even when its building is kept
    built: tuple[Category, ...] | None = kept(snap, _KEPT)
    if built is None:
        built = _built(rows)
        keep(snap, _KEPT, built)
    return list(built)


_KEPT = "categories"  # the built categories' key among what the reader keeps (sql.keep)


def _built(rows: list[dict[str, Any]]) -> tuple[Category, ...]:
    return tuple(from_row(Category, row, memo=False) for row in rows)


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
