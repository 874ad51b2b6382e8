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


async def test_content_language_backfill_marks_french_posts_and_makes_english_automatic(
    tmp_path: Path,
) -> None:
    """Migration 0015: posts whose text is French become `fr` (and a topic whose first post
    is), the rest stays `en`; a stored "en" setting (the old default) becomes automatic."""
    path = tmp_path / "before-languages.sqlite3"
    url = f"sqlite://{path}"
    await run_migrations(config=tortoise_config(url), target="forum.0014_search_speed")
    await close_db()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        for table in ("users", "users", "categories", "topics", "topics"):
            _insert_row(conn, table)
        conn.execute("UPDATE users SET preferred_language = 'en' WHERE id = 1")
        conn.execute("UPDATE users SET preferred_language = 'fr' WHERE id = 2")
        texts = {
            1: (1, 1, "Les scellés électroniques de la douane sont-ils fiables pour nous ?"),
            2: (1, 2, "The seals are reliable; the readers are the weak point."),
            3: (2, 1, "Which customs data do you share with the other administrations?"),
            4: (2, 2, "Nous partageons les données du manifeste avec la police."),
            5: (2, 3, "Le risk score"),  # one French word is not French enough
        }
        for post_id, (topic_id, number, source) in texts.items():
            conn.execute(
                "INSERT INTO posts (id, topic_id, number, author_id, source, html, version,"
                " created_at, hidden)"
                " VALUES (?, ?, ?, 1, ?, '', 1, '2025-06-01 12:00:00+00:00', 0)",
                (post_id, topic_id, number, source),
            )
        conn.commit()

    await migrate(url)

    with contextlib.closing(sqlite3.connect(path)) as conn:
        posts = dict(conn.execute("SELECT id, language FROM posts").fetchall())
        topics = dict(conn.execute("SELECT id, language FROM topics").fetchall())
        users = dict(conn.execute("SELECT id, preferred_language FROM users").fetchall())
    assert posts == {1: "fr", 2: "en", 3: "en", 4: "fr", 5: "en"}
    assert topics == {1: "fr", 2: "en"}
    assert users == {1: "auto", 2: "fr"}
