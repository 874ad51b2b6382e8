"""Who is asking: the identity a request carries (session cookie or bearer token)."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import HTTPConnection

from forum.errors import NotAuthenticated, NotFound
from forum.i18n import _
from forum.models import Sanction, Session, User

SESSION_COOKIE = "forum_session"
CSRF_COOKIE = "forum_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
LANGUAGE_COOKIE = "lang"  # the header switcher's choice, for visitors and members alike


@dataclass
class Identity:
    user: User | None = None
    session: Session | None = None
    session_key: str = ""
    via_token: bool = False
    csrf_cookie: str = ""
    csrf_token: str = ""
    unread_notifications: int = 0  # the header's badge (read with the session)
    review_pending: int = 0  # staff pages: items waiting in the viewer's review queue
    # Warnings to show on this page (moderation/sanctions.py); a rendered page marks them seen.
    warnings: list[Sanction] = field(default_factory=list)
    language: str = "en"  # the pages' language (forum.i18n.choose), also the request's context
    # The newest event's id, read with the session before anything the page shows (None: no
    # session was read); live pages hand it to live.js (forum.queries.live.live_since).
    live_since: int | None = None
    # PostgreSQL: the categories' version, read with the session (None: not read); the home
    # and category pages keep the categories by it (forum.queries.categories.all_categories).
    categories_version: str | None = None


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


def require_member(conn: HTTPConnection) -> User:
    """A verified member of the restricted area: a visitor is sent to log in (401), any other
    account gets the 404 of a page that does not exist."""
    from forum import policy

    user = require_user(conn)
    if not policy.is_member(user):
        raise NotFound(_("Not found."))
    return user


def session_cookie(key: str, *, secure: bool, max_age: int = 30 * 86400) -> str:
    """The Set-Cookie value that carries a new session."""
    cookie = f"{SESSION_COOKIE}={key}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax"
    return cookie + ("; Secure" if secure else "")


def clear_session_cookie(*, secure: bool) -> str:
    return session_cookie("", secure=secure, max_age=0)


def csrf_for_session(conn: HTTPConnection, session_key: str) -> str:
    """The CSRF token a page must carry once a login has put `session_key` in the cookie."""
    from forum.security import csrf_token

    ident = identity(conn)
    secret: str = conn.app.state.secret_key
    return csrf_token(secret, ident.csrf_cookie, session_key)
