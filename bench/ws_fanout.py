"""WebSocket fan-out: N authenticated clients on one topic of one `forum serve` process.

    .venv/bin/python -m bench.ws_fanout [--clients 1000,5000,10000] [--posts 20]

For each N it seeds nothing new (one forum is seeded up front: a few topics, N members with an
API token each, and a poster), then, with a fresh server process per N so that memory figures
start clean:

1. our server: `forum serve` (one worker, uvicorn's websockets-sansio, uvloop) on 127.0.0.1;
   N clients connect with `Authorization: Bearer <their own token>`, subscribe to one topic and
   idle; then P replies are posted through the HTTP API (POST /api/v1/topics/{id}/posts), one at
   a time, at least --interval apart, each after the previous one has reached every client;
2. the ceiling: a bare `websockets` asyncio server (same loop, no compression) that keeps the
   subscribed connections in a set and calls `broadcast()` with a frame of the same size when a
   control connection asks it to, measured on the same kind of clients with the same handshake.

The load generator is this process: raw asyncio protocols on uvloop that do the HTTP/1.1
Upgrade by hand, send masked frames (the subscribe, pongs), and only count the frames they
receive, reading each event's id from the first bytes of its payload. Sockets are spread over
source addresses 127.0.0.1, .2, ... so that no address needs more than the ephemeral port range.

Printed per N: delivery time from the trigger (POST written / control frame written) to each
client (p50 and p99 over clients and posts), the time until the last client had each post,
frames per second (event frames / summed trigger-to-last-arrival time of each burst; the
first-to-last-arrival rate is shown too, for information only), server CPU
microseconds per delivered frame (/proc/<pid>/stat over the posting window, so it includes
handling the POSTs, idle pings and the hub's log poll), server RSS per idle connection
((VmRSS with N subscribed idle clients - VmRSS before) / N), the generator's own CPU per frame,
our figures as a ratio of the bare server's, and the issue's targets with MET / NOT MET.
"""

# ruff: noqa: E402 - the guard below must run before any import that could reach `http`

from __future__ import annotations

import sys

if __name__ == "__main__" and not __package__:
    # As a script, bench/ would come first on sys.path and bench/http.py would shadow `http`.
    sys.exit("bench: run it as a module from the repository root: python -m bench.ws_fanout")

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import math
import os
import platform
import resource
import signal
import socket
import struct
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any, TypeVar, cast

from bench.http import free_port, wait_healthy

try:  # uvicorn[standard] brings it; without it the generator still works, more slowly
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None  # type: ignore[assignment]

T = TypeVar("T")

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parent.parent
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)  # Linux

DEFAULT_CLIENTS = (1000, 5000, 10000)
DEFAULT_POSTS = 20
DEFAULT_INTERVAL = 0.2  # seconds between the starts of two posts (at least)
HANDSHAKES_IN_FLIGHT = 500  # connections being opened and subscribed at once
HANDSHAKE_TIMEOUT = 30.0  # one connection: TCP connect, Upgrade, subscribe, "subscribed"
DELIVERY_TIMEOUT = 15.0  # one post: until the last client has it
SETTLE_SECONDS = 2.0  # after connecting (presence debounce, allocator) before reading RSS
STOP_TIMEOUT = 30.0
FD_MARGIN = 512  # descriptors beyond one per client (database, logs, the poster, Python)
PER_ADDRESS_SHARE = 0.8  # of the ephemeral port range, per source address
WARMUP_POSTS = 5  # before connecting: first-request costs, and POST handling alone

TARGET_P99_MS = 250.0
TARGET_RATIO = 0.5
TARGET_RSS_KIB = 32.0

EVENT_ID = b'{"type":"event","id":'
EVENT_NO_ID = b'{"type":"event","channel":'
SUBSCRIBED = b'{"type":"subscribed"'
FALLBACK_REST = (
    b',"channel":"topic:1","name":"post.created",'
    b'"data":{"topic_id":1,"post_id":100,"number":10,"author":"bench-member"}}'
)
BARE_TRIGGER = "!"  # a text frame starting with this is broadcast (without it) by the bare server


# --- limits and /proc --------------------------------------------------------------------------


def raise_nofile(needed: int) -> int:
    """Raise this process's open-file limit to its hard limit; fail clearly if too low."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(needed, soft)
    if target < needed:
        try:  # only a privileged process may raise the hard limit
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed, needed))
        except (ValueError, OSError) as exc:
            raise SystemExit(
                f"bench: the open-file limit is {soft} (hard {hard}) but {needed} are needed "
                f"(one per client plus {FD_MARGIN}) in both this process and the server; raise "
                f"it (`ulimit -Hn {needed}` as root, or limits.conf) or pass smaller --clients "
                f"({exc})"
            ) from exc
    else:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        raise SystemExit(f"bench: could only raise the open-file limit to {soft}, need {needed}")
    return soft


def _child_limits() -> None:
    """preexec_fn for the servers: the soft open-file limit up to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def proc_nofile(pid: int) -> int:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            value = line.split()[3]
            return 1 << 62 if value == "unlimited" else int(value)
    raise RuntimeError(f"no 'Max open files' in /proc/{pid}/limits")


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of every thread of the process, in seconds."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def proc_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS in /proc/{pid}/status")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def ephemeral_ports() -> int:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(high) - int(low) + 1
    except (OSError, ValueError):
        return 28_000


def source_addresses(clients: int, per_address: int) -> list[str]:
    count = max(1, math.ceil(clients / per_address))
    if count > 253:
        raise SystemExit(f"bench: {clients} clients would need more than 127.0.0.1-254")
    return [f"127.0.0.{1 + i}" for i in range(count)]


# --- the ceiling: a bare websockets server with broadcast() ------------------------------------


def run_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Run on uvloop when it is installed (as uvicorn does for `forum serve`)."""
    if uvloop is not None:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(coro)
    return asyncio.run(coro)


def bare_server(port: int) -> None:
    """Subscribers go into a set; a text frame `!<frame>` broadcasts <frame> to all of them."""
    from websockets.asyncio.server import ServerConnection, broadcast, serve
    from websockets.http11 import Request, Response

    subscribers: set[ServerConnection] = set()
    subscribed = json.dumps(
        {"type": "subscribed", "channels": ["topic:1"], "last_id": 0}, separators=(",", ":")
    )

    async def handler(connection: ServerConnection) -> None:
        try:
            async for message in connection:
                if not isinstance(message, str):
                    continue
                if message.startswith(BARE_TRIGGER):
                    broadcast(subscribers, message[len(BARE_TRIGGER) :])
                elif '"subscribe"' in message and connection not in subscribers:
                    subscribers.add(connection)
                    await connection.send(subscribed)
        finally:
            subscribers.discard(connection)

    def health(connection: ServerConnection, request: Request) -> Response | None:
        if request.path == "/healthz":
            return connection.respond(HTTPStatus.OK, "ok\n")
        return None

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = loop.create_future()
        loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
        loop.add_signal_handler(signal.SIGINT, stop.set_result, None)
        async with serve(
            handler,
            HOST,
            port,
            process_request=health,
            compression=None,
            max_size=64 * 1024,
            ping_interval=20,
            ping_timeout=20,
            backlog=2048,
        ):
            print(f"bare websockets server on {HOST}:{port}", flush=True)
            await stop

    run_loop(main())


# --- servers -----------------------------------------------------------------------------------


@contextmanager
def serve(
    command: Sequence[str], env: dict[str, str], port: int, log: Path, needed_fds: int
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server until the block ends; always stopped (SIGTERM, then SIGKILL)."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            list(command),
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_child_limits,
        )
        try:
            wait_healthy(process, port, log)
            limit = proc_nofile(process.pid)
            if limit < needed_fds:
                raise SystemExit(
                    f"bench: the server's open-file limit is {limit}; {needed_fds} are needed"
                )
            children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
            if children.exists() and children.read_text().strip():
                raise SystemExit("bench: the server forked; /proc figures would miss its workers")
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def forum_command(port: int) -> list[str]:
    executable = Path(sys.executable).with_name("forum")
    launcher = [str(executable)] if executable.exists() else [sys.executable, "-m", "forum.cli"]
    options = ["--host", HOST, "--port", str(port), "--workers", "1"]
    return [*launcher, "serve", *options, "--no-access-log", "--log-level", "warning"]


def bare_command(port: int) -> list[str]:
    return [sys.executable, "-m", "bench.ws_fanout", "--bare-server", str(port)]


# --- seeding -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    topic_id: int
    poster_token: str
    tokens: list[str]
    seconds: float


async def seed(database_url: str, clients: int) -> Seeded:
    """A small forum (bench.seed), `clients` verified members with an API token each, and an
    API token for the member who posts the replies (through do_create_api_token)."""
    from bench.seed import seed_forum
    from forum.actions.users import do_create_api_token
    from forum.db import close_db, init_db
    from forum.models import ApiToken, Role, User
    from forum.security import new_token, token_hash

    started = time.perf_counter()
    forum = await seed_forum(database_url, topics=4, posts=5, progress=lambda _message: None)
    await init_db(database_url)
    try:
        poster = await User.get(username=forum.member_username)
        _record, poster_token = await do_create_api_token(poster, "bench ws_fanout poster")
        # The same rows do_create_api_token writes, in bulk (ten thousand one by one is slow).
        await User.bulk_create(
            [
                User(
                    email=f"wsclient{i:05d}@example.org",
                    username=f"wsclient{i:05d}",
                    display_name=f"WebSocket client {i:05d}",
                    password_hash=poster.password_hash,
                    role=Role.MEMBER,
                    is_verified=True,
                )
                for i in range(clients)
            ],
            batch_size=1000,
        )
        ids = (
            await User.filter(username__startswith="wsclient")
            .order_by("id")
            .values_list("id", flat=True)
        )
        tokens = ["scf_" + new_token() for _ in ids]
        await ApiToken.bulk_create(
            [
                ApiToken(user_id=uid, token_hash=token_hash(token), name="bench ws_fanout")
                for uid, token in zip(ids, tokens, strict=True)
            ],
            batch_size=1000,
        )
    finally:
        await close_db()
    return Seeded(forum.topic_id, poster_token, tokens, time.perf_counter() - started)


# --- the load generator ------------------------------------------------------------------------


def masked_frame(opcode: int, payload: bytes) -> bytes:
    """A final client frame (RFC 6455 section 5.2), masked as a client must."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
    elif size < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
    mask = os.urandom(4)
    keystream = (mask * (size // 4 + 1))[:size]
    body = (int.from_bytes(payload, "big") ^ int.from_bytes(keystream, "big")).to_bytes(size, "big")
    return header + mask + body


class HandshakeError(Exception):
    pass


class Tally:
    """What every client saw; shared by all of them (one event loop, so no locks)."""

    def __init__(self) -> None:
        self.expected = 0  # clients that must see an event for it to be complete
        self.arrivals: dict[int, list[float]] = {}
        self.complete: asyncio.Event | None = None
        self.frames = 0
        self.bytes = 0
        self.ephemeral = 0  # typing / presence events (no id)
        self.duplicates = 0  # an id not above the last one the same client saw
        self.pings = 0
        self.others: Counter[bytes] = Counter()  # error frames and the like, by their start
        self.close_codes: Counter[int] = Counter()
        self.lost = 0  # connections that ended without us closing them
        self.sample_rest: bytes | None = None  # an event payload after its id

    def arrive(self, client: Client, event_id: int, now: float) -> None:
        if event_id <= client.last_id:
            self.duplicates += 1
            return
        client.last_id = event_id
        times = self.arrivals.get(event_id)
        if times is None:
            times = self.arrivals[event_id] = []
        times.append(now)
        if len(times) >= self.expected - self.lost and self.complete is not None:
            self.complete.set()

    def lose(self) -> None:
        """A connection ended under us: stop waiting for it."""
        self.lost += 1
        latest = self.arrivals[max(self.arrivals)] if self.arrivals else []
        if self.complete is not None and latest and len(latest) >= self.expected - self.lost:
            self.complete.set()


class Client(asyncio.Protocol):
    """One raw WebSocket client: hand-made Upgrade, then it only counts what it receives."""

    __slots__ = (
        "tally", "request", "accept", "subscribe", "transport", "buffer", "open", "ready",
        "last_id", "closing",
    )  # fmt: skip

    def __init__(
        self, tally: Tally, request: bytes, accept: bytes, subscribe: bytes | None
    ) -> None:
        self.tally = tally
        self.request = request
        self.accept = accept
        self.subscribe = subscribe
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.open = False
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.last_id = 0
        self.closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closing:
            self.tally.lose()
        if not self.ready.done():
            self.ready.set_exception(HandshakeError(f"connection lost ({exc})"))

    def close(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.close()

    def send_text(self, text: bytes) -> None:
        assert self.transport is not None
        self.transport.write(masked_frame(0x1, text))

    def _fail(self, why: str) -> None:
        if not self.ready.done():
            self.ready.set_exception(HandshakeError(why))
        self.closing = True
        if self.transport is not None:
            self.transport.abort()

    def _handshake(self, data: bytes) -> bytes | None:
        """The rest of `data` after a valid 101 response, or None while it is incomplete."""
        buffer = self.buffer + data
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) > 16384:
                self._fail("no end to the response headers")
            self.buffer = buffer
            return None
        self.buffer = b""
        lines = buffer[:end].split(b"\r\n")
        if lines[0].split(b" ", 2)[1:2] != [b"101"]:
            self._fail(lines[0].decode("latin-1"))
            return None
        accept = [
            line.split(b":", 1)[1].strip()
            for line in lines[1:]
            if line.lower().startswith(b"sec-websocket-accept:")
        ]
        if accept != [self.accept]:
            self._fail(f"bad Sec-WebSocket-Accept {accept!r}")
            return None
        self.open = True
        if self.subscribe is None:
            self.ready.set_result(None)
        else:
            self.send_text(self.subscribe)
        return buffer[end + 4 :]

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        if not self.open:
            rest = self._handshake(data)
            if not rest:
                return
            data = rest
        tally = self.tally
        tally.bytes += len(data)
        buffer = self.buffer + data if self.buffer else data
        size, pos = len(buffer), 0
        while size - pos >= 2:
            length = buffer[pos + 1] & 0x7F
            start = pos + 2
            if length == 126:
                if size - pos < 4:
                    break
                length = int.from_bytes(buffer[pos + 2 : pos + 4], "big")
                start = pos + 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(buffer[pos + 2 : pos + 10], "big")
                start = pos + 10
            end = start + length
            if end > size:
                break
            opcode = buffer[pos] & 0x0F
            pos = end
            if opcode == 0x1:
                tally.frames += 1
                if buffer.startswith(EVENT_ID, start):
                    digits = start + len(EVENT_ID)
                    comma = buffer.index(b",", digits, end)
                    tally.arrive(self, int(buffer[digits:comma]), now)
                    if tally.sample_rest is None:
                        tally.sample_rest = buffer[comma:end]
                elif buffer.startswith(EVENT_NO_ID, start):
                    tally.ephemeral += 1
                elif buffer.startswith(SUBSCRIBED, start):
                    if not self.ready.done():
                        self.ready.set_result(None)
                else:
                    tally.others[bytes(buffer[start : min(end, start + 80)])] += 1
                    if not self.ready.done():
                        self._fail(buffer[start:end].decode("utf-8", "replace"))
                        return
            elif opcode == 0x9:  # ping: answer with a masked pong carrying the same payload
                tally.pings += 1
                assert self.transport is not None
                self.transport.write(masked_frame(0xA, bytes(buffer[start:end])))
            elif opcode == 0x8:
                code = int.from_bytes(buffer[start : start + 2], "big") if length >= 2 else 1005
                tally.close_codes[code] += 1
                if self.ready.done() and not self.closing:
                    tally.lose()
                self._fail(f"closed by the server with {code}")
                return
            else:
                tally.frames += 1
        self.buffer = buffer[pos:] if pos < size else b""


def upgrade_request(port: int, key: bytes, token: str | None) -> bytes:
    lines = [
        "GET /ws HTTP/1.1",
        f"Host: {HOST}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key.decode()}",
        "Sec-WebSocket-Version: 13",
        "User-Agent: bench.ws_fanout",
    ]
    if token is not None:
        lines.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def open_client(
    tally: Tally,
    port: int,
    source: str,
    token: str | None,
    subscribe: bytes | None,
) -> Client:
    """Connect from `source`, upgrade, subscribe; bounded by HANDSHAKE_TIMEOUT."""
    loop = asyncio.get_running_loop()
    key = base64.b64encode(os.urandom(16))
    accept = base64.b64encode(hashlib.sha1(key + WS_GUID).digest())
    request = upgrade_request(port, key, token)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client: Client | None = None
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # The port is chosen at connect(), per destination, not reserved at bind().
        sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        sock.bind((source, 0))
        async with asyncio.timeout(HANDSHAKE_TIMEOUT):
            await loop.sock_connect(sock, (HOST, port))
            _transport, client = await loop.create_connection(
                lambda: Client(tally, request, accept, subscribe), sock=sock
            )
            await client.ready
        return client
    except BaseException:
        if client is not None:
            client.close()
        else:
            sock.close()
        raise


async def open_clients(
    tally: Tally,
    port: int,
    tokens: Sequence[str | None],
    subscribe: bytes,
    sources: list[str],
    per_address: int,
) -> tuple[list[Client], Counter[str]]:
    """Open len(tokens) subscribed clients, HANDSHAKES_IN_FLIGHT at a time."""
    gate = asyncio.Semaphore(HANDSHAKES_IN_FLIGHT)
    total, done = len(tokens), 0
    step = max(total // 4, 1)
    started = time.perf_counter()

    async def one(i: int) -> Client:
        nonlocal done
        async with gate:
            client = await open_client(tally, port, sources[i // per_address], tokens[i], subscribe)
        done += 1
        if done % step == 0:
            print(
                f"    {done}/{total} subscribed ({time.perf_counter() - started:.1f}s)", flush=True
            )
        return client

    results = await asyncio.gather(*(one(i) for i in range(total)), return_exceptions=True)
    clients = [r for r in results if isinstance(r, Client)]
    failures: Counter[str] = Counter(
        f"{type(r).__name__}: {r}"[:120] for r in results if isinstance(r, BaseException)
    )
    return clients, failures


# --- triggers ----------------------------------------------------------------------------------


class Poster:
    """Replies through the HTTP API, requests written by hand. A new connection per post (made
    before the clock starts): uvicorn closes idle keep-alive connections after 5 s."""

    def __init__(self, port: int, topic_id: int, token: str) -> None:
        self.port = port
        self.path = f"/api/v1/topics/{topic_id}/posts"
        self.token = token

    async def __call__(self, number: int) -> float:
        """Post reply `number`; returns when the request was written (perf_counter)."""
        reader, writer = await asyncio.open_connection(HOST, self.port)
        try:
            return await self._post(reader, writer, number)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _post(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int
    ) -> float:
        body = json.dumps({"body": f"Live reply {number} from the WebSocket fan-out benchmark."})
        payload = body.encode()
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n"
            f"Authorization: Bearer {self.token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        )
        sent = time.perf_counter()
        writer.write(head.encode() + payload)
        response = await reader.readuntil(b"\r\n\r\n")
        status = int(response.split(b" ", 2)[1])
        length = 0
        for line in response.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        answer = await reader.readexactly(length)
        if status != 201:
            raise SystemExit(f"bench: POST {self.path} answered {status}: {answer[:300]!r}")
        return sent


class Broadcaster:
    """Asks the bare server to broadcast a frame shaped like ours, with a fresh id."""

    def __init__(self, control: Client, rest: bytes) -> None:
        self.control = control
        self.rest = rest

    async def __call__(self, number: int) -> float:
        frame = EVENT_ID + str(number).encode() + self.rest
        message = masked_frame(0x1, BARE_TRIGGER.encode() + frame)
        assert self.control.transport is not None
        sent = time.perf_counter()
        self.control.transport.write(message)
        return sent


# --- one measurement ---------------------------------------------------------------------------


@dataclass
class Burst:
    sent: float
    times: list[float]

    @property
    def latencies_ms(self) -> list[float]:
        return [(t - self.sent) * 1000 for t in self.times]


@dataclass
class Measurement:
    label: str
    clients: int
    connected: int = 0
    connect_seconds: float = 0.0
    failures: Counter[str] = field(default_factory=Counter)
    rss_before_kib: int = 0
    rss_idle_kib: int = 0
    warm_cpu_ms_per_post: float | None = None
    bursts: list[Burst] = field(default_factory=list)
    missing: int = 0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    tally: Tally = field(default_factory=Tally)
    frame_bytes: int = 0

    @property
    def frames(self) -> int:
        return sum(len(b.times) for b in self.bursts)

    def latencies(self) -> list[float]:
        return sorted(ms for b in self.bursts for ms in b.latencies_ms)

    def percentile(self, q: float) -> float:
        values = self.latencies()
        if not values:
            return math.nan
        return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]

    def reach_all_ms(self) -> list[float]:
        return sorted((max(b.times) - b.sent) * 1000 for b in self.bursts if b.times)

    def burst_seconds(self) -> float:
        return sum(max(b.times) - min(b.times) for b in self.bursts if b.times)

    def delivery_seconds(self) -> float:
        return sum(max(b.times) - b.sent for b in self.bursts if b.times)

    def frames_per_second(self) -> float:
        """Event frames over the summed trigger-to-last-arrival time of the bursts."""
        seconds = self.delivery_seconds()
        return self.frames / seconds if seconds > 0 else math.nan

    def spread_frames_per_second(self) -> float:
        """Over first-to-last arrival only: flatters a server that queues every frame before
        writing the first one, and leaves out the trigger (for ours, the POST itself)."""
        seconds = self.burst_seconds()
        return self.frames / seconds if seconds > 0 else math.nan

    def server_us_per_frame(self) -> float:
        return self.server_cpu / self.frames * 1e6 if self.frames else math.nan

    def client_us_per_frame(self) -> float:
        return self.client_cpu / self.frames * 1e6 if self.frames else math.nan

    def rss_kib_per_connection(self) -> float:
        if not self.connected:
            return math.nan
        return (self.rss_idle_kib - self.rss_before_kib) / self.connected

    def client_busy(self) -> float:
        """The generator's CPU over the trigger-to-last-arrival time of the bursts."""
        seconds = self.delivery_seconds()
        return self.client_cpu / seconds if seconds > 0 else math.nan


async def deliver(tally: Tally, trigger: Callable[[int], Awaitable[float]], number: int) -> Burst:
    """One trigger; waits until every expected client has the event (or DELIVERY_TIMEOUT)."""
    tally.complete = asyncio.Event()
    known = set(tally.arrivals)
    sent = time.perf_counter()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(DELIVERY_TIMEOUT):
            sent = await trigger(number)
            await tally.complete.wait()
    tally.complete = None
    new = sorted(set(tally.arrivals) - known)
    if not new:
        return Burst(sent, [])
    if len(new) > 1:
        print(f"    warning: one trigger brought several event ids {new[:5]}", flush=True)
    return Burst(sent, tally.arrivals[new[-1]])


async def measure(
    label: str,
    pid: int,
    port: int,
    tokens: Sequence[str | None],
    topic_id: int,
    make_trigger: Callable[[Tally], Awaitable[Callable[[int], Awaitable[float]]]],
    posts: int,
    interval: float,
    sources: list[str],
    per_address: int,
    warm_up: Callable[[], Awaitable[float | None]] | None = None,
) -> Measurement:
    result = Measurement(label, len(tokens))
    tally = result.tally
    if warm_up is not None:
        result.warm_cpu_ms_per_post = await warm_up()
    await asyncio.sleep(0.5)
    result.rss_before_kib = proc_rss_kib(pid)
    subscribe = json.dumps({"type": "subscribe", "channels": [f"topic:{topic_id}"]}).encode()
    started = time.perf_counter()
    clients: list[Client] = []
    try:
        budget = 60 + 0.05 * len(tokens)
        async with asyncio.timeout(budget):
            clients, result.failures = await open_clients(
                tally, port, tokens, subscribe, sources, per_address
            )
        result.connect_seconds = time.perf_counter() - started
        result.connected = len(clients)
        tally.expected = len(clients)
        await asyncio.sleep(SETTLE_SECONDS)
        result.rss_idle_kib = proc_rss_kib(pid)
        trigger = await make_trigger(tally)
        number = 1
        for _ in range(2):  # warm-up deliveries, not counted
            await deliver(tally, trigger, number)
            number += 1
            await asyncio.sleep(interval)
        server0, client0 = proc_cpu_seconds(pid), own_cpu_seconds()
        for _ in range(posts):
            burst = await deliver(tally, trigger, number)
            number += 1
            result.bursts.append(burst)
            if len(burst.times) < tally.expected:
                missing = tally.expected - len(burst.times)
                print(f"    warning: {missing} clients did not get post {number - 1} in time")
            await asyncio.sleep(max(0.02, burst.sent + interval - time.perf_counter()))
        result.server_cpu = proc_cpu_seconds(pid) - server0
        result.client_cpu = own_cpu_seconds() - client0
        await asyncio.sleep(0.2)  # late arrivals still count, as missing ones do not
        result.missing = sum(max(0, tally.expected - len(b.times)) for b in result.bursts)
        result.frame_bytes = len(EVENT_ID) + len(str(number)) + len(tally.sample_rest or b"")
    finally:
        for client in clients:
            client.close()
        await asyncio.sleep(1.0)
    return result


async def measure_forum(
    pid: int,
    port: int,
    seeded: Seeded,
    clients: int,
    posts: int,
    interval: float,
    sources: list[str],
    per_address: int,
) -> Measurement:
    poster = Poster(port, seeded.topic_id, seeded.poster_token)

    async def warm_up() -> float | None:
        await poster(0)  # first-request costs
        before = proc_cpu_seconds(pid)
        for i in range(WARMUP_POSTS):
            await poster(i)
        return (proc_cpu_seconds(pid) - before) / WARMUP_POSTS * 1000

    async def make_trigger(_tally: Tally) -> Callable[[int], Awaitable[float]]:
        return poster

    return await measure(
        "forum /ws",
        pid,
        port,
        seeded.tokens[:clients],
        seeded.topic_id,
        make_trigger,
        posts,
        interval,
        sources,
        per_address,
        warm_up,
    )


async def measure_bare(
    pid: int,
    port: int,
    seeded: Seeded,
    clients: int,
    posts: int,
    interval: float,
    sources: list[str],
    per_address: int,
    rest: bytes,
) -> Measurement:
    controls: list[Client] = []

    async def make_trigger(tally: Tally) -> Callable[[int], Awaitable[float]]:
        control = await open_client(tally, port, sources[0], None, None)
        controls.append(control)
        return Broadcaster(control, rest)

    try:
        return await measure(
            "bare broadcast()",
            pid,
            port,
            seeded.tokens[:clients],
            seeded.topic_id,
            make_trigger,
            posts,
            interval,
            sources,
            per_address,
        )
    finally:
        for control in controls:
            control.close()


# --- report ------------------------------------------------------------------------------------


def ratio(ours: float, bare: float) -> str:
    if not bare or math.isnan(ours) or math.isnan(bare):
        return "-"
    return f"{ours / bare:.2f}x"


def fmt(value: float, digits: int = 1) -> str:
    return "-" if math.isnan(value) else f"{value:,.{digits}f}"


def table(ours: Measurement, bare: Measurement) -> str:
    reach_ours, reach_bare = ours.reach_all_ms(), bare.reach_all_ms()

    def median(values: list[float]) -> float:
        return values[len(values) // 2] if values else math.nan

    def worst(values: list[float]) -> float:
        return values[-1] if values else math.nan

    rows = [
        ("clients connected and subscribed", ours.connected, bare.connected, 0),
        ("connect + subscribe, s", ours.connect_seconds, bare.connect_seconds, 1),
        ("delivery p50, ms", ours.percentile(0.50), bare.percentile(0.50), 1),
        ("delivery p99, ms", ours.percentile(0.99), bare.percentile(0.99), 1),
        ("last client reached, median over posts, ms", median(reach_ours), median(reach_bare), 1),
        ("last client reached, worst post, ms", worst(reach_ours), worst(reach_bare), 1),
        ("frames/s (trigger to last arrival)", ours.frames_per_second(),
         bare.frames_per_second(), 0),
        ("frames/s (first to last arrival; info only)", ours.spread_frames_per_second(),
         bare.spread_frames_per_second(), 0),
        ("server CPU, µs/frame", ours.server_us_per_frame(), bare.server_us_per_frame(), 1),
        ("server RSS, KiB/idle connection", ours.rss_kib_per_connection(),
         bare.rss_kib_per_connection(), 1),
        ("load generator CPU, µs/frame", ours.client_us_per_frame(), bare.client_us_per_frame(),
         1),
        ("load generator busy during delivery, %", 100 * ours.client_busy(),
         100 * bare.client_busy(), 0),
    ]  # fmt: skip
    lines = [
        f"| N = {ours.clients:,} | {ours.label} | {bare.label} | ratio (ours / bare) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, a, b, digits in rows:
        lines.append(
            f"| {name} | {fmt(float(a), digits)} | {fmt(float(b), digits)} | {ratio(a, b)} |"
        )
    return "\n".join(lines)


def targets(ours: Measurement, bare: Measurement) -> str:
    def verdict(ok: bool) -> str:
        return "MET" if ok else "NOT MET"

    held = (
        ours.connected == ours.clients
        and ours.tally.lost == 0
        and ours.missing == 0
        and not ours.tally.close_codes
    )
    p99 = ours.percentile(0.99)
    share = ours.frames_per_second() / bare.frames_per_second()
    rss = ours.rss_kib_per_connection()
    lines = [
        f"| target (issue 4, at N = {ours.clients:,}) | measured | verdict |",
        "| --- | ---: | --- |",
        f"| {ours.clients:,} clients held by one process | {ours.connected:,} connected, "
        f"{ours.tally.lost} dropped, {ours.missing} deliveries missing | {verdict(held)} |",
        f"| one post reaches all clients in < {TARGET_P99_MS:.0f} ms at p99 | {fmt(p99)} ms "
        f"| {verdict(p99 < TARGET_P99_MS)} |",
        f"| frames/s >= {TARGET_RATIO}x bare broadcast() | {share:.2f}x "
        f"| {verdict(share >= TARGET_RATIO)} |",
        f"| <= {TARGET_RSS_KIB:.0f} KiB server memory per idle connection | {fmt(rss)} KiB "
        f"| {verdict(rss <= TARGET_RSS_KIB)} |",
    ]
    return "\n".join(lines)


def notes(measurement: Measurement) -> list[str]:
    tally, out = measurement.tally, []
    label = f"{measurement.label} N={measurement.clients:,}"
    if measurement.failures:
        why = "; ".join(f"{n}x {w}" for w, n in measurement.failures.most_common(3))
        failed = sum(measurement.failures.values())
        out.append(f"{label}: {failed} clients failed to connect: {why}")
    for what, count in (
        ("connections dropped by the server", tally.lost),
        ("duplicate or out-of-order events", tally.duplicates),
        ("deliveries missing", measurement.missing),
    ):
        if count:
            out.append(f"{label}: {count} {what}")
    if tally.close_codes:
        out.append(f"{label}: close codes {dict(tally.close_codes)}")
    if tally.others:
        out.append(f"{label}: other frames {dict(tally.others.most_common(3))}")
    busy = measurement.client_busy()
    if busy > 0.8:
        out.append(
            f"{label}: the load generator was busy {busy:.0%} of the delivery time; it may be "
            "the bottleneck"
        )
    return out


def machine() -> str:
    import uvicorn
    import websockets

    loop = f"uvloop {uvloop.__version__}" if uvloop is not None else "asyncio (no uvloop)"
    load = Path("/proc/loadavg").read_text().split()[:3]
    return (
        f"machine: nproc={os.cpu_count()}, load average {' '.join(load)}, Python "
        f"{platform.python_version()}, {platform.platform()}; uvicorn {uvicorn.__version__}, "
        f"websockets {websockets.__version__}, generator on {loop}"
    )


# --- main --------------------------------------------------------------------------------------


def parse_counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError:
        counts = ()
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: use client counts such as 1000,5000,10000")
    return counts


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ws_fanout", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument(
        "--clients",
        type=parse_counts,
        default=DEFAULT_CLIENTS,
        help="comma-separated client counts (default 1000,5000,10000)",
    )
    parser.add_argument("--posts", type=int, default=DEFAULT_POSTS, help="measured posts per N")
    parser.add_argument(
        "--interval", type=float, default=DEFAULT_INTERVAL, help="seconds between posts (0.2)"
    )
    parser.add_argument("--bare-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    return parser


def run(args: argparse.Namespace, workdir: Path) -> None:
    largest = max(args.clients)
    needed = largest + FD_MARGIN
    limit = raise_nofile(needed)
    per_address = int(ephemeral_ports() * PER_ADDRESS_SHARE)
    sources = source_addresses(largest, per_address)
    print(machine())
    print(
        f"open files: {limit} (need {needed}); source addresses {', '.join(sources)} "
        f"(<= {per_address:,} sockets each); {HANDSHAKES_IN_FLIGHT} handshakes in flight"
    )
    database_url = f"sqlite://{workdir / 'bench.sqlite3'}"
    print(f"seeding a forum and {largest:,} members with API tokens into {database_url}")
    seeded = asyncio.run(seed(database_url, largest))
    print(f"seeded in {seeded.seconds:.1f}s; topic {seeded.topic_id}")
    print(
        f"per N: {args.posts} measured posts (after 2 warm-up deliveries), at least "
        f"{args.interval * 1000:.0f} ms apart, each after the previous one reached everyone"
    )
    results: list[tuple[Measurement, Measurement]] = []
    rest = FALLBACK_REST
    for clients in args.clients:
        port = free_port()
        env = {
            **os.environ,
            "FORUM_DATABASE_URL": database_url,
            "FORUM_VAR_DIR": str(workdir),
            "FORUM_SECRET_KEY": "bench",
            "FORUM_BASE_URL": f"http://{HOST}:{port}",
            "FORUM_BROKER_URL": "memory://",
        }
        print(f"\nN = {clients:,}: forum serve on {HOST}:{port}", flush=True)
        with serve(forum_command(port), env, port, workdir / "forum.log", needed) as process:
            ours = run_loop(
                measure_forum(
                    process.pid, port, seeded, clients, args.posts, args.interval, sources,
                    per_address,
                )
            )  # fmt: skip
        rest = ours.tally.sample_rest or rest
        port = free_port()
        print(f"N = {clients:,}: bare websockets broadcast() on {HOST}:{port}", flush=True)
        with serve(bare_command(port), dict(os.environ), port, workdir / "bare.log", needed) as p:
            bare = run_loop(
                measure_bare(
                    p.pid, port, seeded, clients, args.posts, args.interval, sources, per_address,
                    rest,
                )
            )  # fmt: skip
        results.append((ours, bare))
        print(
            f"N = {clients:,}: event frame {ours.frame_bytes} bytes of payload; POST handling "
            f"alone (no subscribers): {fmt(ours.warm_cpu_ms_per_post or math.nan)} ms CPU/post",
            flush=True,
        )

    print(f"\n{machine()}")
    for ours, bare in results:
        print()
        print(table(ours, bare))
        print()
        print(targets(ours, bare))
        for line in notes(ours) + notes(bare):
            print(f"- {line}")
    log = workdir / "forum.log"
    if log.exists() and (text := log.read_text().strip()):
        print(f"\nforum serve log (warnings and errors), last lines:\n{text[-3000:]}")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.bare_server is not None:
        raise_nofile(1024)
        bare_server(args.bare_server)
        return 0
    if args.posts < 1 or args.interval < 0:
        print("bench: --posts must be at least 1 and --interval not negative", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="forum-ws-bench-") as workdir:
        run(args, Path(workdir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
