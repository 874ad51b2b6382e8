"""The search index (search/index.py): one row per searchable thing and its full-text terms.
Row ids are made from the creation time (search.index.doc_id), so id order is time order.

Hand-written: SQLite gets an FTS5 table beside the rows, PostgreSQL a tsvector column with a
GIN index. `forum reindex` fills it from what exists.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

SQLITE = [
    """CREATE TABLE IF NOT EXISTS search_docs (
        id INTEGER PRIMARY KEY,
        kind VARCHAR(16) NOT NULL,
        ref_id INT NOT NULL,
        topic_id INT,
        category_id INT,
        author_id INT,
        administration_id INT,
        region VARCHAR(8),
        audience VARCHAR(16) NOT NULL,
        language VARCHAR(8) NOT NULL DEFAULT '',
        created_at VARCHAR(32) NOT NULL,
        title TEXT NOT NULL DEFAULT '',
        body TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE UNIQUE INDEX IF NOT EXISTS uid_search_docs_kind_ref ON search_docs (kind, ref_id)",
    "CREATE INDEX IF NOT EXISTS idx_search_docs_topic ON search_docs (topic_id)",
    "CREATE INDEX IF NOT EXISTS idx_search_docs_created ON search_docs (created_at)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5("
    "title, body, meta, tokenize = 'unicode61 remove_diacritics 2', detail = full)",
]

POSTGRES = [
    """CREATE TABLE IF NOT EXISTS search_docs (
        id BIGINT PRIMARY KEY,
        kind VARCHAR(16) NOT NULL,
        ref_id INT NOT NULL,
        topic_id INT,
        category_id INT,
        author_id INT,
        administration_id INT,
        region VARCHAR(8),
        audience VARCHAR(16) NOT NULL,
        language VARCHAR(8) NOT NULL DEFAULT '',
        created_at TIMESTAMPTZ NOT NULL,
        title TEXT NOT NULL DEFAULT '',
        body TEXT NOT NULL DEFAULT '',
        terms TSVECTOR NOT NULL
    )""",
    "CREATE UNIQUE INDEX IF NOT EXISTS uid_search_docs_kind_ref ON search_docs (kind, ref_id)",
    "CREATE INDEX IF NOT EXISTS idx_search_docs_topic ON search_docs (topic_id)",
    "CREATE INDEX IF NOT EXISTS idx_search_docs_created ON search_docs (created_at)",
    "CREATE INDEX IF NOT EXISTS idx_search_docs_terms ON search_docs USING GIN (terms)",
]


async def create_index(apps, schema_editor) -> None:
    client = schema_editor.client
    statements = POSTGRES if client.capabilities.dialect == "postgres" else SQLITE
    for statement in statements:
        await client.execute_script(statement)


async def drop_index(apps, schema_editor) -> None:
    client = schema_editor.client
    if client.capabilities.dialect != "postgres":
        await client.execute_script("DROP TABLE IF EXISTS search_fts")
    await client.execute_script("DROP TABLE IF EXISTS search_docs")


class Migration(migrations.Migration):
    dependencies = [('forum', '0009_readiness')]

    initial = False

    operations = [
        ops.RunPython(create_index, drop_index),
    ]
