from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from readiness.models import SubmissionStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('forum', '0008_knowledge_documents')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ActivityAuthorDay',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('day', fields.CharField(max_length=10)),
                ('author_id', fields.IntField()),
                ('posts', fields.IntField()),
            ],
            options={'table': 'analytics_author_days', 'app': 'forum', 'unique_together': (('day', 'author_id'),), 'indexes': [Index(fields=['day', 'author_id', 'posts'])], 'pk_attr': 'id', 'table_description': 'Posts written on one past day (UTC) by one author, in every category together.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ActivityCount',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('day', fields.CharField(max_length=10)),
                ('category_id', fields.IntField()),
                ('author_id', fields.IntField()),
                ('posts', fields.IntField()),
            ],
            options={'table': 'analytics_counts', 'app': 'forum', 'unique_together': (('day', 'category_id', 'author_id'),), 'indexes': [Index(fields=['day', 'author_id', 'category_id', 'posts'])], 'pk_attr': 'id', 'table_description': 'Posts written on one past day (UTC) in one category by one author.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ActivityDay',
            fields=[
                ('day', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=10)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'analytics_days', 'app': 'forum', 'pk_attr': 'day', 'table_description': 'A day (UTC, YYYY-MM-DD) whose posts are already summed in ActivityCount rows.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Submission',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('administration', fields.ForeignKeyField('forum.Administration', source_field='administration_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('questionnaire', fields.CharField(max_length=64)),
                ('version', fields.IntField()),
                ('status', fields.CharEnumField(default=SubmissionStatus.DRAFT, description='DRAFT: draft\nSUBMITTED: submitted', enum_type=SubmissionStatus, max_length=16)),
                ('answers', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('overall', fields.IntField(null=True)),
                ('created_by', fields.ForeignKeyField('forum.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('submitted_by', fields.ForeignKeyField('forum.User', source_field='submitted_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('submitted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'readiness_submissions', 'app': 'forum', 'indexes': [Index(fields=['administration_id', 'questionnaire', 'status', 'submitted_at']), Index(fields=['questionnaire', 'status', 'submitted_at'])], 'pk_attr': 'id', 'table_description': "An administration's answers to one version of a questionnaire (a draft or submitted)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Score',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('submission', fields.ForeignKeyField('forum.Submission', source_field='submission_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('dimension', fields.CharField(max_length=40)),
                ('level', fields.IntField()),
            ],
            options={'table': 'readiness_scores', 'app': 'forum', 'unique_together': (('submission', 'dimension'),), 'pk_attr': 'id', 'table_description': 'The level one submitted submission reached in one dimension (1 to 5).'},
            bases=['Model'],
        ),
            # Participation analytics (readiness/analytics.py): today's posts by time, and the
        # most viewed and most replied topics without sorting every topic.
        ops.RunSQL(
            [
                "CREATE INDEX IF NOT EXISTS idx_posts_created_author_topic"
                " ON posts (created_at, author_id, topic_id)",
                "CREATE INDEX IF NOT EXISTS idx_topics_views ON topics (views)",
                "CREATE INDEX IF NOT EXISTS idx_topics_post_count ON topics (post_count)",
                # The first reply of each topic, for the median time to it.
                "CREATE INDEX IF NOT EXISTS idx_posts_first_reply"
                " ON posts (topic_id, number, created_at) WHERE number = 2",
            ],
            reverse_sql=[
                "DROP INDEX IF EXISTS idx_posts_created_author_topic",
                "DROP INDEX IF EXISTS idx_topics_views",
                "DROP INDEX IF EXISTS idx_topics_post_count",
                "DROP INDEX IF EXISTS idx_posts_first_reply",
            ],
        ),
    ]
