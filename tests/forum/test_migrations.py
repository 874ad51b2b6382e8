"""The committed migrations describe exactly the models: no change is left unmigrated."""

from __future__ import annotations

from tortoise.cli.cli import tortoise_cli_context
from tortoise.migrations.autodetector import MigrationAutodetector

from forum.db import tortoise_config


async def test_models_and_committed_migrations_agree(db: str) -> None:
    config = tortoise_config(db)
    async with tortoise_cli_context(config) as ctx:
        assert ctx.apps is not None
        detector = MigrationAutodetector(ctx.apps, config["apps"])
        writers = await detector.changes()
    assert [w.name for w in writers] == []
