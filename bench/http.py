"""HTTP throughput of the forum under a realistic load, against the framework's ceiling here.

Run by hand from the repository root (it is not a test):

    .venv/bin/python -m bench.http [--members 25] [--writes 5] [--connections 32]
        [--topics 200] [--posts 50] [--duration 10s] [--workers 1] [--single-url]
        [--database-url postgres://postgres@127.0.0.1:5432/bench]

It seeds a large forum (a new SQLite file in a temporary directory unless --database-url names
a PostgreSQL database, whose tables are then dropped and recreated), serves it with the real
`forum serve`, serves a bare Starlette page of the same size as the topic page with the same
uvicorn options (the ceiling), and loads it with wrk the way a forum is used: many members,
each with their own session, each request a random page (topic pages 70 %, category pages 15 %,
the home page 15 %), first reads only, then with a writer replying through the API at a fixed
rate. `--single-url` adds the old rows: one member reloading one URL.
"""

# ruff: noqa: E402 - the guard below must run before any import that could reach `http`

from __future__ import annotations

import sys

if __name__ == "__main__" and not __package__:
    # As a script, bench/ would come first on sys.path and this file would shadow `http`.
    sys.exit("bench: run it as a module from the repository root: python -m bench.http")

import argparse
import asyncio
import http.client
import json
import os
import platform
import random
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.seed import SeedResult, mix_pages, seed_forum

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parent.parent
TARGET = 0.25  # single URL: the topic page should reach this share of the bare page
# The realistic mix with writes going on: share of the bare page on SQLite / PostgreSQL, and p99.
MIX_TARGET_SQLITE = 0.20
MIX_TARGET_POSTGRES = 0.10
MIX_P99_MS_SQLITE = 50.0
TOPIC_SHARE, CATEGORY_SHARE = 0.70, 0.15  # the rest: the home page
CONCURRENCIES = (16, 64)
WARMUP_SECONDS = 2
BARE_SIZE_ENV = "BENCH_BARE_BYTES"
STARTUP_TIMEOUT = 60.0


# --- the ceiling: a bare Starlette page ---------------------------------------------------------


def bare_page(size: int) -> bytes:
    """A constant HTML page of exactly `size` bytes (at least the bare markup's)."""
    head, tail = b"<!doctype html><html><body><p>", b"</p></body></html>\n"
    return head + b"x" * max(size - len(head) - len(tail), 0) + tail


def bare_app() -> Starlette:
    """The uvicorn factory for the ceiling; the page's size comes from BENCH_BARE_BYTES."""
    body = bare_page(int(os.environ.get(BARE_SIZE_ENV, "10000")))

    async def page(request: Request) -> Response:
        return Response(body, media_type="text/html")

    async def healthz(request: Request) -> Response:
        return Response(b"ok", media_type="text/plain")

    return Starlette(routes=[Route("/", page), Route("/healthz", healthz)])


# --- servers -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Fetched:
    status: int
    headers: dict[str, str]
    body: bytes


def fetch(port: int, path: str, headers: dict[str, str] | None = None) -> Fetched:
    """One GET without following redirects (a redirect to /login must not pass for a page)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        found = {k.lower(): v for k, v in response.getheaders()}
        return Fetched(response.status, found, response.read())
    finally:
        connection.close()


def wait_healthy(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Wait for a started server to answer /healthz; stop the benchmark if it dies first."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"bench: server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if fetch(port, "/healthz").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(
        f"bench: no 200 from /healthz within {STARTUP_TIMEOUT:.0f}s:\n{log.read_text()}"
    )


@contextmanager
def serve(command: Sequence[str], env: dict[str, str], port: int, log: Path) -> Iterator[None]:
    """Run a server until the block ends; it is always stopped, killed if it lingers."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            list(command), cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            wait_healthy(process, port, log)
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def uvicorn_options(port: int, workers: int) -> list[str]:
    """What `forum serve` gives uvicorn: default loop and http (auto), no access log."""
    return ["--host", HOST, "--port", str(port), "--workers", str(workers), "--no-access-log"]


def forum_command(port: int, workers: int) -> list[str]:
    executable = Path(sys.executable).with_name("forum")
    launcher = [str(executable)] if executable.exists() else [sys.executable, "-m", "forum.cli"]
    return [*launcher, "serve", *uvicorn_options(port, workers)]


def bare_command(port: int, workers: int) -> list[str]:
    app = "bench.http:bare_app"
    return [sys.executable, "-m", "uvicorn", app, "--factory", *uvicorn_options(port, workers)]


# --- wrk ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    bad_responses: int
    socket_errors: str


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _latency_ms(text: str, percentile: str) -> float:
    match = re.search(rf"^\s*{percentile}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.MULTILINE)
    if match is None:
        raise ValueError(f"no {percentile}% latency in wrk's output:\n{text}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(text: str) -> WrkResult:
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.MULTILINE)
    if rate is None:
        raise ValueError(f"no Requests/sec in wrk's output:\n{text}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = re.search(r"Socket errors:\s+(.+)$", text, re.MULTILINE)
    return WrkResult(
        requests_per_second=float(rate.group(1)),
        p50_ms=_latency_ms(text, "50"),
        p99_ms=_latency_ms(text, "99"),
        bad_responses=int(bad.group(1)) if bad else 0,
        socket_errors=errors.group(1).strip() if errors else "",
    )


def run_wrk(
    url: str,
    connections: int,
    seconds: int,
    headers: dict[str, str],
    script: Sequence[str] = (),
) -> WrkResult:
    threads = min(2, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", *script]
    command += ["--timeout", "10s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    done = subprocess.run(
        [*command, url], capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"bench: wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    result = parse_wrk(done.stdout)
    if result.bad_responses:
        raise SystemExit(
            f"bench: {result.bad_responses} non-2xx/3xx responses from {url}:\n{done.stdout}"
        )
    return result


# --- the benchmark -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    label: str
    port: int
    path: str
    script: Path | None = None  # a wrk Lua script choosing each request (the realistic mix)
    writes: float = 0.0  # replies per second posted through the API while it runs
    writer_tokens: tuple[str, ...] = ()  # the API tokens the writer posts with, in turn
    writer_topics: tuple[int, ...] = ()  # the topics it replies in

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}{self.path}"


@dataclass(frozen=True)
class Row:
    endpoint: Endpoint
    connections: int
    result: WrkResult
    written: int = 0  # replies the writer made during the run


def parse_duration(text: str) -> int:
    match = re.fullmatch(r"(\d+)(s|m)?", text.strip())
    if match is None or int(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: use seconds such as 10s, 30 or 1m")
    return int(match.group(1)) * (60 if match.group(2) == "m" else 1)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.http", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--topics", type=int, default=200, help="topics to seed (default 200)")
    parser.add_argument("--posts", type=int, default=50, help="posts per topic (default 50)")
    parser.add_argument("--members", type=int, default=25, help="members with a session (25)")
    parser.add_argument(
        "--writes", type=float, default=5.0, help="replies per second in the write row (5)"
    )
    parser.add_argument(
        "--connections", type=int, default=32, help="wrk connections for the mix (32)"
    )
    parser.add_argument("--duration", type=parse_duration, default=10, help="per run (10s)")
    parser.add_argument(
        "--warmup",
        type=parse_duration,
        default=10,
        help="the mix before each realistic run (10s): a served forum's caches are warm",
    )
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers (default 1)")
    parser.add_argument(
        "--single-url",
        action="store_true",
        help="also measure one member reloading one URL (c=16 and c=64)",
    )
    parser.add_argument(
        "--database-url",
        default="",
        help="a PostgreSQL URL (its tables are DROPPED and recreated); default: a new SQLite file",
    )
    return parser


def check_page(port: int, path: str, headers: dict[str, str]) -> int:
    """The page's size; it must be a 200 for the logged-in member (who gets no-store)."""
    page = fetch(port, path, headers)
    if page.status != 200:
        raise SystemExit(f"bench: GET {path} answered {page.status}, not 200:\n{page.body[:500]!r}")
    if "no-store" not in page.headers.get("cache-control", ""):
        raise SystemExit(f"bench: GET {path} did not see the member's session (no no-store)")
    return len(page.body)


def member_cookie(session_key: str, n: int) -> str:
    return f"forum_session={session_key}; forum_csrf=bench-csrf-cookie-{n}"


def lua_list(values: Sequence[str]) -> str:
    return (
        "{"
        + ", ".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
        + "}"
    )


def mix_script(seeded: SeedResult, posts: int, path: Path) -> Path:
    """A wrk script: every request is a random member's session asking for a random page."""
    topics, categories = mix_pages(seeded, posts)
    cookies = [member_cookie(key, n) for n, key in enumerate(seeded.member_sessions)]
    path.write_text(
        f"""-- generated by bench/http.py
local topics = {lua_list(topics)}
local categories = {lua_list(categories)}
local cookies = {lua_list(cookies)}
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("seed", threads)
end
function init(args)
  math.randomseed(os.time() * 1000 + (seed or 0))
end
function request()
  local r = math.random()
  local page
  if r < {TOPIC_SHARE} then
    page = topics[math.random(#topics)]
  elseif r < {TOPIC_SHARE + CATEGORY_SHARE} then
    page = categories[math.random(#categories)]
  else
    page = "/"
  end
  return wrk.format("GET", page, {{ Cookie = cookies[math.random(#cookies)] }})
end
"""
    )
    return path


class Writer(threading.Thread):
    """Replies through the API at a fixed rate until stopped (bounded by `limit` replies).

    Open loop: each reply is sent at its time on one of a few connections, whether or not the
    earlier ones have been answered, as members posting independently would."""

    CONNECTIONS = 8

    def __init__(
        self,
        port: int,
        tokens: Sequence[str],
        topic_ids: Sequence[int],
        rate: float,
        limit: int,
    ) -> None:
        super().__init__(daemon=True)
        self.port, self.tokens, self.topic_ids = port, list(tokens), list(topic_ids)
        self.rate, self.limit = rate, limit
        self.stop = threading.Event()
        self.written = 0
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self._lock = threading.Lock()
        self._local = threading.local()

    def _post(self, n: int, topic: int) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = http.client.HTTPConnection(
                HOST, self.port, timeout=30
            )
        token = self.tokens[n % len(self.tokens)]  # members take turns
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        body = json.dumps({"body": f"Benchmark reply {n} in topic {topic}."})
        started = time.monotonic()
        try:
            connection.request("POST", f"/api/v1/topics/{topic}/posts", body, headers)
            response = connection.getresponse()
            answer = response.read()
        except OSError as exc:
            self._local.connection = None
            with self._lock:
                self.failures.append(repr(exc))
            return
        with self._lock:
            if response.status != 201:
                self.failures.append(f"{response.status} {answer[:200]!r}")
            else:
                self.written += 1
                self.latencies.append(time.monotonic() - started)

    def run(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        rng = random.Random(8)
        started = time.monotonic()
        with ThreadPoolExecutor(self.CONNECTIONS) as pool:
            for n in range(self.limit):
                due = started + n / self.rate
                if self.stop.wait(max(due - time.monotonic(), 0)):
                    break
                pool.submit(self._post, n, rng.choice(self.topic_ids))


def measure_one(
    endpoint: Endpoint, connections: int, seconds: int, headers: dict[str, str], warmup: int
) -> Row:
    warmup = warmup if endpoint.script else WARMUP_SECONDS
    print(f"  {endpoint.label} c={connections}: warm-up {warmup}s, run {seconds}s", flush=True)
    script = ["-s", str(endpoint.script)] if endpoint.script else []
    run_wrk(endpoint.url, connections, warmup, headers, script)
    writer = None
    if endpoint.writes > 0:
        limit = int(endpoint.writes * (seconds + 5))
        writer = Writer(
            endpoint.port, endpoint.writer_tokens, endpoint.writer_topics, endpoint.writes, limit
        )
        writer.start()
    try:
        result = run_wrk(endpoint.url, connections, seconds, headers, script)
    finally:
        if writer is not None:
            writer.stop.set()
            writer.join(timeout=35)
    if writer is None:
        return Row(endpoint, connections, result)
    if writer.failures:
        raise SystemExit(f"bench: the writer failed: {writer.failures[0]}")
    latencies = sorted(writer.latencies) or [0.0]
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
    print(
        f"    writer: {writer.written} replies, POST p50 {p50 * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms"
    )
    return Row(endpoint, connections, result, writer.written)


def table(rows: list[Row], ceiling: dict[int, float]) -> str:
    lines = [
        "| load | conc | req/s | p50 ms | p99 ms | share of the bare page |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        r = row.result
        share = 100 * r.requests_per_second / ceiling[row.connections]
        label = row.endpoint.label
        if row.written:
            label += f" ({row.written} replies written)"
        lines.append(
            f"| {label} | {row.connections} | {r.requests_per_second:,.0f} "
            f"| {r.p50_ms:.2f} | {r.p99_ms:.2f} | {share:.1f}% |"
        )
    return "\n".join(lines)


def verdicts(rows: list[Row], ceiling: dict[int, float], postgres: bool) -> list[str]:
    found = []
    for row in rows:
        share = row.result.requests_per_second / ceiling[row.connections]
        if row.endpoint.script is not None and row.endpoint.writes > 0:
            target = MIX_TARGET_POSTGRES if postgres else MIX_TARGET_SQLITE
            ok = share >= target
            text = f"{100 * share:.1f}% of the bare page (target >= {100 * target:.0f}%)"
            if not postgres:
                ok = ok and row.result.p99_ms < MIX_P99_MS_SQLITE
                text += f", p99 {row.result.p99_ms:.1f} ms (target < {MIX_P99_MS_SQLITE:.0f})"
            found.append(f"realistic mix with writes: {'MET' if ok else 'NOT MET'}: {text}")
        elif row.endpoint.label.startswith("single URL: GET /t/"):
            ok = share >= TARGET
            found.append(
                f"single URL topic page c={row.connections}: {'MET' if ok else 'NOT MET'}: "
                f"{100 * share:.0f}% of the bare page (target >= {100 * TARGET:.0f}%)"
            )
    return found


def machine() -> str:
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    version = (wrk.stdout + wrk.stderr).split("[", 1)[0].strip() or "wrk"
    return (
        f"machine: nproc={os.cpu_count()}, Python {platform.python_version()} "
        f"({platform.python_implementation()}), {platform.platform()}, {version}"
    )


def seed(database_url: str, topics: int, posts: int, members: int) -> SeedResult:
    started = time.perf_counter()

    def progress(message: str) -> None:
        print(f"  [{time.perf_counter() - started:6.2f}s] {message}", flush=True)

    return asyncio.run(
        seed_forum(database_url, topics=topics, posts=posts, members=members, progress=progress)
    )


def run(args: argparse.Namespace, workdir: Path) -> None:
    database_url = args.database_url or f"sqlite://{workdir / 'bench.sqlite3'}"
    print(machine())
    print(f"seeding {args.topics} topics x {args.posts} posts into {database_url}")
    seeded = seed(database_url, args.topics, args.posts, args.members)
    print(
        f"seeded {seeded.topics} topics, {seeded.posts} posts, {seeded.reactions} reactions, "
        f"{len(seeded.member_sessions)} members with a session in {seeded.seconds:.1f}s"
    )
    database = workdir / "bench.sqlite3"
    if database.exists():
        print(f"database file: {database.stat().st_size / 1e6:.1f} MB")

    forum_port, bare_port = free_port(), free_port()
    env = {
        **os.environ,
        "FORUM_DATABASE_URL": database_url,
        "FORUM_VAR_DIR": str(workdir),
        "FORUM_SECRET_KEY": "bench",
    }
    cookie = {"Cookie": member_cookie(seeded.session_key, 0)}
    topic_path = f"/t/{seeded.topic_id}"
    script = mix_script(seeded, args.posts, workdir / "mix.lua")
    members = len(seeded.member_sessions)
    mix = [
        Endpoint(f"realistic mix, {members} members, reads only", forum_port, "/", script),
        Endpoint(
            f"realistic mix, {members} members, {args.writes:g} replies/s",
            forum_port,
            "/",
            script,
            args.writes,
            seeded.writer_tokens,
            seeded.topic_ids,
        ),
    ]
    single = [
        Endpoint(f"single URL: GET {topic_path}", forum_port, topic_path),
        Endpoint(
            f"single URL: GET /c/{seeded.category_slug}", forum_port, f"/c/{seeded.category_slug}"
        ),
        Endpoint(
            f"single URL: GET /api/v1/topics/{seeded.topic_id}",
            forum_port,
            f"/api/v1/topics/{seeded.topic_id}",
        ),
    ]
    with ExitStack() as stack:
        stack.enter_context(
            serve(forum_command(forum_port, args.workers), env, forum_port, workdir / "forum.log")
        )
        print(f"forum serving on {HOST}:{forum_port} ({args.workers} worker(s))")
        checked = [
            topic_path,
            f"/c/{seeded.category_slug}",
            "/",
            f"/api/v1/topics/{seeded.topic_id}",
        ]
        sizes = {path: check_page(forum_port, path, cookie) for path in checked}
        for path, size in sizes.items():
            print(f"size of GET {path}: {size:,} bytes")
        bare_env = {**env, BARE_SIZE_ENV: str(sizes[topic_path])}
        bare_log = workdir / "bare.log"
        stack.enter_context(
            serve(bare_command(bare_port, args.workers), bare_env, bare_port, bare_log)
        )
        bare = Endpoint("bare Starlette page (ceiling)", bare_port, "/")
        print(f"bare Starlette page of {len(fetch(bare_port, '/').body):,} bytes on {bare_port}")
        plan: list[tuple[Endpoint, int]] = [(bare, args.connections)]
        plan += [(endpoint, args.connections) for endpoint in mix]
        if args.single_url:
            concurrencies = [c for c in CONCURRENCIES if c != args.connections]
            plan += [(bare, c) for c in concurrencies]
            plan += [(endpoint, c) for endpoint in single for c in CONCURRENCIES]
        print(
            f"wrk: {args.duration}s per run, after {args.warmup}s of the same mix (the"
            f" realistic rows) or {WARMUP_SECONDS}s (the others) of warm-up"
        )
        rows = [
            measure_one(endpoint, c, args.duration, cookie, args.warmup) for endpoint, c in plan
        ]

    ceiling = {
        row.connections: row.result.requests_per_second for row in rows if row.endpoint == bare
    }
    print()
    print(table(rows, ceiling))
    print()
    for row in rows:
        if row.result.socket_errors:
            print(f"warning: {row.endpoint.label} c={row.connections}: {row.result.socket_errors}")
    for line in verdicts(rows, ceiling, bool(args.database_url)):
        print(line)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if shutil.which("wrk") is None:
        print(
            "bench: wrk is not installed; install it with `apt-get install -y wrk`", file=sys.stderr
        )
        return 2
    if min(args.topics, args.posts, args.workers, args.members, args.connections) < 1:
        print(
            "bench: --topics, --posts, --members, --connections and --workers must be at least 1",
            file=sys.stderr,
        )
        return 2
    if args.writes < 0:
        print("bench: --writes must not be negative", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="forum-bench-") as workdir:
        run(args, Path(workdir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
