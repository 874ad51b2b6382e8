"""Administrators' audit log pages: `/admin/audit` (filtered, newest first, paged by cursor)
and `/admin/audit.csv` (the same filters, every matching row). Administrators with two-factor
authentication only (`require_admin`); a filter that cannot be right is a 400 that re-shows
the form as typed."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from forum.errors import BadRequest
from forum.models import AuditLog
from forum.web.exports import csv_cell
from forum.web.staff import require_admin
from forum.web.templating import render
from moderation.audit_log import (
    FILTER_FIELDS,
    AuditFilter,
    audit_page,
    export_rows,
    known_actions,
    parse_audit_cursor,
    parse_audit_filter,
)
from moderation.audit_targets import describe

CSV_COLUMNS = (
    "id",
    "time",
    "actor",
    "actor_id",
    "action",
    "target_type",
    "target_id",
    "reason",
    "before",
    "after",
    "ip",
    "data",
    "prev_hash",
    "hash",
)


async def audit(request: Request) -> Response:
    require_admin(request)
    typed = {name: request.query_params.get(name, "")[:100] for name in FILTER_FIELDS}
    context: dict[str, Any] = {"values": typed, "actions": await known_actions()}
    try:
        wanted = parse_audit_filter(request.query_params)
        before = parse_audit_cursor(request.query_params.get("cursor"))
    except BadRequest as exc:
        context.update(error=exc, page=None, wanted=AuditFilter())
        return render(request, "admin/audit.html", context, status=exc.status)
    page = await audit_page(wanted, before)
    targets = await describe(page.entries)
    context.update(page=page, wanted=wanted, first_page=before is None, targets=targets)
    return render(request, "admin/audit.html", context)


def _csv_line(values: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([csv_cell(value) for value in values])
    return out.getvalue()


def _csv_row(row: AuditLog) -> list[str]:
    return [
        str(row.id),
        row.created_at.astimezone(UTC).isoformat(),
        row.actor.username if row.actor else "",
        str(row.actor_id or ""),
        row.action,
        row.target_type,
        str(row.target_id or ""),
        row.reason,
        row.before,
        row.after,
        row.ip,
        json.dumps(row.data, sort_keys=True, ensure_ascii=False),
        row.prev_hash,
        row.hash,
    ]


async def _csv(wanted: AuditFilter) -> AsyncIterator[str]:
    yield _csv_line(list(CSV_COLUMNS))
    async for row in export_rows(wanted):
        yield _csv_line(_csv_row(row))


async def audit_csv(request: Request) -> Response:
    require_admin(request)
    wanted = parse_audit_filter(request.query_params)  # BadRequest: the 400 error page
    return StreamingResponse(
        _csv(wanted),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )


routes: list[BaseRoute] = [
    Route("/admin/audit", audit, methods=["GET"]),
    Route("/admin/audit.csv", audit_csv, methods=["GET"]),
]
