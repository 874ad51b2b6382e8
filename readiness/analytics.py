"""Participation analytics for the Secretariat's administrators: every figure is one SQL
aggregate (GROUP BY, COUNT, a median by ROW_NUMBER() OVER (ORDER BY ...) on SQLite or
percentile_disc on PostgreSQL), never a loop over posts in Python, so the dashboard stays
fast on a large forum.

Weeks start on Monday (UTC). Posts count what was written in the window, including posts
deleted since (participation happened).

Summed days: scanning a million posts per load would take seconds, so every finished day
(UTC, ended over an hour ago) of the last 90 days is summed once, on the first load that
needs it, into `analytics_counts` (day, category, author, posts) and `analytics_author_days` (day,
author, posts: the same without categories, for the figures that need no category), with
one INSERT ... SELECT ... GROUP BY each per run of missing days, marked done in
`analytics_days`; two workers doing it at once insert the same rows, and ON CONFLICT DO
NOTHING keeps one. Every figure is then a GROUP BY over those sums plus today's posts read
directly (index posts (created_at,
author_id, topic_id), migration 0009). A post counts in the category its topic was in when
its day was summed; regions follow the author's administration today.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.transactions import in_transaction

from forum.queries.sql import execute, fetch
from readiness.models import ActivityDay

WEEKS = 12
INACTIVE_DAYS = 90
TOP_TOPICS = 10
GRACE = timedelta(hours=1)  # a day is summed once it ended this long ago


def _dialect() -> str:
    return str(connections.get("default").capabilities.dialect)


def _param(value: datetime) -> Any:
    """A datetime as the database compares it (Tortoise stores `str(datetime)` on SQLite)."""
    return value if _dialect() == "postgres" else str(value)


def _day_expr(column: str) -> str:
    if _dialect() == "postgres":
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    return f"date({column})"


def _week_of_day(column: str) -> str:
    """The Monday of a YYYY-MM-DD day's week."""
    if _dialect() == "postgres":
        return f"to_char(date_trunc('week', CAST({column} AS date)), 'YYYY-MM-DD')"
    return f"date({column}, '-6 days', 'weekday 1')"


def _seconds_between(start: str, end: str) -> str:
    if _dialect() == "postgres":
        return f"EXTRACT(EPOCH FROM ({end} - {start}))"
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


async def _median(values_sql: str, *args: Any) -> tuple[int, float | None]:
    """How many values the subquery `values_sql` (one column, `v`) answers, and their lower
    median (the middle one, or the lower of the two middle ones), in one query."""
    if _dialect() == "postgres":
        query = (
            "SELECT COUNT(*) AS c, percentile_disc(0.5) WITHIN GROUP (ORDER BY v) AS m "
            f"FROM ({values_sql}) x"
        )
    else:
        query = (
            "SELECT c, v AS m FROM (SELECT v, ROW_NUMBER() OVER (ORDER BY v) AS rn, "
            f"COUNT(*) OVER () AS c FROM ({values_sql}) x) y WHERE rn = (c + 1) / 2"
        )
    rows = await fetch(query, *args, remember=False)
    if not rows or not int(rows[0]["c"]):
        return 0, None
    return int(rows[0]["c"]), float(rows[0]["m"])


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


def _day_start(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


def summed_range(now: datetime) -> tuple[date, date]:
    """The first day of the 90 days kept, and the last finished day (summed)."""
    first = (now - timedelta(days=INACTIVE_DAYS)).astimezone(UTC).date()
    last = (now - GRACE).astimezone(UTC).date() - timedelta(days=1)
    return first, last


async def sum_days(now: datetime) -> int:
    """Sum every finished day of the last 90 days not summed yet; returns how many."""
    first, last = summed_range(now)
    if last < first:
        return 0
    summed = await ActivityDay.filter(
        day__gte=first.isoformat(), day__lte=last.isoformat()
    ).values_list("day", flat=True)
    done = {str(day) for day in summed}
    wanted = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    missing = [d for d in wanted if d.isoformat() not in done]
    runs: list[list[date]] = []
    for day in missing:
        if runs and (day - runs[-1][-1]).days == 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    day_expr = _day_expr("p.created_at")
    for run in runs:
        async with in_transaction() as conn:
            await execute(
                conn,
                "INSERT INTO analytics_counts (day, category_id, author_id, posts) "
                f"SELECT {day_expr}, t.category_id, p.author_id, COUNT(*) "
                "FROM posts p JOIN topics t ON t.id = p.topic_id "
                "WHERE p.created_at >= ? AND p.created_at < ? "
                f"GROUP BY {day_expr}, t.category_id, p.author_id "
                "ON CONFLICT (day, category_id, author_id) DO NOTHING",
                _day_start(run[0]),
                _day_start(run[-1] + timedelta(days=1)),
            )
            await execute(
                conn,
                "INSERT INTO analytics_author_days (day, author_id, posts) "
                "SELECT day, author_id, SUM(posts) FROM analytics_counts "
                "WHERE day >= ? AND day <= ? GROUP BY day, author_id "
                "ON CONFLICT (day, author_id) DO NOTHING",
                run[0].isoformat(),
                run[-1].isoformat(),
            )
            for day in run:
                await execute(
                    conn,
                    "INSERT INTO analytics_days (day, created_at) VALUES (?, ?) "
                    "ON CONFLICT (day) DO NOTHING",
                    day.isoformat(),
                    now,
                )
    return len(missing)


def _activity(now: datetime, *, by_category: bool = False) -> tuple[str, list[Any]]:
    """A common table `activity (day, [category_id,] author_id, posts)`: the summed days and
    the posts since the last of them, read directly. Without categories it reads the sums
    by author, a table the categories' count (16 here) times smaller."""
    first, last = summed_range(now)
    day_expr = _day_expr("p.created_at")
    if by_category:
        sql = (
            "WITH activity AS ("
            "SELECT day, category_id, author_id, posts FROM analytics_counts "
            "WHERE day >= ? AND day <= ? "
            "UNION ALL "
            f"SELECT {day_expr} AS day, t.category_id AS category_id, "
            "p.author_id AS author_id, COUNT(*) AS posts "
            "FROM posts p JOIN topics t ON t.id = p.topic_id "
            f"WHERE p.created_at >= ? GROUP BY {day_expr}, t.category_id, p.author_id) "
        )
    else:
        sql = (
            "WITH activity AS ("
            "SELECT day, author_id, posts FROM analytics_author_days "
            "WHERE day >= ? AND day <= ? "
            "UNION ALL "
            f"SELECT {day_expr} AS day, p.author_id AS author_id, COUNT(*) AS posts "
            f"FROM posts p WHERE p.created_at >= ? GROUP BY {day_expr}, p.author_id) "
        )
    return sql, [first.isoformat(), last.isoformat(), _param(_day_start(last + timedelta(days=1)))]


async def dashboard(now: datetime | None = None) -> Dashboard:
    now = now or datetime.now(UTC)
    await sum_days(now)
    since, weeks = window(now)
    start = _param(since)
    since_day = since.date().isoformat()
    activity, args = _activity(now)
    week = _week_of_day("a.day")
    # Each query first sums the activity by what it groups on and by author (a few thousand
    # rows at most), then counts distinct authors in that.
    rows = await fetch(
        f"{activity}SELECT {week} AS week, SUM(a.n) AS posts, "
        "COUNT(DISTINCT a.author_id) AS active FROM (SELECT day, author_id, "
        "SUM(posts) AS n FROM activity WHERE day >= ? "
        f"GROUP BY day, author_id) a GROUP BY {week}",
        *args,
        since_day,
        remember=False,
    )
    per_week = {str(r["week"]): (int(r["posts"]), int(r["active"])) for r in rows}
    by_category, category_args = _activity(now, by_category=True)
    categories = await fetch(
        f"{by_category}SELECT c.slug AS slug, c.name AS name, SUM(a.n) AS posts, "
        "COUNT(*) AS active FROM (SELECT category_id, author_id, SUM(posts) AS n "
        "FROM activity WHERE day >= ? GROUP BY category_id, author_id) a "
        "JOIN categories c ON c.id = a.category_id "
        "GROUP BY c.id, c.slug, c.name ORDER BY posts DESC, c.name",
        *category_args,
        since_day,
        remember=False,
    )
    regions = await fetch(
        f"{activity}SELECT ad.region AS region, SUM(a.n) AS posts, COUNT(*) AS active "
        "FROM (SELECT author_id, SUM(posts) AS n FROM activity WHERE day >= ? "
        "GROUP BY author_id) a JOIN users u ON u.id = a.author_id "
        "LEFT JOIN administrations ad ON ad.id = u.administration_id "
        "GROUP BY ad.region ORDER BY posts DESC",
        *args,
        since_day,
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
    """Administrations with verified NCPs, and those whose members posted in the last 90
    days (by day: from the day 90 days ago)."""
    activity, args = _activity(now)
    recent_day = (now - timedelta(days=INACTIVE_DAYS)).astimezone(UTC).date().isoformat()
    rows = await fetch(
        f"{activity}SELECT ad.name AS name, ad.region AS region, "
        "(SELECT COUNT(*) FROM users u WHERE u.administration_id = ad.id AND u.is_active = ? "
        "AND u.is_verified = ? AND (u.verified_until IS NULL OR u.verified_until > ?)) AS ncps, "
        "(CASE WHEN ad.id IN (SELECT u.administration_id FROM users u WHERE u.id IN ("
        "SELECT DISTINCT author_id FROM activity WHERE day >= ?) "
        "AND u.administration_id IS NOT NULL) THEN 1 ELSE 0 END) AS active "
        "FROM administrations ad ORDER BY ad.name",
        *args,
        True,
        True,
        _param(now),
        recent_day,
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


def _first_reply_index() -> str:
    return "" if _dialect() == "postgres" else " INDEXED BY idx_posts_first_reply"


async def _first_reply(start: Any) -> Wait:
    seconds = _seconds_between("t.created_at", "p.created_at")
    answered, median = await _median(
        # CROSS JOIN: SQLite reads the window's topics first, then each one's post 2 from
        # the partial index of first replies (migration 0009), which it is told to use.
        f"SELECT {seconds} AS v FROM topics t CROSS JOIN posts p{_first_reply_index()} "
        "WHERE p.topic_id = t.id AND p.number = 2 AND t.created_at >= ? "
        "AND t.deleted_at IS NULL",
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
