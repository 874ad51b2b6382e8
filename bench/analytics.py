"""How long the administrators' dashboard (/admin/analytics) takes on a large forum.

Run by hand from the repository root (it is not a test):

    .venv/bin/python -m bench.analytics [--posts 1000000] [--per-topic 50] [--days 90]
        [--loads 20] [--database sqlite:///tmp/x.sqlite3 | postgres://...] [--reuse]

It seeds a fresh forum with bench/seed.py (posts spread evenly over the last `--days` days,
without revisions and reactions, which the dashboard never reads), gives its authors member
administrations of every region, makes an administrator with two-factor authentication and a
session, then sends GET /admin/analytics through the ASGI app (httpx's ASGITransport, the
app's own lifespan) `--loads` times and prints the first load and p50/p95 of all loads.
`--reuse` measures an already seeded database again.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time

import httpx

from bench.seed import seed_forum


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.analytics")
    parser.add_argument("--posts", type=int, default=1_000_000, help="posts in all (1,000,000)")
    parser.add_argument("--per-topic", type=int, default=50, help="posts per topic (50)")
    parser.add_argument("--days", type=float, default=90, help="posts spread over (90 days)")
    parser.add_argument("--loads", type=int, default=20, help="dashboard loads measured (20)")
    parser.add_argument("--database", default="", help="database URL (a new SQLite file)")
    parser.add_argument("--reuse", action="store_true", help="do not seed: measure --database")
    return parser


async def prepare(url: str, args: argparse.Namespace) -> None:
    topics = max(args.posts // args.per_topic, 1)
    started = time.perf_counter()
    last = [0.0]

    def progress(line: str) -> None:
        if time.perf_counter() - last[0] > 15 or not line.startswith("posts"):
            last[0] = time.perf_counter()
            print(f"  [{time.perf_counter() - started:6.0f} s] {line}", flush=True)

    await seed_forum(
        url,
        topics=topics,
        posts=args.per_topic,
        members=40,
        days=args.days,
        revisions=False,
        reactions=False,
        progress=progress,
    )
    print(f"seeded {topics * args.per_topic:,} posts in {time.perf_counter() - started:.0f} s")


async def administrator(url: str) -> str:
    """Administrations for every author (round robin) and an administrator's session."""
    from tortoise import connections

    from forum import totp
    from forum.actions.administrations import seed_administrations
    from forum.actions.twofactor import do_enable_two_factor, do_start_two_factor
    from forum.actions.users import do_create_session, do_create_user
    from forum.db import close_db, init_db
    from forum.models import Administration, Role, User

    await init_db(url)
    try:
        conn = connections.get("default")
        if conn.capabilities.dialect == "postgres":
            # A served database has statistics (autovacuum); a bulk load has none until then.
            await conn.execute_script("ANALYZE")
        await seed_administrations()
        admin = await User.get_or_none(username="bench-admin")
        if admin is None:
            ids = await Administration.all().order_by("id").values_list("id", flat=True)
            users = await User.all().order_by("id").values_list("id", flat=True)
            for n, uid in enumerate(users):
                # Every third administration has authors; the others have none (inactive).
                target = ids[(n * 3) % len(ids)]
                await conn.execute_query(
                    "UPDATE users SET administration_id = "
                    + (
                        "$1 WHERE id = $2"
                        if conn.capabilities.dialect == "postgres"
                        else "? WHERE id = ?"
                    ),
                    [target, uid],
                )
            admin = await do_create_user(
                email="bench-admin@example.org",
                username="bench-admin",
                password="bench administrator password",
                display_name="Bench Administrator",
                role=Role.ADMIN,
                is_verified=True,
            )
            secret = await do_start_two_factor(admin)
            await do_enable_two_factor(admin, totp.code_at(secret))
        return await do_create_session(admin, user_agent="bench/analytics")
    finally:
        await close_db()


async def measure(url: str, session_key: str, loads: int) -> list[float]:
    from forum.app import create_app
    from forum.auth import CSRF_COOKIE, SESSION_COOKIE
    from forum.settings import Settings

    app = create_app(Settings.from_env())
    times: list[float] = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as c:
            c.cookies.set(SESSION_COOKIE, session_key)
            c.cookies.set(CSRF_COOKIE, "bench-analytics")
            for _ in range(loads):
                started = time.perf_counter()
                answer = await c.get("/admin/analytics")
                times.append((time.perf_counter() - started) * 1000)
                if answer.status_code != 200:
                    raise SystemExit(f"bench: /admin/analytics answered {answer.status_code}")
    return times


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


async def run(args: argparse.Namespace) -> None:
    url = args.database or f"sqlite://{tempfile.mkdtemp(prefix='forum-analytics-')}/forum.sqlite3"
    folder = tempfile.mkdtemp(prefix="forum-analytics-var-")
    os.environ.update(FORUM_DATABASE_URL=url, FORUM_VAR_DIR=folder, FORUM_BROKER_URL="memory://")
    if not args.reuse:
        await prepare(url, args)
    key = await administrator(url)
    times = await measure(url, key, args.loads)
    print()
    print(f"GET /admin/analytics, {args.loads} loads, {url.split(':')[0]}")
    print("| posts | spread over | first load | p50 | p95 | max |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| {args.posts:,} | {args.days:g} days | {times[0]:.0f} ms | "
        f"{statistics.median(times):.0f} ms | {percentile(times, 0.95):.0f} ms | "
        f"{max(times):.0f} ms |"
    )


def main(argv: list[str] | None = None) -> None:
    asyncio.run(run(build_parser().parse_args(argv)))


if __name__ == "__main__":
    main()
