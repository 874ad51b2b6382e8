"""Administrators manage the categories: create, edit, reorder, archive.

Each act is one action: `require_administrator` first, then the change, its audit row and its
event in one transaction. The events (`category.created`, `category.updated`,
`category.reordered`) make every worker's hub reload its categories (realtime/hub.py reloads
on any `category.*` event) and drop the subscriptions of sockets that may no longer see the
category or its topics, so a change of visibility reaches open WebSockets at once. Pages and
the API read the category afresh on every request, and the caches of shared markup are keyed
by what they show (forum/cache.py), so nothing needs clearing.

A category's slug never changes: it is its address (`/c/<slug>`), its live channel
(`category:<slug>`) and it is kept in members' expertise lists and in the event log.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError

from forum.errors import Conflict, Invalid, NotFound
from forum.events import atomic, record_event
from forum.i18n import _
from forum.models import Category, PostingRight, User, Visibility
from moderation import audit
from moderation.gate import require_administrator

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
SLUG_MAX = 64
NAME_MAX = 100
DESCRIPTION_MAX = 1000
# Addresses the API's paths take for themselves (/api/v1/categories/order).
RESERVED_SLUGS = frozenset({"order"})
# The fields an edit may change, in the order summaries list them.
EDITABLE = ("name", "description", "visibility", "posting_right", "requires_approval", "archived")


def check_slug(slug: str) -> str:
    slug = slug.strip().lower()
    if not 1 <= len(slug) <= SLUG_MAX or not SLUG.fullmatch(slug):
        raise Invalid(
            _("A category's address has 1 to 64 lower-case letters, digits and single dashes."),
            field="slug",
        )
    if slug in RESERVED_SLUGS:
        raise Invalid(_("That address is reserved; choose another."), field="slug")
    return slug


def check_name(name: str) -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= NAME_MAX or "\x00" in name:
        raise Invalid(_("A category's name has 1 to 100 characters."), field="name")
    return name


def check_description(description: str) -> str:
    description = description.replace("\r\n", "\n").strip()
    if len(description) > DESCRIPTION_MAX or "\x00" in description:
        raise Invalid(_("A description has at most 1,000 characters."), field="description")
    return description


def check_visibility(value: str) -> Visibility:
    try:
        return Visibility(value)
    except ValueError:
        raise Invalid(_("Visibility is public, members or staff."), field="visibility") from None


def check_posting_right(value: str) -> PostingRight:
    try:
        return PostingRight(value)
    except ValueError:
        raise Invalid(_("Who may start topics: members or staff."), field="posting_right") from None


def _flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise Invalid(_("Expected true or false."), field=name)
    return value


def _text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise Invalid(_("Expected text."), field=name)
    return value


_CHECKS: dict[str, Callable[[object], Any]] = {
    "name": lambda v: check_name(_text(v, "name")),
    "description": lambda v: check_description(_text(v, "description")),
    "visibility": lambda v: check_visibility(_text(v, "visibility")),
    "posting_right": lambda v: check_posting_right(_text(v, "posting_right")),
    "requires_approval": lambda v: _flag(v, "requires_approval"),
    "archived": lambda v: _flag(v, "archived"),
}


def check_changes(changes: Mapping[str, object]) -> dict[str, Any]:
    """Validate an edit: any of EDITABLE, each checked (the slug cannot change)."""
    checked: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "slug":
            raise Invalid(_("A category's address cannot change."), field="slug")
        if name not in _CHECKS:
            raise Invalid(_("Unknown field: %(name)s.") % {"name": name}, field=name)
        checked[name] = _CHECKS[name](value)
    return checked


@dataclass(frozen=True)
class NewCategory:
    slug: str
    name: str
    description: str = ""
    visibility: Visibility = Visibility.MEMBERS
    posting_right: PostingRight = PostingRight.MEMBERS
    requires_approval: bool = False


def check_new_category(
    slug: str,
    name: str,
    description: str = "",
    visibility: str = Visibility.MEMBERS.value,
    posting_right: str = PostingRight.MEMBERS.value,
    requires_approval: bool = False,
) -> NewCategory:
    return NewCategory(
        slug=check_slug(slug),
        name=check_name(name),
        description=check_description(description),
        visibility=check_visibility(visibility),
        posting_right=check_posting_right(posting_right),
        requires_approval=requires_approval,
    )


def state(category: Category) -> dict[str, Any]:
    """What the audit log's before/after summaries say about a category."""
    return {
        "slug": category.slug,
        **{name: _plain(getattr(category, name)) for name in EDITABLE if name != "description"},
    }


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Visibility | PostingRight) else value


def _payload(category: Category, changed: list[str]) -> dict[str, Any]:
    return {
        "category_id": category.id,
        "slug": category.slug,
        "name": category.name,
        "visibility": category.visibility.value,
        "archived": category.archived,
        "changed": changed,
    }


async def access_category_by_id(category_id: int) -> Category:
    category = await Category.get_or_none(id=category_id)
    if category is None:
        raise NotFound(_("No such category."))
    return category


async def access_category_by_slug(slug: str) -> Category:
    category = await Category.get_or_none(slug=slug[:SLUG_MAX])
    if category is None:
        raise NotFound(_("No such category."))
    return category


async def do_create_category(actor: User | None, new: NewCategory) -> Category:
    actor = require_administrator(actor)
    duplicate = Conflict(
        _("Another category has the address “%(slug)s”.") % {"slug": new.slug}, field="slug"
    )
    if await Category.filter(slug=new.slug).exists():
        raise duplicate
    try:
        async with atomic():
            last = await Category.all().order_by("-position").first()
            category = await Category.create(
                slug=new.slug,
                name=new.name,
                description=new.description,
                visibility=new.visibility,
                posting_right=new.posting_right,
                requires_approval=new.requires_approval,
                position=(last.position if last else 0) + 1,
            )
            await audit.append(
                actor, "category.create", "category", category.id, after=state(category)
            )
            await record_event(
                "category.created",
                f"category:{category.slug}",
                _payload(category, []),
                category_id=category.id,
            )
    except IntegrityError as exc:  # the same slug created at the same instant
        raise duplicate from exc
    return category


async def _apply(actor: User, category_id: int, changes: dict[str, Any], action: str) -> Category:
    async with atomic():
        category = await Category.filter(id=category_id).select_for_update().first()
        if category is None:
            raise NotFound(_("No such category."))
        changed = [n for n in EDITABLE if n in changes and getattr(category, n) != changes[n]]
        if not changed:
            return category
        before = {n: _plain(getattr(category, n)) for n in changed}
        await Category.filter(id=category.id).update(**{n: changes[n] for n in changed})
        for name in changed:
            setattr(category, name, changes[name])
        after = {n: _plain(getattr(category, n)) for n in changed}
        await audit.append(
            actor,
            action,
            "category",
            category.id,
            data={"slug": category.slug, "changed": changed},
            before=before,
            after=after,
        )
        await record_event(
            "category.updated",
            f"category:{category.slug}",
            _payload(category, changed),
            category_id=category.id,
        )
    return category


async def do_update_category(
    actor: User | None, category: Category, changes: Mapping[str, object]
) -> Category:
    """Change any of name, description, visibility, posting right, "posts need approval"
    and archived. A visibility change takes effect on the next request and the next event."""
    actor = require_administrator(actor)
    return await _apply(actor, category.id, check_changes(changes), "category.update")


async def do_archive_category(
    actor: User | None, category: Category, archived: bool = True
) -> Category:
    """Archived: read-only (policy refuses new topics and replies); unarchive reopens it."""
    actor = require_administrator(actor)
    action = "category.archive" if archived else "category.unarchive"
    return await _apply(actor, category.id, {"archived": archived}, action)


async def _store_order(actor: User, order: list[Category], data: dict[str, Any]) -> None:
    before = [c.slug for c in sorted(order, key=lambda c: (c.position, c.id))]
    for position, each in enumerate(order, start=1):
        if each.position != position:
            await Category.filter(id=each.id).update(position=position)
            each.position = position
    after = [c.slug for c in order]
    await audit.append(
        actor, "category.reorder", "category", None, data=data, before=before, after=after
    )
    await record_event("category.reordered", "staff", {"slugs": after})


async def do_move_category(actor: User | None, category: Category, direction: str) -> None:
    """Swap a category with its neighbour in the order ("up" or "down")."""
    actor = require_administrator(actor)
    if direction not in ("up", "down"):
        raise Invalid(_("Move a category up or down."), field="direction")
    async with atomic():
        order = await Category.all().order_by("position", "id").select_for_update()
        index = next((i for i, c in enumerate(order) if c.id == category.id), None)
        if index is None:
            raise NotFound(_("No such category."))
        other = index - 1 if direction == "up" else index + 1
        if not 0 <= other < len(order):
            return
        moved = list(order)
        moved[index], moved[other] = moved[other], moved[index]
        await _store_order(actor, moved, {"slug": category.slug, "direction": direction})


async def do_order_categories(actor: User | None, slugs: list[str]) -> list[Category]:
    """Set the whole order: `slugs` names every category exactly once."""
    actor = require_administrator(actor)
    if len(set(slugs)) != len(slugs):
        raise Invalid(_("Name each category once."), field="slugs")
    async with atomic():
        order = await Category.all().order_by("position", "id").select_for_update()
        by_slug = {c.slug: c for c in order}
        unknown = [s for s in slugs if s not in by_slug]
        if unknown:
            raise Invalid(
                _("No such category: %(slugs)s.") % {"slugs": ", ".join(unknown[:5])},
                field="slugs",
            )
        missing = [c.slug for c in order if c.slug not in set(slugs)]
        if missing:
            raise Invalid(
                _("Name every category; missing: %(slugs)s.") % {"slugs": ", ".join(missing)},
                field="slugs",
            )
        ordered = [by_slug[s] for s in slugs]
        if [c.id for c in ordered] != [c.id for c in order]:
            await _store_order(actor, ordered, {})
    return ordered
