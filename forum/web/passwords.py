"""Forgot your password: ask for a link by email, then set a new password through it.

Asking always gets the same page, whether or not an account uses the email; the link goes
through the outbox (sent outside the request), so the answer does not wait for the mail server.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum.actions.passwords import do_request_password_reset, do_reset_password
from forum.errors import Invalid, NotFound, RateLimited, retry_headers
from forum.i18n import _
from forum.queries.tokens import access_reset_token
from forum.web.forms import read_form, redirect
from forum.web.templating import render

MAX_PASSWORD = 1024


def _private(response: Response) -> Response:
    """Pages whose URL holds a reset secret: never cached, never sent on as a referrer."""
    response.headers["cache-control"] = "no-store"
    response.headers["referrer-policy"] = "no-referrer"
    return response


async def forgot_password(request: Request) -> Response:
    if request.method == "GET":
        return render(request, "password_forgot.html", {"email": ""})
    form = await read_form(request)
    email = form.get("email", "").strip()[:254]
    ip = request.client.host if request.client else ""
    try:
        await do_request_password_reset(request.app.state.settings, email, ip)
    except (Invalid, RateLimited) as exc:
        context = {"email": email, "error": exc.message}
        response = render(request, "password_forgot.html", context, status=exc.status)
        response.headers.update(retry_headers(exc))
        return response
    return render(request, "password_forgot_sent.html")


def _invalid_link(request: Request, message: str) -> Response:
    return _private(render(request, "password_reset_invalid.html", {"message": message}, 400))


async def reset_password(request: Request) -> Response:
    secret = str(request.path_params["token"])
    try:
        await access_reset_token(secret)
    except NotFound as exc:
        return _invalid_link(request, exc.message)
    if request.method == "GET":
        return _private(render(request, "password_reset.html", {"token": secret}))
    form = await read_form(request)
    password, confirm = form.get("password", ""), form.get("password_confirm", "")
    try:
        if password != confirm:
            raise Invalid(_("The two passwords are not the same."), field="password")
        await do_reset_password(secret, password[: MAX_PASSWORD + 1])
    except Invalid as exc:
        context = {"token": secret, "error": exc.message}
        return _private(render(request, "password_reset.html", context, status=422))
    except NotFound as exc:  # spent by a concurrent request
        return _invalid_link(request, exc.message)
    return redirect("/login?notice=password_reset")
