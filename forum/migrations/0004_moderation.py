from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from forum.models import FlagReason, ReviewKind, ReviewStatus, SanctionKind, WatchedAction
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index


async def seal_legacy_audit_rows(apps, schema_editor):
    """Audit rows from before the hash chain get their hashes, in id order, their content as
    it was, so `forum audit verify` passes on an upgraded database. This is the one place
    that writes to existing audit rows, once, while the hash columns are new. Raw SQL on
    purpose: a migration must not depend on today's model."""
    import json
    from types import SimpleNamespace

    from forum.queries.sql import as_datetime, postgres_placeholders
    from moderation.audit import row_hash

    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"
    rows = await client.execute_query_dict(
        "SELECT id, actor_id, action, target_type, target_id, reason, data, created_at"
        " FROM audit_log ORDER BY id"
    )
    previous = ""
    update = "UPDATE audit_log SET prev_hash = ?, hash = ? WHERE id = ?"
    for row in rows:
        data = row["data"]
        if isinstance(data, (str, bytes)):
            data = json.loads(data)
        legacy = SimpleNamespace(
            **{**row, "data": data or {}, "created_at": as_datetime(row["created_at"])},
            before="",
            after="",
            ip="",
            prev_hash=previous,
        )
        digest = row_hash(legacy)
        await client.execute_query(
            postgres_placeholders(update) if postgres else update, [previous, digest, row["id"]]
        )
        previous = digest

class Migration(migrations.Migration):
    dependencies = [('forum', '0003_event_replay_index')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ReminderClaim',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('forum.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('period', fields.CharField(max_length=40)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'reminder_claims', 'app': 'forum', 'indexes': [Index(fields=['user_id', 'period'])], 'pk_attr': 'id', 'table_description': 'One re-verification reminder per member and period: the row claims the sending.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReviewItem',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='FLAGGED_POST: flagged_post\nQUEUED_POST: queued_post\nQUEUED_TOPIC: queued_topic', enum_type=ReviewKind, max_length=20)),
                ('status', fields.CharEnumField(default=ReviewStatus.PENDING, description='PENDING: pending\nAPPROVED: approved\nREJECTED: rejected\nIGNORED: ignored\nDELETED: deleted', enum_type=ReviewStatus, max_length=16)),
                ('category', fields.ForeignKeyField('forum.Category', source_field='category_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('topic', fields.ForeignKeyField('forum.Topic', source_field='topic_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('post', fields.ForeignKeyField('forum.Post', source_field='post_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('forum.User', source_field='author_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('title', fields.CharField(default='', max_length=200)),
                ('tags', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('source', fields.TextField(default='', unique=False)),
                ('html', fields.TextField(default='', unique=False)),
                ('reply_to_id', fields.IntField(null=True)),
                ('reason', fields.CharField(default='', max_length=200)),
                ('score', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('claimed_by', fields.ForeignKeyField('forum.User', source_field='claimed_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('claimed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decided_by', fields.ForeignKeyField('forum.User', source_field='decided_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decision', fields.CharField(default='', max_length=20)),
                ('decision_reason', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'review_items', 'app': 'forum', 'indexes': [Index(fields=['status', 'category_id', 'id']), Index(fields=['post_id']), Index(fields=['author_id', 'topic_id', 'status'])], 'pk_attr': 'id', 'table_description': 'One reviewable per target: the flags on one post, or one post or topic awaiting'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Flag',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('item', fields.ForeignKeyField('forum.ReviewItem', source_field='item_id', db_constraint=True, to_field='id', related_name='flags', on_delete=OnDelete.CASCADE)),
                ('post', fields.ForeignKeyField('forum.Post', source_field='post_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('forum.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('reason', fields.CharEnumField(description='OFF_TOPIC: off_topic\nINAPPROPRIATE: inappropriate\nSPAM: spam\nSENSITIVE: sensitive\nOTHER: other', enum_type=FlagReason, max_length=20)),
                ('note', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'flags', 'app': 'forum', 'unique_together': (('post', 'user'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReviewView',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('item', fields.ForeignKeyField('forum.ReviewItem', source_field='item_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('forum.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('seen_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'review_views', 'app': 'forum', 'unique_together': (('item', 'user'),), 'pk_attr': 'id', 'table_description': 'Which moderator last looked at a review item, and when (who else is looking).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Sanction',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('forum.User', source_field='user_id', db_constraint=True, to_field='id', related_name='sanctions', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='WARN: warn\nSILENCE: silence\nSUSPEND: suspend', enum_type=SanctionKind, max_length=16)),
                ('reason', fields.TextField(unique=False)),
                ('until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_by', fields.ForeignKeyField('forum.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('lifted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('lifted_by', fields.ForeignKeyField('forum.User', source_field='lifted_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('seen_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'sanctions', 'app': 'forum', 'indexes': [Index(fields=['user_id', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SiteSetting',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('value', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'site_settings', 'app': 'forum', 'pk_attr': 'key', 'table_description': 'A setting administrators change at run time (moderation thresholds and limits).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WatchedWord',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('word', fields.CharField(max_length=100)),
                ('action', fields.CharEnumField(description='BLOCK: block\nREQUIRE_APPROVAL: require_approval\nFLAG: flag', enum_type=WatchedAction, max_length=20)),
                ('created_by', fields.ForeignKeyField('forum.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'watched_words', 'app': 'forum', 'unique_together': (('word', 'action'),), 'pk_attr': 'id', 'table_description': 'A word or simple wildcard (`*`) watched in new posts, matched on whole words.'},
            bases=['Model'],
        ),
        ops.AlterModelOptions(
            name='AuditLog',
            options={'table': 'audit_log', 'app': 'forum', 'indexes': [Index(fields=['action', 'id']), Index(fields=['actor_id', 'id'])], 'pk_attr': 'id', 'table_description': "Append-only. Each row's hash covers its content and the previous row's hash"},
        ),
        ops.AddField(
            model_name='AuditLog',
            name='after',
            field=fields.TextField(default='', db_default='', unique=False),
        ),
        ops.AddField(
            model_name='AuditLog',
            name='before',
            field=fields.TextField(default='', db_default='', unique=False),
        ),
        ops.AddField(
            model_name='AuditLog',
            name='hash',
            field=fields.CharField(default='', db_default='', max_length=64),
        ),
        ops.AddField(
            model_name='AuditLog',
            name='ip',
            field=fields.CharField(default='', db_default='', max_length=64),
        ),
        ops.AddField(
            model_name='AuditLog',
            name='prev_hash',
            field=fields.CharField(default='', db_default='', max_length=64),
        ),
        ops.AddIndex(
            model_name='AuditLog',
            index=Index(fields=['action', 'id']),
        ),
        ops.AddIndex(
            model_name='AuditLog',
            index=Index(fields=['actor_id', 'id']),
        ),
        ops.AddField(
            model_name='Category',
            name='archived',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='Category',
            name='requires_approval',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='Topic',
            name='merged_into_id',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='User',
            name='moderator_categories',
            field=fields.JSONField(default=list, db_default=[], encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='User',
            name='silenced_until',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='User',
            name='suspended_until',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.RunPython(seal_legacy_audit_rows, ops.RunPython.noop),
    ]
