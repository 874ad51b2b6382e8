"""Search indexes for speed at a million rows (PostgreSQL only; SQLite has nothing to change).

- A BRIN index on `search_docs.id`. Ids are creation times and rows are written in time
  order, so a block range of the table holds a narrow range of ids: the index is a few hundred
  kilobytes for a million rows, and ANDed with the GIN bitmap of a search it limits the rows
  read to the pages of the id window searched (search.query gathers matches newest first,
  window by window).
- The GIN index's pending list (`fastupdate`) bounded to 256 kB (PostgreSQL's default is
  4 MB) and emptied now: every search reads the whole list, row by row, before the index
  proper, so a full 4 MB list (left by a bulk load until VACUUM comes by) cost each search
  ~450 pages and ~2 ms.

No row changes; `forum reindex` summarises its new rows into the BRIN index and empties the
pending list when it has refilled the table.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

UP = [
    "CREATE INDEX IF NOT EXISTS idx_search_docs_id_brin ON search_docs USING BRIN (id)"
    " WITH (pages_per_range = 16, autosummarize = on)",
    "ALTER INDEX idx_search_docs_terms SET (gin_pending_list_limit = 256)",
    "SELECT gin_clean_pending_list('idx_search_docs_terms')",
]
DOWN = [
    "DROP INDEX IF EXISTS idx_search_docs_id_brin",
    "ALTER INDEX idx_search_docs_terms RESET (gin_pending_list_limit)",
]


async def create_indexes(apps, schema_editor) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        for statement in UP:
            await client.execute_script(statement)


async def drop_indexes(apps, schema_editor) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        for statement in DOWN:
            await client.execute_script(statement)


class Migration(migrations.Migration):
    dependencies = [('forum', '0013_post_attachments')]

    initial = False

    operations = [
        ops.RunPython(create_indexes, drop_indexes),
    ]
