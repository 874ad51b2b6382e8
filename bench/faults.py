"""Faults against a real `forum serve`, and what held: run by hand (it is not a test).

    .venv/bin/python -m bench.faults [--rate 10] [--seconds 4] [--clients 20]
        [--only redis-frozen,sigterm,sqlite-full]

Everything runs on 127.0.0.1 in a temporary directory, with a fresh SQLite forum (bench.seed)
and a member who replies through the API (`POST /api/v1/topics/{id}/posts`) at --rate per
second, open loop (each reply leaves at its time, answered or not), each with a unique body,
so that afterwards the database says which replies were stored. Scenarios:

1. redis-frozen: a private `redis-server` on a free port (started here, never the shared one)
   is the broker; after a calm phase it is frozen with SIGSTOP (connections stay open,
   nothing answers) for --seconds, then thawed. Write latency in each phase, /healthz while
   frozen, and whether a WebSocket subscriber still got every reply (the log poll).
2. sigterm: --clients WebSocket clients follow the topic; the server gets SIGTERM while
   replies are being posted; it is started again and every client reconnects with `since`
   (its highest id). Close codes, and whether each client ends with every stored reply
   exactly once.
3. sqlite-full: the server runs with a file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored) a
   little above the database's size, so SQLite's files cannot grow: the disk is "full". What
   the writes get (503 with Retry-After expected), /healthz, and nothing refused is stored.

PostgreSQL restarts are not reproduced here (that needs a private cluster); they are covered
by forum.middleware.database_unavailable's 503 and its tests. The closing table counts, per
scenario: replies sent, acknowledged (201), refused (status codes), unanswered (connection
error or timeout: stored or not, the client cannot know), lost (acknowledged, not stored),
duplicated (stored twice), refused but stored (must be 0), and write latency.
"""

# ruff: noqa: E402 - the guard below must run before any import that could reach `http`

from __future__ import annotations

import sys

if __name__ == "__main__" and not __package__:
    sys.exit("bench: run it as a module from the repository root: python -m bench.faults")

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 60.0
REQUEST_TIMEOUT = 15.0
SCENARIOS = ("redis-frozen", "sigterm", "sqlite-full")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


# --- the forum ---------------------------------------------------------------------------------


@dataclass
class Forum:
    directory: Path
    database: Path
    topic_id: int
    token: str

    @property
    def url(self) -> str:
        return f"sqlite://{self.database}"


async def _seed(directory: Path) -> Forum:
    from bench.seed import seed_forum
    from forum.actions.users import do_create_api_token
    from forum.db import close_db, init_db
    from forum.models import User
    from moderation import settings as moderation_settings

    database = directory / "forum.sqlite3"
    url = f"sqlite://{database}"
    seeded = await seed_forum(url, topics=2, posts=3, progress=lambda _m: None)
    await init_db(url)
    try:
        await moderation_settings.store(
            {"approve_first_posts": 0, "posts_per_interval": 100_000, "posts_per_hour": 100_000,
             "new_posts_per_interval": 100_000, "new_posts_per_hour": 100_000}
        )  # fmt: skip
        member = await User.get(username=seeded.member_username)
        _record, token = await do_create_api_token(member, "bench faults")
    finally:
        await close_db()
    return Forum(directory, database, seeded.topic_id, token)


def _ignore_xfsz_and_limit(size: int) -> Any:
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return apply


class Server:
    """`forum serve` on a free port; its output is drained through a pipe (a pipe is not a
    file, so a file-size limit does not silence its log)."""

    def __init__(self, forum: Forum, broker: str, *, file_limit: int | None = None) -> None:
        self.forum, self.broker, self.file_limit = forum, broker, file_limit
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = forum.directory / "serve.log"

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FORUM_")}
        env.update(
            FORUM_DATABASE_URL=self.forum.url,
            FORUM_BROKER_URL=self.broker,
            FORUM_SECRET_KEY="bench-faults",
            FORUM_VAR_DIR=str(self.forum.directory / "var"),
            FORUM_BASE_URL=self.base,
        )
        command = [sys.executable, "-m", "forum.cli", "serve", "--host", HOST]
        command += ["--port", str(self.port), "--no-access-log"]
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=_ignore_xfsz_and_limit(self.file_limit) if self.file_limit else None,
        )
        out = self.process.stdout
        assert out is not None

        def drain() -> None:
            with self.log.open("ab") as log:
                for line in out:
                    log.write(line)

        threading.Thread(target=drain, daemon=True).start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"bench: forum serve stopped; see {self.log}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code in (200, 503):
                    return
            time.sleep(0.1)
        raise SystemExit(f"bench: forum serve did not answer; see {self.log}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@contextlib.contextmanager
def private_redis(directory: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise LookupError("redis-server is not installed")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no",
         "--dir", str(directory)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection((HOST, port), 0.2):
                break
            time.sleep(0.05)
        yield f"redis://{HOST}:{port}/0", process
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)
            process.terminate()
        process.wait(timeout=10)


# --- writes and what became of them ------------------------------------------------------------


@dataclass
class Write:
    body: str
    phase: str
    status: int | None = None  # None: no answer
    seconds: float = 0.0
    retry_after: str | None = None
    error: str = ""  # why there was no answer


@dataclass
class Writer:
    server: Server
    forum: Forum
    tag: str
    writes: list[Write] = field(default_factory=list)

    async def run(self, rate: float, seconds: float, phase: str) -> None:
        """Open loop: one reply every 1/rate s for `seconds`, each on its own task."""
        start, tasks = time.monotonic(), []
        headers = {"Authorization": f"Bearer {self.forum.token}"}
        async with httpx.AsyncClient(headers=headers, timeout=REQUEST_TIMEOUT) as http:
            for n in range(int(rate * seconds)):
                await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
                write = Write(f"fault-{self.tag}-{len(self.writes)}", phase)
                self.writes.append(write)
                tasks.append(asyncio.create_task(self._one(http, write)))
            await asyncio.gather(*tasks)

    async def _one(self, http: httpx.AsyncClient, write: Write) -> None:
        url = f"{self.server.base}/api/v1/topics/{self.forum.topic_id}/posts"
        started = time.perf_counter()
        try:
            answer = await http.post(url, json={"body": write.body})
            write.status = answer.status_code
            write.retry_after = answer.headers.get("retry-after")
        except httpx.HTTPError as exc:
            write.status, write.error = None, exc.__class__.__name__
        write.seconds = time.perf_counter() - started


def stored_bodies(forum: Forum, tag: str) -> Counter[str]:
    with contextlib.closing(sqlite3.connect(f"file:{forum.database}?mode=ro", uri=True)) as c:
        rows = c.execute("SELECT source FROM posts WHERE source LIKE ?", (f"fault-{tag}-%",))
        return Counter(str(r[0]) for r in rows)


@dataclass
class Row:
    scenario: str
    sent: int = 0
    acked: int = 0
    refused: str = ""
    unanswered: int = 0
    lost: int = 0
    duplicated: int = 0
    refused_stored: int = 0
    latency: str = ""
    notes: list[str] = field(default_factory=list)


def tally(scenario: str, writes: list[Write], stored: Counter[str]) -> Row:
    row = Row(scenario, sent=len(writes))
    codes: Counter[int] = Counter()
    for w in writes:
        if w.status == 201:
            row.acked += 1
            row.lost += stored[w.body] == 0
        elif w.status is None:
            row.unanswered += 1
        else:
            codes[w.status] += 1
            row.refused_stored += stored[w.body] > 0
    row.duplicated = sum(1 for count in stored.values() if count > 1)
    row.refused = ", ".join(f"{n}x{code}" for code, n in sorted(codes.items())) or "0"
    errors = Counter(w.error for w in writes if w.status is None)
    if errors:
        row.notes.append(f"unanswered: {dict(errors)}")
    return row


def latency(writes: list[Write], phase: str) -> str:
    values = sorted(w.seconds for w in writes if w.phase == phase and w.status is not None)
    if not values:
        return f"{phase}: -"
    return f"{phase}: p50 {statistics.median(values) * 1000:.0f} ms, max {values[-1] * 1000:.0f} ms"


async def health(server: Server) -> str:
    started = time.perf_counter()
    try:
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT) as http:
            answer = await http.get(f"{server.base}/healthz")
        body = answer.json()
        what = f"{answer.status_code} database={body.get('database')} broker={body.get('broker')}"
    except (httpx.HTTPError, ValueError) as exc:
        what = f"no answer ({exc.__class__.__name__})"
    return f"/healthz {what} in {(time.perf_counter() - started) * 1000:.0f} ms"


# --- WebSocket clients ---------------------------------------------------------------------------


@dataclass
class Follower:
    """Follows the topic; keeps the post numbers it was sent, and its highest event id."""

    numbers: list[int] = field(default_factory=list)
    last_id: int = 0
    close_code: int | None = None
    ws: ClientConnection | None = None
    task: asyncio.Task[None] | None = None

    async def open(self, server: Server, forum: Forum) -> None:
        self.ws = await connect(
            f"ws://{HOST}:{server.port}/ws",
            additional_headers={"Authorization": f"Bearer {forum.token}"},
            open_timeout=10,
        )
        subscribe: dict[str, Any] = {"type": "subscribe", "channels": [f"topic:{forum.topic_id}"]}
        if self.last_id:
            subscribe["since"] = self.last_id
        await self.ws.send(json.dumps(subscribe))
        self.task = asyncio.create_task(self._read(self.ws))

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for text in ws:
                frame = json.loads(text)
                if frame.get("type") == "subscribed":
                    self.last_id = max(self.last_id, int(frame.get("last_id") or 0))
                if frame.get("type") != "event" or frame.get("id") is None:
                    continue
                self.last_id = max(self.last_id, int(frame["id"]))
                if frame.get("name") == "post.created":
                    self.numbers.append(int(frame["data"]["number"]))
        except ConnectionClosed:
            pass
        self.close_code = ws.close_code

    async def closed(self, within: float) -> None:
        if self.task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.task), within)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        await self.closed(5)


def stored_numbers(forum: Forum, tag: str) -> list[int]:
    with contextlib.closing(sqlite3.connect(f"file:{forum.database}?mode=ro", uri=True)) as c:
        rows = c.execute(
            "SELECT number FROM posts WHERE topic_id = ? AND source LIKE ? ORDER BY number",
            (forum.topic_id, f"fault-{tag}-%"),
        )
        return [int(r[0]) for r in rows]


async def until(condition: Any, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.05)
    return bool(condition())


# --- scenarios -----------------------------------------------------------------------------------


async def redis_frozen(forum: Forum, args: argparse.Namespace) -> Row:
    with private_redis(forum.directory) as (broker, redis_process):
        server = Server(forum, broker)
        server.start()
        try:
            follower = Follower()
            await follower.open(server, forum)
            writer = Writer(server, forum, "redis")
            await writer.run(args.rate, 2, "calm")
            os.kill(redis_process.pid, signal.SIGSTOP)
            frozen_health = asyncio.create_task(health(server))
            await writer.run(args.rate, args.seconds, "frozen")
            notes = [await frozen_health]
            os.kill(redis_process.pid, signal.SIGCONT)
            await writer.run(args.rate, 2, "thawed")
            expected = stored_numbers(forum, "redis")
            got_all = await until(lambda: sorted(follower.numbers) == expected, 15)
            await follower.close()
        finally:
            server.stop()
    row = tally("redis-frozen", writer.writes, stored_bodies(forum, "redis"))
    row.latency = "; ".join(latency(writer.writes, p) for p in ("calm", "frozen", "thawed"))
    duplicates = len(follower.numbers) - len(set(follower.numbers))
    notes.append(
        f"subscriber: {len(set(follower.numbers))}/{len(expected)} replies live,"
        f" {duplicates} duplicated" + ("" if got_all else " (missing some)")
    )
    row.notes += notes
    return row


async def sigterm(forum: Forum, args: argparse.Namespace) -> Row:
    server = Server(forum, "memory://")
    server.start()
    followers = [Follower() for _ in range(args.clients)]
    await asyncio.gather(*(f.open(server, forum) for f in followers))
    writer = Writer(server, forum, "sigterm")
    writing = asyncio.create_task(writer.run(args.rate, args.seconds, "during"))
    await asyncio.sleep(args.seconds / 2)
    assert server.process is not None
    stopping = time.perf_counter()
    server.process.send_signal(signal.SIGTERM)
    await asyncio.gather(*(f.closed(20) for f in followers))
    codes = Counter(f.close_code for f in followers)
    await writing
    server.process.wait(timeout=30)
    stopped = time.perf_counter() - stopping
    server.start()  # the same port and database: clients come back with since
    try:
        for f in followers:
            await f.open(server, forum)
        expected = stored_numbers(forum, "sigterm")

        def complete() -> bool:
            return all(sorted(set(f.numbers)) == expected for f in followers)

        await until(complete, 15)
        await asyncio.gather(*(f.close() for f in followers))
    finally:
        server.stop()
    row = tally("sigterm", writer.writes, stored_bodies(forum, "sigterm"))
    row.latency = latency(writer.writes, "during")
    missing = sum(1 for f in followers if not set(expected) <= set(f.numbers))
    doubled = sum(1 for f in followers if len(f.numbers) != len(set(f.numbers)))
    row.notes += [
        "replies sent while no server listened are refused connections, by design",
        f"close codes {dict(codes)}; stopped in {stopped:.1f} s",
        f"after reconnecting with since: {missing} of {len(followers)} clients missing"
        f" replies, {doubled} with duplicates",
    ]
    return row


async def sqlite_full(forum: Forum, args: argparse.Namespace) -> Row:
    sizes = [p.stat().st_size for p in forum.directory.glob("forum.sqlite3*")]
    limit = max(sizes) + 64 * 1024  # neither the database nor its WAL can grow past this
    server = Server(forum, "memory://", file_limit=limit)
    server.start()
    try:
        writer = Writer(server, forum, "full")
        await writer.run(args.rate, 2, "before")  # fills what room is left
        rounds = 0
        while rounds < 10 and not any(w.status == 503 for w in writer.writes):
            await writer.run(args.rate * 4, 2, "filling")
            rounds += 1
        await writer.run(args.rate, args.seconds, "full")
        notes = [await health(server)]
        full = [w for w in writer.writes if w.phase == "full"]
        retry = {w.retry_after for w in full if w.status == 503}
        notes.append(f"Retry-After on 503s: {sorted(r or '-' for r in retry)}")
        notes.append(f"limit: {limit} bytes per file (RLIMIT_FSIZE)")
    finally:
        server.stop()
    row = tally("sqlite-full", writer.writes, stored_bodies(forum, "full"))
    row.latency = latency(writer.writes, "full")
    row.notes += notes
    return row


# --- main ----------------------------------------------------------------------------------------


def held(rows: list[Row]) -> bool:
    return all(r.lost == 0 and r.duplicated == 0 and r.refused_stored == 0 for r in rows)


def print_table(rows: list[Row]) -> bool:
    print()
    print("| scenario | sent | acked | refused | unanswered | lost | duplicated"
          " | refused but stored | write latency |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r.scenario} | {r.sent} | {r.acked} | {r.refused} | {r.unanswered} | {r.lost}"
            f" | {r.duplicated} | {r.refused_stored} | {r.latency} |"
        )
    print()
    for r in rows:
        for note in r.notes:
            print(f"- {r.scenario}: {note}")
    print()
    print("HELD: no acknowledged write lost, none duplicated, none refused and stored"
          if held(rows)
          else "NOT HELD: see the rows above")  # fmt: skip
    return held(rows)


async def main(args: argparse.Namespace) -> int:
    wanted = [s for s in args.only.split(",") if s] if args.only else list(SCENARIOS)
    unknown = set(wanted) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"bench: unknown scenario(s) {sorted(unknown)}; known: {SCENARIOS}")
    rows: list[Row] = []
    for name in wanted:
        with tempfile.TemporaryDirectory(prefix=f"faults-{name}-") as tmp:
            forum = await _seed(Path(tmp))
            print(f"== {name}", flush=True)
            try:
                if name == "redis-frozen":
                    row = await redis_frozen(forum, args)
                elif name == "sigterm":
                    row = await sigterm(forum, args)
                else:
                    row = await sqlite_full(forum, args)
            except LookupError as exc:
                row = Row(name, notes=[f"skipped: {exc}"])
            except BaseException:
                log = Path(tmp) / "serve.log"
                if log.exists():
                    print(log.read_text()[-3000:], file=sys.stderr)
                raise
            rows.append(row)
    return 0 if print_table(rows) else 1


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__)
    parser.add_argument("--rate", type=float, default=10.0, help="replies per second")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each fault")
    parser.add_argument("--clients", type=int, default=20, help="WebSocket clients (sigterm)")
    parser.add_argument("--only", default="", help=f"comma-separated, of {','.join(SCENARIOS)}")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
