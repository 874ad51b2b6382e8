"""A BRIN index on `search_docs.id` (PostgreSQL only; SQLite's FTS5 narrows rowid ranges by
itself). Ids are creation times and rows are written in time order, so a block range of the
table holds a narrow range of ids: the index is a few hundred kilobytes for a million rows,
and ANDed with the GIN bitmap of a search it restricts the rows read to the pages of the id
window being searched (search.query gathers matches newest first, window by window). No row
changes; `forum reindex` rebuilds the index after refilling the table.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

CREATE = (
    "CREATE INDEX IF NOT EXISTS idx_search_docs_id_brin ON search_docs USING BRIN (id)"
    " WITH (pages_per_range = 16, autosummarize = on)"
)


async def create_index(apps, schema_editor) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        await client.execute_script(CREATE)


async def drop_index(apps, schema_editor) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        await client.execute_script("DROP INDEX IF EXISTS idx_search_docs_id_brin")


class Migration(migrations.Migration):
    dependencies = [('forum', '0012_drafts')]

    initial = False

    operations = [
        ops.RunPython(create_index, drop_index),
    ]
