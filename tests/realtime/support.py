"""A real uvicorn in the test's own event loop, and a WebSocket client that reads JSON frames.

Starlette's TestClient runs the app on another loop, which the async database connections
dislike; here uvicorn serves the real app (`create_app(settings, manage_db=False)`) on a free
loopback port inside the test, with the same WebSocket options `forum serve` uses.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import struct
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from forum.actions.users import do_create_session
from forum.app import create_app
from forum.auth import SESSION_COOKIE
from forum.clock import SYSTEM, Clock
from forum.models import Category, Topic, User
from forum.settings import Settings
from realtime.endpoint import server_options
from realtime.hub import Hub
from realtime.limits import Limits

ORIGIN = "http://testserver"  # the origin of the `settings` fixture's FORUM_BASE_URL


async def eventually(condition: Callable[[], bool], within: float = 3.0) -> None:
    """Wait until `condition()` holds (state another task changes), at most `within` s."""
    async with asyncio.timeout(within):
        while True:
            if condition():
                return
            await asyncio.sleep(0.02)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    app: Starlette
    server: uvicorn.Server
    task: asyncio.Task[None]
    port: int

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def hub(self) -> Hub:
        hub: Hub = self.app.state.hub
        return hub


async def start(
    settings: Settings,
    *,
    limits: Limits | None = None,
    port: int = 0,
    ping_interval: float = 20.0,
    ping_timeout: float = 20.0,
    clock: Clock | None = None,
) -> Served:
    app = create_app(settings, manage_db=False)
    if limits is not None or clock is not None:
        app.state.hub = Hub(limits, clock or SYSTEM)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan="on",
        log_config=None,
        log_level="warning",
        **server_options(ping_interval=ping_interval, ping_timeout=ping_timeout),
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn stopped while starting")
            await asyncio.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    return Served(app, server, task, int(bound))


async def stop(served: Served) -> None:
    served.server.should_exit = True
    async with asyncio.timeout(15):
        await served.task


@asynccontextmanager
async def serving(settings: Settings, **options: Any) -> AsyncIterator[Served]:
    served = await start(settings, **options)
    try:
        yield served
    finally:
        await stop(served)


@dataclass
class Client:
    """A WebSocket client that speaks the forum's JSON frames; presence frames are set aside."""

    ws: ClientConnection
    presence: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, frame: dict[str, Any] | str) -> None:
        await self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def recv(self, within: float = 3.0) -> dict[str, Any]:
        async with asyncio.timeout(within):
            while True:
                frame: dict[str, Any] = json.loads(await self.ws.recv())
                if frame.get("type") == "event" and frame.get("name") == "presence":
                    self.presence.append(frame)
                    continue
                return frame

    async def reading(self, expected: int, within: float = 3.0) -> None:
        """Wait for a presence frame saying `expected` members read the topic."""
        async with asyncio.timeout(within):
            while not self.presence or self.presence[-1]["data"]["reading"] != expected:
                if self.presence:
                    self.presence.pop()
                    continue
                frame = json.loads(await self.ws.recv())
                if frame.get("type") == "event" and frame.get("name") == "presence":
                    self.presence.append(frame)

    async def subscribe(
        self, *channels: str, since: int | None = None
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Frames before the `subscribed` answer (replays, errors, resyncs), and the answer."""
        frame: dict[str, Any] = {"type": "subscribe", "channels": list(channels)}
        if since is not None:
            frame["since"] = since
        await self.send(frame)
        before: list[dict[str, Any]] = []
        while (answer := await self.recv())["type"] != "subscribed":
            before.append(answer)
        return before, answer

    async def events(self, count: int, within: float = 3.0) -> list[dict[str, Any]]:
        frames = [await self.recv(within) for _ in range(count)]
        assert all(f["type"] == "event" for f in frames), frames
        return frames

    async def silence(self, seconds: float = 0.3) -> list[dict[str, Any]]:
        """What arrives within `seconds` (to show that nothing does)."""
        frames: list[dict[str, Any]] = []
        try:
            while True:
                frames.append(await self.recv(seconds))
        except TimeoutError:
            return frames

    async def close_code(self, within: float = 3.0) -> int | None:
        """Read until the server closes; the code it sent."""
        try:
            async with asyncio.timeout(within):
                while True:
                    await self.ws.recv()
        except ConnectionClosed as closed:
            return None if closed.rcvd is None else closed.rcvd.code
        raise AssertionError("unreachable")

    async def close(self) -> None:
        await self.ws.close()


@asynccontextmanager
async def client(
    target: Served | str,
    *,
    headers: dict[str, str] | None = None,
    origin: str | None = None,
    **options: Any,
) -> AsyncIterator[Client]:
    ws = await connect(
        target if isinstance(target, str) else target.url,
        additional_headers=headers,
        origin=origin,  # type: ignore[arg-type]
        open_timeout=5,
        close_timeout=2,
        **options,
    )
    try:
        yield Client(ws)
    finally:
        await ws.close()


@asynccontextmanager
async def http(
    served: Served, headers: dict[str, str] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the served forum itself, on its real port (the one whose hub the sockets
    are connected to)."""
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{served.port}", headers=headers, timeout=10
    ) as c:
        yield c


async def cookie_for(user: User) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={await do_create_session(user)}"}


async def move_topic(topic: Topic, to: Category) -> None:
    """What a moderator's move will do: change the category and say so in the log."""
    from forum.events import atomic, record_event

    async with atomic():
        await Topic.filter(id=topic.id).update(category_id=to.id)
        await record_event(
            "topic.updated",
            f"topic:{topic.id}",
            {"topic_id": topic.id, "category": to.slug},
            category_id=to.id,
        )
    topic.category_id = to.id


class RawClient:
    """A WebSocket client on a bare socket that reads only when asked: nothing buffers for it
    but the kernel, so it can play a peer that stopped reading, or one that never pongs."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.loop = asyncio.get_running_loop()

    @classmethod
    async def connect(cls, served: Served) -> RawClient:
        sock = socket.socket()
        sock.setblocking(False)
        raw = cls(sock)
        await raw.loop.sock_connect(sock, ("127.0.0.1", served.port))
        await raw.loop.sock_sendall(
            sock,
            b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n",
        )
        head = b""
        while b"\r\n\r\n" not in head:  # the 101 answer, byte by byte: nothing more is read
            head += await raw.loop.sock_recv(sock, 1)
        assert head.startswith(b"HTTP/1.1 101"), head
        return raw

    async def send_text(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        length = len(payload)
        head = bytes([0x81])
        if length < 126:
            head += bytes([0x80 | length])
        else:
            head += bytes([0x80 | 126]) + struct.pack("!H", length)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        await self.loop.sock_sendall(self.sock, head + mask + masked)

    async def frames(self, within: float = 5.0) -> list[tuple[int, bytes]]:
        """Every frame (opcode, payload) up to the server's close frame or end of stream."""
        data = b""
        frames: list[tuple[int, bytes]] = []
        async with asyncio.timeout(within):
            while not frames or frames[-1][0] != 0x8:
                chunk = await self.loop.sock_recv(self.sock, 1 << 20)
                if not chunk:
                    break
                data += chunk
                while (frame := _parse_frame(data)) is not None:
                    opcode, payload, used = frame
                    frames.append((opcode, payload))
                    data = data[used:]
        return frames

    def close(self) -> None:
        self.sock.close()


def _parse_frame(data: bytes) -> tuple[int, bytes, int] | None:
    """One unmasked server frame from the start of `data`: (opcode, payload, bytes used)."""
    if len(data) < 2:
        return None
    opcode, length, offset = data[0] & 0x0F, data[1] & 0x7F, 2
    if length == 126:
        if len(data) < 4:
            return None
        (length,) = struct.unpack("!H", data[2:4])
        offset = 4
    elif length == 127:
        if len(data) < 10:
            return None
        (length,) = struct.unpack("!Q", data[2:10])
        offset = 10
    if len(data) < offset + length:
        return None
    return opcode, data[offset : offset + length], offset + length


def close_code(frames: list[tuple[int, bytes]]) -> int | None:
    closes = [payload for opcode, payload in frames if opcode == 0x8]
    return struct.unpack("!H", closes[0][:2])[0] if closes else None
