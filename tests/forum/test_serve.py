"""`forum serve` as an operator starts it: a real uvicorn process answering on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORUM_")}
    env.update(
        FORUM_VAR_DIR=str(tmp_path / "var"),
        FORUM_DATABASE_URL=f"sqlite://{tmp_path}/forum.sqlite3",
        FORUM_DEMO_PASSWORD="demo password 123",
    )
    forum = [sys.executable, "-m", "forum.cli"]
    for command in (["migrate"], ["seed-demo"]):
        subprocess.run(forum + command, env=env, check=True, capture_output=True, timeout=120)
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [*forum, "serve", "--port", str(port), "--no-access-log"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def test_the_served_forum_answers_with_its_database_and_demo_data(served: str) -> None:
    health = httpx.get(f"{served}/healthz", timeout=5)
    assert health.json()["database"] == "ok", health.text
    home = httpx.get(f"{served}/", timeout=5)
    assert home.status_code == 200 and "Welcome to the Smart Customs Forum" in home.text

    token = httpx.post(
        f"{served}/api/v1/auth/tokens",
        json={"email": "member@example.org", "password": "demo password 123"},
        timeout=5,
    )
    assert token.status_code == 201, token.text
    headers = {"Authorization": f"Bearer {token.json()['token']}"}
    created = httpx.post(
        f"{served}/api/v1/topics",
        json={"category": "cybersecurity", "title": "Served topic", "body": "hello", "tags": []},
        headers=headers,
        timeout=5,
    )
    assert created.status_code == 201, created.text
    topic = httpx.get(f"{served}/api/v1/topics/{created.json()['id']}", headers=headers, timeout=5)
    assert topic.json()["posts"][0]["html"] == "<p>hello</p>"
