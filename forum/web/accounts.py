"""Logging in (password, then a two-factor code when the account has it) and out.

Between the two steps no session exists: the browser holds a short-lived signed cookie naming
the user, bound to its CSRF cookie and to the current password, valid for five minutes.
"""

from __future__ import annotations

import hmac
import time
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from forum import policy
from forum.actions.logins import do_check_second_factor, do_log_in_with_password
from forum.actions.users import do_create_session, do_revoke_session
from forum.auth import clear_session_cookie, identity, session_cookie
from forum.errors import RateLimited, retry_headers
from forum.i18n import _
from forum.inputs import ascii_digits
from forum.models import User
from forum.security import sign, token_hash
from forum.web.forms import read_form, redirect, safe_next
from forum.web.language import keep_switcher_choice
from forum.web.templating import render
from moderation.sanctions import Suspended, check_not_suspended

MAX_PASSWORD = 1024  # longer passwords cannot exist (see forum.actions.users.check_password)
PENDING_COOKIE = "forum_login_2fa"
PENDING_PATH = "/login/2fa"
PENDING_LIFETIME = 5 * 60


def _notice(code: str) -> str | None:
    """A fixed message named in the query string (never the query's own text)."""
    if code == "password_reset":
        return _("Your password has been changed. Log in with the new one.")
    if code == "login_expired":
        return _("That login took too long. Please start again.")
    return None


def _pending_signature(request: Request, user_id: int, expires: int, password_hash: str) -> str:
    return sign(
        request.app.state.secret_key,
        "login-2fa",
        str(user_id),
        str(expires),
        identity(request).csrf_cookie,
        token_hash(password_hash),
    )


def _pending_cookie(request: Request, value: str, max_age: int) -> str:
    cookie = (
        f"{PENDING_COOKIE}={value}; Path={PENDING_PATH}; Max-Age={max_age}; HttpOnly; SameSite=Lax"
    )
    return cookie + ("; Secure" if request.app.state.settings.secure_cookies else "")


async def _pending_user(request: Request) -> User | None:
    """The user whose password step this browser passed within the last five minutes."""
    value = request.cookies.get(PENDING_COOKIE, "")
    parts = value.split(".")
    if len(value) > 200 or not value.isascii() or len(parts) != 3:
        return None
    if not (0 < len(parts[0]) <= 10 and ascii_digits(parts[0]) and 0 < len(parts[1]) <= 12):
        return None
    if not ascii_digits(parts[1]):
        return None
    user_id, expires, signature = int(parts[0]), int(parts[1]), parts[2]
    if expires < time.time() or not 0 < user_id <= 2**31 - 1:
        return None
    user = await User.get_or_none(id=user_id)
    if user is None or not user.is_active or not user.totp_enabled:
        return None
    expected = _pending_signature(request, user_id, expires, user.password_hash)
    return user if hmac.compare_digest(expected, signature) else None


SECURITY_NOTICE = "/account/security?notice=staff_login"


async def _start_session(request: Request, user: User, next_url: str) -> Response:
    key = await do_create_session(
        user,
        user_agent=request.headers.get("user-agent", ""),
        ip=request.client.host if request.client else "",
        language=await keep_switcher_choice(request, user),
    )
    ident = identity(request)
    if ident.session is not None:  # logging in again replaces the old session
        await do_revoke_session(ident.session.id)
    response = redirect(next_url)
    secure = request.app.state.settings.secure_cookies
    response.headers.append("set-cookie", session_cookie(key, secure=secure))
    return response


async def login(request: Request) -> Response:
    ident = identity(request)
    if request.method == "GET":
        next_url = safe_next(request.query_params.get("next"))
        if ident.user is not None:
            return redirect(next_url)
        notice = _notice(request.query_params.get("notice", ""))
        return render(request, "login.html", {"next": next_url, "email": "", "notice": notice})
    form = await read_form(request)
    next_url = safe_next(form.get("next"))
    email = form.get("email", "").strip()[:254]
    password = form.get("password", "")
    if len(password) > MAX_PASSWORD:
        password = ""  # cannot be right, and still counts as a failed attempt
    try:
        user = await do_log_in_with_password(email, password)
    except (RateLimited, Suspended) as exc:
        context = {"next": next_url, "email": email, "error": exc.message}
        refusal = render(request, "login.html", context, status=exc.status)
        refusal.headers.update(retry_headers(exc))
        return refusal
    if user is None:
        # The same answer whether the email is unknown or the password wrong.
        context = {"next": next_url, "email": email, "error": _("Wrong email or password.")}
        return render(request, "login.html", context, status=400)
    if not user.totp_enabled:
        if policy.has_staff_role(user):
            # Staff without 2FA have a member's rights only: told so at once, set-up at hand.
            where = f"{SECURITY_NOTICE}&next={quote(next_url, safe='/')}"
            return await _start_session(request, user, where)
        return await _start_session(request, user, next_url)
    expires = int(time.time()) + PENDING_LIFETIME
    signature = _pending_signature(request, user.id, expires, user.password_hash)
    response = redirect(f"{PENDING_PATH}?next={quote(next_url, safe='/')}")
    value = f"{user.id}.{expires}.{signature}"
    response.headers.append("set-cookie", _pending_cookie(request, value, PENDING_LIFETIME))
    return response


async def login_code(request: Request) -> Response:
    """The second step: a code from the authenticator app, or a backup code."""
    user = await _pending_user(request)
    if user is None:
        return redirect("/login?notice=login_expired")
    if request.method == "GET":
        next_url = safe_next(request.query_params.get("next"))
        return render(request, "login_code.html", {"next": next_url})
    form = await read_form(request)
    next_url = safe_next(form.get("next"))
    try:
        accepted = await do_check_second_factor(user, form.get("code", "")[:40])
        if accepted:
            await check_not_suspended(user)  # suspended since the password step
    except (RateLimited, Suspended) as exc:
        context = {"next": next_url, "error": exc.message}
        refusal = render(request, "login_code.html", context, status=exc.status)
        refusal.headers.update(retry_headers(exc))
        return refusal
    if not accepted:
        error = _("That code is not right, or was already used.")
        return render(request, "login_code.html", {"next": next_url, "error": error}, 400)
    response = await _start_session(request, user, next_url)
    response.headers.append("set-cookie", _pending_cookie(request, "", 0))
    return response


async def logout(request: Request) -> Response:
    ident = identity(request)
    if ident.session is not None:
        await do_revoke_session(ident.session.id)
    response = redirect("/")
    secure = request.app.state.settings.secure_cookies
    response.headers.append("set-cookie", clear_session_cookie(secure=secure))
    return response
