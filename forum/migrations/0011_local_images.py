"""Stored HTML passes the local-images rule (forum.rendering): an image from another server,
stored before the rule, becomes a link to it. Rendered HTML is stored (posts, revisions, the
review queue, public pages, knowledge entries and their versions, document abstracts) and shown
as stored, so the rule is applied to the rows once here rather than on every read.

Only rows whose HTML contains `<img` are read, in batches of 500 by id; `sanitize_html` is
idempotent, so running it over HTML it made earlier changes nothing else. No schema change.
"""

import json
from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

from forum.rendering import sanitize_html

BATCH = 500
# (table, column, kind): "text" holds HTML, "dict" a JSON object of HTML per field, "data" a
# JSON object whose "html" key is such an object (knowledge entry versions).
COLUMNS = [
    ("posts", "html", "text"),
    ("post_revisions", "html", "text"),
    ("review_items", "html", "text"),
    ("public_pages", "html", "text"),
    ("knowledge_documents", "abstract_html", "text"),
    ("knowledge_entries", "html", "dict"),
    ("knowledge_entry_versions", "data", "data"),
]


def _clean_dict(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    return {k: sanitize_html(v) if isinstance(v, str) else v for k, v in value.items()}


def _rewrite(kind: str, stored: Any) -> Any:
    if kind == "text":
        return sanitize_html(stored)
    value = json.loads(stored) if isinstance(stored, str) else stored
    if kind == "dict":
        value = _clean_dict(value)
    elif isinstance(value, dict) and "html" in value:
        value = {**value, "html": _clean_dict(value["html"])}
    return json.dumps(value, separators=(",", ":"))


async def drop_outside_images(apps, schema_editor) -> None:
    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"
    for table, column, kind in COLUMNS:
        as_text = f"CAST({column} AS TEXT)" if postgres and kind != "text" else column
        select = (
            f"SELECT id, {as_text} AS value FROM {table}"
            f" WHERE id > {{after}} AND {as_text} LIKE '%<img%' ORDER BY id LIMIT {BATCH}"
        )
        if postgres:
            target = "CAST($1 AS JSONB)" if kind != "text" else "$1"
            update = f"UPDATE {table} SET {column} = {target} WHERE id = $2"
        else:
            update = f"UPDATE {table} SET {column} = ? WHERE id = ?"
        after = 0
        while True:
            rows = await client.execute_query_dict(select.format(after=after))
            if not rows:
                break
            for row in rows:
                new = _rewrite(kind, row["value"])
                if new != row["value"]:
                    await client.execute_query(update, [new, row["id"]])
            after = int(rows[-1]["id"])


async def nothing_to_undo(apps, schema_editor) -> None:
    """The images' addresses are kept as links, so nothing is lost and nothing is restored."""


class Migration(migrations.Migration):
    dependencies = [("forum", "0010_search")]

    initial = False

    operations = [
        ops.RunPython(drop_outside_images, nothing_to_undo),
    ]
