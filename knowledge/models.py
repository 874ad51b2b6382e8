"""Tables of the knowledge space (registered in the `forum` Tortoise app, migrated with it).

Entries (`KnowledgeEntry`) are structured best practices, pitfalls, case studies and lessons
learned; `EntryVersion` keeps every version a moderator reviewed (an edit after publication is
a submitted version until approved). Documents (`Document`) are member contributions and project
deliverables; each upload is a `DocumentVersion` whose file lives outside any served folder.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from forum.models import Administration, Category, Region, Topic, User


class EntryKind(StrEnum):
    BEST_PRACTICE = "best_practice"
    PITFALL = "pitfall"
    CASE_STUDY = "case_study"
    LESSON_LEARNED = "lesson_learned"


class EntryStatus(StrEnum):
    DRAFT = "draft"  # its author's alone (a rejected entry comes back here, with the note)
    SUBMITTED = "submitted"  # waiting for a moderator's review
    PUBLISHED = "published"
    SUPERSEDED = "superseded"  # a newer entry replaces it; still readable, linked both ways


class AdoptionStage(StrEnum):
    CONSIDERING = "considering"
    PILOT = "pilot"
    IN_PRODUCTION = "in_production"
    DISCONTINUED = "discontinued"


class Maturity(IntEnum):
    """The WCO Smart Customs survey's scale."""

    INITIAL = 1
    EXPERIMENTAL = 2
    OPERATIONAL = 3
    ADVANCED = 4
    TRANSFORMATIONAL = 5


class KnowledgeEntry(Model):
    """One structured entry. The row holds the content readers see (for a published entry, the
    published version). An edit waiting for review is an `EntryVersion`."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(EntryKind, max_length=20)
    status = fields.CharEnumField(EntryStatus, default=EntryStatus.DRAFT, max_length=16)
    author: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name=False, on_delete=fields.CASCADE
    )
    author_id: int
    administration: fields.ForeignKeyNullableRelation[Administration] = fields.ForeignKeyField(
        "forum.Administration", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    administration_id: int | None
    region = fields.CharEnumField(Region, max_length=8, null=True)  # the administration's
    technology: fields.ForeignKeyRelation[Category] = fields.ForeignKeyField(
        "forum.Category", related_name=False, on_delete=fields.RESTRICT
    )
    technology_id: int
    stage = fields.CharEnumField(AdoptionStage, max_length=20)
    maturity = fields.IntField()  # 1..5, `Maturity`
    language = fields.CharField(max_length=8, default="en")  # en / fr
    title = fields.CharField(max_length=200)
    summary = fields.TextField(default="")  # plain text, shown in lists
    # Markdown sources; their sanitised HTML is in `html` under the same names.
    context = fields.TextField(default="")
    what_was_done = fields.TextField(default="")
    outcome = fields.TextField(default="")
    lessons = fields.TextField(default="")
    costs_risks = fields.TextField(default="")
    html: fields.JSONField[dict[str, str]] = fields.JSONField(default=dict)
    links: fields.JSONField[list[dict[str, str]]] = fields.JSONField(default=list)  # title, url
    version = fields.IntField(default=0)  # the published version shown (0: never published)
    review_note = fields.TextField(default="")  # the reviewer's note on a rejection
    topic: fields.ForeignKeyNullableRelation[Topic] = fields.ForeignKeyField(
        "forum.Topic", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    topic_id: int | None  # its discussion, created at first publication
    supersedes: fields.ForeignKeyNullableRelation[KnowledgeEntry] = fields.ForeignKeyField(
        "forum.KnowledgeEntry", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    supersedes_id: int | None
    superseded_by: fields.ForeignKeyNullableRelation[KnowledgeEntry] = fields.ForeignKeyField(
        "forum.KnowledgeEntry", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    superseded_by_id: int | None
    helpful_count = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    submitted_at = fields.DatetimeField(null=True)
    published_at = fields.DatetimeField(null=True)

    class Meta:
        table = "knowledge_entries"
        indexes = [
            Index(fields=("status", "published_at")),
            Index(fields=("status", "technology_id", "kind")),
            Index(fields=("status", "helpful_count")),
            Index(fields=("author_id", "status")),
            Index(fields=("administration_id", "status")),
        ]


class VersionStatus(StrEnum):
    SUBMITTED = "submitted"
    PUBLISHED = "published"
    REJECTED = "rejected"


class EntryVersion(Model):
    """A reviewed version of an entry. Every published one stays viewable in the history."""

    id = fields.IntField(primary_key=True)
    entry: fields.ForeignKeyRelation[KnowledgeEntry] = fields.ForeignKeyField(
        "forum.KnowledgeEntry", related_name=False, on_delete=fields.CASCADE
    )
    entry_id: int
    number = fields.IntField()  # 1, 2, ... in the order submitted
    status = fields.CharEnumField(VersionStatus, default=VersionStatus.SUBMITTED, max_length=16)
    data: fields.JSONField[dict[str, Any]] = fields.JSONField()  # every content field, and html
    author: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name=False, on_delete=fields.CASCADE
    )
    author_id: int
    created_at = fields.DatetimeField(auto_now_add=True)
    decided_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    decided_by_id: int | None
    decided_at = fields.DatetimeField(null=True)
    note = fields.TextField(default="")

    class Meta:
        table = "knowledge_entry_versions"
        unique_together = (("entry", "number"),)


class HelpfulMark(Model):
    """A member found an entry helpful (once each)."""

    id = fields.IntField(primary_key=True)
    entry: fields.ForeignKeyRelation[KnowledgeEntry] = fields.ForeignKeyField(
        "forum.KnowledgeEntry", related_name=False, on_delete=fields.CASCADE
    )
    entry_id: int
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name=False, on_delete=fields.CASCADE
    )
    user_id: int
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "knowledge_helpful_marks"
        unique_together = (("entry", "user"),)


class DocumentType(StrEnum):
    RESEARCH = "research"
    PERSPECTIVE = "perspective"
    STUDY = "study"
    REPORT = "report"
    TOOL = "tool"
    CASE_STUDY = "case_study"


class DocumentVisibility(StrEnum):
    PUBLIC = "public"  # in the public section too
    MEMBERS = "members"


class Document(Model):
    """A member contribution or a project deliverable. Its files are `DocumentVersion`s."""

    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=200)
    abstract = fields.TextField(default="")  # markdown source
    abstract_html = fields.TextField(default="")
    authors = fields.CharField(max_length=500, default="")  # as printed on the document
    administration: fields.ForeignKeyNullableRelation[Administration] = fields.ForeignKeyField(
        "forum.Administration", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    administration_id: int | None
    doc_type = fields.CharEnumField(DocumentType, max_length=20)
    is_deliverable = fields.BooleanField(default=False)  # the project's, by administrators
    language = fields.CharField(max_length=8, default="en")
    published_on = fields.DateField(null=True)
    visibility = fields.CharEnumField(
        DocumentVisibility, default=DocumentVisibility.MEMBERS, max_length=16
    )
    uploaded_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name=False, on_delete=fields.CASCADE
    )
    uploaded_by_id: int
    current_version = fields.IntField(default=1)
    is_deleted = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "knowledge_documents"
        indexes = [
            Index(fields=("is_deleted", "visibility", "created_at")),
            Index(fields=("uploaded_by_id",)),
            Index(fields=("administration_id",)),
        ]


class DocumentTechnology(Model):
    """A technology (category) a document is about."""

    id = fields.IntField(primary_key=True)
    document: fields.ForeignKeyRelation[Document] = fields.ForeignKeyField(
        "forum.Document", related_name=False, on_delete=fields.CASCADE
    )
    document_id: int
    technology: fields.ForeignKeyRelation[Category] = fields.ForeignKeyField(
        "forum.Category", related_name=False, on_delete=fields.CASCADE
    )
    technology_id: int

    class Meta:
        table = "knowledge_document_technologies"
        unique_together = (("document", "technology"),)


class DocumentVersion(Model):
    """One uploaded file of a document. Older versions stay listed and downloadable."""

    id = fields.IntField(primary_key=True)
    document: fields.ForeignKeyRelation[Document] = fields.ForeignKeyField(
        "forum.Document", related_name=False, on_delete=fields.CASCADE
    )
    document_id: int
    number = fields.IntField()
    file_name = fields.CharField(max_length=255)  # the original name, shown and sent back
    stored_name = fields.CharField(max_length=64, unique=True)  # random, under the store
    content_type = fields.CharField(max_length=100)  # sniffed from the content
    size = fields.BigIntField()
    sha256 = fields.CharField(max_length=64)
    text = fields.TextField(default="")  # extracted after upload, for search
    # Text extraction (knowledge/text.py) runs outside any request: "" nothing to extract
    # (not a PDF), else pending -> working (claimed at `text_claimed_at`) -> done | failed.
    text_state = fields.CharField(max_length=8, default="")
    text_claimed_at = fields.DatetimeField(null=True)
    note = fields.TextField(default="")  # what changed in this version
    uploaded_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name=False, on_delete=fields.CASCADE
    )
    uploaded_by_id: int
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "knowledge_document_versions"
        unique_together = (("document", "number"),)
        indexes = [Index(fields=("uploaded_by_id",)), Index(fields=("text_state", "id"))]


class EntryAttachment(Model):
    """A document attached to an entry."""

    id = fields.IntField(primary_key=True)
    entry: fields.ForeignKeyRelation[KnowledgeEntry] = fields.ForeignKeyField(
        "forum.KnowledgeEntry", related_name=False, on_delete=fields.CASCADE
    )
    entry_id: int
    document: fields.ForeignKeyRelation[Document] = fields.ForeignKeyField(
        "forum.Document", related_name=False, on_delete=fields.CASCADE
    )
    document_id: int

    class Meta:
        table = "knowledge_entry_attachments"
        unique_together = (("entry", "document"),)
