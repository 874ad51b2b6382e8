"""The committed migrations describe exactly the models: no change is left unmigrated."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from tortoise.cli.cli import tortoise_cli_context
from tortoise.migrations.api.migrate import migrate as run_migrations
from tortoise.migrations.autodetector import MigrationAutodetector

from forum.db import close_db, init_db, migrate, tortoise_config
from forum.models import AuditLog, Category, User
from moderation.audit import verify


async def test_models_and_committed_migrations_agree(db: str) -> None:
    config = tortoise_config(db)
    async with tortoise_cli_context(config) as ctx:
        assert ctx.apps is not None
        detector = MigrationAutodetector(ctx.apps, config["apps"])
        writers = await detector.changes()
    assert [w.name for w in writers] == []


async def test_a_forum_with_data_upgrades_and_its_earlier_audit_rows_are_chained(
    tmp_path: Path,
) -> None:
    """The migrations run on a database full of rows, not only an empty one (SQLite refuses
    a NOT NULL column without a default on a table that has rows)."""
    path = tmp_path / "earlier.sqlite3"
    url = f"sqlite://{path}"
    await run_migrations(config=tortoise_config(url), target="forum.0003_event_replay_index")
    await close_db()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        for table in ("users", "categories", "topics", "audit_log"):
            _insert_row(conn, table)
        _insert_row(conn, "audit_log")  # two decisions from before the hash chain
        conn.commit()

    await migrate(url)

    await init_db(url)
    try:
        user = await User.get(id=1)
        assert user.moderator_categories == [] and user.silenced_until is None
        category = await Category.get(id=1)
        assert category.archived is False and category.requires_approval is False
        verdict = await verify()
        assert verdict.intact and verdict.rows == 2
        await AuditLog.filter(id=1).update(reason="rewritten later")
        assert not (await verify()).intact
    finally:
        await close_db()


ENUMS = {"role": "member", "visibility": "members", "posting_right": "members"}


def _insert_row(conn: sqlite3.Connection, table: str) -> None:
    """A row with a plausible value in every column that needs one."""
    columns = conn.execute(f"PRAGMA table_info({table})").fetchall()
    names, values = [], []
    for _cid, name, kind, notnull, default, pk in columns:
        if pk or (not notnull and name != "created_at"):
            continue
        if default is not None:
            continue
        kind = kind.upper()
        if name.endswith("_id"):
            value: object = 1
        elif name in ENUMS:
            value = ENUMS[name]
        elif "INT" in kind or "BOOL" in kind:
            value = 0
        elif "TIMESTAMP" in kind or "DATE" in kind or name.endswith("_at"):
            value = "2025-06-01 12:00:00.123456+00:00"
        elif "JSON" in kind or name in ("data", "payload", "expertise"):
            value = '{"note": "caf\\u00e9"}' if name == "data" else "[]"
        else:
            value = f"{table}-{name}-{conn.execute(f'SELECT COUNT(*) FROM {table}').fetchone()[0]}"
        names.append(name)
        values.append(value)
    marks = ", ".join("?" for _ in names)
    conn.execute(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", values)
