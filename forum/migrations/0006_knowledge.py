from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from forum.models import Region, ReviewKind
from json import dumps, loads
from knowledge.models import AdoptionStage, DocumentType, DocumentVisibility, EntryKind, EntryStatus, VersionStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('forum', '0005_outbox_notifications')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Document',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('title', fields.CharField(max_length=200)),
                ('abstract', fields.TextField(default='', unique=False)),
                ('abstract_html', fields.TextField(default='', unique=False)),
                ('authors', fields.CharField(default='', max_length=500)),
                ('administration', fields.ForeignKeyField('forum.Administration', source_field='administration_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('doc_type', fields.CharEnumField(description='RESEARCH: research\nPERSPECTIVE: perspective\nSTUDY: study\nREPORT: report\nTOOL: tool\nCASE_STUDY: case_study', enum_type=DocumentType, max_length=20)),
                ('is_deliverable', fields.BooleanField(default=False)),
                ('language', fields.CharField(default='en', max_length=8)),
                ('published_on', fields.DateField(null=True)),
                ('visibility', fields.CharEnumField(default=DocumentVisibility.MEMBERS, description='PUBLIC: public\nMEMBERS: members', enum_type=DocumentVisibility, max_length=16)),
                ('uploaded_by', fields.ForeignKeyField('forum.User', source_field='uploaded_by_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('current_version', fields.IntField(default=1)),
                ('is_deleted', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'knowledge_documents', 'app': 'forum', 'indexes': [Index(fields=['is_deleted', 'visibility', 'created_at']), Index(fields=['uploaded_by_id']), Index(fields=['administration_id'])], 'pk_attr': 'id', 'table_description': 'A member contribution or a project deliverable. Its files are `DocumentVersion`s.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DocumentTechnology',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('document', fields.ForeignKeyField('forum.Document', source_field='document_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('technology', fields.ForeignKeyField('forum.Category', source_field='technology_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'knowledge_document_technologies', 'app': 'forum', 'unique_together': (('document', 'technology'),), 'pk_attr': 'id', 'table_description': 'A technology (category) a document is about.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DocumentVersion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('document', fields.ForeignKeyField('forum.Document', source_field='document_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('number', fields.IntField()),
                ('file_name', fields.CharField(max_length=255)),
                ('stored_name', fields.CharField(unique=True, max_length=64)),
                ('content_type', fields.CharField(max_length=100)),
                ('size', fields.BigIntField()),
                ('sha256', fields.CharField(max_length=64)),
                ('text', fields.TextField(default='', unique=False)),
                ('note', fields.TextField(default='', unique=False)),
                ('uploaded_by', fields.ForeignKeyField('forum.User', source_field='uploaded_by_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'knowledge_document_versions', 'app': 'forum', 'unique_together': (('document', 'number'),), 'indexes': [Index(fields=['uploaded_by_id'])], 'pk_attr': 'id', 'table_description': 'One uploaded file of a document. Older versions stay listed and downloadable.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='KnowledgeEntry',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='BEST_PRACTICE: best_practice\nPITFALL: pitfall\nCASE_STUDY: case_study\nLESSON_LEARNED: lesson_learned', enum_type=EntryKind, max_length=20)),
                ('status', fields.CharEnumField(default=EntryStatus.DRAFT, description='DRAFT: draft\nSUBMITTED: submitted\nPUBLISHED: published\nSUPERSEDED: superseded', enum_type=EntryStatus, max_length=16)),
                ('author', fields.ForeignKeyField('forum.User', source_field='author_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('administration', fields.ForeignKeyField('forum.Administration', source_field='administration_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('region', fields.CharEnumField(null=True, description='AMS: AMS\nAP: A/P\nESA: ESA\nEUR: EUR\nMENA: MENA\nWCA: WCA', enum_type=Region, max_length=8)),
                ('technology', fields.ForeignKeyField('forum.Category', source_field='technology_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('stage', fields.CharEnumField(description='CONSIDERING: considering\nPILOT: pilot\nIN_PRODUCTION: in_production\nDISCONTINUED: discontinued', enum_type=AdoptionStage, max_length=20)),
                ('maturity', fields.IntField()),
                ('language', fields.CharField(default='en', max_length=8)),
                ('title', fields.CharField(max_length=200)),
                ('summary', fields.TextField(default='', unique=False)),
                ('context', fields.TextField(default='', unique=False)),
                ('what_was_done', fields.TextField(default='', unique=False)),
                ('outcome', fields.TextField(default='', unique=False)),
                ('lessons', fields.TextField(default='', unique=False)),
                ('costs_risks', fields.TextField(default='', unique=False)),
                ('html', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('links', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('version', fields.IntField(default=0)),
                ('review_note', fields.TextField(default='', unique=False)),
                ('topic', fields.ForeignKeyField('forum.Topic', source_field='topic_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('supersedes', fields.ForeignKeyField('forum.KnowledgeEntry', source_field='supersedes_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('superseded_by', fields.ForeignKeyField('forum.KnowledgeEntry', source_field='superseded_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('helpful_count', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('submitted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('published_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'knowledge_entries', 'app': 'forum', 'indexes': [Index(fields=['status', 'published_at']), Index(fields=['status', 'technology_id', 'kind']), Index(fields=['status', 'helpful_count']), Index(fields=['author_id', 'status']), Index(fields=['administration_id', 'status'])], 'pk_attr': 'id', 'table_description': 'One structured entry. The row holds the content readers see (for a published entry, the'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EntryAttachment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('entry', fields.ForeignKeyField('forum.KnowledgeEntry', source_field='entry_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('document', fields.ForeignKeyField('forum.Document', source_field='document_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'knowledge_entry_attachments', 'app': 'forum', 'unique_together': (('entry', 'document'),), 'pk_attr': 'id', 'table_description': 'A document attached to an entry.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EntryVersion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('entry', fields.ForeignKeyField('forum.KnowledgeEntry', source_field='entry_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('number', fields.IntField()),
                ('status', fields.CharEnumField(default=VersionStatus.SUBMITTED, description='SUBMITTED: submitted\nPUBLISHED: published\nREJECTED: rejected', enum_type=VersionStatus, max_length=16)),
                ('data', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('author', fields.ForeignKeyField('forum.User', source_field='author_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('decided_by', fields.ForeignKeyField('forum.User', source_field='decided_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('note', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'knowledge_entry_versions', 'app': 'forum', 'unique_together': (('entry', 'number'),), 'pk_attr': 'id', 'table_description': 'A reviewed version of an entry. Every published one stays viewable in the history.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='HelpfulMark',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('entry', fields.ForeignKeyField('forum.KnowledgeEntry', source_field='entry_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('forum.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'knowledge_helpful_marks', 'app': 'forum', 'unique_together': (('entry', 'user'),), 'pk_attr': 'id', 'table_description': 'A member found an entry helpful (once each).'},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='ReviewItem',
            name='kind',
            field=fields.CharEnumField(description='FLAGGED_POST: flagged_post\nQUEUED_POST: queued_post\nQUEUED_TOPIC: queued_topic\nKNOWLEDGE_ENTRY: knowledge_entry', enum_type=ReviewKind, max_length=20),
        ),
        ops.AddField(
            model_name='ReviewItem',
            name='entry',
            field=fields.ForeignKeyField('forum.KnowledgeEntry', source_field='entry_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE),
        ),
    ]
