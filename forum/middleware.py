"""Pure ASGI middleware: security headers, body size limit, authentication and CSRF."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from forum import i18n, origins, policy, request_context
from forum.actions.users import do_touch_session, live_session, user_for_api_token
from forum.auth import (
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    Identity,
)
from forum.compression import CompressionMiddleware
from forum.errors import database_unavailable
from forum.i18n import N_, _
from forum.security import csrf_token, csrf_valid, new_token
from forum.settings import Settings
from moderation import sanctions

log = logging.getLogger(__name__)

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
MAX_FIELDS = 1000  # a form with more is refused (400) before anything reads it
TOO_MANY_FIELDS = N_("The form has too many fields.")  # sent as _(TOO_MANY_FIELDS)
BODILESS_METHODS = {"GET", "HEAD", "OPTIONS"}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def _is_api(scope: Scope) -> bool:
    return str(scope.get("path", "")).startswith("/api/")


def _answers_json(scope: Scope) -> bool:
    """The API and the composer's calls (forum/web/composer.py, attachments.py), which
    scripts make and which show the error's message: their refusals here are JSON too."""
    return _is_api(scope) or str(scope.get("path", "")).startswith("/composer/")


async def send_error(
    scope: Scope,
    send: Send,
    status: int,
    code: str,
    message: str,
    *,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """An error response from middleware: JSON for the API and the composer, a short page
    otherwise."""
    if _answers_json(scope):
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        content_type = b"application/json"
    else:
        from html import escape

        body = (
            f'<!doctype html><html lang="{i18n.current_language()}"><title>{status}</title>'
            f"<h1>{status}</h1><p>{escape(message)}</p>"
        ).encode()
        content_type = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", b"%d" % len(body)),
                *(extra or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# Every response carries these unless it set its own; raw, so adding them is a list append.
SECURITY_HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                if not isinstance(headers, list):
                    headers = message["headers"] = list(headers)
                present = {name.lower() for name, _value in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                ident = scope.get("state", {}).get("identity")
                if isinstance(ident, Identity) and ident.user is not None:
                    # Pages for a signed-in user are theirs alone: no cache may keep them.
                    if b"cache-control" in present:
                        headers[:] = [h for h in headers if h[0].lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                else:  # a visitor's page is in the language of the cookie or the browser
                    headers.append((b"vary", b"Accept-Language, Cookie"))
            await send(message)

        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send_with_headers(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as exc:
            if started:  # too late for an error page: the connection ends
                raise
            if database_unavailable(exc):
                log.error("database unavailable: %s: %s", type(exc).__name__, exc)
                await send_error(
                    scope,
                    send_with_headers,
                    503,
                    "unavailable",
                    _("The forum cannot reach its database just now. Try again in a minute."),
                    extra=[(b"retry-after", b"30")],
                )
                return
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            await send_error(
                scope,
                send_with_headers,
                500,
                "server_error",
                _("Something went wrong on our side. Please try again in a moment."),
            )


class HeadAsGetMiddleware:
    """HEAD never changes anything, in one place: the app sees it as a GET with no body
    (whatever the client sent is read and dropped), and the answer's body is not sent.
    Without this, a handler testing `request.method == "GET"` fell into its POST branch on a
    HEAD, and the middleware's CSRF check and body limit, which treat HEAD as safe, let it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        given = False

        async def no_body() -> Message:
            nonlocal given
            if not given:
                given = True
                return {"type": "http.request", "body": b"", "more_body": False}
            while True:  # the client's body, if any, is dropped until it goes away
                message = await receive()
                if message["type"] == "http.disconnect":
                    return message

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, no_body, headers_only)


class BodyLimitMiddleware:
    """Refuse request bodies over the limit with 413, whether announced or streamed."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        per_path: dict[str, int] | None = None,
        streamed: tuple[re.Pattern[str], Callable[[str], int]] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.per_path = per_path or {}  # larger limits for upload endpoints
        # Upload paths whose body goes to the endpoint as it arrives (knowledge/uploads.py),
        # never buffered here: only its total is capped (the limit for that path).
        self.streamed = streamed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in BODILESS_METHODS:
            await self.app(scope, receive, send)  # nothing here reads the body of a GET
            return
        length = Headers(scope=scope).get("content-length")
        if self.streamed is not None and self.streamed[0].fullmatch(scope["path"]):
            limit = self.streamed[1](scope["path"])
            await self._stream(scope, receive, send, length, limit)
            return
        max_bytes = self.per_path.get(scope["path"], self.max_bytes)
        too_large = (
            _("The request body is larger than 1 MiB.")
            if max_bytes == self.max_bytes
            else _("The upload is too large.")
        )
        if length is not None:
            try:
                announced = int(length)
            except ValueError:
                await send_error(scope, send, 400, "bad_request", _("Bad Content-Length."))
                return
            if announced > max_bytes:
                await send_error(scope, send, 413, "too_large", too_large)
                return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.extend(message.get("body", b""))
            if len(body) > max_bytes:
                await send_error(scope, send, 413, "too_large", too_large)
                return
            if not message.get("more_body", False):
                break
        # The whole body is read once here; later layers (CSRF, the endpoint) replay it.
        scope.setdefault("state", {})["body"] = bytes(body)
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _stream(
        self, scope: Scope, receive: Receive, send: Send, length: str | None, max_bytes: int
    ) -> None:
        from forum.errors import TooLarge

        too_large = _("The upload is too large.")
        if length is not None:
            if not length.isdigit():
                await send_error(scope, send, 400, "bad_request", _("Bad Content-Length."))
                return
            if int(length) > max_bytes:
                await send_error(scope, send, 413, "too_large", too_large)
                return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > max_bytes:
                raise TooLarge(too_large)  # the endpoint's handler answers 413
            return message

        await self.app(scope, counted, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


# The only cookie-less, token-less form POST: a mail client's one-click digest unsubscribe.
_ONE_CLICK = re.compile(r"/digest/unsubscribe/[0-9]{1,12}\.[0-9a-f]{64}")


def _cookies(headers: Headers) -> dict[str, str]:
    """Name/value pairs of the Cookie header (the last of a repeated name wins, as in
    Starlette's own parser).

    Our own cookies are URL-safe tokens, so no unquoting is needed; SimpleCookie costs
    tens of microseconds on every request and refuses a whole header for one odd cookie.
    """
    found: dict[str, str] = {}
    for pair in headers.get("cookie", "").split(";"):
        name, sep, value = pair.partition("=")
        name = name.strip()
        if sep and name:
            found[name] = value.strip().strip('"')
    return found


class AuthMiddleware:
    """Attach an Identity to every request and WebSocket; enforce CSRF on state changes."""

    def __init__(self, app: ASGIApp, settings: Settings, secret_key: str) -> None:
        self.app = app
        self.settings = settings
        self.secret_key = secret_key
        # FORUM_BASE_URL set: a request for another host is logged once (forum/origins.py).
        self.expected_host = (
            urlsplit(settings.base_url).netloc.lower() if settings.base_url_configured else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        # A socket keeps the identity of its handshake: nothing to remember for next time.
        http = scope["type"] == "http"
        # Pages (not the API, files or sockets) show a member the warnings waiting for them.
        page = http and scope["method"] == "GET" and not _is_api(scope)
        ident = await self._identify(headers, remember=http, page=page)
        scope.setdefault("state", {})["identity"] = ident
        i18n.set_language(ident.language)
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return

        if self.expected_host is not None:
            host = headers.get("host", "").lower()
            if host != self.expected_host and not origins.host_matches(host, self.settings.origin):
                origins.warn_once("Host", host, self.settings.origin)
        client = scope.get("client")
        request_context.client_ip.set(client[0] if client else "")
        if scope["method"] == "GET" and not _is_api(scope) and policy.is_staff(ident.user):
            from moderation.queue import pending_count

            ident.review_pending = await pending_count(ident.user)  # the header's count
        new_cookie = not ident.csrf_cookie
        if new_cookie:
            ident.csrf_cookie = new_token()
        ident.csrf_token = csrf_token(self.secret_key, ident.csrf_cookie, ident.session_key)

        if scope["method"] in UNSAFE_METHODS and not ident.via_token:
            problem = self._csrf_problem(scope, headers, ident)
            if problem == TOO_MANY_FIELDS:
                await send_error(scope, send, 400, "bad_request", _(problem))
                return
            if problem:
                await send_error(scope, send, 403, "csrf_failed", problem)
                return

        if not new_cookie:
            await self.app(scope, receive, send)
            return
        cookie = f"{CSRF_COOKIE}={ident.csrf_cookie}; Path=/; HttpOnly; SameSite=Lax"
        if self.settings.secure_cookies:
            cookie += "; Secure"

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    async def _identify(self, headers: Headers, *, remember: bool, page: bool) -> Identity:
        cookies = _cookies(headers)
        ident = await self._who(headers, cookies, remember=remember, page=page)
        # The member's setting (read with the session), else the switcher's cookie, else the
        # browser's languages: no query of its own.
        preferred = ident.user.preferred_language if ident.user is not None else None
        switched, _when = i18n.read_switcher_cookie(cookies.get(LANGUAGE_COOKIE))
        ident.language = i18n.choose(preferred, switched, headers.get("accept-language", ""))
        if ident.session is not None:  # noted at most every few minutes, with the language
            await do_touch_session(ident.session, ident.language)
        return ident

    async def _who(
        self, headers: Headers, cookies: dict[str, str], *, remember: bool, page: bool
    ) -> Identity:
        ident = Identity(csrf_cookie=cookies.get(CSRF_COOKIE, "")[:100])
        authorization = headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            user = await user_for_api_token(authorization[7:].strip(), remember=remember)
            # A suspended account is nobody, even if a token or session survived.
            ident.user = None if policy.is_suspended(user) else user
            ident.via_token = True
            return ident
        key = cookies.get(SESSION_COOKIE, "")
        if key:
            found = await live_session(key, remember=remember)
            if found is not None and not policy.is_suspended(found.session.user):
                session = ident.session = found.session
                ident.unread_notifications, ident.live_since = found.unread, found.live_since
                ident.categories_version = found.categories_version
                ident.session_key = key
                ident.user = session.user
                if found.warned and page:
                    ident.warnings = await sanctions.unseen_warnings(session.user_id)
        return ident

    def _csrf_problem(self, scope: Scope, headers: Headers, ident: Identity) -> str | None:
        if scope["method"] == "POST" and _ONE_CLICK.fullmatch(scope["path"]):
            return None  # RFC 8058 one-click unsubscribe: the signed token in the path is the proof
        submitted = headers.get(CSRF_HEADER, "")
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if _is_api(scope):
            if submitted:
                return None if self._valid(ident, submitted) else _("Bad CSRF token.")
            if ident.user is not None:
                return _("Send the X-CSRF-Token header with cookie-authenticated API calls.")
            # Anonymous JSON cannot be sent cross-site without a CORS preflight.
            if content_type not in ("application/json", ""):
                return _("API request bodies must be JSON.")
            return None
        if not submitted:
            if content_type == "application/x-www-form-urlencoded":
                body: bytes = scope.get("state", {}).get("body", b"")
                try:
                    form = parse_qs(body.decode("utf-8", "replace"), max_num_fields=MAX_FIELDS)
                except ValueError:  # more fields than any form of ours has
                    return TOO_MANY_FIELDS
                submitted = (form.get(CSRF_FIELD) or [""])[0]
            else:
                query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
                submitted = (query.get(CSRF_FIELD) or [""])[0]
        if self._valid(ident, submitted):
            return None
        return _("This form has expired or was not sent by this site. Go back, reload and retry.")

    def _valid(self, ident: Identity, submitted: str) -> bool:
        return csrf_valid(self.secret_key, ident.csrf_cookie, ident.session_key, submitted)


def middleware(settings: Settings, secret_key: str) -> list[Middleware]:
    """Outermost first: HEAD as a bodiless GET, gzip for text, headers on every response
    (errors too), then the body limit, then identity."""
    from forum.actions.profiles import AVATAR_MAX_BYTES, AVATAR_UPLOAD_PATH
    from knowledge.uploads import UPLOAD_PATHS, upload_limit

    uploads = {AVATAR_UPLOAD_PATH: AVATAR_MAX_BYTES + 64 * 1024}  # the file and its envelope
    # documents and posts' attachments: streamed to their stores
    streamed = (UPLOAD_PATHS, lambda path: upload_limit(settings, path))
    return [
        Middleware(HeadAsGetMiddleware),
        Middleware(CompressionMiddleware),  # text answers, error pages too (forum/compression.py)
        Middleware(SecurityHeadersMiddleware),
        Middleware(
            BodyLimitMiddleware,
            max_bytes=settings.max_body_bytes,
            per_path=uploads,
            streamed=streamed,
        ),
        Middleware(AuthMiddleware, settings=settings, secret_key=secret_key),
    ]
