"""Participation analytics for the Secretariat's administrators: every figure is one SQL
aggregate (GROUP BY, COUNT, a median by ORDER BY ... OFFSET on SQLite or percentile_disc on
PostgreSQL), never a loop over posts in Python, so the dashboard stays fast on a large forum.

Weeks start on Monday (UTC). Posts count what was written in the window, including posts
deleted since (participation happened). Indexes that keep these reads short are created by
migration 0009: posts (created_at, author_id), (author_id, created_at), (topic_id,
created_at, author_id).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tortoise import connections

from forum.queries.sql import fetch

WEEKS = 12
INACTIVE_DAYS = 90
TOP_TOPICS = 10


def _dialect() -> str:
    return str(connections.get("default").capabilities.dialect)


def _param(value: datetime) -> Any:
    """A datetime as the database compares it (Tortoise stores `str(datetime)` on SQLite)."""
    return value if _dialect() == "postgres" else str(value)


def _week_expr(column: str) -> str:
    if _dialect() == "postgres":
        return f"to_char(date_trunc('week', {column} AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"
    return f"date({column}, '-6 days', 'weekday 1')"


def _seconds_between(start: str, end: str) -> str:
    if _dialect() == "postgres":
        return f"EXTRACT(EPOCH FROM ({end} - {start}))"
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


async def _median(values_sql: str, *args: Any) -> tuple[int, float | None]:
    """How many values the subquery `values_sql` (one column, `v`) answers, and their lower
    median (the middle one, or the lower of the two middle ones)."""
    counted = await fetch(f"SELECT COUNT(*) AS n FROM ({values_sql}) x", *args, remember=False)
    n = int(counted[0]["n"])
    if n == 0:
        return 0, None
    if _dialect() == "postgres":
        rows = await fetch(
            f"SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY v) AS m FROM ({values_sql}) x",
            *args,
            remember=False,
        )
    else:
        rows = await fetch(
            f"SELECT v AS m FROM ({values_sql}) x ORDER BY v LIMIT 1 OFFSET ?",
            *args,
            (n - 1) // 2,
            remember=False,
        )
    return n, float(rows[0]["m"])


@dataclass(frozen=True)
class Count:
    label: str
    posts: int
    active: int
    key: str = ""


@dataclass(frozen=True)
class TopicStat:
    id: int
    title: str
    category: str
    views: int
    replies: int


@dataclass(frozen=True)
class Wait:
    """A median waiting time over `count` cases, and what is still waiting."""

    count: int
    median_seconds: float | None
    waiting: int = 0


@dataclass(frozen=True)
class AdministrationActivity:
    total: int
    with_ncps: int
    active: int  # with at least one post by its members in the last 90 days
    inactive_with_ncps: list[tuple[str, str]]  # (name, region): NCPs, but no post in 90 days


@dataclass(frozen=True)
class Dashboard:
    now: datetime
    since: datetime  # the start of the first week shown
    weeks: list[str]  # Mondays, YYYY-MM-DD, oldest first
    posts_per_week: list[int]
    active_per_week: list[int]
    by_category: list[Count]
    by_region: list[Count]
    administrations: AdministrationActivity
    most_viewed: list[TopicStat]
    most_replied: list[TopicStat]
    first_reply: Wait  # topics created in the window: median time to their first reply
    review: Wait  # review items decided in the window: created -> decided
    access: Wait  # access requests decided in the window: created -> decided


def window(now: datetime) -> tuple[datetime, list[str]]:
    """The first instant of the window (a Monday, 00:00 UTC) and its weeks' Mondays."""
    today = now.astimezone(UTC).date()
    monday = today - timedelta(days=today.weekday())
    first = monday - timedelta(weeks=WEEKS - 1)
    weeks = [(first + timedelta(weeks=i)).isoformat() for i in range(WEEKS)]
    return datetime.combine(first, datetime.min.time(), tzinfo=UTC), weeks


async def dashboard(now: datetime | None = None) -> Dashboard:
    now = now or datetime.now(UTC)
    since, weeks = window(now)
    start = _param(since)
    week = _week_expr("p.created_at")
    rows = await fetch(
        f"SELECT {week} AS week, COUNT(*) AS posts, COUNT(DISTINCT p.author_id) AS active "
        f"FROM posts p WHERE p.created_at >= ? GROUP BY {week}",
        start,
        remember=False,
    )
    per_week = {str(r["week"]): (int(r["posts"]), int(r["active"])) for r in rows}
    categories = await fetch(
        "SELECT c.slug AS slug, c.name AS name, COUNT(p.id) AS posts, "
        "COUNT(DISTINCT p.author_id) AS active FROM categories c "
        "JOIN topics t ON t.category_id = c.id "
        "JOIN posts p ON p.topic_id = t.id AND p.created_at >= ? "
        "GROUP BY c.id, c.slug, c.name ORDER BY posts DESC, c.name",
        start,
        remember=False,
    )
    regions = await fetch(
        "SELECT a.region AS region, COUNT(p.id) AS posts, COUNT(DISTINCT u.id) AS active "
        "FROM users u LEFT JOIN administrations a ON a.id = u.administration_id "
        "JOIN posts p ON p.author_id = u.id AND p.created_at >= ? "
        "GROUP BY a.region ORDER BY posts DESC",
        start,
        remember=False,
    )
    return Dashboard(
        now=now,
        since=since,
        weeks=weeks,
        posts_per_week=[per_week.get(w, (0, 0))[0] for w in weeks],
        active_per_week=[per_week.get(w, (0, 0))[1] for w in weeks],
        by_category=[
            Count(str(r["name"]), int(r["posts"]), int(r["active"]), str(r["slug"]))
            for r in categories
        ],
        by_region=[
            Count(
                str(r["region"] or "—"), int(r["posts"]), int(r["active"]), str(r["region"] or "")
            )
            for r in regions
        ],
        administrations=await _administrations(now),
        most_viewed=await _topics("t.views DESC, t.id DESC"),
        most_replied=await _topics("t.post_count DESC, t.id DESC"),
        first_reply=await _first_reply(start),
        review=await _waits("review_items", "status = 'pending'", start),
        access=await _waits("access_requests", "status = 'pending'", start),
    )


async def _administrations(now: datetime) -> AdministrationActivity:
    current = _param(now)
    recent = _param(now - timedelta(days=INACTIVE_DAYS))
    rows = await fetch(
        "SELECT a.name AS name, a.region AS region, "
        "(SELECT COUNT(*) FROM users u WHERE u.administration_id = a.id AND u.is_active = ? "
        "AND u.is_verified = ? AND (u.verified_until IS NULL OR u.verified_until > ?)) AS ncps, "
        "(SELECT COUNT(*) FROM users u WHERE u.administration_id = a.id AND EXISTS ("
        "SELECT 1 FROM posts p WHERE p.author_id = u.id AND p.created_at >= ?)) AS active "
        "FROM administrations a ORDER BY a.name",
        True,
        True,
        current,
        recent,
        remember=False,
    )
    return AdministrationActivity(
        total=len(rows),
        with_ncps=sum(1 for r in rows if int(r["ncps"])),
        active=sum(1 for r in rows if int(r["active"])),
        inactive_with_ncps=[
            (str(r["name"]), str(r["region"]))
            for r in rows
            if int(r["ncps"]) and not int(r["active"])
        ],
    )


async def _topics(order: str) -> list[TopicStat]:
    rows = await fetch(
        "SELECT t.id AS id, t.title AS title, c.name AS category, t.views AS views, "
        "t.post_count AS posts FROM topics t JOIN categories c ON c.id = t.category_id "
        f"WHERE t.deleted_at IS NULL AND t.merged_into_id IS NULL ORDER BY {order} "
        f"LIMIT {TOP_TOPICS}",
        remember=False,
    )
    return [
        TopicStat(
            int(r["id"]),
            str(r["title"]),
            str(r["category"]),
            int(r["views"]),
            max(int(r["posts"]) - 1, 0),
        )
        for r in rows
    ]


async def _first_reply(start: Any) -> Wait:
    seconds = _seconds_between("t.created_at", "p.created_at")
    answered, median = await _median(
        f"SELECT {seconds} AS v FROM topics t JOIN posts p ON p.topic_id = t.id AND p.number = 2 "
        "WHERE t.created_at >= ? AND t.deleted_at IS NULL",
        start,
    )
    unanswered = await fetch(
        "SELECT COUNT(*) AS n FROM topics t WHERE t.created_at >= ? AND t.deleted_at IS NULL "
        "AND t.post_count < 2",
        start,
        remember=False,
    )
    return Wait(answered, median, int(unanswered[0]["n"]))


async def _waits(table: str, waiting: str, start: Any) -> Wait:
    seconds = _seconds_between("created_at", "decided_at")
    count, median = await _median(
        f"SELECT {seconds} AS v FROM {table} WHERE decided_at IS NOT NULL AND decided_at >= ?",
        start,
    )
    pending = await fetch(f"SELECT COUNT(*) AS n FROM {table} WHERE {waiting}", remember=False)
    return Wait(count, median, int(pending[0]["n"]))


def duration(seconds: float | None) -> str:
    """A waiting time in words: minutes below two hours, hours below two days, else days."""
    if seconds is None:
        return "—"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def week_label(monday: str) -> str:
    return date.fromisoformat(monday).strftime("%d %b")
