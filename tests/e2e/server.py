"""A real `forum serve` (uvicorn) in a subprocess, on a temporary SQLite database, for the
browser tests. The port stays the same across restarts, so an open page can reconnect."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORUM = [sys.executable, "-m", "forum.cli"]
DEMO_PASSWORD = "live pages for customs people"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ForumServer:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("FORUM_")}
        self.env.update(
            FORUM_DATABASE_URL=f"sqlite://{workdir / 'forum.sqlite3'}",
            FORUM_BROKER_URL="memory://",
            FORUM_BASE_URL=self.url,  # the WebSocket handshake's Origin must match it
            FORUM_SECRET_KEY="e2e-secret-key",
            FORUM_VAR_DIR=str(workdir / "var"),
            FORUM_SMTP_URL=f"file://{workdir / 'outbox'}",
            FORUM_DEMO_PASSWORD=DEMO_PASSWORD,
            PYTHONPATH=str(ROOT),
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def run(self, *args: str, module: list[str] = FORUM) -> str:
        """Run a command (the forum CLI by default) against this server's database."""
        done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
            [*module, *args], env=self.env, cwd=ROOT, capture_output=True, timeout=60
        )
        output = done.stdout.decode() + done.stderr.decode()
        assert done.returncode == 0, f"{' '.join(args)} failed:\n{output}"
        return done.stdout.decode()

    def task(self, *args: str) -> str:
        return self.run(*args, module=[sys.executable, "-m", "tests.e2e.tasks"])

    def prepare(self) -> None:
        self.run("migrate")
        self.run("seed-demo")
        self.task("relax")

    @property
    def log(self) -> Path:
        return self.workdir / "server.log"

    def start(self) -> None:
        assert self.process is None
        self.starts += 1
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603
                [*FORUM, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                raise AssertionError(f"forum serve exited:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as answer:  # noqa: S310
                    if answer.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"forum serve did not become healthy:\n{self.log.read_text()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()  # uvicorn shuts down gracefully: sockets close with 1012
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
