"""The `forum` command as an operator runs it: real processes, real files, real exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

FORUM = [sys.executable, "-m", "forum.cli"]


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("FORUM_")}
    base.update({"FORUM_VAR_DIR": str(tmp_path / "var"), **env})
    return subprocess.run(
        FORUM + args, env=base, capture_output=True, text=True, timeout=120, cwd=tmp_path
    )


def test_help_lists_every_command(tmp_path: Path) -> None:
    result = run(["--help"], tmp_path)
    assert result.returncode == 0
    for command in ("serve", "migrate", "create-admin", "seed-demo"):
        assert command in result.stdout


@pytest.mark.parametrize(
    ("variable", "value", "needle"),
    [
        ("FORUM_DATABASE_URL", "mysql://root@localhost/forum", "unknown URL scheme 'mysql'"),
        ("FORUM_BROKER_URL", "kafka://localhost", "unknown URL scheme 'kafka'"),
        ("FORUM_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none", "cannot reach the database"),
    ],
)
def test_a_bad_setting_stops_with_one_clear_line_and_exit_2(
    tmp_path: Path, variable: str, value: str, needle: str
) -> None:
    result = run(["migrate"], tmp_path, **{variable: value})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr


def test_serve_refuses_an_unreachable_database_before_listening(tmp_path: Path) -> None:
    result = run(
        ["serve", "--port", "1"], tmp_path, FORUM_DATABASE_URL="postgres://x@127.0.0.1:1/none"
    )
    assert result.returncode == 2 and "cannot reach the database" in result.stderr


def test_migrate_then_seed_twice_is_idempotent_and_the_demo_password_works(
    tmp_path: Path,
) -> None:
    db = f"sqlite://{tmp_path}/forum.sqlite3"
    first = run(["migrate"], tmp_path, FORUM_DATABASE_URL=db)
    assert first.returncode == 0 and "applied forum.0001_initial" in first.stdout
    again = run(["migrate"], tmp_path, FORUM_DATABASE_URL=db)
    assert again.returncode == 0 and "up to date" in again.stdout

    seeded = run(["seed-demo"], tmp_path, FORUM_DATABASE_URL=db)
    assert seeded.returncode == 0, seeded.stderr
    assert "member@example.org" in seeded.stdout
    password = seeded.stdout.split("demo password (generated, shown once): ")[1].split()[0]
    assert len(password) >= 12

    reseeded = run(["seed-demo"], tmp_path, FORUM_DATABASE_URL=db)
    assert "0 new categories, 0 new topics, 0 new accounts" in reseeded.stdout
    assert "0 new knowledge entries" in reseeded.stdout and "6 new knowledge" in seeded.stdout

    check = subprocess.run(
        [sys.executable, "-c", _LOGIN_CHECK, db, password],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # 6 demo topics (one in French) and the discussions of the 5 published demo knowledge entries
    assert check.stdout.split() == ["member", "True", "17", "11"], check.stderr


_LOGIN_CHECK = """
import asyncio, sys
from tortoise import Tortoise
from forum.db import tortoise_config
from forum.actions.users import authenticate
from forum.models import Category, Topic
async def main():
    await Tortoise.init(config=tortoise_config(sys.argv[1]))
    user = await authenticate("  Member@Example.org ", sys.argv[2])
    print(user.username, user.is_verified, await Category.all().count(), await Topic.all().count())
    await Tortoise.close_connections()
asyncio.run(main())
"""


def test_create_admin_uses_the_password_from_the_environment(tmp_path: Path) -> None:
    db = f"sqlite://{tmp_path}/forum.sqlite3"
    run(["migrate"], tmp_path, FORUM_DATABASE_URL=db)
    args = ["create-admin", "--email", "root@example.org", "--username", "root"]
    short = run(args, tmp_path, FORUM_DATABASE_URL=db, FORUM_ADMIN_PASSWORD="short")
    assert short.returncode == 2 and "12 characters" in short.stderr
    ok = run(args, tmp_path, FORUM_DATABASE_URL=db, FORUM_ADMIN_PASSWORD="a long enough secret")
    assert ok.returncode == 0 and "created administrator root" in ok.stdout
    dup = run(args, tmp_path, FORUM_DATABASE_URL=db, FORUM_ADMIN_PASSWORD="a long enough secret")
    assert dup.returncode == 2 and "already taken" in dup.stderr


def test_the_base_url_follows_the_served_address_unless_set() -> None:
    from forum.settings import Settings

    assert Settings.from_env({}).base_url == "http://127.0.0.1:8000"
    derived = Settings.from_env({"HOST": "127.0.0.1", "PORT": "8810"})
    assert derived.base_url == "http://127.0.0.1:8810" and not derived.base_url_configured
    assert Settings.from_env({"HOST": "0.0.0.0", "PORT": "8810"}).base_url == (  # noqa: S104
        "http://127.0.0.1:8810"  # a wildcard listener: this machine's own address
    )
    assert Settings.from_env({"HOST": "::1", "PORT": "9000"}).origin == "http://[::1]:9000"
    given = Settings.from_env({"FORUM_BASE_URL": "https://Forum.Example.org/", "PORT": "8810"})
    assert given.base_url == "https://Forum.Example.org" and given.base_url_configured
    assert given.origin == "https://forum.example.org"
