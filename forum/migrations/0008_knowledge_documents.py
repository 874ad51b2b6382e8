from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('forum', '0007_notification_email_index')]

    initial = False

    operations = [
        ops.AddField(
            model_name='DocumentVersion',
            name='text_state',
            field=fields.CharField(default='', max_length=8),
        ),
        ops.AddField(
            model_name='DocumentVersion',
            name='text_claimed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name='DocumentVersion',
            index=Index(fields=['text_state', 'id']),
        ),
    ]
