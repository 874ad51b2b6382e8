"""Pages: a member's sanctions (history, a form to add one, lift buttons), for staff with 2FA.

GET  /u/{username}/sanctions          the history and the form
POST /u/{username}/sanctions          warn, silence or suspend (kind, reason, duration/until)
POST /sanctions/{id}/lift             lift one early (reason)
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from forum import policy
from forum.errors import Conflict, Invalid, NotFound
from forum.i18n import _
from forum.models import Sanction, User
from forum.web.forms import path_id, read_form, redirect
from forum.web.staff import require_staff
from forum.web.templating import render
from moderation.sanctions import (
    DURATIONS,
    KINDS,
    do_lift_sanction,
    do_sanction,
    list_sanctions,
    until_from_form,
    until_text,
)

NOTICES = {"created", "lifted"}
EMPTY = {"kind": "warn", "reason": "", "duration": "7d", "until": ""}


def duration_text(duration: str) -> str:
    labels = {
        "1h": _("1 hour"),
        "1d": _("1 day"),
        "3d": _("3 days"),
        "7d": _("7 days"),
        "30d": _("30 days"),
        "90d": _("90 days"),
    }
    return labels.get(duration, duration)


def _page_url(user: User) -> str:
    return f"/u/{quote(user.username, safe='')}/sanctions"


async def _target(username: str) -> User:
    user = await User.get_or_none(username=username[:40])
    if user is None:
        raise NotFound(_("No such member."))
    return user


async def _page(
    request: Request,
    actor: User,
    target: User,
    *,
    values: dict[str, str] | None = None,
    error: Exception | None = None,
    error_id: int | None = None,
    status: int = 200,
) -> Response:
    _user, entries = await list_sanctions(actor, target.id)
    done = request.query_params.get("done", "")
    context: dict[str, Any] = {
        "member": target,
        "entries": entries,
        "values": values or EMPTY,
        "kinds": KINDS,
        "durations": list(DURATIONS),
        "error": error,
        "error_id": error_id,
        "done": done if done in NOTICES else "",
        "page_url": _page_url(target),
        "silenced": policy.is_silenced(target),
        "suspended": policy.is_suspended(target),
        "until_text": until_text,
        "duration_text": duration_text,
    }
    return render(request, "moderation/sanctions.html", context, status=status)


async def user_sanctions(request: Request) -> Response:
    actor = require_staff(request)
    target = await _target(request.path_params["username"])
    if request.method == "GET":
        return await _page(request, actor, target)
    form = await read_form(request)
    values = {name: form.get(name, default)[:2100] for name, default in EMPTY.items()}
    try:
        until = until_from_form(values["duration"], values["until"])
        await do_sanction(actor, target.id, values["kind"], values["reason"], until)
    except (Invalid, Conflict) as exc:
        return await _page(request, actor, target, values=values, error=exc, status=exc.status)
    return redirect(_page_url(target) + "?done=created")


async def lift(request: Request) -> Response:
    actor = require_staff(request)
    sanction = await Sanction.get_or_none(id=path_id(request))
    if sanction is None:
        raise NotFound(_("No such sanction."))
    target = await User.get(id=sanction.user_id)
    form = await read_form(request)
    try:
        await do_lift_sanction(actor, sanction.id, form.get("reason", ""))
    except (Invalid, Conflict) as exc:
        return await _page(
            request, actor, target, error=exc, error_id=sanction.id, status=exc.status
        )
    return redirect(_page_url(target) + "?done=lifted")


routes: list[BaseRoute] = [
    Route("/u/{username}/sanctions", user_sanctions, methods=["GET", "POST"]),
    Route("/sanctions/{id:int}/lift", lift, methods=["POST"]),
]
