"""The gate of every staff page and staff form action.

Call it first, before reading the form or the database:

    async def review_queue(request: Request) -> Response:
        user = require_staff(request)      # or require_admin(request)
        ...

It raises, and the app's error handler answers:
- NotAuthenticated for a visitor: a redirect to the login page (back here after a GET);
- Forbidden for anyone who is not a moderator or an administrator: a 403 page;
- TwoFactorSetupRequired for staff without two-factor authentication: a redirect to
  /account/security, which says why (the API answers the same error as a 403).
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

from forum import policy
from forum.actions.twofactor import check_staff_two_factor
from forum.auth import require_user
from forum.errors import Forbidden
from forum.i18n import _
from forum.models import User


def require_staff(request: HTTPConnection) -> User:
    """The moderator or administrator making this request, with two-factor authentication on."""
    user = require_user(request)
    if not policy.has_staff_role(user):
        raise Forbidden(_("Only moderators and administrators may do this."))
    check_staff_two_factor(user)
    return user


def require_admin(request: HTTPConnection) -> User:
    """Like require_staff, for administrators only."""
    user = require_staff(request)
    if not policy.is_admin(user):
        raise Forbidden(_("Only administrators may do this."))
    return user
