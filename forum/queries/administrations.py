"""Member administrations as members see them: their contact points and their contributions."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from forum import policy
from forum.collation import sort_key
from forum.errors import NotFound
from forum.i18n import _
from forum.models import Administration, Category, Post, Region, Topic, User
from forum.queries.categories import visible_categories
from forum.queries.directory import DirectoryEntry, DirectoryFilter, list_directory
from forum.rendering import plain_text

RECENT_CONTRIBUTIONS = 20


async def all_administrations() -> list[Administration]:
    """Every administration, by name as a reader expects (UCA: Côte d'Ivoire before Cuba)."""
    return sorted(await Administration.all(), key=lambda a: sort_key(a.name))


@dataclass(frozen=True)
class RegionGroup:
    region: Region
    administrations: list[tuple[Administration, int]]  # with their number of verified NCPs


async def administrations_by_region(viewer: User | None) -> list[RegionGroup]:
    entries = await list_directory(viewer, DirectoryFilter())
    counts = Counter(entry.country_code for entry in entries)
    administrations = await all_administrations()
    return [
        RegionGroup(
            region,
            [(a, counts[a.country_code]) for a in administrations if a.region == region],
        )
        for region in Region
    ]


@dataclass(frozen=True)
class Contribution:
    post: Post
    topic: Topic
    category: Category
    author: User
    excerpt: str

    @property
    def started_topic(self) -> bool:
        return self.post.number == 1


@dataclass(frozen=True)
class AdministrationPage:
    administration: Administration
    members: list[DirectoryEntry]
    contributions: list[Contribution]


async def access_administration(viewer: User | None, country_code: str) -> Administration:
    """The administration, or NotFound when missing or when the viewer is not a member."""
    if not policy.can_see_directory(viewer):
        raise NotFound(_("Not found."))
    administration = await Administration.get_or_none(country_code=country_code.upper()[:2])
    if administration is None:
        raise NotFound(_("No such administration."))
    return administration


async def administration_page(
    viewer: User | None, country_code: str, *, limit: int = RECENT_CONTRIBUTIONS
) -> AdministrationPage:
    """Its verified NCPs, and the latest posts its people wrote that the viewer may read."""
    administration = await access_administration(viewer, country_code)
    members = await list_directory(
        viewer, DirectoryFilter(administration=administration.country_code)
    )
    categories = {c.id: c for c in await visible_categories(viewer)}
    contributions: list[Contribution] = []
    if categories:
        query = Post.filter(
            author__administration_id=administration.id,
            deleted_at=None,
            hidden=False,
            topic__category_id__in=list(categories),
        )
        if not policy.is_staff(viewer):
            query = query.filter(topic__deleted_at=None)
        posts = (
            await query.select_related("topic", "author")
            .order_by("-created_at", "-id")
            .limit(limit)
        )
        for post in posts:
            topic, category = post.topic, categories[post.topic.category_id]
            if policy.can_see_topic(viewer, topic, category) and policy.can_see_post_body(
                viewer, post, category
            ):
                excerpt = plain_text(post.html, 200)
                contributions.append(Contribution(post, topic, category, post.author, excerpt))
    return AdministrationPage(administration, members, contributions)
