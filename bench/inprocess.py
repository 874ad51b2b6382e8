"""Where a page's time goes, in process: the ASGI app called directly, no server, no socket.

Run by hand from the repository root (it is not a test):

    .venv/bin/python -m bench.inprocess [--path /t/1] [--requests 3000] [--top 30]
        [--topics 20] [--posts 50] [--anonymous]

It seeds a forum into a new SQLite file (bench/seed.py), runs the app's lifespan, sends the
same GET as the benchmark's logged-in member `--requests` times (each one after a pass through
the event loop, as requests arrive), prints the microseconds per request, then runs as many
again under cProfile and prints the `--top` functions by own time. What uvicorn adds (HTTP
parsing, socket writes) is not in these figures: `bench.http` measures the whole.
"""

# ruff: noqa: E402 - the guard below must run before any import that could reach `http`

from __future__ import annotations

import sys

if __name__ == "__main__" and not __package__:
    sys.exit("bench: run it as a module from the repository root: python -m bench.inprocess")

import argparse
import asyncio
import cProfile
import os
import pstats
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

import uvloop

from bench.http import CATEGORY_SHARE, TOPIC_SHARE
from bench.seed import mix_pages, seed_forum

Message = dict[str, Any]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.inprocess", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--path", default="", help="the page (default: the seeded topic)")
    parser.add_argument("--requests", type=int, default=3000, help="per measurement (3000)")
    parser.add_argument("--top", type=int, default=30, help="functions to list (30)")
    parser.add_argument("--warmup", type=int, default=200, help="requests before measuring (200)")
    parser.add_argument("--topics", type=int, default=20, help="topics to seed (20)")
    parser.add_argument("--posts", type=int, default=50, help="posts per topic (50)")
    parser.add_argument("--anonymous", action="store_true", help="send no session cookie")
    parser.add_argument(
        "--mix",
        type=int,
        default=0,
        metavar="MEMBERS",
        help="the realistic load instead of one path: MEMBERS members, random pages",
    )
    return parser


class Lifespan:
    """The app's lifespan driven by hand: start-up before the requests, shutdown after."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.outbox: asyncio.Queue[Message] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self.task = asyncio.create_task(self.app(scope, self.inbox.get, self.outbox.put))
        await self.inbox.put({"type": "lifespan.startup"})
        answer = await self.outbox.get()
        if answer["type"] != "lifespan.startup.complete":
            raise SystemExit(f"bench: the app did not start: {answer}")

    async def stop(self) -> None:
        await self.inbox.put({"type": "lifespan.shutdown"})
        if self.task is not None:
            await self.task


async def run(args: argparse.Namespace) -> None:
    if args.requests <= 0:
        raise SystemExit("bench: --requests must be positive")
    folder = tempfile.mkdtemp(prefix="forum-profile-")
    url = f"sqlite://{folder}/forum.sqlite3"
    os.environ.update(FORUM_DATABASE_URL=url, FORUM_VAR_DIR=folder, FORUM_BROKER_URL="memory://")
    members = max(args.mix, 1)
    seeded = await seed_forum(
        url, topics=args.topics, posts=args.posts, members=members, progress=lambda _: None
    )

    from forum.app import create_app
    from forum.auth import CSRF_COOKIE, SESSION_COOKIE
    from forum.settings import Settings

    app = create_app(Settings.from_env())
    path = args.path or f"/t/{seeded.topic_id}"
    cookies = [
        f"{SESSION_COOKIE}={key}; {CSRF_COOKIE}=bench-profile-cookie-{n}".encode()
        for n, key in enumerate(seeded.member_sessions)
    ]
    topics, categories = mix_pages(seeded, args.posts)
    rng = random.Random(8)

    def choose() -> tuple[str, bytes | None]:
        """The next request's path and cookie."""
        cookie = None if args.anonymous else cookies[0]
        if not args.mix:
            return path, cookie
        if not args.anonymous:
            cookie = rng.choice(cookies)
        r = rng.random()
        if r < TOPIC_SHARE:
            return rng.choice(topics), cookie
        if r < TOPIC_SHARE + CATEGORY_SHARE:
            return rng.choice(categories), cookie
        return "/", cookie

    statuses: list[int] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def one() -> None:
        chosen, cookie = choose()
        raw_path, _, query = chosen.partition("?")
        headers = [(b"host", b"127.0.0.1:8000")]
        if cookie is not None:
            headers.append((b"cookie", cookie))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": raw_path,
            "raw_path": raw_path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        await app(scope, receive, send)
        await asyncio.sleep(0)  # the next request comes through the event loop

    lifespan = Lifespan(app)
    await lifespan.start()
    try:
        for _ in range(args.warmup):  # warm the caches
            await one()
        if set(statuses) != {200}:
            raise SystemExit(f"bench: answers other than 200: {sorted(set(statuses))}")
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(args.requests):
            await one()
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        what = f"the realistic mix ({members} members)" if args.mix else f"GET {path}"
        print(
            f"{what}: {elapsed / args.requests * 1e6:.1f} us per request in process"
            f" ({cpu / args.requests * 1e6:.1f} us of CPU)"
        )
        import forum.cache

        caches = forum.cache.current()
        for name in ("topic_pages", "posts", "topic_rows"):
            lru = getattr(caches, name)
            print(f"cache {name}: {len(lru)} entries, {lru.hits} hits, {lru.misses} misses")
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.requests):
            await one()
        profile.disable()
        order = os.environ.get("BENCH_SORT", "tottime")  # or "cumulative"
        pstats.Stats(profile).sort_stats(order).print_stats(args.top)
    finally:
        await lifespan.stop()


def main(argv: list[str] | None = None) -> None:
    uvloop.run(run(build_parser().parse_args(argv)))


if __name__ == "__main__":
    main()
