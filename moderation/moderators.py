"""Administrators choose the moderators and the categories each moderates.

A moderator with no categories (`User.moderator_categories == []`) moderates every category;
with some, only those (forum.policy.moderates). Administrators moderate everything and are
never changed here. An act that narrows what someone may see or decide (a demotion, fewer
categories) records `user.access_revoked` on `user:<id>`: realtime closes that user's sockets
(they keep the identity of their handshake) and the browser reconnects with the new rights.
"""

from __future__ import annotations

from typing import Any

from forum import policy
from forum.errors import Forbidden, Invalid, NotFound
from forum.events import atomic, record_event
from forum.i18n import _
from forum.models import Category, Role, User
from moderation import audit
from moderation.gate import require_administrator

ROLES = (Role.MODERATOR.value, Role.MEMBER.value)


def check_role(value: str) -> Role:
    if value not in ROLES:
        raise Invalid(_("The role is moderator or member."), field="role")
    return Role(value)


async def categories_by_slug(slugs: list[str]) -> list[int]:
    """Category ids for slugs (a form or the API names categories by slug); unknown: 422."""
    found = {c.slug: c.id for c in await Category.filter(slug__in=slugs)}
    unknown = [s for s in slugs if s not in found]
    if unknown:
        raise Invalid(
            _("No such category: %(slugs)s.") % {"slugs": ", ".join(unknown[:5])},
            field="categories",
        )
    return sorted({found[s] for s in slugs})


def _narrows(before: tuple[Role, list[int]], after: tuple[Role, list[int]]) -> bool:
    """Does the change take away something the user could see or decide?"""
    (old_role, old_scope), (new_role, new_scope) = before, after
    if old_role == Role.MEMBER:
        return False
    if new_role == Role.MEMBER:
        return True
    if not new_scope:  # every category
        return False
    return not old_scope or not set(old_scope) <= set(new_scope)


async def _summary(role: Role, scope: list[int]) -> dict[str, Any]:
    slugs = [c.slug for c in await Category.filter(id__in=scope).order_by("position", "id")]
    if role == Role.MEMBER:
        return {"role": role.value}
    return {"role": role.value, "categories": slugs or "all"}


async def do_set_moderation(
    actor: User | None, user_id: int, role: Role, category_ids: list[int] | None = None
) -> User:
    """Make a member a moderator (of `category_ids`, or of every category when empty), change
    a moderator's categories, or make a moderator a member again."""
    actor = require_administrator(actor)
    scope = sorted(set(category_ids or [])) if role == Role.MODERATOR else []
    async with atomic():
        target = await User.filter(id=user_id).select_for_update().first()
        if target is None:
            raise NotFound(_("No such member."))
        if target.is_admin:
            raise Forbidden(_("Administrators are not made moderators or members here."))
        if role == Role.MODERATOR and target.role == Role.MEMBER and not policy.is_member(target):
            raise Invalid(_("Only an active, verified member can become a moderator."))
        if scope and await Category.filter(id__in=scope).count() != len(scope):
            raise Invalid(_("No such category."), field="categories")
        before = (target.role, list(target.moderator_categories))
        after = (role, scope)
        if before == after:
            return target
        if before[0] == after[0]:
            action = "moderator.assign"
        else:
            action = "moderator.promote" if role == Role.MODERATOR else "moderator.demote"
        await User.filter(id=target.id).update(role=role, moderator_categories=scope)
        target.role, target.moderator_categories = role, scope
        await audit.append(
            actor,
            action,
            "user",
            target.id,
            data={"username": target.username},
            before=await _summary(*before),
            after=await _summary(*after),
        )
        if _narrows(before, after):
            await record_event(
                "user.access_revoked",
                f"user:{target.id}",
                {"user_id": target.id, "reason": action},
                user_id=target.id,
            )
    return target


async def do_promote_by_username(
    actor: User | None, username: str, category_ids: list[int] | None = None
) -> User:
    """The moderators page's "promote" form names the member by username."""
    actor = require_administrator(actor)
    target = await User.get_or_none(username=username.strip()[:40])
    if target is None:
        raise Invalid(_("No member has the username “%(name)s”.") % {"name": username.strip()},
                      field="username")  # fmt: skip
    if target.is_staff:
        raise Invalid(_("%(name)s is already staff.") % {"name": target.username}, field="username")
    return await do_set_moderation(actor, target.id, Role.MODERATOR, category_ids)


async def staff_members() -> list[User]:
    """Moderators and administrators, administrators first."""
    staff = await User.filter(role__in=(Role.ADMIN, Role.MODERATOR)).order_by("username")
    return sorted(staff, key=lambda u: (u.role != Role.ADMIN, u.username))
