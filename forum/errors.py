"""Errors an action or query raises; the web and API layers turn them into responses."""

from __future__ import annotations

import logging


class ForumError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self, message: str, *, field: str | None = None, detail: dict[str, object] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.detail = detail  # the API adds it to the error (e.g. an item as it now is)


class Invalid(ForumError):
    status = 422
    code = "invalid"


class BadRequest(ForumError):
    status = 400
    code = "bad_request"


class NotAuthenticated(ForumError):
    status = 401
    code = "not_authenticated"


class Forbidden(ForumError):
    status = 403
    code = "forbidden"


class NotFound(ForumError):
    status = 404
    code = "not_found"


class BadLink(NotFound):
    """A link from an email (confirmation, invitation, reset) that does not work: its message
    is for the visitor who followed it, so the page says it rather than offering to log in."""

    visitor_message = True


class Conflict(ForumError):
    status = 409
    code = "conflict"


class Held(ForumError):
    """Not an error: the post or topic was kept for a moderator's approval. Endpoints answer
    with what the author sees; anything that forgets still answers 202 with the message."""

    status = 202
    code = "awaiting_approval"

    def __init__(self, message: str, *, item_id: int) -> None:
        super().__init__(message, detail={"review_item": item_id})
        self.item_id = item_id


class TopicMerged(ForumError):
    """The topic was merged into another: its addresses redirect there (301 for reads, 308
    for writes, which keep their method and body). The API answers with this error's body and
    a Location header."""

    status = 301
    code = "topic_merged"

    def __init__(self, message: str, *, topic_id: int, into: int) -> None:
        super().__init__(message)
        self.topic_id = topic_id
        self.into = into


class TooLarge(ForumError):
    status = 413
    code = "too_large"


class RateLimited(ForumError):
    """Too many attempts; `retry_after` says in how many seconds one will be taken again (it
    becomes the Retry-After header)."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(retry_after, 1)


class TwoFactorCodeNeeded(NotAuthenticated):
    """The password was right; the account also wants a code from its authenticator app."""

    code = "two_factor_code_needed"


class TwoFactorSetupRequired(Forbidden):
    """Staff must turn on two-factor authentication before using staff powers. Pages answer
    with a redirect to the security page; the API with this 403."""

    code = "two_factor_setup_required"


def retry_headers(exc: ForumError) -> dict[str, str]:
    """The headers a refusal carries: Retry-After for a rate limit (RFC 9110), else none."""
    if isinstance(exc, RateLimited):
        return {"retry-after": str(exc.retry_after)}
    return {}


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) says the database is out of reach or out of space,
    not that a statement was wrong: a 503, worth retrying, rather than a 500."""
    seen: BaseException | None = exc
    for _depth in range(5):
        if seen is None:
            return False
        name = type(seen).__name__
        text = str(seen).lower()
        if isinstance(seen, ConnectionError | TimeoutError) or name in _UNAVAILABLE_ERRORS:
            return True
        if any(phrase in text for phrase in _UNAVAILABLE_PHRASES):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


_UNAVAILABLE_ERRORS = frozenset(
    {
        "DBConnectionError",  # tortoise
        "ConnectionDoesNotExistError",  # asyncpg
        "CannotConnectNowError",
        "ConnectionFailureError",
        "AdminShutdownError",
        "InterfaceError",
        "TooManyConnectionsError",
    }
)
_UNAVAILABLE_PHRASES = (
    "database or disk is full",
    "disk i/o error",
    "database is locked",
    "connection was closed",
    "connection refused",
    "the database system is starting up",
    "the database system is shutting down",
    "terminating connection",
)


def log_failure(logger: logging.Logger, message: str, exc: BaseException) -> None:
    """Log a background round's failure: one line when the database is out of reach (a loop
    retrying every few seconds would print a traceback each time for as long as the outage
    lasts), with the traceback otherwise."""
    if database_unavailable(exc):
        logger.error("%s: database unavailable: %s: %s", message, type(exc).__name__, exc)
    else:
        logger.error(message, exc_info=exc)
