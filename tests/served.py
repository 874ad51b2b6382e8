"""Real `forum serve` processes for tests that need several workers or a real shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx

from tests.realtime.support import free_port

FORUM = [sys.executable, "-m", "forum.cli"]


@contextlib.contextmanager
def forum_serve(
    tmp_path: Path,
    name: str,
    database_url: str,
    broker_url: str,
    *extra: str,
    env_extra: dict[str, str] | None = None,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A server on a free port (its address, `127.0.0.1:port`, and its process); its output
    goes to `tmp_path / name.log`. Live events must come through the broker, not the log."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORUM_")}
    env.update(
        FORUM_DATABASE_URL=database_url,
        FORUM_BROKER_URL=broker_url,
        FORUM_SECRET_KEY="served-secret",
        FORUM_VAR_DIR=str(tmp_path / "var"),
        FORUM_WS_POLL_SECONDS="60",
    )
    env.update(env_extra or {})
    port = free_port()
    with (tmp_path / f"{name}.log").open("wb") as log:
        process = subprocess.Popen(
            [*FORUM, "serve", "--port", str(port), "--no-access-log", *extra],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield f"127.0.0.1:{port}", process
        finally:
            if process.poll() is None:
                process.terminate()
            process.wait(timeout=15)


async def healthy(address: str, process: subprocess.Popen[bytes]) -> None:
    """Wait until the server answers /healthz (it must not stop meanwhile)."""
    async with httpx.AsyncClient() as http, asyncio.timeout(30):
        while True:
            assert process.poll() is None, "the server stopped"
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(f"http://{address}/healthz", timeout=1)).status_code == 200:
                    return
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def two_servers(
    tmp_path: Path, database_url: str, broker_url: str
) -> AsyncIterator[tuple[str, str]]:
    """Two servers, `a` and `b`, on one database and one broker, both answering."""
    with (
        forum_serve(tmp_path, "a", database_url, broker_url) as (a, process_a),
        forum_serve(tmp_path, "b", database_url, broker_url) as (b, process_b),
    ):
        await asyncio.gather(healthy(a, process_a), healthy(b, process_b))
        yield a, b
