"""The forum's data. Only actions (forum/actions, moderation, notifications) write these rows."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class Role(StrEnum):
    MEMBER = "member"
    MODERATOR = "moderator"
    ADMIN = "admin"


class Visibility(StrEnum):
    PUBLIC = "public"
    MEMBERS = "members"
    STAFF = "staff"


class PostingRight(StrEnum):
    MEMBERS = "members"
    STAFF = "staff"


class DigestFrequency(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    NEVER = "never"


class NotificationLevel(StrEnum):
    WATCHING = "watching"  # every new post
    WATCHING_FIRST_POST = "watching_first_post"  # every new topic
    TRACKING = "tracking"  # replies to me, mentions, quotes (and unread counts)
    NORMAL = "normal"  # replies to me, mentions, quotes
    MUTED = "muted"  # nothing, not even in digests


class Region(StrEnum):
    """The six WCO regions."""

    AMS = "AMS"
    AP = "A/P"
    ESA = "ESA"
    EUR = "EUR"
    MENA = "MENA"
    WCA = "WCA"


class Administration(Model):
    """A WCO member customs administration."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200, unique=True)
    country_code = fields.CharField(max_length=2, unique=True)
    region = fields.CharEnumField(Region, max_length=8)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "administrations"
        ordering = ["name"]


class User(Model):
    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    username = fields.CharField(max_length=40, unique=True)
    display_name = fields.CharField(max_length=120)
    password_hash = fields.CharField(max_length=255)
    role = fields.CharEnumField(Role, default=Role.MEMBER, max_length=16)
    # Only an administrator's approval sets this (forum/actions/membership.py).
    is_verified = fields.BooleanField(default=False)
    verified_until = fields.DatetimeField(null=True)
    is_active = fields.BooleanField(default=True)
    bio = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    last_seen_at = fields.DatetimeField(null=True)
    password_changed_at = fields.DatetimeField(null=True)
    # Directory profile: what a verified member shows other members.
    administration: fields.ForeignKeyNullableRelation[Administration] = fields.ForeignKeyField(
        "forum.Administration", related_name="members", null=True, on_delete=fields.SET_NULL
    )
    administration_id: int | None
    position = fields.CharField(max_length=200, default="")
    languages = fields.CharField(max_length=200, default="")
    expertise: fields.JSONField[list[str]] = fields.JSONField(default=list)
    phone = fields.CharField(max_length=50, default="")
    show_email = fields.BooleanField(default=False)
    show_phone = fields.BooleanField(default=False)
    avatar = fields.CharField(max_length=100, default="")
    # "auto" (forum.i18n.AUTOMATIC): follow the switcher's cookie, else the browser; or a
    # language of forum.i18n.LANGUAGES, chosen at `language_chosen_at` (the switcher or the
    # profile): the choice made last wins (forum/web/language.py).
    preferred_language = fields.CharField(max_length=8, default="auto")
    language_chosen_at = fields.DatetimeField(null=True)
    # The language of the member's pages when last seen (kept with `last_seen_at`): their
    # emails' language when the setting is automatic.
    seen_language = fields.CharField(max_length=8, default="", db_default="")
    # Two-factor authentication (TOTP): the last accepted time step makes each code single-use.
    totp_secret = fields.CharField(max_length=64, default="")
    totp_enabled = fields.BooleanField(default=False)
    totp_last_step = fields.BigIntField(default=0)
    # Sanctions in force (moderation/sanctions.py keeps these with the Sanction rows): a
    # silenced member may read but not post, react or flag; a suspended one may not log in.
    # Each lifts by itself when its time has passed (far in the future: until lifted).
    silenced_until = fields.DatetimeField(null=True)
    suspended_until = fields.DatetimeField(null=True)
    # A moderator with categories here moderates only those; none: every category.
    moderator_categories: fields.JSONField[list[int]] = fields.JSONField(
        default=list, db_default=[]
    )
    # Notifications and the digest (notifications/): immediate emails per kind, and when the
    # digest comes, in the member's own time zone.
    timezone = fields.CharField(max_length=64, default="UTC", db_default="UTC")  # IANA name
    email_mentions = fields.BooleanField(default=True, db_default=True)
    email_replies = fields.BooleanField(default=True, db_default=True)
    email_quotes = fields.BooleanField(default=True, db_default=True)
    digest_frequency = fields.CharEnumField(
        DigestFrequency,
        default=DigestFrequency.WEEKLY,
        db_default=DigestFrequency.WEEKLY,
        max_length=8,
    )
    digest_weekday = fields.IntField(default=0, db_default=0)  # 0 Monday ... 6 Sunday
    digest_hour = fields.IntField(default=8, db_default=8)  # local hour, 0-23
    digest_since = fields.DatetimeField(null=True)  # what the next digest covers from

    class Meta:
        table = "users"

    @property
    def mail_language(self) -> str:
        """The language of what is written to the member (emails, moderators' words): their
        setting, or when it is automatic the language of their pages when last seen."""
        from forum.i18n import DEFAULT_LANGUAGE, LANGUAGES

        for language in (self.preferred_language, self.seen_language):
            if language in LANGUAGES:
                return language
        return DEFAULT_LANGUAGE

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.MODERATOR, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class Session(Model):
    """A server-side login session. The cookie holds a secret whose SHA-256 is the key here."""

    id = fields.IntField(primary_key=True)
    key_hash = fields.CharField(max_length=64, unique=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name="sessions", on_delete=fields.CASCADE
    )
    user_id: int
    created_at = fields.DatetimeField(auto_now_add=True)
    last_seen_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    user_agent = fields.CharField(max_length=255, default="")
    ip = fields.CharField(max_length=64, default="")

    class Meta:
        table = "sessions"


class ApiToken(Model):
    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name="api_tokens", on_delete=fields.CASCADE
    )
    user_id: int
    name = fields.CharField(max_length=100, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_tokens"


class Category(Model):
    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=100)
    description = fields.TextField(default="")
    position = fields.IntField(default=0)
    visibility = fields.CharEnumField(Visibility, default=Visibility.MEMBERS, max_length=16)
    posting_right = fields.CharEnumField(PostingRight, default=PostingRight.MEMBERS, max_length=16)
    requires_approval = fields.BooleanField(default=False, db_default=False)  # posts go to review
    archived = fields.BooleanField(default=False, db_default=False)  # read-only: no new posts
    topic_count = fields.IntField(default=0)
    post_count = fields.IntField(default=0)

    class Meta:
        table = "categories"
        ordering = ["position", "id"]


class Topic(Model):
    id = fields.IntField(primary_key=True)
    category: fields.ForeignKeyRelation[Category] = fields.ForeignKeyField(
        "forum.Category", related_name="topics", on_delete=fields.RESTRICT
    )
    category_id: int
    author: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name="topics", on_delete=fields.RESTRICT
    )
    author_id: int
    title = fields.CharField(max_length=200)
    pinned = fields.BooleanField(default=False)
    closed = fields.BooleanField(default=False)
    post_count = fields.IntField(default=0)
    highest_post_number = fields.IntField(default=0)
    views = fields.IntField(default=0)
    # Bumped by every event about the topic: cached views of it are keyed by this number.
    version = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_posted_at = fields.DatetimeField()
    last_poster: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    last_poster_id: int | None
    deleted_at = fields.DatetimeField(null=True)
    # The title's language: its first post's (kept with it by the actions), forum.i18n.LANGUAGES.
    language = fields.CharField(max_length=8, default="en", db_default="en")
    # A topic merged into another keeps its row so its address redirects there.
    merged_into_id = fields.IntField(null=True)

    class Meta:
        table = "topics"
        indexes = [
            Index(fields=("category_id", "last_posted_at", "id")),
            Index(fields=("last_posted_at", "id")),
        ]

    @property
    def reply_count(self) -> int:
        return max(self.post_count - 1, 0)


class Tag(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=30, unique=True)

    class Meta:
        table = "tags"


class TopicTag(Model):
    id = fields.IntField(primary_key=True)
    topic: fields.ForeignKeyRelation[Topic] = fields.ForeignKeyField(
        "forum.Topic", related_name="topic_tags", on_delete=fields.CASCADE
    )
    topic_id: int
    tag: fields.ForeignKeyRelation[Tag] = fields.ForeignKeyField(
        "forum.Tag", related_name="topic_tags", on_delete=fields.CASCADE
    )
    tag_id: int

    class Meta:
        table = "topic_tags"
        unique_together = (("topic", "tag"),)


class Post(Model):
    id = fields.IntField(primary_key=True)
    topic: fields.ForeignKeyRelation[Topic] = fields.ForeignKeyField(
        "forum.Topic", related_name="posts", on_delete=fields.CASCADE
    )
    topic_id: int
    number = fields.IntField()
    author: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name="posts", on_delete=fields.RESTRICT
    )
    author_id: int
    reply_to: fields.ForeignKeyNullableRelation[Post] = fields.ForeignKeyField(
        "forum.Post", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    reply_to_id: int | None
    source = fields.TextField()
    html = fields.TextField()
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True)
    edited_at = fields.DatetimeField(null=True)
    deleted_at = fields.DatetimeField(null=True)
    deleted_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    deleted_by_id: int | None
    hidden = fields.BooleanField(default=False)
    language = fields.CharField(max_length=8, default="en", db_default="en")  # its author's choice

    class Meta:
        table = "posts"
        unique_together = (("topic", "number"),)


class PostRevision(Model):
    """One earlier or current version of a post (version 1 is what was first posted)."""

    id = fields.IntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "forum.Post", related_name="revisions", on_delete=fields.CASCADE
    )
    post_id: int
    version = fields.IntField()
    source = fields.TextField()
    html = fields.TextField()
    editor: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name=False, on_delete=fields.RESTRICT
    )
    editor_id: int
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "post_revisions"
        unique_together = (("post", "version"),)


class Reaction(Model):
    id = fields.IntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "forum.Post", related_name="reactions", on_delete=fields.CASCADE
    )
    post_id: int
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name="reactions", on_delete=fields.CASCADE
    )
    user_id: int
    kind = fields.CharField(max_length=20)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "reactions"
        unique_together = (("post", "user", "kind"),)


class Mention(Model):
    id = fields.IntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "forum.Post", related_name="mentions", on_delete=fields.CASCADE
    )
    post_id: int
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name="mentions", on_delete=fields.CASCADE
    )
    user_id: int
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "mentions"
        unique_together = (("post", "user"),)


class TopicUser(Model):
    """A user's read state in one topic."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name="topic_states", on_delete=fields.CASCADE
    )
    user_id: int
    topic: fields.ForeignKeyRelation[Topic] = fields.ForeignKeyField(
        "forum.Topic", related_name="user_states", on_delete=fields.CASCADE
    )
    topic_id: int
    last_read_post_number = fields.IntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "topic_users"
        unique_together = (("user", "topic"),)


class Bookmark(Model):
    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name="bookmarks", on_delete=fields.CASCADE
    )
    user_id: int
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "forum.Post", related_name="bookmarks", on_delete=fields.CASCADE
    )
    post_id: int
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "bookmarks"
        unique_together = (("user", "post"),)


class Event(Model):
    """The event log: what happened, for whom. Live delivery and catch-up both read it."""

    id = fields.BigIntField(primary_key=True)
    type = fields.CharField(max_length=50)
    channel = fields.CharField(max_length=80, db_index=True)
    category_id = fields.IntField(null=True)
    user_id = fields.IntField(null=True)
    payload: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "events"
        indexes = [Index(fields=("channel", "id"))]  # catch-up replays one channel in order


class AuditLog(Model):
    """Append-only. Each row's hash covers its content and the previous row's hash
    (moderation/audit.py), so a row changed afterwards breaks the chain."""

    id = fields.IntField(primary_key=True)
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    actor_id: int | None
    action = fields.CharField(max_length=50)
    target_type = fields.CharField(max_length=30)
    target_id = fields.IntField(null=True)
    reason = fields.TextField(default="")
    data: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    before = fields.TextField(default="", db_default="")
    after = fields.TextField(default="", db_default="")
    ip = fields.CharField(max_length=64, default="", db_default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    prev_hash = fields.CharField(max_length=64, default="", db_default="")
    hash = fields.CharField(max_length=64, default="", db_default="")

    class Meta:
        table = "audit_log"
        indexes = [Index(fields=("action", "id")), Index(fields=("actor_id", "id"))]


class ReminderClaim(Model):
    """One re-verification reminder per member and period: the row claims the sending."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name=False, on_delete=fields.CASCADE
    )
    user_id: int
    period = fields.CharField(max_length=40)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "reminder_claims"
        indexes = [Index(fields=("user_id", "period"))]


class ReviewKind(StrEnum):
    FLAGGED_POST = "flagged_post"  # a published post that members flagged
    QUEUED_POST = "queued_post"  # a reply waiting for approval (not a post until approved)
    QUEUED_TOPIC = "queued_topic"  # a new topic waiting for approval
    KNOWLEDGE_ENTRY = "knowledge_entry"  # a knowledge entry (or an edit of one) to publish


class ReviewStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    IGNORED = "ignored"
    DELETED = "deleted"


class ReviewItem(Model):
    """One reviewable per target: the flags on one post, or one post or topic awaiting
    approval (whose text lives here until a moderator approves it)."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(ReviewKind, max_length=20)
    status = fields.CharEnumField(ReviewStatus, default=ReviewStatus.PENDING, max_length=16)
    category: fields.ForeignKeyRelation[Category] = fields.ForeignKeyField(
        "forum.Category", related_name=False, on_delete=fields.CASCADE
    )
    category_id: int
    topic: fields.ForeignKeyNullableRelation[Topic] = fields.ForeignKeyField(
        "forum.Topic", related_name=False, null=True, on_delete=fields.CASCADE
    )
    topic_id: int | None
    post: fields.ForeignKeyNullableRelation[Post] = fields.ForeignKeyField(
        "forum.Post", related_name=False, null=True, on_delete=fields.CASCADE
    )
    post_id: int | None
    entry: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "forum.KnowledgeEntry", related_name=False, null=True, on_delete=fields.CASCADE
    )
    entry_id: int | None  # a KNOWLEDGE_ENTRY item's entry (knowledge/models.py)
    author: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name=False, on_delete=fields.CASCADE
    )
    author_id: int
    # Queued content: the topic's title and tags, the post's text and what it replies to.
    title = fields.CharField(max_length=200, default="")
    tags: fields.JSONField[list[str]] = fields.JSONField(default=list)
    source = fields.TextField(default="")
    html = fields.TextField(default="")
    reply_to_id = fields.IntField(null=True)
    language = fields.CharField(max_length=8, default="en", db_default="en")  # of title and post
    reason = fields.CharField(max_length=200, default="")  # why it is here (first post, ...)
    score = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    claimed_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    claimed_by_id: int | None
    claimed_at = fields.DatetimeField(null=True)
    decided_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    decided_by_id: int | None
    decided_at = fields.DatetimeField(null=True)
    decision = fields.CharField(max_length=20, default="")
    decision_reason = fields.TextField(default="")

    class Meta:
        table = "review_items"
        indexes = [
            Index(fields=("status", "category_id", "id")),
            Index(fields=("post_id",)),
            Index(fields=("author_id", "topic_id", "status")),  # an author's own, on a topic page
        ]


class FlagReason(StrEnum):
    OFF_TOPIC = "off_topic"
    INAPPROPRIATE = "inappropriate"
    SPAM = "spam"
    SENSITIVE = "sensitive"  # sensitive or confidential information
    OTHER = "other"


class Flag(Model):
    id = fields.IntField(primary_key=True)
    item: fields.ForeignKeyRelation[ReviewItem] = fields.ForeignKeyField(
        "forum.ReviewItem", related_name="flags", on_delete=fields.CASCADE
    )
    item_id: int
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "forum.Post", related_name=False, on_delete=fields.CASCADE
    )
    post_id: int
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name=False, on_delete=fields.CASCADE
    )
    user_id: int
    reason = fields.CharEnumField(FlagReason, max_length=20)
    note = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "flags"
        unique_together = (("post", "user"),)


class ReviewView(Model):
    """Which moderator last looked at a review item, and when (who else is looking)."""

    id = fields.IntField(primary_key=True)
    item: fields.ForeignKeyRelation[ReviewItem] = fields.ForeignKeyField(
        "forum.ReviewItem", related_name=False, on_delete=fields.CASCADE
    )
    item_id: int
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name=False, on_delete=fields.CASCADE
    )
    user_id: int
    seen_at = fields.DatetimeField()

    class Meta:
        table = "review_views"
        unique_together = (("item", "user"),)


class SanctionKind(StrEnum):
    WARN = "warn"
    SILENCE = "silence"
    SUSPEND = "suspend"


class Sanction(Model):
    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name="sanctions", on_delete=fields.CASCADE
    )
    user_id: int
    kind = fields.CharEnumField(SanctionKind, max_length=16)
    reason = fields.TextField()
    until = fields.DatetimeField(null=True)  # None: until lifted
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_by_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)
    lifted_at = fields.DatetimeField(null=True)
    lifted_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    lifted_by_id: int | None
    seen_at = fields.DatetimeField(null=True)  # a warning: when the member was shown it

    class Meta:
        table = "sanctions"
        indexes = [Index(fields=("user_id", "id"))]


class WatchedAction(StrEnum):
    BLOCK = "block"  # the post is refused
    REQUIRE_APPROVAL = "require_approval"
    FLAG = "flag"


class WatchedWord(Model):
    """A word or simple wildcard (`*`) watched in new posts, matched on whole words."""

    id = fields.IntField(primary_key=True)
    word = fields.CharField(max_length=100)
    action = fields.CharEnumField(WatchedAction, max_length=20)
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_by_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "watched_words"
        unique_together = (("word", "action"),)


class CategoryNotification(Model):
    """A member's notification level for one category (none: normal)."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name=False, on_delete=fields.CASCADE
    )
    user_id: int
    category: fields.ForeignKeyRelation[Category] = fields.ForeignKeyField(
        "forum.Category", related_name=False, on_delete=fields.CASCADE
    )
    category_id: int
    level = fields.CharEnumField(NotificationLevel, max_length=24)

    class Meta:
        table = "category_notifications"
        unique_together = (("user", "category"),)


class TopicNotification(Model):
    """A member's notification level for one topic (set by them, or tracking once they
    started or replied to it)."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name=False, on_delete=fields.CASCADE
    )
    user_id: int
    topic: fields.ForeignKeyRelation[Topic] = fields.ForeignKeyField(
        "forum.Topic", related_name=False, on_delete=fields.CASCADE
    )
    topic_id: int
    level = fields.CharEnumField(NotificationLevel, max_length=24)

    class Meta:
        table = "topic_notifications"
        unique_together = (("user", "topic"),)


class Notification(Model):
    """One in-app notification. Reactions to one post group into one row (`group_key`,
    `count`, the latest `actor`)."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name=False, on_delete=fields.CASCADE
    )
    user_id: int
    kind = fields.CharField(max_length=30)
    topic: fields.ForeignKeyNullableRelation[Topic] = fields.ForeignKeyField(
        "forum.Topic", related_name=False, null=True, on_delete=fields.CASCADE
    )
    topic_id: int | None
    post: fields.ForeignKeyNullableRelation[Post] = fields.ForeignKeyField(
        "forum.Post", related_name=False, null=True, on_delete=fields.CASCADE
    )
    post_id: int | None
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    actor_id: int | None
    data: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    group_key = fields.CharField(max_length=100, default="")
    count = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    read_at = fields.DatetimeField(null=True)
    emailed_at = fields.DatetimeField(null=True)  # immediate email queued (or not wanted)

    class Meta:
        table = "notifications"
        indexes = [
            Index(fields=("user_id", "id")),
            Index(fields=("user_id", "read_at")),
            Index(fields=("user_id", "group_key")),
            Index(fields=("emailed_at", "kind", "created_at")),  # the immediate-email round
        ]


class DigestSent(Model):
    """One digest per member and period (ISO week or day in their time zone): the unique key
    that makes two runs at once send one."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name=False, on_delete=fields.CASCADE
    )
    user_id: int
    period = fields.CharField(max_length=20)  # e.g. 2026-W49 or 2026-12-01
    created_at = fields.DatetimeField(auto_now_add=True)
    outcome = fields.CharField(max_length=20, default="queued")  # queued / nothing_new

    class Meta:
        table = "digests_sent"
        unique_together = (("user", "period"),)


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(Model):
    """An email to send, written in the transaction of its cause (notifications/outbox.py)."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name=False, null=True, on_delete=fields.CASCADE
    )
    user_id: int | None
    to_address = fields.CharField(max_length=254)
    template = fields.CharField(max_length=100)
    subject = fields.CharField(max_length=200)  # chosen by the code, never user text
    context: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    status = fields.CharEnumField(OutboxStatus, default=OutboxStatus.PENDING, max_length=16)
    attempts = fields.IntField(default=0)
    available_at = fields.DatetimeField()
    lease_until = fields.DatetimeField(null=True)
    last_error = fields.TextField(default="")  # the last failure, or the server's reply
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)
    # Extra headers chosen by the code (List-Id, List-Unsubscribe, ...): never user text.
    headers: fields.JSONField[dict[str, str]] = fields.JSONField(default=dict, db_default={})

    class Meta:
        table = "outbox"
        indexes = [Index(fields=("status", "available_at", "id"))]


class SiteSetting(Model):
    """A setting administrators change at run time (moderation thresholds and limits)."""

    key = fields.CharField(max_length=64, primary_key=True)
    value: fields.JSONField[Any] = fields.JSONField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "site_settings"


class BackupCode(Model):
    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name="backup_codes", on_delete=fields.CASCADE
    )
    user_id: int
    code_hash = fields.CharField(max_length=64)
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "backup_codes"


class AccessStatus(StrEnum):
    EMAIL_PENDING = "email_pending"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class AccessRequest(Model):
    """An applicant's request to join the restricted area, or an administrator's invitation."""

    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, db_index=True)
    full_name = fields.CharField(max_length=120)
    administration: fields.ForeignKeyNullableRelation[Administration] = fields.ForeignKeyField(
        "forum.Administration", related_name="access_requests", null=True, on_delete=fields.SET_NULL
    )
    administration_id: int | None
    position = fields.CharField(max_length=200, default="")
    reason = fields.TextField(default="")
    language = fields.CharField(max_length=8, default="en")
    status = fields.CharEnumField(AccessStatus, default=AccessStatus.EMAIL_PENDING, max_length=16)
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name="access_requests", null=True, on_delete=fields.CASCADE
    )
    user_id: int | None
    invited_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    invited_by_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)
    email_confirmed_at = fields.DatetimeField(null=True)
    decided_at = fields.DatetimeField(null=True)
    decided_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    decided_by_id: int | None
    decision_note = fields.TextField(default="")

    class Meta:
        table = "access_requests"
        indexes = [Index(fields=("status", "created_at"))]


class TokenPurpose(StrEnum):
    CONFIRM_EMAIL = "confirm_email"
    RESET_PASSWORD = "reset_password"  # noqa: S105 - a purpose name, not a secret
    INVITATION = "invitation"


class EmailToken(Model):
    """A single-use secret sent by email (stored hashed), with an expiry."""

    id = fields.IntField(primary_key=True)
    purpose = fields.CharEnumField(TokenPurpose, max_length=20)
    token_hash = fields.CharField(max_length=64, unique=True)
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name=False, null=True, on_delete=fields.CASCADE
    )
    user_id: int | None
    access_request: fields.ForeignKeyNullableRelation[AccessRequest] = fields.ForeignKeyField(
        "forum.AccessRequest", related_name=False, null=True, on_delete=fields.CASCADE
    )
    access_request_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "email_tokens"


class RateHit(Model):
    """One counted attempt for a rate limit key (a failed login for an email, a form by an IP)."""

    id = fields.BigIntField(primary_key=True)
    key = fields.CharField(max_length=200)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "rate_hits"
        indexes = [Index(fields=("key", "created_at"))]


class PublicPage(Model):
    """A page of the public section, written in markdown by administrators."""

    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=64, unique=True)
    title = fields.CharField(max_length=200)
    source = fields.TextField(default="")
    html = fields.TextField(default="")
    position = fields.IntField(default=0)
    published = fields.BooleanField(default=True)
    updated_at = fields.DatetimeField(auto_now=True)
    updated_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    updated_by_id: int | None

    class Meta:
        table = "public_pages"
        ordering = ["position", "id"]


class Draft(Model):
    """What a member was writing and has not posted yet: one per topic they reply in
    (`topic-<id>`) and one new topic (`new-topic`), saved by the composer as they type, shown
    again on any device, deleted when the post or topic is submitted."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name="drafts", on_delete=fields.CASCADE
    )
    user_id: int
    key = fields.CharField(max_length=40)
    title = fields.CharField(max_length=300, default="")
    body = fields.TextField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "drafts"
        unique_together = (("user", "key"),)


class Attachment(Model):
    """A file a member uploaded from the composer to show in a post: an image (shown inline)
    or a document (downloaded). Kept in `<var dir>/attachments/` under a random name; its
    type was decided from its content (knowledge.storage.sniff). Who may download it is asked
    on every download (forum/actions/attachments.py: `can_download`)."""

    id = fields.IntField(primary_key=True)
    uploader: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name="attachments", on_delete=fields.RESTRICT
    )
    uploader_id: int
    file_name = fields.CharField(max_length=200)
    stored_name = fields.CharField(max_length=48, unique=True)
    content_type = fields.CharField(max_length=100)
    size = fields.BigIntField()
    sha256 = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "attachments"


class PostAttachment(Model):
    """A post that shows an attachment (a link to `/attachments/<id>/` in its source, now or
    in an earlier revision): whoever may read the post may download the attachment."""

    id = fields.IntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "forum.Post", related_name="attachment_links", on_delete=fields.CASCADE
    )
    post_id: int
    attachment: fields.ForeignKeyRelation[Attachment] = fields.ForeignKeyField(
        "forum.Attachment", related_name="post_links", on_delete=fields.CASCADE
    )
    attachment_id: int

    class Meta:
        table = "post_attachments"
        unique_together = (("post", "attachment"),)
        indexes = (Index(fields=("attachment_id",)),)
