from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('forum', '0011_local_images')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Draft',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('forum.User', source_field='user_id', db_constraint=True, to_field='id', related_name='drafts', on_delete=OnDelete.CASCADE)),
                ('key', fields.CharField(max_length=40)),
                ('title', fields.CharField(default='', max_length=300)),
                ('body', fields.TextField(unique=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'drafts', 'app': 'forum', 'unique_together': (('user', 'key'),), 'pk_attr': 'id', 'table_description': 'What a member was writing and has not posted yet: one per topic they reply in'},
            bases=['Model'],
        ),
    ]
