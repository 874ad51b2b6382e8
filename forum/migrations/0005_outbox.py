from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from forum.models import OutboxStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('forum', '0004_moderation')]

    initial = False

    operations = [
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
            ],
            options={'table': 'outbox', 'app': 'forum', 'indexes': [Index(fields=['status', 'available_at', 'id'])], 'pk_attr': 'id', 'table_description': 'An email to send, written in the transaction of its cause (notifications/outbox.py).'},
            bases=['Model'],
        ),
    ]
