"""The one gate of every moderation act: staff with two-factor authentication, in scope.

    actor = require_moderator(user, category.id)   # before anything is read or written

- someone who is not staff: Forbidden (403);
- a moderator or administrator without two-factor authentication: TwoFactorSetupRequired
  (403 `two_factor_setup_required`; pages redirect to the security page);
- a category moderator asking about a category they do not moderate: NotFound (404), as for
  a thing that does not exist.
Pass `category_id=None` for acts that belong to no category (sanctions, the queue's counts).
"""

from __future__ import annotations

from forum import policy
from forum.actions.twofactor import check_staff_two_factor
from forum.errors import Forbidden, NotFound
from forum.i18n import _
from forum.models import User


def require_moderator(user: User | None, category_id: int | None = None) -> User:
    if not policy.has_staff_role(user):
        raise Forbidden(_("Only moderators and administrators may do this."))
    assert user is not None
    check_staff_two_factor(user)
    if category_id is not None and not policy.moderates(user, category_id):
        raise NotFound(_("Nothing here."))
    return user


def require_administrator(user: User | None) -> User:
    actor = require_moderator(user)
    if not actor.is_admin:
        raise Forbidden(_("Only administrators may do this."))
    return actor
