"""Accounts, sessions and API tokens."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from tortoise.exceptions import IntegrityError

from forum.errors import Conflict, Invalid
from forum.events import atomic
from forum.i18n import _
from forum.models import ApiToken, Role, Session, User
from forum.queries.sql import as_bool, as_datetime, fetch
from forum.security import (
    dummy_verify,
    hash_password,
    needs_rehash,
    new_token,
    token_hash,
    verify_password,
)

SESSION_LIFETIME = timedelta(days=30)
MIN_PASSWORD_LENGTH = 12
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
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
            return await User.create(
                email=email,
                username=username,
                display_name=display_name,
                password_hash=hash_password(password),
                role=role,
                is_verified=is_verified or role != Role.MEMBER,
            )
    except IntegrityError as exc:
        raise Conflict(_("That email or username is already taken.")) from exc


async def authenticate(email: str, password: str) -> User | None:
    """The user with these credentials, or None; unknown emails cost the same time."""
    user = await User.get_or_none(email=normalize_email(email))
    if user is None:
        dummy_verify(password)
        return None
    if not verify_password(user.password_hash, password) or not user.is_active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        await user.save(update_fields=["password_hash"])
    return user


async def do_create_session(user: User, *, user_agent: str = "", ip: str = "") -> str:
    """Start a new session (always a new id) and return the secret for the cookie."""
    key = new_token()
    now = datetime.now(UTC)
    await Session.create(
        key_hash=token_hash(key),
        user=user,
        expires_at=now + SESSION_LIFETIME,
        user_agent=user_agent[:255],
        ip=ip[:64],
    )
    await User.filter(id=user.id).update(last_seen_at=now)
    return key


async def do_revoke_session(session_id: int) -> None:
    await Session.filter(id=session_id, revoked_at=None).update(revoked_at=datetime.now(UTC))


_SESSION_SQL = (
    "SELECT s.id, s.key_hash, s.created_at, s.last_seen_at, s.expires_at, s.user_agent, s.ip,"
    " {user_columns} FROM sessions s JOIN users u ON u.id = s.user_id"
    " WHERE s.key_hash = ? AND s.revoked_at IS NULL"
)
_BEARER_USER_SQL = (
    "SELECT {user_columns} FROM api_tokens t JOIN users u ON u.id = t.user_id"
    " WHERE t.token_hash = ? AND t.revoked_at IS NULL"
)


@lru_cache(maxsize=1)
def _user_columns() -> tuple[tuple[str, str], ...]:
    """(field, column) for every stored column of User, read from the model once Tortoise
    is initialised, so a new field can never be silently missing from the request's user."""
    return tuple(User._meta.fields_db_projection.items())


@lru_cache(maxsize=4)
def _user_sql(template: str) -> str:
    columns = ", ".join(f"u.{column} AS u_{column}" for _field, column in _user_columns())
    return template.format(user_columns=columns)


def _user_from_row(row: dict[str, Any]) -> User:
    fields_map = User._meta.fields_map
    values = {
        name: fields_map[name].to_python_value(row[f"u_{column}"])
        for name, column in _user_columns()
    }
    user = User(**values)
    user._saved_in_db = True
    return user


async def session_for_key(key: str) -> Session | None:
    """The live session behind a cookie, with its user loaded, in one query.

    Every request asks this, so it reads a plain row rather than building it through the ORM.
    """
    if not key or len(key) > 200:
        return None
    rows = await fetch(_user_sql(_SESSION_SQL), token_hash(key))
    if not rows:
        return None
    row = rows[0]
    expires_at = as_datetime(row["expires_at"])
    if expires_at is None or expires_at <= datetime.now(UTC) or not as_bool(row["u_is_active"]):
        return None
    user = _user_from_row(row)
    session = Session(
        id=row["id"],
        key_hash=row["key_hash"],
        user_id=user.id,
        created_at=as_datetime(row["created_at"]),
        last_seen_at=as_datetime(row["last_seen_at"]),
        expires_at=expires_at,
        user_agent=row["user_agent"],
        ip=row["ip"],
    )
    session._saved_in_db = True
    session.user = user
    return session


async def do_create_api_token(user: User, name: str = "") -> tuple[ApiToken, str]:
    token = "scf_" + new_token()
    record = await ApiToken.create(user=user, token_hash=token_hash(token), name=name[:100])
    return record, token


async def user_for_api_token(token: str) -> User | None:
    if not token.startswith("scf_") or len(token) > 200:
        return None
    rows = await fetch(_user_sql(_BEARER_USER_SQL), token_hash(token))
    if not rows or not as_bool(rows[0]["u_is_active"]):
        return None
    return _user_from_row(rows[0])
