"""What administrators read from the audit log: filtered, newest first, a page at a time or
all of it as CSV. Read-only: the one writer is `moderation.audit.append`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from tortoise.queryset import QuerySet

from forum.errors import BadRequest
from forum.i18n import _
from forum.inputs import ascii_digits
from forum.models import AuditLog
from forum.pagination import decode_cursor, encode_cursor

PAGE_SIZE = 50
EXPORT_BATCH = 500
MAX_ID = 2**31 - 1
FILTER_FIELDS = ("actor", "action", "target_type", "target_id", "from", "to")


@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""  # a username
    action: str = ""
    target_type: str = ""
    target_id: int | None = None
    since: date | None = None  # inclusive, UTC
    until: date | None = None  # inclusive, UTC

    def params(self) -> dict[str, str]:
        values = {
            "actor": self.actor,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": str(self.target_id) if self.target_id is not None else "",
            "from": self.since.isoformat() if self.since else "",
            "to": self.until.isoformat() if self.until else "",
        }
        return {key: value for key, value in values.items() if value}

    def query_string(self, **extra: str) -> str:
        params = {**self.params(), **extra}
        return "?" + urlencode(params) if params else ""


def _text(params: Mapping[str, str], name: str, longest: int, label: str) -> str:
    value = (params.get(name) or "").strip()
    if len(value) > longest:
        message = _("%(field)s has at most %(num)d characters.") % {"field": label, "num": longest}
        raise BadRequest(message, field=name)
    return value


def _date(params: Mapping[str, str], name: str) -> date | None:
    value = (params.get(name) or "").strip()
    if not value:
        return None
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        message = _("“%(value)s” is not a date: write it as YYYY-MM-DD.") % {"value": value[:20]}
        raise BadRequest(message, field=name) from None


def parse_audit_filter(params: Mapping[str, str]) -> AuditFilter:
    """Filters from a query string; a value that cannot be right is a 400 naming its field."""
    actor = _text(params, "actor", 40, _("A username"))
    action = _text(params, "action", 50, _("An action"))
    target_type = _text(params, "target_type", 30, _("A target type"))
    raw_id = (params.get("target_id") or "").strip()
    target_id = None
    if raw_id:
        if not ascii_digits(raw_id) or len(raw_id) > 10 or not 0 < int(raw_id) <= MAX_ID:
            raise BadRequest(_("A target id is a positive whole number."), field="target_id")
        target_id = int(raw_id)
    since, until = _date(params, "from"), _date(params, "to")
    if since and until and since > until:
        raise BadRequest(_("The start date is after the end date."), field="from")
    return AuditFilter(actor, action, target_type, target_id, since, until)


def parse_audit_cursor(value: str | None) -> int | None:
    """The last row seen on the previous page (an opaque cursor), or None for the first."""
    if not value:
        return None
    (before,) = decode_cursor(value, int)
    return int(before)


def _filtered(wanted: AuditFilter) -> QuerySet[AuditLog]:
    query = AuditLog.all()
    if wanted.actor:
        query = query.filter(actor__username__iexact=wanted.actor)
    if wanted.action:
        query = query.filter(action=wanted.action)
    if wanted.target_type:
        query = query.filter(target_type=wanted.target_type)
    if wanted.target_id is not None:
        query = query.filter(target_id=wanted.target_id)
    if wanted.since:
        query = query.filter(created_at__gte=datetime.combine(wanted.since, time(), UTC))
    if wanted.until and wanted.until < date.max:
        end = datetime.combine(wanted.until + timedelta(days=1), time(), UTC)
        query = query.filter(created_at__lt=end)
    return query


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditLog]
    next_cursor: str | None


async def audit_page(
    wanted: AuditFilter, before: int | None = None, limit: int = PAGE_SIZE
) -> AuditPage:
    """Newest first (ids follow the chain, so time), `limit` rows after the cursor."""
    query = _filtered(wanted)
    if before is not None:
        query = query.filter(id__lt=before)
    entries = await query.select_related("actor").order_by("-id").limit(limit + 1)
    more = len(entries) > limit
    entries = entries[:limit]
    return AuditPage(entries, encode_cursor(entries[-1].id) if more and entries else None)


async def known_actions() -> list[str]:
    """Every action the log holds, for the filter's suggestions."""
    actions = await AuditLog.all().distinct().order_by("action").values_list("action", flat=True)
    return [str(action) for action in actions]


async def export_rows(wanted: AuditFilter) -> AsyncIterator[AuditLog]:
    """The whole filtered log, newest first, read in batches (it may be long)."""
    before: int | None = None
    while True:
        page = await audit_page(wanted, before, EXPORT_BATCH)
        for row in page.entries:
            yield row
        if page.next_cursor is None:
            return
        before = page.entries[-1].id
