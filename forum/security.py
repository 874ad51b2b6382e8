"""Passwords, secret tokens and CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
COMMON_PASSWORDS = Path(__file__).resolve().parent / "data" / "common-passwords.txt"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of leaked and guessable passwords (lowercase), read once."""
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line)


def is_common_password(password: str) -> bool:
    return password.lower() in common_passwords()


# A hash to verify against when an email is unknown, so both paths cost the same time.
_DUMMY_HASH = ""


def dummy_verify(password: str) -> None:
    global _DUMMY_HASH
    if not _DUMMY_HASH:
        _DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
    verify_password(_DUMMY_HASH, password)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign(secret_key: str, purpose: str, *parts: str) -> str:
    """An HMAC over `parts` for one purpose, so a signature made for one use fits no other."""
    message = "\x1f".join((purpose, *parts)).encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


@lru_cache(maxsize=4096)  # asked on every request with the same browser's cookie and session
def csrf_token(secret_key: str, csrf_cookie: str, session_key: str = "") -> str:
    """The token a form or header must carry: bound to the browser's CSRF cookie and session."""
    message = f"{csrf_cookie}:{session_key}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def csrf_valid(secret_key: str, csrf_cookie: str, session_key: str, submitted: str) -> bool:
    if not csrf_cookie or not submitted:
        return False
    return hmac.compare_digest(csrf_token(secret_key, csrf_cookie, session_key), submitted)
