"""Where a page's time goes, in process: the ASGI app called directly, no server, no socket.

Run by hand from the repository root (it is not a test):

    .venv/bin/python -m bench.inprocess [--path /t/1] [--requests 3000] [--top 30]
        [--topics 20] [--posts 50] [--anonymous] [--mix MEMBERS [--write-every N]]
        [--database-url postgres://postgres@127.0.0.1:5432/bench]

It seeds a forum into a new SQLite file (or the PostgreSQL database named; bench/seed.py), runs
the app's lifespan, sends the same GET as the benchmark's logged-in member `--requests` times
(each one after a pass through the event loop, as requests arrive), prints the microseconds per
request (`--mix`: random members and pages, as `bench.http`'s realistic rows; `--write-every
N`: every Nth request a reply posted through the API, its cost counted, so what writes do to
the caches shows without a server's noise), then runs as many again under cProfile and prints
the `--top` functions by own time (`--top 0`: no profile; BENCH_PROFILE_OUT=file also keeps
the profile for pstats). What uvicorn adds (HTTP parsing, socket writes) is not in these
figures: `bench.http` measures the whole.

Times on a shared machine vary by 20 % from run to run; instructions do not. `--callgrind`
counts the measured requests' instructions only, the rest of the run not instrumented:

    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/dev/null \
        .venv/bin/python -m bench.inprocess --callgrind --top 0 --mix 25 --topics 200 \
        --warmup 20000 --requests 3000 --write-every 300

and valgrind's "Collected" line, divided by `--requests`, is the instructions per request.
"""

# ruff: noqa: E402 - the guard below must run before any import that could reach `http`

from __future__ import annotations

import sys

if __name__ == "__main__" and not __package__:
    sys.exit("bench: run it as a module from the repository root: python -m bench.inprocess")

import argparse
import asyncio
import cProfile
import ctypes
import json
import os
import pstats
import random
import shutil
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
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
    parser.add_argument("--top", type=int, default=30, help="functions to list (30; 0: no profile)")
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
    parser.add_argument(
        "--write-every",
        type=int,
        default=0,
        metavar="N",
        help="with --mix: every Nth request posts a reply through the API (0: none)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=1,
        metavar="N",
        help="requests in flight at once, as wrk's connections keep them (1)",
    )
    parser.add_argument(
        "--database-url",
        default="",
        help="a PostgreSQL database to seed (its tables dropped and recreated) instead of SQLite",
    )
    parser.add_argument(
        "--callgrind",
        action="store_true",
        help="count instructions of the measured requests only (run under valgrind, see above)",
    )
    return parser


class Instructions:
    """Callgrind's count limited to the measured requests: valgrind started with
    `--instr-atstart=no` counts nothing until `start()` and nothing after `stop()`. Its client
    requests are macros of valgrind's C header, built here once into a tiny library."""

    SOURCE = (
        "#include <valgrind/callgrind.h>\n"
        "void bench_start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }\n"
        "void bench_stop(void) { CALLGRIND_STOP_INSTRUMENTATION; }\n"
    )

    def __init__(self) -> None:
        folder = Path(tempfile.mkdtemp(prefix="forum-callgrind-"))
        (folder / "control.c").write_text(self.SOURCE)
        built = subprocess.run(
            ["gcc", "-O2", "-shared", "-fPIC", "-o", "control.so", "control.c"],
            cwd=folder,
            capture_output=True,
            text=True,
        )
        if built.returncode != 0:
            raise SystemExit(f"bench: cannot build the callgrind helper:\n{built.stderr}")
        self.library = ctypes.CDLL(str(folder / "control.so"))

    def start(self) -> None:
        self.library.bench_start()

    def stop(self) -> None:
        self.library.bench_stop()


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
    try:
        await _measure(args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # the seeded forum: ~15 MB a run


async def _measure(args: argparse.Namespace, folder: str) -> None:
    url = args.database_url or f"sqlite://{folder}/forum.sqlite3"
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
    writes = 0

    async def write() -> None:
        """A reply through the API, as bench.http's writer posts them."""
        nonlocal writes
        writes += 1
        tokens = seeded.writer_tokens  # members take turns, as in bench.http
        topic = rng.choice(seeded.topic_ids)
        body = json.dumps({"body": f"Benchmark reply {writes} in topic {topic}."}).encode()
        path = f"/api/v1/topics/{topic}/posts"
        headers = [
            (b"host", b"127.0.0.1:8000"),
            (b"authorization", f"Bearer {tokens[writes % len(tokens)]}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        sent = False

        async def receive_body() -> Message:
            nonlocal sent
            if sent:  # the request is whole; the app asks again only to see a disconnect
                await asyncio.Event().wait()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await app(_scope("POST", path, "", headers), receive_body, send)

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    count = 0

    async def one() -> None:
        nonlocal count
        count += 1
        if args.mix and args.write_every and count % args.write_every == 0:
            await write()
        chosen, cookie = choose()
        raw_path, _, query = chosen.partition("?")
        headers = [(b"host", b"127.0.0.1:8000")]
        if cookie is not None:
            headers.append((b"cookie", cookie))
        await app(_scope("GET", raw_path, query, headers), receive, send)
        await asyncio.sleep(0)  # the next request comes through the event loop

    lifespan = Lifespan(app)
    await lifespan.start()
    try:
        for _ in range(args.warmup):  # warm the caches
            await one()
        if set(statuses) - {200, 201}:
            raise SystemExit(f"bench: answers other than 200: {sorted(set(statuses))}")
        counter = Instructions() if args.callgrind else None
        started, cpu = time.perf_counter(), time.process_time()
        if counter is not None:
            counter.start()
        await _in_flight(one, args.requests, args.concurrency)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        if counter is not None:
            counter.stop()  # valgrind prints the count ("Collected") when the process ends
        what = f"the realistic mix ({members} members)" if args.mix else f"GET {path}"
        if args.mix and args.write_every:
            what += f", a reply every {args.write_every} requests ({writes} written)"
        print(
            f"{what}: {elapsed / args.requests * 1e6:.1f} us per request in process"
            f" ({cpu / args.requests * 1e6:.1f} us of CPU)"
        )
        import forum.cache

        caches = forum.cache.current()
        for name in ("shared_pages", "topic_pages", "posts", "topic_rows"):
            lru = getattr(caches, name)
            print(f"cache {name}: {len(lru)} entries, {lru.hits} hits, {lru.misses} misses")
        if args.top <= 0:
            return  # no profile asked for
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.requests):
            await one()
        profile.disable()
        order = os.environ.get("BENCH_SORT", "tottime")  # or "cumulative"
        pstats.Stats(profile).sort_stats(order).print_stats(args.top)
        if dump := os.environ.get("BENCH_PROFILE_OUT"):  # for pstats or snakeviz by hand
            profile.dump_stats(dump)
    finally:
        await lifespan.stop()


async def _in_flight(one: Callable[[], Awaitable[None]], requests: int, concurrency: int) -> None:
    """`requests` calls of `one`, `concurrency` of them in flight at any time."""
    if concurrency <= 1:
        for _ in range(requests):
            await one()
        return
    left = requests

    async def connection() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await one()

    await asyncio.gather(*(connection() for _ in range(concurrency)))


def _scope(
    method: str, path: str, query: str, headers: list[tuple[bytes, bytes]]
) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


def main(argv: list[str] | None = None) -> None:
    uvloop.run(run(build_parser().parse_args(argv)))


if __name__ == "__main__":
    main()
