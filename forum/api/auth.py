"""Logging in and out with a session cookie, API tokens for scripts, and who am I."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from forum.actions.logins import do_check_second_factor, do_log_in_with_password
from forum.actions.users import (
    do_create_api_token,
    do_create_session,
    do_revoke_api_token,
    do_revoke_session,
)
from forum.api.bodies import (
    CREDENTIALS,
    EMAIL,
    NEW_TOKEN,
    PASSWORD,
    TOKEN_NAME,
    TWO_FACTOR_CODE,
)
from forum.api.operation import operation
from forum.api.parsing import Body, path_id, read_body
from forum.api.serializers import me_json
from forum.auth import (
    clear_session_cookie,
    csrf_for_session,
    identity,
    require_user,
    session_cookie,
)
from forum.errors import BadRequest, Forbidden, NotAuthenticated, TwoFactorCodeNeeded
from forum.i18n import _
from forum.models import ApiToken, User
from forum.origins import allowed
from forum.queries.sessions import list_api_tokens
from forum.web.language import keep_switcher_choice

TWO_FACTOR_NOTE = (
    " Five failed attempts within 30 minutes (wrong passwords or codes) lock the account for"
    " a while: any further attempt is answered 429. Accounts with two-factor authentication"
    " also send `code`; without it the answer is a 401 `two_factor_code_needed`."
)


async def _check_credentials(body: Body) -> User:
    user = await do_log_in_with_password(body.get(EMAIL), body.get(PASSWORD))
    if user is None:
        # The same answer whether or not the email exists.
        raise NotAuthenticated(_("Wrong email or password."))
    if user.totp_enabled:
        code = body.get_optional(TWO_FACTOR_CODE)
        if not code:
            raise TwoFactorCodeNeeded(
                _("This account uses two-factor authentication: send its code as `code`.")
            )
        if not await do_check_second_factor(user, code):
            raise NotAuthenticated(_("That code is not right, or was already used."))
    return user


def _check_same_origin_json(request: Request) -> None:
    """A cookie login only from our own pages: JSON (a cross-site form cannot send it without
    a CORS preflight, which we never grant) and, when the browser names its origin, ours.
    Otherwise another site could log a visitor into an account of its choosing."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise BadRequest(_("Send the credentials as JSON (Content-Type: application/json)."))
    origin = request.headers.get("origin")
    settings = request.app.state.settings
    host = request.headers.get("host")
    if origin is not None and not allowed(
        origin, host, settings.origin, configured=settings.base_url_configured
    ):
        raise Forbidden(_("Log in from the forum's own pages."))


@operation(
    "Log in: sets the session cookie and returns the CSRF token for later writes",
    tag="auth",
    response="Login",
    body=CREDENTIALS,
    auth="none",
    errors=(400, 401, 403, 413, 422, 429),
    description="Cookie-authenticated writes must send the token in the X-CSRF-Token header."
    " The body must be JSON, and a request with an `Origin` header must come from the forum's"
    " own origin (403 otherwise)." + TWO_FACTOR_NOTE,
)
async def login(request: Request) -> Response:
    _check_same_origin_json(request)
    body = await read_body(request, CREDENTIALS)
    user = await _check_credentials(body)
    current = identity(request).session
    if current is not None:
        await do_revoke_session(current.id)
    key = await do_create_session(
        user,
        user_agent=request.headers.get("user-agent", ""),
        ip=request.client.host if request.client else "",
        language=await keep_switcher_choice(request, user),
    )
    response = JSONResponse({"user": me_json(user), "csrf_token": csrf_for_session(request, key)})
    secure = request.app.state.settings.secure_cookies
    response.headers.append("set-cookie", session_cookie(key, secure=secure))
    return response


@operation(
    "Log out: ends the current cookie session (API tokens stay valid)",
    tag="auth",
    response=None,
    status=204,
    auth="required",
    errors=(401, 403),
)
async def logout(request: Request) -> Response:
    require_user(request)
    current = identity(request).session
    if current is not None:
        await do_revoke_session(current.id)
    response = Response(status_code=204)
    secure = request.app.state.settings.secure_cookies
    response.headers.append("set-cookie", clear_session_cookie(secure=secure))
    return response


@operation(
    "Create an API token for scripts (send it as Authorization: Bearer <token>)",
    tag="auth",
    response="Token",
    status=201,
    body=NEW_TOKEN,
    auth="none",
    errors=(400, 401, 403, 413, 422, 429),
    description="The token is shown once; only its hash is stored." + TWO_FACTOR_NOTE,
)
async def create_token(request: Request) -> Response:
    body = await read_body(request, NEW_TOKEN)
    user = await _check_credentials(body)
    record, token = await do_create_api_token(user, body.get_optional(TOKEN_NAME) or "")
    return JSONResponse({"id": record.id, "name": record.name, "token": token}, status_code=201)


@operation("The current user", tag="auth", response="Me", auth="required", errors=(401,))
async def me(request: Request) -> Response:
    return JSONResponse(me_json(require_user(request)))


def _token_json(token: ApiToken) -> dict[str, object]:
    return {
        "id": token.id,
        "name": token.name,
        "created_at": token.created_at.isoformat(),
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
    }


@operation(
    "Your live API tokens (names and dates; the tokens themselves are never shown again)",
    tag="auth",
    response="TokenList",
    auth="required",
    errors=(401,),
)
async def list_tokens(request: Request) -> Response:
    user = require_user(request)
    return JSONResponse({"tokens": [_token_json(t) for t in await list_api_tokens(user.id)]})


@operation(
    "Revoke one of your API tokens",
    tag="auth",
    response=None,
    status=204,
    auth="required",
    errors=(401, 403, 404),
)
async def revoke_token(request: Request) -> Response:
    user = require_user(request)
    await do_revoke_api_token(user, path_id(request, "token_id", _("No such token.")))
    return Response(status_code=204)
