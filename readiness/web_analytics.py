"""The Secretariat's participation dashboard, `/admin/analytics` (and `.csv`): administrators
with two-factor authentication only (`moderation.gate.require_administrator`; visitors go to
the login page, members and moderators get 403, staff without 2FA the security page)."""

from __future__ import annotations

import csv
import io

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from forum.auth import require_user
from forum.i18n import _
from forum.web.exports import csv_cell
from forum.web.templating import render
from moderation.gate import require_administrator
from readiness import charts
from readiness.analytics import WEEKS, Dashboard, dashboard, duration, week_label


async def analytics_page(request: Request) -> Response:
    require_administrator(require_user(request))
    data = await dashboard()
    labels = [week_label(w) for w in data.weeks]
    weekly = charts.bar_chart(
        _("Posts and active members per week"),
        _(
            "For each of the last %(n)d weeks (starting on Mondays), the number of posts "
            "written and of members who wrote at least one."
        )
        % {"n": WEEKS},
        labels,
        [
            charts.Series(_("Posts"), tuple(float(v) for v in data.posts_per_week)),
            charts.Series(_("Active members"), tuple(float(v) for v in data.active_per_week)),
        ],
        height=280,
    )
    by_category = charts.bar_chart(
        _("Posts per category"),
        _("Posts written in each category over the last %(n)d weeks.") % {"n": WEEKS},
        [c.label for c in data.by_category],
        [charts.Series(_("Posts"), tuple(float(c.posts) for c in data.by_category))],
    )
    by_region = charts.bar_chart(
        _("Posts per WCO region"),
        _(
            "Posts written by the members of each WCO region's administrations over the last "
            "%(n)d weeks (— : members without an administration)."
        )
        % {"n": WEEKS},
        [c.label for c in data.by_region],
        [
            charts.Series(_("Posts"), tuple(float(c.posts) for c in data.by_region)),
            charts.Series(_("Active members"), tuple(float(c.active) for c in data.by_region)),
        ],
    )
    return render(
        request,
        "admin/analytics.html",
        {
            "data": data,
            "labels": labels,
            "weekly_chart": weekly,
            "category_chart": by_category,
            "region_chart": by_region,
            "duration": duration,
            "weeks": WEEKS,
        },
    )


def analytics_csv_text(data: Dashboard) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["section", "label", "posts", "active_members", "value"])

    def row(*values: object) -> None:
        writer.writerow([csv_cell("" if v is None else str(v)) for v in values])

    for monday, posts, active in zip(
        data.weeks, data.posts_per_week, data.active_per_week, strict=True
    ):
        row("week", monday, posts, active, "")
    for c in data.by_category:
        row("category", c.key, c.posts, c.active, "")
    for c in data.by_region:
        row("region", c.key or "none", c.posts, c.active, "")
    a = data.administrations
    row("administrations", "total", "", "", a.total)
    row("administrations", "with_ncps", "", "", a.with_ncps)
    row("administrations", "active_90_days", "", "", a.active)
    row("administrations", "with_ncps_inactive_90_days", "", "", len(a.inactive_with_ncps))
    for t in data.most_viewed:
        row("most_viewed", t.title, "", "", t.views)
    for t in data.most_replied:
        row("most_replied", t.title, "", "", t.replies)
    for name, wait in (
        ("first_reply", data.first_reply),
        ("review_queue", data.review),
        ("access_requests", data.access),
    ):
        median = "" if wait.median_seconds is None else f"{wait.median_seconds:.0f}"
        row(name, "median_seconds", "", "", median)
        row(name, "count", "", "", wait.count)
        row(name, "waiting", "", "", wait.waiting)
    return out.getvalue()


async def analytics_csv(request: Request) -> Response:
    require_administrator(require_user(request))
    data = await dashboard()
    return Response(
        analytics_csv_text(data),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="participation.csv"'},
    )


routes: list[BaseRoute] = [
    Route("/admin/analytics", analytics_page, methods=["GET"]),
    Route("/admin/analytics.csv", analytics_csv, methods=["GET"]),
]
