"""The single permission gate: who sees and does what, by category visibility and role."""

from __future__ import annotations

from forum import policy
from forum.models import Category, PostingRight, Role, User, Visibility


def user(
    role: Role = Role.MEMBER,
    *,
    verified: bool = True,
    active: bool = True,
    two_factor: bool | None = None,
) -> User:
    """Staff have two-factor authentication on unless `two_factor=False`."""
    enrolled = role != Role.MEMBER if two_factor is None else two_factor
    return User(
        id=1, username="u", role=role, is_verified=verified, is_active=active, totp_enabled=enrolled
    )


def category(visibility: Visibility, right: PostingRight = PostingRight.MEMBERS) -> Category:
    return Category(id=1, slug="c", visibility=visibility, posting_right=right)


def test_who_sees_each_visibility() -> None:
    viewers = {
        "anonymous": None,
        "unverified": user(verified=False),
        "member": user(),
        "suspended member": user(active=False),
        "moderator": user(Role.MODERATOR),
        "admin": user(Role.ADMIN),
        # Without two-factor authentication staff have a member's rights, nothing more.
        "moderator without 2FA": user(Role.MODERATOR, two_factor=False),
        "admin without 2FA": user(Role.ADMIN, two_factor=False),
    }
    expected = {
        Visibility.PUBLIC: set(viewers),
        Visibility.MEMBERS: {
            "member", "moderator", "admin", "moderator without 2FA", "admin without 2FA"
        },
        Visibility.STAFF: {"moderator", "admin"},
    }  # fmt: skip
    for visibility, allowed in expected.items():
        seen = {
            name for name, v in viewers.items() if policy.can_see_category(v, category(visibility))
        }
        assert seen == allowed, visibility


def test_posting_rights() -> None:
    announcements = category(Visibility.MEMBERS, PostingRight.STAFF)
    welcome = category(Visibility.PUBLIC)
    assert not policy.can_create_topic(user(), announcements)
    assert policy.can_create_topic(user(Role.ADMIN), announcements)
    assert not policy.can_create_topic(user(Role.ADMIN, two_factor=False), announcements)
    assert policy.can_create_topic(user(), welcome)
    assert not policy.can_create_topic(user(verified=False), welcome)
    assert not policy.can_create_topic(None, welcome)
