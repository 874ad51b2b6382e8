"""Posts, topics' titles and posts awaiting approval have a language; a member's language
setting may be automatic; the language of a member's pages when last seen is kept.

Backfill, honestly: every existing post (and queued post) is read once, in batches of 500 by
id, and marked `fr` when its text has more French function words than English ones (at least
two: "the risk" stays English, "les données de la douane" is French); everything else stays
`en`, which was the only language posts could be written in. A topic's language is its first
post's. The rule is written here, frozen, so a later change elsewhere cannot change what this
migration did.

Members' stored `en` was the default nobody could tell apart from a choice (there is no record
of who changed it), so it becomes `auto`: follow the switcher, else the browser. A stored `fr`
was chosen and stays.
"""

import re

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

BATCH = 500
_WORD = re.compile(r"[^\W\d_]+")
_ENGLISH = frozenset(
    "the and is are was were of to in on for with that this have has what which who how "
    "you we they it not be by from at or our your their".split()
)
_FRENCH = frozenset(
    "le la les des du de et est sont une un pour avec dans sur que qui nous vous ils elles "
    "ce cette ces pas au aux ou où être été notre votre leur leurs".split()
)


def guess_language(text: str) -> str:
    english = french = 0
    for word in _WORD.findall(text[:5000].lower()):
        if word in _ENGLISH:
            english += 1
        elif word in _FRENCH:
            french += 1
    return "fr" if french >= 2 and french > english else "en"


async def _mark_french(client, table: str, text: str) -> None:
    update = f"UPDATE {table} SET language = 'fr' WHERE id IN ({{ids}})"
    after = 0
    while True:
        rows = await client.execute_query_dict(
            f"SELECT id, {text} AS text FROM {table} WHERE id > {after} ORDER BY id LIMIT {BATCH}"
        )
        if not rows:
            break
        french = [int(r["id"]) for r in rows if guess_language(str(r["text"] or "")) == "fr"]
        if french:
            # Integers of ours, written into the statement (no placeholder style to adapt).
            await client.execute_script(update.format(ids=", ".join(map(str, french))))
        after = int(rows[-1]["id"])


async def backfill(apps, schema_editor) -> None:
    client = schema_editor.client
    await _mark_french(client, "posts", "source")
    await _mark_french(client, "review_items", "title || ' ' || source")
    await client.execute_script(
        "UPDATE topics SET language = 'fr' WHERE id IN"
        " (SELECT topic_id FROM posts WHERE number = 1 AND language = 'fr')"
    )
    for kind, table in (("post", "posts"), ("topic", "topics")):  # search results say it too
        await client.execute_script(
            f"UPDATE search_docs SET language = COALESCE((SELECT x.language FROM {table} x"
            f" WHERE x.id = search_docs.ref_id), '') WHERE kind = '{kind}'"
        )
    await client.execute_script(
        "UPDATE users SET preferred_language = 'auto' WHERE preferred_language = 'en'"
    )


async def undo_backfill(apps, schema_editor) -> None:
    """The language columns go with the fields; `auto` reads as English, as before."""
    await schema_editor.client.execute_script(
        "UPDATE users SET preferred_language = 'en' WHERE preferred_language = 'auto'"
    )


class DefaultOnly(ops.AlterField):
    """A field's Python default changes (`preferred_language`: "auto"); the database's column
    stays as it is (no database default was ever set). A plain AlterField would rebuild the
    users table on SQLite, which every other table's foreign keys refer to."""

    async def database_forward(self, app_label, old_state, new_state, state_editor=None) -> None:
        return None

    async def database_backward(self, app_label, old_state, new_state, state_editor=None) -> None:
        return None


class Migration(migrations.Migration):
    dependencies = [('forum', '0014_search_speed')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Post',
            name='language',
            field=fields.CharField(default='en', db_default='en', max_length=8),
        ),
        ops.AddField(
            model_name='ReviewItem',
            name='language',
            field=fields.CharField(default='en', db_default='en', max_length=8),
        ),
        ops.AddField(
            model_name='Topic',
            name='language',
            field=fields.CharField(default='en', db_default='en', max_length=8),
        ),
        ops.AddField(
            model_name='User',
            name='language_chosen_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='User',
            name='seen_language',
            field=fields.CharField(default='', db_default='', max_length=8),
        ),
        DefaultOnly(
            model_name='User',
            name='preferred_language',
            field=fields.CharField(default='auto', max_length=8),
        ),
        ops.RunPython(backfill, undo_backfill),
    ]
