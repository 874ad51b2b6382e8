"""Tables of the readiness self-assessment (registered in the `forum` Tortoise app).

A `Submission` is one administration's answers to one version of one questionnaire: a draft
while it is being filled in, then submitted (scored at that moment with that version). Its
levels per dimension are `Score` rows, so benchmarks are SQL aggregates.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from forum.models import Administration, User


class SubmissionStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


class Submission(Model):
    """An administration's answers to one version of a questionnaire (a draft or submitted)."""

    id = fields.IntField(primary_key=True)
    administration: fields.ForeignKeyRelation[Administration] = fields.ForeignKeyField(
        "forum.Administration", related_name=False, on_delete=fields.CASCADE
    )
    administration_id: int
    questionnaire = fields.CharField(max_length=64)  # the questionnaire's id, e.g. ai-ml
    version = fields.IntField()  # the version answered and scored
    status = fields.CharEnumField(SubmissionStatus, default=SubmissionStatus.DRAFT, max_length=16)
    answers: fields.JSONField[dict[str, int]] = fields.JSONField(default=dict)  # question: level
    overall = fields.IntField(null=True)  # set when submitted
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_by_id: int | None
    submitted_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    submitted_by_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    submitted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "readiness_submissions"
        indexes = [
            Index(fields=("administration_id", "questionnaire", "status", "submitted_at")),
            Index(fields=("questionnaire", "status", "submitted_at")),
        ]


class Score(Model):
    """The level one submitted submission reached in one dimension (1 to 5)."""

    id = fields.IntField(primary_key=True)
    submission: fields.ForeignKeyRelation[Submission] = fields.ForeignKeyField(
        "forum.Submission", related_name=False, on_delete=fields.CASCADE
    )
    submission_id: int
    dimension = fields.CharField(max_length=40)
    level = fields.IntField()

    class Meta:
        table = "readiness_scores"
        unique_together = (("submission", "dimension"),)


class ActivityDay(Model):
    """A day (UTC, YYYY-MM-DD) whose posts are already summed in ActivityCount rows."""

    day = fields.CharField(max_length=10, primary_key=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "analytics_days"


class ActivityCount(Model):
    """Posts written on one past day (UTC) in one category by one author."""

    # Participation analytics read these sums instead of every post (readiness/analytics.py).

    id = fields.IntField(primary_key=True)
    day = fields.CharField(max_length=10)
    category_id = fields.IntField()
    author_id = fields.IntField()
    posts = fields.IntField()

    class Meta:
        table = "analytics_counts"
        unique_together = (("day", "category_id", "author_id"),)
        # Covering: the dashboard reads these sums from the index alone.
        indexes = [Index(fields=("day", "author_id", "category_id", "posts"))]


class ActivityAuthorDay(Model):
    """Posts written on one past day (UTC) by one author, in every category together."""

    id = fields.IntField(primary_key=True)
    day = fields.CharField(max_length=10)
    author_id = fields.IntField()
    posts = fields.IntField()

    class Meta:
        table = "analytics_author_days"
        unique_together = (("day", "author_id"),)
        indexes = [Index(fields=("day", "author_id", "posts"))]  # covering
