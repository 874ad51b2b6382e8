"""Asking for access: the public form, the email confirmation link, invitations."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from forum import policy, ratelimit
from forum.actions.membership import (
    LANGUAGES,
    Application,
    check_application,
    do_accept_invitation,
    do_apply,
    do_ask_again,
    do_confirm_email,
    do_discard_application,
)
from forum.auth import current_user
from forum.errors import BadRequest, Invalid, RateLimited
from forum.i18n import _
from forum.models import AccessRequest, AccessStatus, User
from forum.queries.administrations import all_administrations
from forum.queries.membership import access_confirmation, access_invitation, own_latest_request
from forum.settings import Settings
from forum.web.forms import parse_id, read_form, redirect
from forum.web.templating import render

# Applications from one address (IP) per hour; more answer 429.
APPLICATIONS_PER_IP = (10, timedelta(hours=1))
# Emails one mailbox can be sent by the form per day; more are silently not sent, so the
# answer stays the same for every address (known or not) and nobody can flood a mailbox.
EMAILS_PER_ADDRESS = (5, timedelta(days=1))
FIELDS = ("full_name", "email", "administration", "position", "reason", "language")


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _form_context(values: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {
        "values": values,
        "administrations": await all_administrations(),
        "languages": LANGUAGES,
        **extra,
    }


async def _application(form: dict[str, str], email: str) -> Application:
    try:
        administration_id = parse_id(form.get("administration"))
    except BadRequest:
        administration_id = None
    return await check_application(
        full_name=form.get("full_name", ""),
        email=email,
        administration_id=administration_id,
        position=form.get("position", ""),
        reason=form.get("reason", ""),
        language=form.get("language", ""),
        password=form.get("password", ""),
    )


async def _limit_by_ip(request: Request) -> None:
    ip = request.client.host if request.client else "unknown"
    limit, window = APPLICATIONS_PER_IP
    key = f"access-ip:{ip}"
    if await ratelimit.take(key, limit, window) is None:
        raise RateLimited(
            _("Too many requests from your network. Try again in an hour."),
            retry_after=await ratelimit.retry_after(key, limit, window),
        )


async def ask_again(request: Request, user: User) -> Response:
    """The form for a signed-in account outside the restricted area: its last request and the
    administrators' answer, and the way to ask again."""
    if policy.is_member(user):
        return render(request, "request_access_done.html", {"state": "logged_in"})
    latest = await own_latest_request(user)
    if latest is not None and latest.status == AccessStatus.PENDING:
        return render(request, "request_access_done.html", _waiting(latest))
    values = {
        "administration": str(user.administration_id or ""),
        "position": user.position,
        "reason": latest.reason if latest is not None else "",
    }
    context: dict[str, Any] = {"latest": latest, "lapsed": user.is_verified}
    if request.method == "POST":
        await _limit_by_ip(request)
        form = await read_form(request)
        values = {name: form.get(name, "")[:4000] for name in values}
        try:
            administration_id = parse_id(values["administration"])
        except BadRequest:
            administration_id = None
        try:
            asked = await do_ask_again(
                _settings(request), user, administration_id, values["position"], values["reason"]
            )
        except Invalid as exc:
            context = await _form_context(values, error=exc, **context)
            return render(request, "request_access_again.html", context, status=422)
        return render(request, "request_access_done.html", _waiting(asked))
    return render(request, "request_access_again.html", await _form_context(values, **context))


async def request_access(request: Request) -> Response:
    user = current_user(request)
    if user is not None:
        return await ask_again(request, user)
    values = {name: "" for name in FIELDS} | {"language": "en"}
    if request.method == "GET":
        return render(request, "request_access.html", await _form_context(values))
    await _limit_by_ip(request)
    form = await read_form(request)
    values = {name: form.get(name, "")[:4000] for name in FIELDS}
    try:
        application = await _application(form, form.get("email", ""))
    except Invalid as exc:
        context = await _form_context(values, error=exc)
        return render(request, "request_access.html", context, status=422)
    limit, window = EMAILS_PER_ADDRESS
    if await ratelimit.take(f"access-email:{application.email}", limit, window) is not None:
        await do_apply(_settings(request), application)
    return redirect("/request-access/sent")


async def request_sent(request: Request) -> Response:
    return render(request, "request_access_sent.html")


async def confirm(request: Request) -> Response:
    """GET shows what is being confirmed (mail scanners that follow links confirm nothing);
    the buttons POST: confirm, or discard an application that is not yours."""
    secret = request.path_params["token"]
    if request.method == "GET":
        pending = await access_confirmation(secret)
        context = {
            "request_": pending.request,
            "administration": pending.administration,
            "token": secret,
        }
        return render(request, "request_access_confirm.html", context)
    form = await read_form(request)
    if form.get("action") == "discard":
        await do_discard_application(secret)
        return render(request, "request_access_done.html", {"state": "discarded"})
    access_request = await do_confirm_email(_settings(request), secret)
    return render(request, "request_access_done.html", _waiting(access_request))


def _waiting(access_request: AccessRequest) -> dict[str, Any]:
    return {"state": "waiting", "email": access_request.email}


async def invitation(request: Request) -> Response:
    secret = request.path_params["token"]
    invited = await access_invitation(secret)
    email = invited.request.email
    if request.method == "GET":
        values = {
            "full_name": invited.request.full_name,
            "email": email,
            "administration": str(invited.request.administration_id or ""),
            "position": "",
            "reason": "",
            "language": "en",
        }
        context = await _form_context(values, invitation_token=secret)
        return render(request, "request_access.html", context)
    form = await read_form(request)
    values = {name: form.get(name, "")[:4000] for name in FIELDS} | {"email": email}
    try:
        application = await _application(form, email)
        access_request = await do_accept_invitation(_settings(request), secret, application)
    except Invalid as exc:
        context = await _form_context(values, error=exc, invitation_token=secret)
        return render(request, "request_access.html", context, status=422)
    return render(request, "request_access_done.html", _waiting(access_request))
