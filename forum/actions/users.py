"""Accounts, sessions and API tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from tortoise.exceptions import IntegrityError

from forum.errors import Conflict, Invalid, NotFound
from forum.events import atomic, record_event
from forum.i18n import _
from forum.models import ApiToken, Role, Session, User
from forum.queries.categories import CATEGORIES_VERSION_SQL
from forum.queries.sql import (
    as_bool,
    as_datetime,
    attach,
    fetch,
    from_row,
    on_postgres,
    select_list,
)
from forum.security import (
    dummy_verify,
    hash_password,
    is_common_password,
    needs_rehash,
    new_token,
    token_hash,
    verify_password,
)
from search import index as search_index

SESSION_LIFETIME = timedelta(days=30)
# A session's last_seen_at is written at most this often, so a page read is rarely a write.
SESSION_TOUCH_INTERVAL = timedelta(minutes=5)
MIN_PASSWORD_LENGTH = 12
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")
_USERNAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{1,38}[A-Za-z0-9_]$")


def normalize_email(email: str) -> str:
    return "".join(email.split()).lower()


def check_email(email: str) -> str:
    email = normalize_email(email)
    if len(email) > 254 or not _EMAIL.match(email):
        raise Invalid(_("Enter a valid email address."), field="email")
    return email


def check_username(username: str) -> str:
    username = username.strip()
    if not _USERNAME.match(username):
        raise Invalid(
            _("A username has 3 to 40 letters, digits, dots, dashes or underscores."),
            field="username",
        )
    return username


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(_("A password needs at least 12 characters."), field="password")
    if len(password) > 1024:
        raise Invalid(_("That password is too long."), field="password")
    if is_common_password(password):
        raise Invalid(
            _("That password is on a list of common passwords. Choose a harder one."),
            field="password",
        )
    return password


async def do_create_user(
    *,
    email: str,
    username: str,
    password: str,
    display_name: str = "",
    role: Role = Role.MEMBER,
    is_verified: bool = False,
) -> User:
    email = check_email(email)
    username = check_username(username)
    check_password(password)
    display_name = display_name.strip()[:120] or username
    try:
        async with atomic():
            user = await User.create(
                email=email,
                username=username,
                display_name=display_name,
                password_hash=hash_password(password),
                role=role,
                is_verified=is_verified or role != Role.MEMBER,
            )
            await search_index.index_member(user.id)  # listed once verified (search/query.py)
            return user
    except IntegrityError as exc:
        raise Conflict(_("That email or username is already taken.")) from exc


async def authenticate(email: str, password: str) -> User | None:
    """The user with these credentials, or None; unknown emails cost the same time."""
    email = normalize_email(email)
    # No account has such an email, and PostgreSQL would refuse a NUL in the query.
    user = None if len(email) > 254 or "\x00" in email else await User.get_or_none(email=email)
    if user is None:
        dummy_verify(password)
        return None
    if not verify_password(user.password_hash, password) or not user.is_active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        await user.save(update_fields=["password_hash"])
    return user


async def do_create_session(
    user: User, *, user_agent: str = "", ip: str = "", language: str = ""
) -> str:
    """Start a new session (always a new id) and return the secret for the cookie;
    `language` is the one its pages will be in."""
    key = new_token()
    now = datetime.now(UTC)
    await Session.create(
        key_hash=token_hash(key),
        user=user,
        expires_at=now + SESSION_LIFETIME,
        user_agent=user_agent[:255],
        ip=ip[:64],
    )
    await User.filter(id=user.id).update(last_seen_at=now, **_seen(language))
    if language:
        user.seen_language = language
    return key


async def _sessions_ended(user_id: int, session_ids: list[int]) -> None:
    """Tell live connections (realtime closes their sockets) which sessions ended."""
    await record_event(
        "session.revoked",
        f"user:{user_id}",
        {"user_id": user_id, "ended_sessions": session_ids},
        user_id=user_id,
    )


async def do_revoke_session(session_id: int) -> None:
    """End a session (logging out, or logging in again over it)."""
    async with atomic():
        session = await Session.get_or_none(id=session_id, revoked_at=None)
        if session is None:
            return
        await Session.filter(id=session_id).update(revoked_at=datetime.now(UTC))
        await _sessions_ended(session.user_id, [session_id])


async def do_revoke_own_session(user: User, session_id: int) -> None:
    """End one of the user's own live sessions; anyone else's is simply not found."""
    async with atomic():
        ended = await Session.filter(id=session_id, user_id=user.id, revoked_at=None).update(
            revoked_at=datetime.now(UTC)
        )
        if not ended:
            raise NotFound(_("No such session."))
        await _sessions_ended(user.id, [session_id])


async def do_revoke_api_token(user: User, token_id: int) -> None:
    """Revoke one of the user's own API tokens; anyone else's is simply not found."""
    async with atomic():
        revoked = await ApiToken.filter(id=token_id, user_id=user.id, revoked_at=None).update(
            revoked_at=datetime.now(UTC)
        )
        if not revoked:
            raise NotFound(_("No such token."))


async def revoke_api_tokens(user_id: int) -> int:
    """Revoke every live API token of a user (inside the caller's transaction)."""
    return await ApiToken.filter(user_id=user_id, revoked_at=None).update(
        revoked_at=datetime.now(UTC)
    )


async def do_revoke_sessions(user: User, *, keep: int | None = None) -> list[int]:
    """End every live session of the user but `keep` (inside the caller's transaction);
    returns the ids that ended."""
    sessions = Session.filter(user_id=user.id, revoked_at=None)
    if keep is not None:
        sessions = sessions.exclude(id=keep)
    ended: list[int] = [session.id for session in await sessions.only("id")]
    if ended:
        await Session.filter(id__in=ended).update(revoked_at=datetime.now(UTC))
        await _sessions_ended(user.id, ended)
    return ended


async def do_touch_session(session: Session, language: str = "") -> None:
    """Note that a session is in use, at most once per SESSION_TOUCH_INTERVAL, and the
    language its pages were in (the emails' language of a member whose setting is automatic:
    `User.mail_language`)."""
    now = datetime.now(UTC)
    if session.last_seen_at is not None and now - session.last_seen_at < SESSION_TOUCH_INTERVAL:
        return
    await Session.filter(id=session.id).update(last_seen_at=now)
    await User.filter(id=session.user_id).update(last_seen_at=now, **_seen(language))
    session.last_seen_at = now


def _seen(language: str) -> dict[str, str]:
    return {"seen_language": language} if language else {}


_SESSION_SQL = (
    "SELECT {session_columns}, {user_columns},"
    # A warning waiting to be shown (moderation/sanctions.py): asked here, so no page pays a
    # query of its own for it.
    " EXISTS (SELECT 1 FROM sanctions w WHERE w.user_id = u.id AND w.kind = 'warn'"
    " AND w.seen_at IS NULL AND w.lifted_at IS NULL) AS unseen_warning,"
    # The header's unread notifications badge (notifications/notify.py), asked here too.
    " (SELECT COUNT(*) FROM notifications n WHERE n.user_id = u.id AND n.read_at IS NULL)"
    " AS unread_notifications,"
    # The newest event's id, for live pages (forum.queries.live): read here, before anything
    # a page shows, it costs them no query (the MAX of the primary key is one index probe).
    " (SELECT MAX(id) FROM events) AS live_since,"
    # PostgreSQL: the categories' version, so that category and home pages need not read
    # them when they have not changed (forum.queries.categories.all_categories).
    " {categories_version} AS categories_version"
    " FROM sessions s JOIN users u ON u.id = s.user_id"
    " WHERE s.key_hash = ? AND s.revoked_at IS NULL"
)
_BEARER_USER_SQL = (
    "SELECT {user_columns} FROM api_tokens t JOIN users u ON u.id = t.user_id"
    " WHERE t.token_hash = ? AND t.revoked_at IS NULL"
)


@lru_cache(maxsize=8)
def _sql(template: str, postgres: bool = False) -> str:
    # Every stored column, read from the models once Tortoise is initialised, so a new field
    # can never be silently missing from the request's user.
    return template.format(
        session_columns=select_list(Session, "s", "s_"),
        user_columns=select_list(User, "u", "u_"),
        categories_version=CATEGORIES_VERSION_SQL if postgres else "NULL",
    )


async def session_for_key(key: str, *, remember: bool = True) -> Session | None:
    """The live session behind a cookie, with its user loaded, in one query."""
    found = await live_session(key, remember=remember)
    return found.session if found is not None else None


@dataclass(frozen=True)
class LiveSession:
    """What the session statement reads besides the session and its user."""

    session: Session
    warned: bool  # a warning waits to be shown
    unread: int  # unread notifications
    live_since: int  # the newest event's id
    categories_version: str | None  # PostgreSQL: see CATEGORIES_VERSION_SQL (SQLite: None)


async def live_session(key: str, *, remember: bool = True) -> LiveSession | None:
    """The live session behind a cookie, with its user loaded, whether a warning waits
    for the user, their unread notifications, the newest event's id and (PostgreSQL) the
    categories' version, in one query.

    Every request asks this, so it reads a plain row rather than building it through the ORM.
    `remember=False` as in user_for_api_token.
    """
    if not key or len(key) > 200:
        return None
    rows = await fetch(_sql(_SESSION_SQL, on_postgres()), token_hash(key), remember=remember)
    if not rows:
        return None
    row = rows[0]
    expires_at = as_datetime(row["s_expires_at"])
    if expires_at is None or expires_at <= datetime.now(UTC) or not as_bool(row["u_is_active"]):
        return None
    session = from_row(Session, row, "s_", memo=remember)
    attach(session, "user", from_row(User, row, "u_", memo=remember))
    return LiveSession(
        session,
        as_bool(row["unseen_warning"]),
        int(row["unread_notifications"] or 0),
        int(row["live_since"] or 0),
        row["categories_version"],
    )


async def do_create_api_token(user: User, name: str = "") -> tuple[ApiToken, str]:
    token = "scf_" + new_token()
    record = await ApiToken.create(user=user, token_hash=token_hash(token), name=name[:100])
    return record, token


async def user_for_api_token(token: str, *, remember: bool = True) -> User | None:
    """The active user behind an API token. `remember=False` for a lookup that will not come
    again soon (a WebSocket handshake: the socket keeps its user), so it fills no cache."""
    if not token.startswith("scf_") or len(token) > 200:
        return None
    rows = await fetch(_sql(_BEARER_USER_SQL), token_hash(token), remember=remember)
    if not rows or not as_bool(rows[0]["u_is_active"]):
        return None
    return from_row(User, rows[0], "u_", memo=remember)
