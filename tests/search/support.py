"""Helpers for the search tests: what a given person finds, through the real query."""

from __future__ import annotations

from typing import Any

from forum.models import Category, PostingRight, User, Visibility
from search.query import SearchRequest, search, suggest


async def found(viewer: User | None, q: str, **filters: Any) -> list[tuple[str, int]]:
    """(kind, id) of every result on the first page."""
    page = await search(viewer, SearchRequest(q=q, **filters))
    return [(r.kind, r.ref_id) for r in page.results]


async def count(viewer: User | None, q: str, **filters: Any) -> int:
    return (await search(viewer, SearchRequest(q=q, **filters))).count


async def kinds(viewer: User | None, q: str, **filters: Any) -> set[str]:
    return {kind for kind, _id in await found(viewer, q, **filters)}


async def suggested(viewer: User | None, q: str) -> list[str]:
    return [s.label for s in await suggest(viewer, q)]


async def staff_room() -> Category:
    return await Category.create(
        slug="staff-room",
        name="Staff room",
        description="Moderators only.",
        visibility=Visibility.STAFF,
        posting_right=PostingRight.STAFF,
        position=99,
    )
