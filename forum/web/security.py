"""The security page: password, two-factor authentication, and live sessions."""

from __future__ import annotations

from typing import Any

import segno
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from forum.actions.logins import do_check_second_factor
from forum.actions.passwords import do_change_password
from forum.actions.twofactor import (
    do_disable_two_factor,
    do_enable_two_factor,
    do_regenerate_backup_codes,
    do_start_two_factor,
    provisioning_uri,
)
from forum.actions.users import do_revoke_api_token, do_revoke_own_session
from forum.auth import clear_session_cookie, identity, require_user
from forum.errors import ForumError, Invalid
from forum.i18n import _
from forum.models import User
from forum.queries.sessions import list_api_tokens, list_live_sessions, unused_backup_codes
from forum.web.forms import path_id, read_form, redirect, safe_next
from forum.web.templating import render

PAGE = "/account/security"
MAX_FIELD = 1024


def _notice(code: str) -> str | None:
    """A fixed message named in the query string (never the query's own text)."""
    notices = {
        "password_changed": _("Your password has been changed. Your other sessions have ended."),
        "session_revoked": _("That session has ended."),
        "token_revoked": _("That API token no longer works."),
        "two_factor_off": _("Two-factor authentication is off."),
        "staff_two_factor": _(
            "Moderators and administrators must turn on two-factor authentication"
            " before using staff pages. Set it up below."
        ),
        "staff_login": _(
            "You are logged in. Your account is a moderator's or an administrator's, and staff"
            " powers (the review queue, moderation, administration) need two-factor"
            " authentication: until you turn it on below, you have a member's rights only."
        ),
    }
    return notices.get(code)


def qr_code(uri: str) -> Markup:
    """The otpauth:// address as a QR code: inline SVG made here (segno), so no image is
    fetched and the secret never leaves the page. Black on white, whatever the theme."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=4, dark="#000", light="#fff")
    return Markup(svg)  # noqa: S704 - segno's own markup: paths, no text of ours


def _grouped(secret: str) -> str:
    """The secret in groups of four, easier to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


async def _page(
    request: Request,
    user: User,
    *,
    status: int = 200,
    section: str = "",
    error: ForumError | None = None,
) -> Response:
    ident = identity(request)
    context: dict[str, Any] = {
        "sessions": await list_live_sessions(user.id),
        "tokens": await list_api_tokens(user.id),
        "current_session_id": ident.session.id if ident.session else None,
        "notice": _notice(request.query_params.get("notice", "")),
        "section": section,
        "error": error,
        "backup_codes_left": await unused_backup_codes(user) if user.totp_enabled else 0,
        "setup_secret": "",
        "setup_uri": "",
    }
    if not user.totp_enabled and user.totp_secret:
        context["setup_secret"] = _grouped(user.totp_secret)
        context["setup_uri"] = provisioning_uri(user)
        context["setup_qr"] = qr_code(context["setup_uri"])
    if request.query_params.get("notice") == "staff_login":
        context["continue_url"] = safe_next(request.query_params.get("next"))
    return render(request, "security.html", context, status=status)


async def security_page(request: Request) -> Response:
    return await _page(request, require_user(request))


async def change_password(request: Request) -> Response:
    user = require_user(request)
    form = await read_form(request)
    new = form.get("password", "")[: MAX_FIELD + 1]
    try:
        if new != form.get("password_confirm", "")[: MAX_FIELD + 1]:
            raise Invalid(_("The two new passwords are not the same."), field="password")
        current_session = identity(request).session
        await do_change_password(
            user,
            form.get("current_password", "")[: MAX_FIELD + 1],
            new,
            keep_session=current_session.id if current_session else None,
        )
    except ForumError as exc:
        return await _page(request, user, status=exc.status, section="password", error=exc)
    return redirect(f"{PAGE}?notice=password_changed")


async def revoke_session(request: Request) -> Response:
    user = require_user(request)
    session_id = path_id(request)
    await do_revoke_own_session(user, session_id)
    current = identity(request).session
    if current is not None and current.id == session_id:
        response = redirect("/")
        secure = request.app.state.settings.secure_cookies
        response.headers.append("set-cookie", clear_session_cookie(secure=secure))
        return response
    return redirect(f"{PAGE}?notice=session_revoked")


async def revoke_token(request: Request) -> Response:
    user = require_user(request)
    await do_revoke_api_token(user, path_id(request))
    return redirect(f"{PAGE}?notice=token_revoked#tokens")


async def start_two_factor(request: Request) -> Response:
    user = require_user(request)
    try:
        await do_start_two_factor(user)
    except ForumError as exc:
        return await _page(request, user, status=exc.status, section="two_factor", error=exc)
    return redirect(f"{PAGE}#two-factor")


def _backup_codes(request: Request, codes: list[str]) -> Response:
    return render(request, "backup_codes.html", {"codes": codes})


async def enable_two_factor(request: Request) -> Response:
    user = require_user(request)
    form = await read_form(request)
    try:
        codes = await do_enable_two_factor(user, form.get("code", "")[:40])
    except ForumError as exc:
        return await _page(request, user, status=exc.status, section="two_factor", error=exc)
    return _backup_codes(request, codes)


async def _second_factor(user: User, form: dict[str, str]) -> None:
    """Refuse (Invalid, or RateLimited after too many failures) unless a code is right."""
    if not await do_check_second_factor(user, form.get("code", "")[:40]):
        raise Invalid(_("That code is not right, or was already used."), field="code")


async def disable_two_factor(request: Request) -> Response:
    user = require_user(request)
    form = await read_form(request)
    try:
        if not user.totp_enabled:
            raise Invalid(_("Two-factor authentication is off."), field="code")
        await _second_factor(user, form)
        await do_disable_two_factor(user)
    except ForumError as exc:
        return await _page(request, user, status=exc.status, section="two_factor", error=exc)
    return redirect(f"{PAGE}?notice=two_factor_off")


async def new_backup_codes(request: Request) -> Response:
    user = require_user(request)
    form = await read_form(request)
    try:
        if not user.totp_enabled:
            raise Invalid(_("Two-factor authentication is off."), field="code")
        await _second_factor(user, form)
        codes = await do_regenerate_backup_codes(user)
    except ForumError as exc:
        return await _page(request, user, status=exc.status, section="two_factor", error=exc)
    return _backup_codes(request, codes)
