"""Slow and greedy clients against a real `forum serve` on loopback: a request head (request
line and headers) over 32 KiB is refused with 431, and a head that has not arrived whole
within FORUM_HEADER_TIMEOUT_SECONDS ends the connection, however the client dribbles it."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from pathlib import Path

import pytest

from tests.served import forum_serve, healthy

HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"


@pytest.fixture
def database_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "forum.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite://{path}"


async def _exchange(address: str, request: bytes) -> bytes:
    """Send `request` whole, then read until the server closes (at most 10 s)."""
    host, port = address.split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        with contextlib.suppress(ConnectionError):  # it stopped reading; its answer is there
            await writer.drain()
        async with asyncio.timeout(10):
            return await reader.read()
    finally:
        writer.close()


async def test_a_huge_request_head_is_refused_and_a_large_one_served(
    database_url: str, tmp_path: Path
) -> None:
    with forum_serve(tmp_path, "sizes", database_url, "memory://") as (address, process):
        await healthy(address, process)
        huge = HEAD + b"X-Padding: " + b"a" * (1024 * 1024) + b"\r\n\r\n"
        answer = await _exchange(address, huge)
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
        assert b"connection: close" in answer.lower()

        # Over the limit by a little, in one header among many: refused as well.
        many = b"".join(b"X-Field-%d: %s\r\n" % (i, b"b" * 100) for i in range(400))
        answer = await _exchange(address, HEAD + many + b"\r\n")
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]

        # A head of 16 KiB (a cookie-heavy browser) is fine, and so is the next request.
        cookie = b"Cookie: c=" + b"c" * (16 * 1024) + b"\r\n"
        answer = await _exchange(address, HEAD + cookie + b"Connection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
        await healthy(address, process)


async def test_idle_and_dribbling_connections_end_within_the_header_timeout(
    database_url: str, tmp_path: Path
) -> None:
    quick = {"FORUM_HEADER_TIMEOUT_SECONDS": "1"}
    with forum_serve(tmp_path, "slow", database_url, "memory://", env_extra=quick) as (
        address,
        process,
    ):
        await healthy(address, process)
        host, port = address.split(":")

        # A connection that sends nothing is closed.
        started = time.monotonic()
        reader, writer = await asyncio.open_connection(host, int(port))
        async with asyncio.timeout(10):
            assert await reader.read() == b""
        writer.close()
        assert time.monotonic() - started < 5

        # One header line every 0.2 s: the head never completes, and it is cut off with 408.
        started = time.monotonic()
        reader, writer = await asyncio.open_connection(host, int(port))
        answer = asyncio.ensure_future(reader.read())
        writer.write(HEAD)
        for line in range(50):  # 10 s at most
            if answer.done():
                break
            try:
                writer.write(b"X-Line-%d: slow\r\n" % line)
                await writer.drain()
            except ConnectionError:
                break
            await asyncio.wait({answer}, timeout=0.2)
        async with asyncio.timeout(10):
            received = await answer
        writer.close()
        assert received.startswith(b"HTTP/1.1 408 "), received[:200]
        assert time.monotonic() - started < 5

        # A kept-alive connection answers request after request, each head arriving in time.
        reader, writer = await asyncio.open_connection(host, int(port))
        for _ in range(2):
            writer.write(HEAD + b"\r\n")
            async with asyncio.timeout(10):
                status = await reader.readline()
                assert status.startswith(b"HTTP/1.1 200 "), status
                length = 0
                while (line := await reader.readline()) != b"\r\n":
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
        writer.close()


async def _dribble(address: str, head: bytes, chunks: list[bytes], pause: float) -> bytes:
    """Send `head`, then each chunk `pause` s apart (stopping when the server answers);
    everything the server said until it closed."""
    host, port = address.split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    answer = asyncio.ensure_future(reader.read())
    try:
        writer.write(head)
        for chunk in chunks:
            await asyncio.wait({answer}, timeout=pause)
            if answer.done():
                break
            try:
                writer.write(chunk)
                await writer.drain()
            except ConnectionError:
                break
        async with asyncio.timeout(10):
            return await answer
    finally:
        writer.close()


def _post(length: int) -> bytes:
    return (
        b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: %d\r\n\r\n" % length
    )


async def test_a_body_that_pauses_or_dribbles_too_long_is_cut_off_with_408(
    database_url: str, tmp_path: Path
) -> None:
    quick = {"FORUM_BODY_IDLE_SECONDS": "1", "FORUM_BODY_TIMEOUT_SECONDS": "2.5"}
    with forum_serve(tmp_path, "body", database_url, "memory://", env_extra=quick) as (
        address,
        process,
    ):
        await healthy(address, process)

        # A pause longer than the idle limit: 408 about a second after the last byte.
        started = time.monotonic()
        answer = await _dribble(address, _post(100) + b"a", [b"b"] * 5, pause=3)
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
        assert b"connection: close" in answer.lower()
        assert answer.endswith(b"The request body took too long to arrive.")
        assert time.monotonic() - started < 2.5

        # One byte every 0.4 s never pauses long, but the whole body takes too long.
        started = time.monotonic()
        answer = await _dribble(address, _post(100), [b"x"] * 100, pause=0.4)
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
        assert 2.0 < time.monotonic() - started < 5

        # A body that arrives in a few chunks, in time, is read and answered as usual.
        body = b"email=a%40example.org&password=wrong"
        head = _post(len(body)).replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
        answer = await _dribble(address, head, [body[:10], body[10:20], body[20:]], pause=0.3)
        status = answer.split(b"\r\n", 1)[0]
        assert status.startswith(b"HTTP/1.1 ") and b" 408 " not in status, status
        await healthy(address, process)
