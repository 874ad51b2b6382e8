"""Jinja2 rendering for pages: autoescaped, every string translatable, CSRF token at hand."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import HTMLResponse

from forum import i18n, policy
from forum.auth import identity
from forum.web.inline_i18n import InlineTranslations
from moderation.sanctions import do_mark_warnings_seen

TEMPLATES_DIR = Path(__file__).resolve().parent.parent.parent / "templates"


_AGO: dict[tuple[datetime, str], str] = {}
_AGO_MINUTE = [0]


def timeago(value: datetime | None) -> str:
    """How long ago, in words ("3 minutes ago"), as of the start of the current minute's
    first asking: a page shows many times, and the words change at most once a minute."""
    if value is None:
        return ""
    minute = int(time.time() // 60)
    if minute != _AGO_MINUTE[0]:
        _AGO.clear()
        _AGO_MINUTE[0] = minute
    key = (value, i18n.DEFAULT_LANGUAGE)
    found = _AGO.get(key)
    if found is None:
        if len(_AGO) > 50_000:
            _AGO.clear()
        found = _AGO[key] = _timeago(value)
    return found


def _timeago(value: datetime) -> str:
    seconds = int((datetime.now(UTC) - value).total_seconds())
    if seconds < 60:
        return i18n.gettext("just now")
    for size, singular, plural in (
        (86400 * 365, "%(n)d year ago", "%(n)d years ago"),
        (86400 * 30, "%(n)d month ago", "%(n)d months ago"),
        (86400, "%(n)d day ago", "%(n)d days ago"),
        (3600, "%(n)d hour ago", "%(n)d hours ago"),
        (60, "%(n)d minute ago", "%(n)d minutes ago"),
    ):
        if seconds >= size:
            n = seconds // size
            return i18n.ngettext(singular, plural, n) % {"n": n}
    return ""


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        extensions=["jinja2.ext.i18n", InlineTranslations],
        auto_reload=False,
        enable_async=False,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    env.filters["timeago"] = timeago
    env.filters["isodate"] = lambda d: d.isoformat() if d else ""
    env.globals["REACTION_KINDS"] = policy.REACTION_KINDS
    from forum.web.fragments import category_cards, topic_rows  # they import this module

    env.globals["topic_rows"] = topic_rows
    env.globals["category_cards"] = category_cards
    from moderation.review import flag_reason_label, reason_label

    env.globals["reason_label"] = reason_label
    env.globals["flag_reason_label"] = flag_reason_label
    return env


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    ident = identity(request)
    values = {
        "request": request,
        "user": ident.user,
        "csrf_token": ident.csrf_token,
        "is_member": policy.is_member(ident.user),
        "is_staff": policy.is_staff(ident.user),
        "review_pending": ident.review_pending,
        "unread_notifications": ident.unread_notifications,
        "lang": i18n.DEFAULT_LANGUAGE,
        "warnings": ident.warnings,
        **(context or {}),
    }
    html = environment().get_template(template).render(values)
    background = None
    if ident.warnings and ident.user is not None:
        # Shown once: this page carried them (base.html), so later pages do not.
        shown = [w.id for w in ident.warnings]
        background = BackgroundTask(do_mark_warnings_seen, ident.user.id, shown)
        ident.warnings = []
    return HTMLResponse(html, status_code=status, background=background)
