"""Logging in and out with a form and a session cookie."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum.actions.users import authenticate, do_create_session, do_revoke_session
from forum.auth import clear_session_cookie, identity, session_cookie
from forum.i18n import _
from forum.web.forms import read_form, redirect, safe_next
from forum.web.templating import render

MAX_PASSWORD = 1024  # longer passwords cannot exist (see forum.actions.users.check_password)


async def login(request: Request) -> Response:
    ident = identity(request)
    if request.method == "GET":
        next_url = safe_next(request.query_params.get("next"))
        if ident.user is not None:
            return redirect(next_url)
        return render(request, "login.html", {"next": next_url, "email": ""})
    form = await read_form(request)
    next_url = safe_next(form.get("next"))
    email = form.get("email", "").strip()[:254]
    password = form.get("password", "")
    user = await authenticate(email, password) if len(password) <= MAX_PASSWORD else None
    if user is None:
        # The same answer whether the email is unknown or the password wrong.
        context = {"next": next_url, "email": email, "error": _("Wrong email or password.")}
        return render(request, "login.html", context, status=400)
    key = await do_create_session(
        user,
        user_agent=request.headers.get("user-agent", ""),
        ip=request.client.host if request.client else "",
    )
    if ident.session is not None:  # logging in again replaces the old session
        await do_revoke_session(ident.session.id)
    response = redirect(next_url)
    secure = request.app.state.settings.secure_cookies
    response.headers.append("set-cookie", session_cookie(key, secure=secure))
    return response


async def logout(request: Request) -> Response:
    ident = identity(request)
    if ident.session is not None:
        await do_revoke_session(ident.session.id)
    response = redirect("/")
    secure = request.app.state.settings.secure_cookies
    response.headers.append("set-cookie", clear_session_cookie(secure=secure))
    return response
