"""Who is asking: the identity a request carries (session cookie or bearer token)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection

from forum.errors import NotAuthenticated
from forum.i18n import _
from forum.models import Session, User

SESSION_COOKIE = "forum_session"
CSRF_COOKIE = "forum_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


@dataclass
class Identity:
    user: User | None = None
    session: Session | None = None
    session_key: str = ""
    via_token: bool = False
    csrf_cookie: str = ""
    csrf_token: str = ""


def identity(conn: HTTPConnection) -> Identity:
    ident = conn.scope.get("state", {}).get("identity")
    return ident if isinstance(ident, Identity) else Identity()


def current_user(conn: HTTPConnection) -> User | None:
    return identity(conn).user


def require_user(conn: HTTPConnection) -> User:
    user = identity(conn).user
    if user is None:
        raise NotAuthenticated(_("Log in first."))
    return user
