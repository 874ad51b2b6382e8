"""API: a member's notifications.

GET  /api/v1/notifications?cursor=    newest first
POST /api/v1/notifications/read       {"ids": [..]} or {"all": true}
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from forum.api.operation import ApiRoute, operation
from forum.api.parsing import ID_MAX, BodySpec, Field, Flag, query_cursor, read_body
from forum.api.serializers import iso
from forum.auth import require_user
from forum.errors import Invalid
from forum.i18n import _
from notifications import notify
from notifications.listing import NotificationRow, list_notifications

V1 = "/api/v1"


class IdList(Field[list[int]]):
    def __init__(self, name: str, *, max_items: int, description: str = "") -> None:
        super().__init__(name, description=description)
        self.max_items = max_items

    def parse(self, value: object) -> list[int]:
        if not isinstance(value, list) or len(value) > self.max_items:
            raise self.invalid(_("{name} must be a list of at most 200 ids."))
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise self.invalid(_("{name} must be a list of ids."))
        return [int(v) for v in value if 0 < v <= ID_MAX]

    def schema(self) -> dict[str, Any]:
        return {
            "type": "array",
            "maxItems": self.max_items,
            "items": {"type": "integer", "minimum": 1, "maximum": ID_MAX},
        }


IDS = IdList("ids", max_items=200, description="Mark these notifications read.")
ALL = Flag("all", description="true: mark every notification read.")
MARK_READ = BodySpec("NotificationsRead", optional=(IDS, ALL), at_least_one=True)


def notification_json(row: NotificationRow) -> dict[str, Any]:
    n = row.note
    return {
        "id": n.id,
        "kind": n.kind,
        "text": row.text,
        "topic_id": n.topic_id,
        "topic_title": row.title or None,
        "post_id": n.post_id,
        "url": row.url,
        "count": n.count,
        "created_at": iso(n.created_at),
        "read_at": iso(n.read_at),
    }


@operation(
    "Your notifications, newest first",
    tag="notifications",
    response="NotificationList",
    auth="required",
    query=("cursor",),
    errors=(400, 401),
)
async def get_notifications(request: Request) -> Response:
    user = require_user(request)
    found = await list_notifications(user, cursor=query_cursor(request))
    unread = (await notify.unread_counts([user.id])).get(user.id, 0)
    return JSONResponse(
        {
            "notifications": [notification_json(r) for r in found.rows],
            "unread": unread,
            "next_cursor": found.next_cursor,
        }
    )


@operation(
    "Mark notifications read",
    tag="notifications",
    response="NotificationsMarked",
    body=MARK_READ,
    auth="required",
    errors=(400, 401, 403, 413, 422),
    description='Send `{"ids": [...]}` for some, or `{"all": true}` for every one.',
)
async def mark_notifications_read(request: Request) -> Response:
    user = require_user(request)
    body = await read_body(request, MARK_READ)
    every = body.get_optional(ALL)
    ids = body.get_optional(IDS)
    if not every and ids is None:
        raise Invalid(_("Send ids, or all: true."), field="ids")
    changed = await notify.do_mark_read(user, None if every else (ids or []))
    unread = (await notify.unread_counts([user.id])).get(user.id, 0)
    return JSONResponse({"marked": changed, "unread": unread})


routes: list[BaseRoute] = [
    ApiRoute(f"{V1}/notifications", GET=get_notifications),
    ApiRoute(f"{V1}/notifications/read", POST=mark_notifications_read),
]
