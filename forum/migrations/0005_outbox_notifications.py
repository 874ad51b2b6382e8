from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from forum.models import DigestFrequency, NotificationLevel, OutboxStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('forum', '0004_moderation')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CategoryNotification',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('forum.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('category', fields.ForeignKeyField('forum.Category', source_field='category_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('level', fields.CharEnumField(description='WATCHING: watching\nWATCHING_FIRST_POST: watching_first_post\nTRACKING: tracking\nNORMAL: normal\nMUTED: muted', enum_type=NotificationLevel, max_length=24)),
            ],
            options={'table': 'category_notifications', 'app': 'forum', 'unique_together': (('user', 'category'),), 'pk_attr': 'id', 'table_description': "A member's notification level for one category (none: normal)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DigestSent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('forum.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('period', fields.CharField(max_length=20)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('outcome', fields.CharField(default='queued', max_length=20)),
            ],
            options={'table': 'digests_sent', 'app': 'forum', 'unique_together': (('user', 'period'),), 'pk_attr': 'id', 'table_description': 'One digest per member and period (ISO week or day in their time zone): the unique key'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('forum.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=30)),
                ('topic', fields.ForeignKeyField('forum.Topic', source_field='topic_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('post', fields.ForeignKeyField('forum.Post', source_field='post_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('actor', fields.ForeignKeyField('forum.User', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('data', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('group_key', fields.CharField(default='', max_length=100)),
                ('count', fields.IntField(default=1)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('read_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('emailed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notifications', 'app': 'forum', 'indexes': [Index(fields=['user_id', 'id']), Index(fields=['user_id', 'read_at']), Index(fields=['user_id', 'group_key'])], 'pk_attr': 'id', 'table_description': 'One in-app notification. Reactions to one post group into one row (`group_key`,'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutboxMessage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('forum.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('to_address', fields.CharField(max_length=254)),
                ('template', fields.CharField(max_length=100)),
                ('subject', fields.CharField(max_length=200)),
                ('context', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharEnumField(default=OutboxStatus.PENDING, description='PENDING: pending\nSENT: sent\nFAILED: failed', enum_type=OutboxStatus, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('available_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('lease_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('headers', fields.JSONField(default=dict, db_default={}, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'outbox', 'app': 'forum', 'indexes': [Index(fields=['status', 'available_at', 'id'])], 'pk_attr': 'id', 'table_description': 'An email to send, written in the transaction of its cause (notifications/outbox.py).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TopicNotification',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('forum.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('topic', fields.ForeignKeyField('forum.Topic', source_field='topic_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('level', fields.CharEnumField(description='WATCHING: watching\nWATCHING_FIRST_POST: watching_first_post\nTRACKING: tracking\nNORMAL: normal\nMUTED: muted', enum_type=NotificationLevel, max_length=24)),
            ],
            options={'table': 'topic_notifications', 'app': 'forum', 'unique_together': (('user', 'topic'),), 'pk_attr': 'id', 'table_description': "A member's notification level for one topic (set by them, or tracking once they"},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='User',
            name='digest_frequency',
            field=fields.CharEnumField(default=DigestFrequency.WEEKLY, description='DAILY: daily\nWEEKLY: weekly\nNEVER: never', db_default=DigestFrequency.WEEKLY, enum_type=DigestFrequency, max_length=8),
        ),
        ops.AddField(
            model_name='User',
            name='digest_hour',
            field=fields.IntField(default=8, db_default=8),
        ),
        ops.AddField(
            model_name='User',
            name='digest_since',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='User',
            name='digest_weekday',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='User',
            name='email_mentions',
            field=fields.BooleanField(default=True, db_default=True),
        ),
        ops.AddField(
            model_name='User',
            name='email_quotes',
            field=fields.BooleanField(default=True, db_default=True),
        ),
        ops.AddField(
            model_name='User',
            name='email_replies',
            field=fields.BooleanField(default=True, db_default=True),
        ),
        ops.AddField(
            model_name='User',
            name='timezone',
            field=fields.CharField(default='UTC', db_default='UTC', max_length=64),
        ),
    ]
