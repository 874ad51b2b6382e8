"""What an audit row is about, by name: "Bob (@bob)", a topic's title, a post's place.

The log stores `target_type` and `target_id` only (its hash covers them, never a name that
may change), so the page looks the names up when it shows a page of rows: one query per kind
of target on the page. Only administrators read the log, so deleted topics and hidden things
are named too. A target gone from the database keeps its "type #id".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from urllib.parse import quote

from forum.models import AuditLog


@dataclass(frozen=True)
class Target:
    label: str
    url: str | None = None


Resolver = Callable[[list[int]], Awaitable[dict[int, Target]]]


async def _users(ids: list[int]) -> dict[int, Target]:
    from forum.models import User

    rows = await User.filter(id__in=ids).values("id", "username", "display_name")
    return {
        r["id"]: Target(f"{r['display_name']} (@{r['username']})", f"/u/{quote(r['username'])}")
        for r in rows
    }


async def _topics(ids: list[int]) -> dict[int, Target]:
    from forum.models import Topic

    rows = await Topic.filter(id__in=ids).values("id", "title")
    return {r["id"]: Target(r["title"], f"/t/{r['id']}") for r in rows}


async def _posts(ids: list[int]) -> dict[int, Target]:
    from forum.i18n import _
    from forum.models import Post

    rows = await Post.filter(id__in=ids).values("id", "number", "topic__title")
    label = _("post #%(number)s in “%(title)s”")
    return {
        r["id"]: Target(
            label % {"number": r["number"], "title": r["topic__title"]}, f"/p/{r['id']}"
        )
        for r in rows
    }


async def _categories(ids: list[int]) -> dict[int, Target]:
    from forum.models import Category

    rows = await Category.filter(id__in=ids).values("id", "name", "slug")
    return {r["id"]: Target(r["name"], f"/c/{quote(r['slug'])}") for r in rows}


async def _administrations(ids: list[int]) -> dict[int, Target]:
    from forum.models import Administration

    rows = await Administration.filter(id__in=ids).values("id", "name", "country_code")
    return {r["id"]: Target(r["name"], f"/a/{r['country_code']}") for r in rows}


async def _pages(ids: list[int]) -> dict[int, Target]:
    from forum.models import PublicPage

    rows = await PublicPage.filter(id__in=ids).values("id", "title")
    return {r["id"]: Target(r["title"], f"/admin/pages/{r['id']}/edit") for r in rows}


async def _documents(ids: list[int]) -> dict[int, Target]:
    from knowledge.models import Document

    rows = await Document.filter(id__in=ids).values("id", "title")
    return {r["id"]: Target(r["title"], f"/knowledge/documents/{r['id']}") for r in rows}


async def _entries(ids: list[int]) -> dict[int, Target]:
    from knowledge.models import KnowledgeEntry

    rows = await KnowledgeEntry.filter(id__in=ids).values("id", "title")
    return {r["id"]: Target(r["title"], f"/knowledge/entries/{r['id']}") for r in rows}


async def _access_requests(ids: list[int]) -> dict[int, Target]:
    from forum.models import AccessRequest

    rows = await AccessRequest.filter(id__in=ids).values("id", "full_name", "email")
    return {r["id"]: Target(f"{r['full_name']} <{r['email']}>") for r in rows}


async def _watched_words(ids: list[int]) -> dict[int, Target]:
    from forum.models import WatchedWord

    rows = await WatchedWord.filter(id__in=ids).values("id", "word")
    return {r["id"]: Target(f"“{r['word']}”") for r in rows}


RESOLVERS: dict[str, Resolver] = {
    "user": _users,
    "topic": _topics,
    "post": _posts,
    "category": _categories,
    "administration": _administrations,
    "page": _pages,
    "document": _documents,
    "knowledge_entry": _entries,
    "access_request": _access_requests,
    "watched_word": _watched_words,
}


async def describe(rows: Iterable[AuditLog]) -> dict[tuple[str, int], Target]:
    """(target_type, target_id) -> its name and page, for the rows' targets that still exist."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for row in rows:
        if row.target_id is not None and row.target_type in RESOLVERS:
            wanted[row.target_type].add(row.target_id)
    found: dict[tuple[str, int], Target] = {}
    for kind, ids in wanted.items():
        for target_id, target in (await RESOLVERS[kind](sorted(ids))).items():
            found[(kind, target_id)] = target
    return found
