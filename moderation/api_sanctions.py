"""API: sanctions on members, for staff with two-factor authentication.

POST /api/v1/users/{user_id}/sanctions   {"kind", "reason", "until": ISO-8601 or null}
GET  /api/v1/users/{user_id}/sanctions
POST /api/v1/sanctions/{sanction_id}/lift  {"reason"}
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from forum.api.bodies import NO_NUL, NOT_BLANK
from forum.api.operation import ApiRoute, operation
from forum.api.parsing import BodySpec, Text, path_id, read_body
from forum.api.serializers import iso, user_json
from forum.auth import require_user
from forum.i18n import N_, _
from forum.models import Sanction
from moderation.gate import require_moderator
from moderation.sanctions import (
    KINDS,
    REASON_MAX,
    SanctionEntry,
    do_lift_sanction,
    do_sanction,
    in_force,
    list_sanctions,
    parse_iso,
)

V1 = "/api/v1"

SANCTION_KIND = Text(
    "kind",
    max_length=16,
    choices=KINDS,
    description="warn: a note shown once; silence: may not post, react or flag;"
    " suspend: may not log in, every session and token ends.",
)
REASON = Text(
    "reason",
    min_length=1,
    max_length=REASON_MAX,
    pattern=NOT_BLANK,
    pattern_message=N_("Give the reason: the member is shown it."),
    description="Required; the member is shown it.",
)
UNTIL = Text(
    "until",
    max_length=40,
    pattern=NO_NUL,
    nullable=True,
    description="When a silence or suspension ends: an ISO-8601 date and time in the future"
    " (no offset: UTC). Null or absent: until lifted. Ignored for a warning.",
)
NEW_SANCTION = BodySpec("NewSanction", required=(SANCTION_KIND, REASON), optional=(UNTIL,))
SANCTION_LIFT = BodySpec("SanctionLift", required=(REASON,))

STAFF_NOTE = (
    " Staff with two-factor authentication only (403 `two_factor_setup_required` without it)."
)


def sanction_json(entry: SanctionEntry) -> dict[str, Any]:
    s = entry.sanction
    return {
        "id": s.id,
        "user_id": s.user_id,
        "kind": str(s.kind),
        "reason": s.reason,
        "until": iso(s.until),
        "created_at": iso(s.created_at),
        "created_by": user_json(s.created_by) if s.created_by else None,
        "lifted_at": iso(s.lifted_at),
        "lifted_by": user_json(s.lifted_by) if s.lifted_by else None,
        "lift_reason": entry.lift_reason or None,
        "seen_at": iso(s.seen_at),
        "in_force": entry.in_force,
    }


async def _entry(sanction: Sanction, lift_reason: str = "") -> SanctionEntry:
    await sanction.fetch_related("created_by", "lifted_by")
    return SanctionEntry(sanction, in_force(sanction), lift_reason)


@operation(
    "Warn, silence or suspend a member",
    tag="moderation",
    response="Sanction",
    status=201,
    body=NEW_SANCTION,
    auth="required",
    errors=(400, 401, 403, 404, 409, 413, 422),
    description="Moderators and administrators cannot be sanctioned (409)." + STAFF_NOTE,
)
async def create_sanction(request: Request) -> Response:
    actor = require_moderator(require_user(request))  # the gate before anything is read
    user_id = path_id(request, "user_id", _("No such member."))
    body = await read_body(request, NEW_SANCTION)
    raw_until = body.get_optional(UNTIL)
    until: datetime | None = parse_iso(raw_until) if raw_until else None
    sanction = await do_sanction(actor, user_id, body.get(SANCTION_KIND), body.get(REASON), until)
    return JSONResponse(sanction_json(await _entry(sanction)), status_code=201)


@operation(
    "A member's sanctions, newest first",
    tag="moderation",
    response="SanctionList",
    auth="required",
    errors=(401, 403, 404),
    description=STAFF_NOTE.strip(),
)
async def list_user_sanctions(request: Request) -> Response:
    actor = require_moderator(require_user(request))  # the gate before anything is read
    user_id = path_id(request, "user_id", _("No such member."))
    _target, entries = await list_sanctions(actor, user_id)
    return JSONResponse(
        {"user_id": user_id, "sanctions": [sanction_json(entry) for entry in entries]}
    )


@operation(
    "Lift a sanction early (or withdraw a warning not yet seen)",
    tag="moderation",
    response="Sanction",
    body=SANCTION_LIFT,
    auth="required",
    errors=(400, 401, 403, 404, 409, 413, 422),
    description="A sanction already lifted or ended is a 409." + STAFF_NOTE,
)
async def lift_sanction(request: Request) -> Response:
    actor = require_moderator(require_user(request))  # the gate before anything is read
    sanction_id = path_id(request, "sanction_id", _("No such sanction."))
    body = await read_body(request, SANCTION_LIFT)
    reason = body.get(REASON)
    sanction = await do_lift_sanction(actor, sanction_id, reason)
    return JSONResponse(sanction_json(await _entry(sanction, reason.strip())))


routes: list[BaseRoute] = [
    ApiRoute(f"{V1}/users/{{user_id}}/sanctions", GET=list_user_sanctions, POST=create_sanction),
    ApiRoute(f"{V1}/sanctions/{{sanction_id}}/lift", POST=lift_sanction),
]
