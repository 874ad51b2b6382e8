from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('forum', '0012_drafts')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Attachment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('uploader', fields.ForeignKeyField('forum.User', source_field='uploader_id', db_constraint=True, to_field='id', related_name='attachments', on_delete=OnDelete.RESTRICT)),
                ('file_name', fields.CharField(max_length=200)),
                ('stored_name', fields.CharField(unique=True, max_length=48)),
                ('content_type', fields.CharField(max_length=100)),
                ('size', fields.BigIntField()),
                ('sha256', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'attachments', 'app': 'forum', 'pk_attr': 'id', 'table_description': 'A file a member uploaded from the composer to show in a post: an image (shown inline)'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PostAttachment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('post', fields.ForeignKeyField('forum.Post', source_field='post_id', db_constraint=True, to_field='id', related_name='attachment_links', on_delete=OnDelete.CASCADE)),
                ('attachment', fields.ForeignKeyField('forum.Attachment', source_field='attachment_id', db_constraint=True, to_field='id', related_name='post_links', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'post_attachments', 'app': 'forum', 'unique_together': (('post', 'attachment'),), 'indexes': [Index(fields=['attachment_id'])], 'pk_attr': 'id', 'table_description': 'A post that shows an attachment (a link to `/attachments/<id>/` in its source, now or'},
            bases=['Model'],
        ),
    ]
