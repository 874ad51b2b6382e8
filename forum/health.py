"""What /healthz says about the database: it answers a read, and it takes a write.

`SELECT 1` answers while writes fail (a full disk, a read-only file or replica, a writer
holding the lock for good), so the probe also commits a tiny write: the `health.probe` row of
`site_settings` (a key nothing else reads) gets the time and 32 KiB of padding, about what a
reply writes. A write that is rolled back would prove little: SQLite writes nothing to disk
until a commit.

Both are bounded (`PROBE_SECONDS`). On SQLite the write goes through its own short-lived
connection on a worker thread, with a busy timeout of that bound: the app's connection runs
statements on the event loop's thread (forum/sqlite_inline.py), where a held lock would stall
every request for its 5 s busy wait. On PostgreSQL it is one upsert on the app's pool.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from datetime import UTC, datetime

from tortoise import connections

PROBE_KEY = "health.probe"
PROBE_SECONDS = 2.0
# The probe writes about as much as a reply does (a post, its revision, an event, the search
# index: some ten pages): a full disk often still has room for a one-page write, and a probe
# that small said "ok" while every reply failed (bench/faults.py, sqlite-full).
PROBE_PAD = 32 * 1024
_UPSERT = (
    "INSERT INTO site_settings (key, value, updated_at) VALUES ({k}, {v}, {t})"
    " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
)


async def database_state() -> str:
    """ "ok", or one line naming what failed: "error: ..." (reads) or "writes fail: ..."."""
    client = connections.get("default")
    try:
        async with asyncio.timeout(PROBE_SECONDS):
            await client.execute_query("SELECT 1")
    except Exception as exc:
        return f"error: {_describe(exc)}"
    value = json.dumps({"at": time.time(), "pad": "." * PROBE_PAD})
    try:
        if client.capabilities.dialect == "sqlite":
            filename = str(getattr(client, "filename", ""))
            if filename in ("", ":memory:"):
                return "ok"  # no file another connection could open: nothing more to prove
            await asyncio.wait_for(
                asyncio.to_thread(_sqlite_write, filename, value), PROBE_SECONDS + 1
            )
        else:
            sql = _UPSERT.format(k="$1", v="CAST($2 AS JSONB)", t="$3")
            async with asyncio.timeout(PROBE_SECONDS):
                await client.execute_query(sql, [PROBE_KEY, value, datetime.now(UTC)])
    except Exception as exc:
        return f"writes fail: {_describe(exc)}"
    return "ok"


def _sqlite_write(filename: str, value: str) -> None:
    conn = sqlite3.connect(filename, timeout=PROBE_SECONDS, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            _UPSERT.format(k="?", v="?", t="?"),
            (PROBE_KEY, value, datetime.now(UTC).isoformat(" ")),
        )
        conn.execute("COMMIT")
    finally:
        conn.close()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"TimeoutError (no answer within {PROBE_SECONDS:g} s)"
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__
