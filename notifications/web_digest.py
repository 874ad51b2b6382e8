"""Pages of the digest: the member's choices, the one-click unsubscribe, the admin preview."""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from forum.auth import require_user
from forum.errors import Invalid, NotFound
from forum.i18n import N_, _
from forum.models import User
from forum.settings import Settings
from forum.web.forms import read_form, redirect
from forum.web.staff import require_admin
from forum.web.templating import render
from notifications import digest

PAGE = "/account/digest"
WEEKDAYS = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)  # shown as _(day)
_ZONES: list[str] = []


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def zones() -> list[str]:
    if not _ZONES:
        _ZONES.extend(sorted(available_timezones()))
    return _ZONES


def _values(user: User) -> dict[str, str]:
    return {
        "frequency": str(user.digest_frequency),
        "weekday": str(user.digest_weekday),
        "hour": str(user.digest_hour),
        "timezone": user.timezone,
    }


async def preferences(request: Request) -> Response:
    """When the member gets their digest: daily, weekly (which day) or never, at which hour."""
    user = require_user(request)
    context: dict[str, Any] = {
        "values": _values(user),
        "weekdays": [_(day) for day in WEEKDAYS],
        "zones": zones(),
        "saved": request.query_params.get("saved") == "1",
    }
    if request.method == "GET":
        return render(request, "account_digest.html", context)
    form = await read_form(request)
    values = {
        name: form.get(name, "")[:64] for name in ("frequency", "weekday", "hour", "timezone")
    }
    try:
        await digest.do_set_digest_preferences(
            user, values["frequency"], values["weekday"], values["hour"], values["timezone"]
        )
    except Invalid as exc:
        return render(
            request, "account_digest.html", {**context, "values": values, "error": exc}, exc.status
        )
    return redirect(f"{PAGE}?saved=1")


async def unsubscribe(request: Request) -> Response:
    """GET shows a button and changes nothing (mail scanners follow links); POST (RFC 8058
    one-click, no cookie, no CSRF token: the signed token is the proof) turns digests off."""
    token = request.path_params["token"]
    user_id = digest.user_id_from_token(_settings(request).resolved_secret_key(), token)
    if user_id is None:
        raise NotFound(_("This unsubscribe link is not valid."))
    if request.method == "GET":
        return render(request, "digest_unsubscribe.html", {"token": token, "done": False})
    if not await digest.do_unsubscribe_digest(user_id):
        raise NotFound(_("This unsubscribe link is not valid."))
    return render(request, "digest_unsubscribe.html", {"token": token, "done": True})


async def admin_preview(request: Request) -> Response:
    """The next digest of any member, exactly as they would get it (asked as them); nothing
    is queued."""
    require_admin(request)
    username = request.query_params.get("user", "")[:40]
    member = await User.get_or_none(username=username) if username else None
    mail = None
    if member is not None:
        mail = await digest.preview(_settings(request), member)
    context = {"username": username, "member": member, "mail": mail}
    return render(request, "admin/digest_preview.html", context)


routes: list[BaseRoute] = [
    Route(PAGE, preferences, methods=["GET", "POST"]),
    Route("/digest/unsubscribe/{token}", unsubscribe, methods=["GET", "POST"]),
    Route("/admin/digest-preview", admin_preview, methods=["GET"]),
]
