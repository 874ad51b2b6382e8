"""Whole rendered answers (pages, JSON) kept by a key naming everything they show."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

from forum import policy
from forum.models import Category, User


class PageCache:
    """Whole rendered pages by a key naming everything they show, bounded in bytes (LRU)."""

    def __init__(self, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._pages: OrderedDict[tuple[Hashable, ...], bytes] = OrderedDict()
        self._bytes = 0

    def get(self, key: tuple[Hashable, ...]) -> bytes | None:
        body = self._pages.get(key)
        if body is not None:
            self._pages.move_to_end(key)
        return body

    def put(self, key: tuple[Hashable, ...], body: bytes) -> None:
        if len(body) > self.max_bytes // 8 or key in self._pages:
            return
        self._pages[key] = body
        self._bytes += len(body)
        while self._bytes > self.max_bytes:
            _old, dropped = self._pages.popitem(last=False)
            self._bytes -= len(dropped)

    def clear(self) -> None:
        self._pages.clear()
        self._bytes = 0


def user_key(user: User | None) -> tuple[Hashable, ...] | None:
    """Everything about a user that a page or answer shows or decides by."""
    if user is None:
        return None
    return (
        policy.is_member(user),  # decided now: a yearly verification lapses with time
        user.id,
        user.username,
        user.display_name,
        user.role,
        user.is_verified,
        user.verified_until,
        user.is_active,
        user.totp_enabled,
    )


def category_key(category: Category) -> tuple[Hashable, ...]:
    """Everything about a category that a page shows or decides by (rights included)."""
    return (
        category.id,
        category.slug,
        category.name,
        category.description,
        category.visibility,
        category.posting_right,
    )
