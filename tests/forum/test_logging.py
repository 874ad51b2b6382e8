"""A served forum's log lines carry a timestamp, the level and the logger's name, its own
warnings included (they used to print bare)."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from pathlib import Path

import httpx
import pytest

from tests.helpers import make_user
from tests.served import forum_serve, healthy
from tests.web.support import csrf_from

LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|WARNING|ERROR) [\w.]+: ")


async def test_a_served_forum_logs_time_level_and_logger(
    database_url: str, db: str, tmp_path: Path
) -> None:
    await make_user("alice")
    unreachable = {"FORUM_SMTP_URL": "smtp://127.0.0.1:1"}  # the outbox will warn
    with forum_serve(tmp_path, "logs", database_url, "memory://", env_extra=unreachable) as (
        address,
        process,
    ):
        await healthy(address, process)
        async with httpx.AsyncClient(base_url=f"http://{address}") as http:
            page = await http.get("/password/reset")
            asked = await http.post(
                "/password/reset",
                data={"csrf_token": csrf_from(page), "email": "alice@example.org"},
            )
            assert asked.status_code in (200, 303)
        log = tmp_path / "logs.log"
        for _ in range(300):  # the sender's next round, within seconds (at most 30 s)
            if "notifications.outbox: outbox message" in log.read_text():
                break
            await asyncio.sleep(0.1)
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    warning = next(line for line in lines if "notifications.outbox: outbox message" in line)
    assert LINE.match(warning) and " WARNING notifications.outbox: " in warning
    started = next(line for line in lines if "Application startup complete" in line)
    assert LINE.match(started), started


async def test_a_background_round_logs_one_line_when_the_database_is_out_of_reach(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The outbox, document text and real-time loops retry every few seconds: during a
    database outage each round printed a whole traceback (bench/faults.py, postgres-restart)."""
    from tortoise.exceptions import DBConnectionError

    from forum.errors import log_failure

    with socket.socket() as s:  # a port nobody listens on: a real refusal
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    try:
        try:
            await asyncio.open_connection("127.0.0.1", port)
        except OSError as refused:
            raise DBConnectionError(refused) from refused  # as tortoise's pool raises it
    except DBConnectionError as exc:
        outage = exc
    logger = logging.getLogger("tests.rounds")
    with caplog.at_level(logging.ERROR, logger="tests.rounds"):
        log_failure(logger, "outbox round failed", outage)
        log_failure(logger, "outbox round failed", ValueError("a bug"))
    down, bug = caplog.records
    assert down.getMessage().startswith("outbox round failed: database unavailable: ")
    assert down.exc_info is None
    assert bug.getMessage() == "outbox round failed" and bug.exc_info is not None
