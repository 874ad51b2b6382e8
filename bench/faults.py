"""Faults against a real `forum serve`, and what held: run by hand (it is not a test).

    .venv/bin/python -m bench.faults [--rate 10] [--seconds 4] [--clients 20]
        [--only redis-frozen,redis-killed,postgres-restart,sigterm,sqlite-full,ws-never-reads]

Everything runs on 127.0.0.1 in a temporary directory, with a fresh forum (bench.seed, in a
child process) and a member who replies through the API (`POST /api/v1/topics/{id}/posts`) at
--rate per second, open loop (each reply leaves at its time, answered or not), each with a
unique body, so that afterwards the database says which replies were stored. Scenarios:

1. redis-frozen: a private `redis-server` on a free port (started here, never the shared one)
   is the broker; after a calm phase it is frozen with SIGSTOP (connections stay open,
   nothing answers) for --seconds, then thawed. Write latency in each phase, /healthz while
   frozen, and whether a WebSocket subscriber still got every reply (the log poll).
2. redis-killed: the same, but Redis is killed (SIGKILL) while replies are posted, then
   started again on its port. /healthz while dead and after; the subscriber's replies.
3. postgres-restart: a private PostgreSQL cluster (initdb into a temporary directory, run as
   the `postgres` OS user on a free port; never the machine's server) holds the forum; it is
   stopped with `pg_ctl stop -m fast` while replies are posted, and started again. What the
   refusals were (503, Retry-After, JSON expected), /healthz while down and after, and that
   the forum takes replies again without being restarted.
4. sigterm: --clients WebSocket clients follow the topic; the server gets SIGTERM while
   replies are being posted; it is started again and every client reconnects with `since`
   (its highest id). Close codes, and whether each client ends with every stored reply
   exactly once.
5. sqlite-full: the server runs with a file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored) a
   little above the database's size, so SQLite's files cannot grow: the disk is "full". What
   the writes get (503 with Retry-After expected), /healthz, and nothing refused is stored.
6. ws-never-reads: a WebSocket client behind a 4 KiB receive buffer (SO_RCVBUF) subscribes,
   then never reads, while replies are published as fast as the server takes them; the
   server must end that connection (1013, then abort after its close timeout), so that the
   client, reading at last, meets the end of the stream; a client beside it gets every reply.

The closing table counts, per scenario: replies sent, acknowledged (201), refused (status
codes), unanswered (connection error or timeout: stored or not, the client cannot know), lost
(acknowledged, not stored), duplicated (stored twice), refused but stored (must be 0), and
write latency.
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
SCENARIOS = (
    "redis-frozen", "redis-killed", "postgres-restart", "sigterm", "sqlite-full", "ws-never-reads"
)  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


# --- the forum ---------------------------------------------------------------------------------


@dataclass
class Forum:
    directory: Path
    url: str  # sqlite://<file in directory> or postgres://... (a private cluster)
    topic_id: int
    token: str

    @property
    def database(self) -> Path:
        return Path(self.url[len("sqlite://") :])


async def _seed(directory: Path, url: str | None = None) -> Forum:
    from bench.seed import seed_forum
    from forum.actions.users import do_create_api_token
    from forum.db import close_db, init_db
    from forum.models import User
    from moderation import settings as moderation_settings

    url = url or f"sqlite://{directory / 'forum.sqlite3'}"
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
    return Forum(directory, url, seeded.topic_id, token)


def seed(directory: Path, url: str | None = None) -> Forum:
    """`_seed` in a process of its own: Tortoise keeps per-model query builders made for the
    first database it was given, so one process cannot seed SQLite and then PostgreSQL."""
    command = [sys.executable, "-m", "bench.faults", "--seed", str(directory), url or ""]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"bench: seeding failed:\n{done.stderr[-3000:]}")
    made = json.loads(done.stdout.strip().splitlines()[-1])
    return Forum(directory, made["url"], int(made["topic_id"]), made["token"])


async def _seed_and_print(directory: Path, url: str | None) -> None:
    forum = await _seed(directory, url)
    print(json.dumps({"url": forum.url, "topic_id": forum.topic_id, "token": forum.token}))


def _ignore_xfsz_and_limit(size: int) -> Any:
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return apply


class Server:
    """`forum serve` on a free port; its output is drained through a pipe (a pipe is not a
    file, so a file-size limit does not silence its log)."""

    def __init__(
        self,
        forum: Forum,
        broker: str,
        *,
        file_limit: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.forum, self.broker, self.file_limit = forum, broker, file_limit
        self.extra_env = env or {}
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
        env.update(self.extra_env)
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


class PrivateRedis:
    """A `redis-server` of our own on a free port (never the shared one), which can be
    frozen, killed and started again on the same port."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise LookupError("redis-server is not installed")
        self.binary, self.directory, self.port = binary, directory, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", HOST, "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), 0.2):
                return
            time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)
            self.process.terminate()
            self.process.wait(timeout=10)


@contextlib.contextmanager
def private_redis(directory: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    redis = PrivateRedis(directory)
    redis.start()
    assert redis.process is not None
    try:
        yield redis.url, redis.process
    finally:
        redis.stop()


PG_BIN = Path("/usr/lib/postgresql/15/bin")


class PrivatePostgres:
    """A PostgreSQL cluster of our own (initdb into a temporary directory, run as the
    `postgres` OS user, on a free port, its socket in that directory): the machine's shared
    server is never touched. Stopped with `pg_ctl stop -m fast` and started again at will."""

    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists():
            raise LookupError(f"no PostgreSQL binaries in {PG_BIN}")
        if os.geteuid() != 0 or shutil.which("runuser") is None:
            raise LookupError("a private PostgreSQL cluster needs root (runuser -u postgres)")
        self.root = Path(tempfile.mkdtemp(prefix="faults-pg-"))
        shutil.chown(self.root, "postgres", "postgres")
        self.data, self.port = self.root / "data", free_port()

    @property
    def url(self) -> str:
        return f"postgres://postgres@{HOST}:{self.port}/forum"

    def _run(self, *command: str | Path) -> None:
        done = subprocess.run(
            ["runuser", "-u", "postgres", "--", *map(str, command)],
            capture_output=True,
            cwd=self.root,
        )
        if done.returncode:
            raise SystemExit(f"bench: {command[0]} failed: {done.stderr.decode()[-2000:]}")

    def init(self) -> None:
        self._run(PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--locale=C", "--no-sync")  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses={HOST} -c fsync=off"
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.root / "postgres.log",
                  "-o", options, "-w", "start")  # fmt: skip

    def stop(self) -> None:
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(SystemExit):
                self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


# --- writes and what became of them ------------------------------------------------------------


@dataclass
class Write:
    body: str
    phase: str
    status: int | None = None  # None: no answer
    seconds: float = 0.0
    retry_after: str | None = None
    content_type: str = ""
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

    async def flood(self, seconds: float, phase: str, until: Any, concurrency: int = 4) -> None:
        """Closed loop: `concurrency` replies in flight, as fast as the server takes them,
        for at most `seconds` or until `until()` is true."""
        deadline = time.monotonic() + seconds
        headers = {"Authorization": f"Bearer {self.forum.token}"}
        async with httpx.AsyncClient(headers=headers, timeout=REQUEST_TIMEOUT) as http:

            async def loop() -> None:
                while time.monotonic() < deadline and not until():
                    write = Write(f"fault-{self.tag}-{len(self.writes)}", phase)
                    self.writes.append(write)
                    await self._one(http, write)

            await asyncio.gather(*(loop() for _ in range(concurrency)))

    async def _one(self, http: httpx.AsyncClient, write: Write) -> None:
        url = f"{self.server.base}/api/v1/topics/{self.forum.topic_id}/posts"
        started = time.perf_counter()
        try:
            answer = await http.post(url, json={"body": write.body})
            write.status = answer.status_code
            write.retry_after = answer.headers.get("retry-after")
            write.content_type = answer.headers.get("content-type", "")
        except httpx.HTTPError as exc:
            write.status, write.error = None, exc.__class__.__name__
        write.seconds = time.perf_counter() - started


async def select(forum: Forum, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of `sql` (`?` placeholders) from the forum's database, on a connection of its own."""
    if forum.url.startswith("sqlite://"):
        with contextlib.closing(sqlite3.connect(f"file:{forum.database}?mode=ro", uri=True)) as c:
            return list(c.execute(sql, params))
    import asyncpg

    parts = sql.split("?")
    numbered = parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))
    connection = await asyncpg.connect(forum.url)
    try:
        return [tuple(r) for r in await connection.fetch(numbered, *params)]
    finally:
        await connection.close()


async def stored_bodies(forum: Forum, tag: str) -> Counter[str]:
    rows = await select(forum, "SELECT source FROM posts WHERE source LIKE ?", f"fault-{tag}-%")
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


async def stored_numbers(forum: Forum, tag: str) -> list[int]:
    rows = await select(
        forum,
        "SELECT number FROM posts WHERE topic_id = ? AND source LIKE ? ORDER BY number",
        forum.topic_id,
        f"fault-{tag}-%",
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
            expected = await stored_numbers(forum, "redis")
            got_all = await until(lambda: sorted(follower.numbers) == expected, 15)
            await follower.close()
        finally:
            server.stop()
    row = tally("redis-frozen", writer.writes, await stored_bodies(forum, "redis"))
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
        expected = await stored_numbers(forum, "sigterm")

        def complete() -> bool:
            return all(sorted(set(f.numbers)) == expected for f in followers)

        await until(complete, 15)
        await asyncio.gather(*(f.close() for f in followers))
    finally:
        server.stop()
    row = tally("sigterm", writer.writes, await stored_bodies(forum, "sigterm"))
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
    row = tally("sqlite-full", writer.writes, await stored_bodies(forum, "full"))
    row.latency = latency(writer.writes, "full")
    row.notes += notes
    return row


async def redis_killed(forum: Forum, args: argparse.Namespace) -> Row:
    redis = PrivateRedis(forum.directory)
    redis.start()
    server = Server(forum, redis.url)
    try:
        server.start()
        follower = Follower()
        await follower.open(server, forum)
        writer = Writer(server, forum, "killed")
        await writer.run(args.rate, 2, "calm")
        down = asyncio.create_task(writer.run(args.rate, args.seconds, "killed"))
        await asyncio.sleep(0.3)  # replies are on their way when Redis dies
        redis.kill()
        await asyncio.sleep(args.seconds / 2)
        notes = [f"while killed: {await health(server)}"]
        await down
        redis.start()  # the same port: the broker reconnects by itself
        await writer.run(args.rate, 2, "restarted")
        notes.append(f"after restart: {await health(server)}")
        expected = await stored_numbers(forum, "killed")
        got_all = await until(lambda: sorted(set(follower.numbers)) == expected, 15)
        await follower.close()
    finally:
        server.stop()
        redis.stop()
    notes.append(tracebacks(server))
    row = tally("redis-killed", writer.writes, await stored_bodies(forum, "killed"))
    row.latency = "; ".join(latency(writer.writes, p) for p in ("calm", "killed", "restarted"))
    duplicates = len(follower.numbers) - len(set(follower.numbers))
    notes.append(
        f"subscriber: {len(set(follower.numbers))}/{len(expected)} replies live,"
        f" {duplicates} duplicated" + ("" if got_all else " (missing some)")
    )
    row.notes += notes
    return row


async def postgres_restart(forum: Forum, pg: PrivatePostgres, args: argparse.Namespace) -> Row:
    server = Server(forum, "memory://")
    server.start()
    notes: list[str] = []
    try:
        writer = Writer(server, forum, "pg")
        await writer.run(args.rate, 2, "calm")
        outage = asyncio.create_task(writer.run(args.rate, args.seconds, "down"))
        stopping = time.perf_counter()
        await asyncio.to_thread(pg.stop)  # pg_ctl stop -m fast, while replies are posted
        notes.append(f"pg_ctl stop -m fast took {(time.perf_counter() - stopping):.1f} s")
        await asyncio.sleep(args.seconds / 2)
        notes.append(f"while down: {await health(server)}")
        await outage
        starting = time.perf_counter()
        await asyncio.to_thread(pg.start)
        back = time.perf_counter()
        notes.append(f"pg_ctl start took {back - starting:.1f} s")
        await writer.run(args.rate, 3, "after")
        after = [w for w in writer.writes if w.phase == "after"]
        first_ok = next((i for i, w in enumerate(after) if w.status == 201), None)
        failed_after = sum(1 for w in after if w.status != 201)
        notes.append(
            f"after the restart: {len(after) - failed_after}/{len(after)} replies stored,"
            f" the first accepted one was reply #{first_ok} (no server restart)"
        )
        notes.append(f"after: {await health(server)}")
        refused = [w for w in writer.writes if w.status not in (201, None)]
        notes.append(
            "refusals: "
            + (
                ", ".join(
                    f"{n}x {status} Retry-After={retry or '-'} {kind or '-'}"
                    for (status, retry, kind), n in sorted(
                        Counter(
                            (w.status, w.retry_after, w.content_type.split(";")[0]) for w in refused
                        ).items(),
                        key=str,
                    )
                )
                or "none"
            )
        )
    finally:
        server.stop()
    notes.append(tracebacks(server))
    row = tally("postgres-restart", writer.writes, await stored_bodies(forum, "pg"))
    row.latency = "; ".join(latency(writer.writes, p) for p in ("calm", "down", "after"))
    row.notes += notes
    return row


def tracebacks(server: Server) -> str:
    text = server.log.read_text(errors="replace") if server.log.exists() else ""
    return f"server log: {text.count('Traceback')} tracebacks, {len(text.splitlines())} lines"


def _tcp_state(local_port: int, peer_port: int) -> str:
    """The state of the server's end of one loopback connection ("" when it is gone)."""
    done = subprocess.run(
        ["ss", "-Htan", f"( sport = :{local_port} and dport = :{peer_port} )"],
        capture_output=True,
        text=True,
    )
    lines = done.stdout.split()
    return lines[0] if lines else ""


def _raw_websocket(server: Server, forum: Forum, receive_buffer: int) -> socket.socket:
    """A WebSocket that subscribes to the topic, reads its `subscribed` answer, and from then
    on never reads, behind a small receive buffer (set before connecting, so the window the
    server sees is small from the start)."""
    import base64

    from websockets.frames import Frame, Opcode

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(10)
    sock.connect((HOST, server.port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /ws HTTP/1.1\r\nHost: {HOST}:{server.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {forum.token}\r\n\r\n"
        ).encode()
    )
    seen = b""
    while b"\r\n\r\n" not in seen:
        seen += sock.recv(4096)
    if not seen.startswith(b"HTTP/1.1 101"):
        raise SystemExit(f"bench: the WebSocket handshake failed: {seen[:200]!r}")
    subscribe = json.dumps({"type": "subscribe", "channels": [f"topic:{forum.topic_id}"]})
    sock.sendall(Frame(Opcode.TEXT, subscribe.encode()).serialize(mask=True))
    while b"subscribed" not in seen:
        seen += sock.recv(4096)
    return sock


def _drain(sock: socket.socket, within: float) -> tuple[str, int]:
    """Read everything the server left; how the stream ended, and the bytes read."""
    sock.settimeout(within)
    total = 0
    try:
        while chunk := sock.recv(65536):
            total += len(chunk)
    except TimeoutError:
        return f"still open after {within:g} s of reading (a zombie)", total
    except ConnectionResetError:
        return "reset by the server", total
    return "closed by the server (EOF)", total


async def ws_never_reads(forum: Forum, args: argparse.Namespace) -> Row:
    if shutil.which("ss") is None:
        raise LookupError("ss (iproute2) is not installed: it tells when the server ended it")
    # A small queue (the minimum, 8 frames) so that a few hundred replies fill the buffers.
    server = Server(forum, "memory://", env={"FORUM_WS_QUEUE_SIZE": "8"})
    server.start()
    notes: list[str] = []
    try:
        follower = Follower()  # a client that reads, beside the one that does not
        await follower.open(server, forum)
        sock = await asyncio.to_thread(_raw_websocket, server, forum, 4096)
        client_port = sock.getsockname()[1]
        writer = Writer(server, forum, "ws")
        ended_at: list[float] = []

        def ended() -> bool:
            if not ended_at and _tcp_state(server.port, client_port) != "ESTAB":
                ended_at.append(time.perf_counter())
            return bool(ended_at)

        started = time.perf_counter()
        watching = asyncio.create_task(until(ended, 60 + args.seconds))
        await writer.flood(60, "publishing", lambda: bool(ended_at))
        server_ended = await watching
        published = sum(1 for w in writer.writes if w.status == 201)
        if server_ended:
            notes.append(
                f"the server ended the connection {ended_at[0] - started:.1f} s after publishing"
                f" began ({published} replies published; its end of the socket is now"
                f" {_tcp_state(server.port, client_port) or 'gone'})"
            )
        else:
            notes.append(f"the server never ended the connection ({published} replies)")
        how, read = await asyncio.to_thread(_drain, sock, 10)
        sock.close()
        notes.append(f"the client that never read, reading at last: {how} after {read} bytes")
        expected = await stored_numbers(forum, "ws")
        got_all = await until(lambda: sorted(set(follower.numbers)) == expected, 15)
        notes.append(
            f"the client that reads: {len(set(follower.numbers))}/{len(expected)} replies"
            + ("" if got_all else " (missing some)")
        )
        await follower.close()
    finally:
        server.stop()
    row = tally("ws-never-reads", writer.writes, await stored_bodies(forum, "ws"))
    row.latency = latency(writer.writes, "publishing")
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


RUNS = {
    "redis-frozen": redis_frozen,
    "redis-killed": redis_killed,
    "sigterm": sigterm,
    "sqlite-full": sqlite_full,
    "ws-never-reads": ws_never_reads,
}


async def main(args: argparse.Namespace) -> int:
    wanted = [s for s in args.only.split(",") if s] if args.only else list(SCENARIOS)
    unknown = set(wanted) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"bench: unknown scenario(s) {sorted(unknown)}; known: {SCENARIOS}")
    rows: list[Row] = []
    for name in wanted:
        with tempfile.TemporaryDirectory(prefix=f"faults-{name}-") as tmp:
            print(f"== {name}", flush=True)
            pg: PrivatePostgres | None = None
            try:
                if name == "postgres-restart":
                    pg = PrivatePostgres()
                    pg.init()
                    pg.start()
                    forum = await asyncio.to_thread(seed, Path(tmp), pg.url)
                    row = await postgres_restart(forum, pg, args)
                else:
                    forum = await asyncio.to_thread(seed, Path(tmp))
                    row = await RUNS[name](forum, args)
            except LookupError as exc:
                row = Row(name, notes=[f"skipped: {exc}"])
            except BaseException:
                log = Path(tmp) / "serve.log"
                if log.exists():
                    print(log.read_text()[-3000:], file=sys.stderr)
                raise
            finally:
                if pg is not None:
                    pg.remove()
            rows.append(row)
    return 0 if print_table(rows) else 1


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__)
    parser.add_argument("--rate", type=float, default=10.0, help="replies per second")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each fault")
    parser.add_argument("--clients", type=int, default=20, help="WebSocket clients (sigterm)")
    parser.add_argument("--only", default="", help=f"comma-separated, of {','.join(SCENARIOS)}")
    parser.add_argument("--seed", nargs=2, metavar=("DIR", "URL"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse()
    if arguments.seed:  # a child process of `seed`
        directory, url = arguments.seed
        asyncio.run(_seed_and_print(Path(directory), url or None))
        sys.exit(0)
    sys.exit(asyncio.run(main(arguments)))
