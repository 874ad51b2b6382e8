from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from forum.models import AccessStatus, Region, TokenPurpose
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('forum', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Administration',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=200)),
                ('country_code', fields.CharField(unique=True, max_length=2)),
                ('region', fields.CharEnumField(description='AMS: AMS\nAP: A/P\nESA: ESA\nEUR: EUR\nMENA: MENA\nWCA: WCA', enum_type=Region, max_length=8)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'administrations', 'app': 'forum', 'pk_attr': 'id', 'table_description': 'A WCO member customs administration.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AccessRequest',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.CharField(db_index=True, max_length=254)),
                ('full_name', fields.CharField(max_length=120)),
                ('administration', fields.ForeignKeyField('forum.Administration', source_field='administration_id', null=True, db_constraint=True, to_field='id', related_name='access_requests', on_delete=OnDelete.SET_NULL)),
                ('position', fields.CharField(default='', max_length=200)),
                ('reason', fields.TextField(default='', unique=False)),
                ('language', fields.CharField(default='en', max_length=8)),
                ('status', fields.CharEnumField(default=AccessStatus.EMAIL_PENDING, description='EMAIL_PENDING: email_pending\nPENDING: pending\nAPPROVED: approved\nREJECTED: rejected', enum_type=AccessStatus, max_length=16)),
                ('user', fields.ForeignKeyField('forum.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name='access_requests', on_delete=OnDelete.CASCADE)),
                ('invited_by', fields.ForeignKeyField('forum.User', source_field='invited_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('email_confirmed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decided_by', fields.ForeignKeyField('forum.User', source_field='decided_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('decision_note', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'access_requests', 'app': 'forum', 'indexes': [Index(fields=['status', 'created_at'])], 'pk_attr': 'id', 'table_description': "An applicant's request to join the restricted area, or an administrator's invitation."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BackupCode',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('forum.User', source_field='user_id', db_constraint=True, to_field='id', related_name='backup_codes', on_delete=OnDelete.CASCADE)),
                ('code_hash', fields.CharField(max_length=64)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'backup_codes', 'app': 'forum', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EmailToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('purpose', fields.CharEnumField(description='CONFIRM_EMAIL: confirm_email\nRESET_PASSWORD: reset_password\nINVITATION: invitation', enum_type=TokenPurpose, max_length=20)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('user', fields.ForeignKeyField('forum.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('access_request', fields.ForeignKeyField('forum.AccessRequest', source_field='access_request_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'email_tokens', 'app': 'forum', 'pk_attr': 'id', 'table_description': 'A single-use secret sent by email (stored hashed), with an expiry.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PublicPage',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('slug', fields.CharField(unique=True, max_length=64)),
                ('title', fields.CharField(max_length=200)),
                ('source', fields.TextField(default='', unique=False)),
                ('html', fields.TextField(default='', unique=False)),
                ('position', fields.IntField(default=0)),
                ('published', fields.BooleanField(default=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('updated_by', fields.ForeignKeyField('forum.User', source_field='updated_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'public_pages', 'app': 'forum', 'pk_attr': 'id', 'table_description': 'A page of the public section, written in markdown by administrators.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RateHit',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'rate_hits', 'app': 'forum', 'indexes': [Index(fields=['key', 'created_at'])], 'pk_attr': 'id', 'table_description': 'One counted attempt for a rate limit key (a failed login for an email, a form by an IP).'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='User',
            name='administration',
            field=fields.ForeignKeyField('forum.Administration', source_field='administration_id', null=True, db_constraint=True, to_field='id', related_name='members', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='User',
            name='avatar',
            field=fields.CharField(default='', max_length=100),
        ),
        ops.AddField(
            model_name='User',
            name='expertise',
            field=fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='User',
            name='languages',
            field=fields.CharField(default='', max_length=200),
        ),
        ops.AddField(
            model_name='User',
            name='password_changed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='User',
            name='phone',
            field=fields.CharField(default='', max_length=50),
        ),
        ops.AddField(
            model_name='User',
            name='position',
            field=fields.CharField(default='', max_length=200),
        ),
        ops.AddField(
            model_name='User',
            name='preferred_language',
            field=fields.CharField(default='en', max_length=8),
        ),
        ops.AddField(
            model_name='User',
            name='show_email',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='User',
            name='show_phone',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='User',
            name='totp_enabled',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='User',
            name='totp_last_step',
            field=fields.BigIntField(default=0),
        ),
        ops.AddField(
            model_name='User',
            name='totp_secret',
            field=fields.CharField(default='', max_length=64),
        ),
        ops.AddField(
            model_name='User',
            name='verified_until',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
