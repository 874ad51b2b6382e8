"""HTTP throughput of the forum's busiest reads, against the framework's ceiling on this machine.

Run by hand from the repository root (it is not a test):

    .venv/bin/python -m bench.http [--topics 200] [--posts 50] [--duration 10s] [--workers 1]
        [--database-url postgres://postgres@127.0.0.1:5432/bench]

It seeds a large forum (a new SQLite file in a temporary directory unless --database-url names
a PostgreSQL database, whose tables are then dropped and recreated), serves it with the real
`forum serve`, serves a bare Starlette page of the same size as the topic page with the same
uvicorn options (the ceiling), loads each with wrk as a logged-in member and prints a table.
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
import os
import platform
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.seed import SeedResult, seed_forum

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parent.parent
TARGET = 0.25  # the topic page should reach this share of the bare framework's throughput
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


def run_wrk(url: str, connections: int, seconds: int, headers: dict[str, str]) -> WrkResult:
    threads = min(2, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
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

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}{self.path}"


@dataclass(frozen=True)
class Row:
    endpoint: Endpoint
    connections: int
    result: WrkResult


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
    parser.add_argument("--duration", type=parse_duration, default=10, help="per run (10s)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers (default 1)")
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


def measure(endpoint: Endpoint, seconds: int, headers: dict[str, str]) -> list[Row]:
    rows = []
    for connections in CONCURRENCIES:
        print(
            f"  {endpoint.label} c={connections}: warm-up {WARMUP_SECONDS}s, run {seconds}s",
            flush=True,
        )
        run_wrk(endpoint.url, connections, WARMUP_SECONDS, headers)
        rows.append(
            Row(endpoint, connections, run_wrk(endpoint.url, connections, seconds, headers))
        )
    return rows


def table(rows: list[Row], ceiling: dict[int, float]) -> str:
    lines = [
        "| endpoint | conc | req/s | p50 ms | p99 ms | % of ceiling |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        r = row.result
        share = 100 * r.requests_per_second / ceiling[row.connections]
        lines.append(
            f"| {row.endpoint.label} | {row.connections} | {r.requests_per_second:,.0f} "
            f"| {r.p50_ms:.2f} | {r.p99_ms:.2f} | {share:.0f}% |"
        )
    return "\n".join(lines)


def verdict(rows: list[Row], topic: Endpoint, ceiling: dict[int, float]) -> str:
    shares = {
        row.connections: row.result.requests_per_second / ceiling[row.connections]
        for row in rows
        if row.endpoint == topic
    }
    parts = ", ".join(f"c={c}: {100 * s:.0f}%" for c, s in sorted(shares.items()))
    met = all(s >= TARGET for s in shares.values())
    word = "MET" if met else "NOT MET"
    return f"target {word}: the topic page reaches {parts} of the ceiling (target >= 25% at each)"


def machine() -> str:
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    version = (wrk.stdout + wrk.stderr).split("[", 1)[0].strip() or "wrk"
    return (
        f"machine: nproc={os.cpu_count()}, Python {platform.python_version()} "
        f"({platform.python_implementation()}), {platform.platform()}, {version}"
    )


def seed(database_url: str, topics: int, posts: int) -> SeedResult:
    started = time.perf_counter()

    def progress(message: str) -> None:
        print(f"  [{time.perf_counter() - started:6.2f}s] {message}", flush=True)

    return asyncio.run(seed_forum(database_url, topics=topics, posts=posts, progress=progress))


def run(args: argparse.Namespace, workdir: Path) -> None:
    database_url = args.database_url or f"sqlite://{workdir / 'bench.sqlite3'}"
    print(machine())
    print(f"seeding {args.topics} topics x {args.posts} posts into {database_url}")
    seeded = seed(database_url, args.topics, args.posts)
    print(
        f"seeded {seeded.topics} topics, {seeded.posts} posts, {seeded.reactions} reactions "
        f"in {seeded.seconds:.1f}s"
    )
    print(
        f"benchmark topic: {seeded.topic_id} ({args.posts} posts) in category "
        f"{seeded.category_slug!r}, logged in as {seeded.member_username}"
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
    cookie = {"Cookie": f"forum_session={seeded.session_key}; forum_csrf=bench-csrf-cookie"}
    topic = Endpoint(f"GET /t/{seeded.topic_id}", forum_port, f"/t/{seeded.topic_id}")
    pages = [
        topic,
        Endpoint(f"GET /c/{seeded.category_slug}", forum_port, f"/c/{seeded.category_slug}"),
        Endpoint(
            f"GET /api/v1/topics/{seeded.topic_id}",
            forum_port,
            f"/api/v1/topics/{seeded.topic_id}",
        ),
    ]
    with ExitStack() as stack:
        stack.enter_context(
            serve(forum_command(forum_port, args.workers), env, forum_port, workdir / "forum.log")
        )
        print(f"forum serving on {HOST}:{forum_port} ({args.workers} worker(s))")
        sizes = {page.path: check_page(forum_port, page.path, cookie) for page in pages}
        for path, size in sizes.items():
            print(f"size of GET {path}: {size:,} bytes")
        bare_env = {**env, BARE_SIZE_ENV: str(sizes[topic.path])}
        bare_log = workdir / "bare.log"
        stack.enter_context(
            serve(bare_command(bare_port, args.workers), bare_env, bare_port, bare_log)
        )
        bare = Endpoint("bare Starlette (ceiling)", bare_port, "/")
        print(f"bare Starlette page of {len(fetch(bare_port, '/').body):,} bytes on {bare_port}")
        print(f"wrk: {', '.join(f'c={c}' for c in CONCURRENCIES)}, {args.duration}s per run")
        rows = [
            row for endpoint in (bare, *pages) for row in measure(endpoint, args.duration, cookie)
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
    print(verdict(rows, topic, ceiling))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if shutil.which("wrk") is None:
        print(
            "bench: wrk is not installed; install it with `apt-get install -y wrk`", file=sys.stderr
        )
        return 2
    if args.topics < 1 or args.posts < 1 or args.workers < 1:
        print("bench: --topics, --posts and --workers must be at least 1", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="forum-bench-") as workdir:
        run(args, Path(workdir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
