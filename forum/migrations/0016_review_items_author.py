"""An index for a member's own replies awaiting approval in a topic.

Every topic page a member opens asks, in its "own state" statement
(`forum.queries.topics._MINE_SQL`), for their review items there that are still pending. With
no index on `review_items` that part read the whole table: nothing on an empty queue, but a
full scan per page view once the queue has history. The index on (author, topic, status)
answers it in one probe. No row changes.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

UP = (
    "CREATE INDEX IF NOT EXISTS idx_review_items_author_topic"
    " ON review_items (author_id, topic_id, status)"
)
DOWN = "DROP INDEX IF EXISTS idx_review_items_author_topic"


async def create_index(apps, schema_editor) -> None:
    await schema_editor.client.execute_script(UP)


async def drop_index(apps, schema_editor) -> None:
    await schema_editor.client.execute_script(DOWN)


class Migration(migrations.Migration):
    dependencies = [('forum', '0015_content_language')]

    initial = False

    operations = [
        ops.RunPython(create_index, drop_index),
    ]
