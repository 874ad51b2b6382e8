"""The NCP directory: verified members and what each chose to show, filtered, for members only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from tortoise.expressions import Q

from forum import policy
from forum.collation import fold, sort_key
from forum.errors import BadRequest, NotFound
from forum.i18n import _
from forum.models import Category, PostingRight, Region, Role, User, Visibility

MAX_ENTRIES = 5000  # far above the WCO's 186 members times a few contact points each


@dataclass(frozen=True)
class DirectoryFilter:
    region: Region | None = None
    administration: str = ""  # an ISO country code
    expertise: str = ""  # a category slug
    q: str = ""  # part of a name

    def params(self) -> dict[str, str]:
        values = {
            "region": self.region.value if self.region else "",
            "administration": self.administration,
            "expertise": self.expertise,
            "q": self.q,
        }
        return {key: value for key, value in values.items() if value}

    def query_string(self) -> str:
        params = self.params()
        return "?" + urlencode(params) if params else ""


def parse_filter(params: Mapping[str, str]) -> DirectoryFilter:
    """Filters from a query string; a value that cannot be right is a 400."""
    region_value = (params.get("region") or "").strip()
    region = None
    if region_value:
        try:
            region = Region(region_value.upper())
        except ValueError:
            raise BadRequest(_("Unknown region.")) from None
    administration = (params.get("administration") or "").strip().upper()
    if administration and not (len(administration) == 2 and administration.isalpha()):
        raise BadRequest(_("An administration is given by its two-letter country code."))
    expertise = (params.get("expertise") or "").strip()
    if len(expertise) > 64:
        raise BadRequest(_("Unknown area of expertise."))
    q = " ".join((params.get("q") or "").split())
    if len(q) > 100:
        raise BadRequest(_("Search for at most 100 characters."))
    return DirectoryFilter(region, administration, expertise, q)


@dataclass(frozen=True)
class DirectoryEntry:
    user_id: int
    username: str
    display_name: str
    administration: str
    country_code: str
    region: str
    position: str
    languages: str
    expertise: tuple[str, ...]  # category names, in the forum's order
    expertise_slugs: tuple[str, ...]
    email: str  # empty unless the member chose to show it
    phone: str  # empty unless the member chose to show it
    avatar_url: str


async def expertise_categories() -> list[Category]:
    """The technology and topic categories a member may name as expertise."""
    return await Category.filter(
        visibility=Visibility.MEMBERS, posting_right=PostingRight.MEMBERS
    ).order_by("position", "id")


def _verified_now(now: datetime) -> Q:
    current = Q(verified_until__isnull=True) | Q(verified_until__gt=now)
    return Q(role__in=[Role.MODERATOR, Role.ADMIN]) | (Q(is_verified=True) & current)


def entry_for(user: User, categories: list[Category]) -> DirectoryEntry:
    chosen = set(user.expertise) if isinstance(user.expertise, list) else set()
    picked = [c for c in categories if c.slug in chosen]
    administration = user.administration
    return DirectoryEntry(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        administration=administration.name if administration else "",
        country_code=administration.country_code if administration else "",
        region=administration.region.value if administration else "",
        position=user.position,
        languages=user.languages,
        expertise=tuple(c.name for c in picked),
        expertise_slugs=tuple(c.slug for c in picked),
        email=user.email if user.show_email else "",
        phone=user.phone if user.show_phone else "",
        avatar_url=f"/avatars/{user.avatar}" if user.avatar else "",
    )


async def list_directory(viewer: User | None, wanted: DirectoryFilter) -> list[DirectoryEntry]:
    """Verified members matching the filter, by administration then name (2 queries)."""
    if not policy.can_see_directory(viewer):
        raise NotFound(_("Not found."))
    query = User.filter(_verified_now(datetime.now(UTC)), is_active=True)
    if wanted.region is not None:
        query = query.filter(administration__region=wanted.region)
    if wanted.administration:
        query = query.filter(administration__country_code=wanted.administration)
    users = await query.select_related("administration").order_by("id").limit(MAX_ENTRIES)
    categories = await expertise_categories()
    needle = fold(wanted.q)
    entries = []
    for user in users:
        if not policy.is_member(user):  # the query filters; the policy has the last word
            continue
        if needle and needle not in fold(user.display_name):
            continue
        entry = entry_for(user, categories)
        if wanted.expertise and wanted.expertise not in entry.expertise_slugs:
            continue
        entries.append(entry)
    entries.sort(
        key=lambda e: (e.administration == "", sort_key(e.administration), sort_key(e.display_name))
    )
    return entries
