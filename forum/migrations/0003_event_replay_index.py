from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('forum', '0002_membership')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Event',
            index=Index(fields=['channel', 'id']),
        ),
    ]
