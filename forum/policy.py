"""The single answer to "may this user see or do this?". Every read and write path asks here.

`user` is None for an anonymous visitor. Verified members see the restricted area; staff
(moderators and administrators) see everything; an inactive or suspended account is treated
as anonymous. Staff powers and staff visibility need two-factor authentication: a moderator
or administrator without it has exactly a member's rights (`is_staff` is False), and the
endpoints tell them why (`has_staff_role`). A moderator assigned to categories
(`User.moderator_categories`) moderates only those (`moderates`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from forum.models import Attachment, Category, Post, PostingRight, Topic, User, Visibility
from forum.queries.rows import PostRow

if TYPE_CHECKING:
    from knowledge.models import EntryVersion, KnowledgeEntry

AnyPost = Post | PostRow

REACTION_KINDS = ("like", "heart", "insightful", "celebrate", "thinking")
EDIT_WINDOW_OWN_POSTS = None  # members may edit their own posts without a time limit


def _now() -> datetime:
    return datetime.now(UTC)


def _in_force(until: datetime | None, now: datetime | None = None) -> bool:
    """A sanction's end: None is no sanction; it lifts by itself once `until` has passed."""
    if until is None:
        return False
    if until.tzinfo is None:
        until = until.replace(tzinfo=UTC)
    return until > (now or _now())


def is_suspended(user: User | None, now: datetime | None = None) -> bool:
    return user is not None and _in_force(user.suspended_until, now)


def is_silenced(user: User | None, now: datetime | None = None) -> bool:
    return user is not None and _in_force(user.silenced_until, now)


def _active(user: User | None) -> User | None:
    if user is None or not user.is_active or is_suspended(user):
        return None
    return user


def has_staff_role(user: User | None) -> bool:
    """A moderator or administrator account, with or without two-factor authentication."""
    user = _active(user)
    return user is not None and user.is_staff


def is_staff(user: User | None) -> bool:
    """Staff powers and staff visibility: a staff role with two-factor authentication on."""
    user = _active(user)
    return user is not None and user.is_staff and user.totp_enabled


def is_admin(user: User | None) -> bool:
    return is_staff(user) and user is not None and user.is_admin


def moderates(user: User | None, category_id: int) -> bool:
    """May this user moderate the content of this category?"""
    if not is_staff(user):
        return False
    assert user is not None
    scope = user.moderator_categories
    return user.is_admin or not scope or category_id in scope


def moderated_categories(user: User | None) -> list[int] | None:
    """The categories a moderator moderates: None for all of them, [] for someone who is
    not staff."""
    if not is_staff(user):
        return []
    assert user is not None
    return (
        None if user.is_admin or not user.moderator_categories else list(user.moderator_categories)
    )


def may_participate(user: User | None) -> bool:
    """A member who may post, react and flag (not silenced)."""
    return is_member(user) and not is_silenced(user)


def verification_current(user: User, now: datetime | None = None) -> bool:
    """Verified, and the yearly verification has not lapsed (no end date: an operator's
    account from `forum create-admin` or the demo seed)."""
    if not user.is_verified:
        return False
    until = user.verified_until
    if until is None:
        return True
    if until.tzinfo is None:
        until = until.replace(tzinfo=UTC)
    return until > (now or datetime.now(UTC))


def is_member(user: User | None, now: datetime | None = None) -> bool:
    """A verified member of the restricted area (staff always are), now or at `now`."""
    user = _active(user)
    return user is not None and (user.is_staff or verification_current(user, now))


def can_see_directory(user: User | None) -> bool:
    """The directory, administration pages and avatars belong to the restricted area."""
    return is_member(user)


def can_see_category(user: User | None, category: Category) -> bool:
    if category.visibility == Visibility.PUBLIC:
        return True
    return _open_to(category, is_member(user), is_staff(user))


def visible_categories(user: User | None, categories: Iterable[Category]) -> list[Category]:
    """`can_see_category` of each, who the user is asked once for the whole list."""
    member, staff = is_member(user), is_staff(user)
    return [c for c in categories if _open_to(c, member, staff)]


def _open_to(category: Category, member: bool, staff: bool) -> bool:
    if category.visibility == Visibility.PUBLIC:
        return True
    return member if category.visibility == Visibility.MEMBERS else staff


def can_see_topic(user: User | None, topic: Topic, category: Category) -> bool:
    if topic.category_id != category.id or not can_see_category(user, category):
        return False
    return topic.deleted_at is None or moderates(user, category.id)


def can_see_post_body(user: User | None, post: AnyPost, category: Category) -> bool:
    """Deleted and hidden posts keep their place in a topic but not their text, except for
    the moderators of its category."""
    if post.deleted_at is None and not post.hidden:
        return True
    return moderates(user, category.id)


class TopicRights:
    """What one user may do with the posts of one topic. The topic-level answers are asked
    once, so a page of posts does not ask them again for every post; `can_edit_post`,
    `can_delete_post` and `can_react` below are these same rules for a single post."""

    __slots__ = ("user_id", "sees", "member", "staff", "closed", "speaks")

    def __init__(self, user: User | None, topic: Topic, category: Category) -> None:
        user = _active(user)
        self.user_id = user.id if user is not None else None
        self.sees = can_see_topic(user, topic, category)
        self.member = is_member(user)
        self.speaks = may_participate(user) and not category.archived
        self.staff = moderates(user, category.id)  # staff of this topic's category
        self.closed = topic.closed

    @property
    def signature(self) -> tuple[bool, ...]:
        """The topic-level answers: two users with the same signature have the same rights on
        every post that neither of them wrote."""
        return (self.sees, self.member, self.speaks, self.staff, self.closed)

    def see_body(self, post: AnyPost) -> bool:
        return (post.deleted_at is None and not post.hidden) or self.staff

    def edit(self, post: AnyPost) -> bool:
        if not self.sees or not self.member or post.deleted_at:
            return False
        if self.staff:
            return True
        if not self.speaks:
            return False
        return post.author_id == self.user_id and not self.closed and not post.hidden

    def delete(self, post: AnyPost) -> bool:
        if not self.sees or post.deleted_at is not None:
            return False
        return self.staff or (self.member and post.author_id == self.user_id)

    def react(self, post: AnyPost) -> bool:
        return self.sees and self.speaks and post.deleted_at is None and not post.hidden

    def flag(self, post: AnyPost) -> bool:
        """Any member who may speak may flag someone else's visible post."""
        return self.react(post) and post.author_id != self.user_id

    def reply(self, topic: Topic) -> bool:
        """A reply in this topic (the one it was made for): a closed topic takes only its
        moderators'."""
        if not self.sees or not self.speaks:
            return False
        if topic.deleted_at is not None or topic.merged_into_id is not None:
            return False
        return not self.closed or self.staff

    @property
    def moderate(self) -> bool:
        return self.sees and self.staff


def can_create_topic(user: User | None, category: Category) -> bool:
    if not can_see_category(user, category) or not may_participate(user) or category.archived:
        return False
    if category.posting_right == PostingRight.STAFF:
        return is_staff(user)
    return True


def can_reply(user: User | None, topic: Topic, category: Category) -> bool:
    return TopicRights(user, topic, category).reply(topic)


def can_edit_post(user: User | None, post: AnyPost, topic: Topic, category: Category) -> bool:
    return TopicRights(user, topic, category).edit(post)


def can_delete_post(user: User | None, post: AnyPost, topic: Topic, category: Category) -> bool:
    return TopicRights(user, topic, category).delete(post)


def can_react(user: User | None, post: AnyPost, topic: Topic, category: Category) -> bool:
    return TopicRights(user, topic, category).react(post)


def can_flag(user: User | None, post: AnyPost, topic: Topic, category: Category) -> bool:
    return TopicRights(user, topic, category).flag(post)


def can_see_revisions(user: User | None, post: AnyPost, topic: Topic, category: Category) -> bool:
    return can_see_topic(user, topic, category) and can_see_post_body(user, post, category)


def can_moderate_topic(user: User | None, topic: Topic, category: Category) -> bool:
    return TopicRights(user, topic, category).moderate


def is_topic_author(user: User | None, topic: Topic) -> bool:
    """The topic's author, still a member of the restricted area."""
    return user is not None and user.id == topic.author_id and is_member(user)


def can_retitle_topic(user: User | None, topic: Topic) -> bool:
    """Its author retitles or retags a topic while it is open (anything more, or someone
    else's topic, is a moderation act)."""
    return is_topic_author(user, topic) and not topic.closed


def can_see_profile(viewer: User | None, profile: User) -> bool:
    """Profiles belong to the restricted area; you can always see your own."""
    if viewer is not None and viewer.id == profile.id:
        return True
    return is_member(viewer)


# --- knowledge entries (knowledge/entries.py) ------------------------------------------
# A draft, and an entry waiting for review, are their author's and the moderators' of its
# technology only; a published or superseded entry belongs to the restricted area (verified
# members). Versions follow: a published one is read with its entry, a submitted or rejected
# one only by the author and those moderators. Entries are never public.

_ENTRY_OPEN = ("published", "superseded")


def _entry_status(entry: KnowledgeEntry) -> str:
    return str(entry.status.value)


def can_see_entry(user: User | None, entry: KnowledgeEntry) -> bool:
    if _entry_status(entry) in _ENTRY_OPEN:
        return is_member(user)
    return is_entry_author(user, entry) or moderates(user, entry.technology_id)


def is_entry_author(user: User | None, entry: KnowledgeEntry) -> bool:
    """The entry's author, still a member of the restricted area."""
    return user is not None and user.id == entry.author_id and is_member(user)


def can_see_entry_version(user: User | None, entry: KnowledgeEntry, version: EntryVersion) -> bool:
    if not can_see_entry(user, entry):
        return False
    if version.status.value == "published":
        return True
    return is_entry_author(user, entry) or moderates(user, entry.technology_id)


def can_create_entry(user: User | None) -> bool:
    return may_participate(user)


def can_edit_entry(user: User | None, entry: KnowledgeEntry) -> bool:
    """Its author edits a draft, or proposes an edit of a published entry (reviewed again);
    a submitted entry waits for its decision, a superseded one is history."""
    return (
        is_entry_author(user, entry)
        and may_participate(user)
        and _entry_status(entry) in ("draft", "published")
    )


def can_attach_to_entry(user: User | None, entry: KnowledgeEntry) -> bool:
    """Its author attaches documents (and removes them) while they may edit it."""
    return can_edit_entry(user, entry)


def can_mark_entry_helpful(user: User | None, entry: KnowledgeEntry) -> bool:
    """Any member who may speak, on someone else's published or superseded entry."""
    return (
        _entry_status(entry) in _ENTRY_OPEN
        and may_participate(user)
        and user is not None
        and user.id != entry.author_id
    )


def entry_event_channels(entry: KnowledgeEntry, category_slug: str) -> list[str]:
    """Where an event about an entry may go: a published entry's technology category (the
    delivery side asks `can_see_category` per subscriber); anything else only its author's
    own channel (moderators hear of submissions through the review queue's counts)."""
    if _entry_status(entry) in _ENTRY_OPEN:
        return [f"category:{category_slug}"]
    return [f"user:{entry.author_id}"]


# --- knowledge documents (knowledge/documents.py) -------------------------------------------
# Public documents are for everyone, visitors included; members documents for verified
# members; a deleted one for administrators only. Every download asks `can_see_document`
# again. Members contribute members-only documents; only administrators publish publicly or
# as a project deliverable (their acts go through moderation.gate and the audit log).

from knowledge.models import Document, DocumentVisibility  # noqa: E402


def can_see_document(user: User | None, document: Document) -> bool:
    if document.is_deleted:
        return is_admin(user)
    if document.visibility == DocumentVisibility.PUBLIC:
        return True
    return is_member(user)


def can_upload_document(user: User | None) -> bool:
    return may_participate(user)


def can_change_document(user: User | None, document: Document) -> bool:
    """Edit its details, add a version, delete it: its uploader (a member who may post) or an
    administrator."""
    if not can_see_document(user, document):
        return False
    if is_admin(user):
        return True
    return (
        may_participate(user)
        and user is not None
        and document.uploaded_by_id == user.id
        and not document.is_deleted
    )


def can_publish_documents(user: User | None) -> bool:
    """Public visibility and the deliverable mark are the administrators' (with 2FA)."""
    return is_admin(user)


# --- posts' attachments (issue 14: forum/actions/attachments.py) --------------------------


def can_attach_files(user: User | None) -> bool:
    """Uploading an image or a file from the composer: members who may post."""
    return may_participate(user)


def can_see_attachment(
    user: User | None,
    attachment: Attachment,
    uses: Iterable[tuple[AnyPost, Topic, Category]],
    queued_in: Iterable[int] = (),
) -> bool:
    """Whoever may read the body of at least one post that shows it; while no post shows it
    yet, its uploader alone (an active account). The moderators of a category where a reply
    or topic of its uploader showing it awaits approval (`queued_in`: category ids) see it
    too, to decide."""
    uses = list(uses)
    if any(moderates(user, category_id) for category_id in queued_in):
        return True
    if not uses:
        active = _active(user)
        return active is not None and active.id == attachment.uploader_id
    return any(
        can_see_topic(user, topic, category) and can_see_post_body(user, post, category)
        for post, topic, category in uses
    )


# --- readiness (issue 12): self-assessment results and benchmarks ----------------------------


def can_see_readiness(user: User | None, administration_id: int) -> bool:
    """An administration's self-assessments: its own verified members and administrators."""
    if is_admin(user):
        return True
    return is_member(user) and user is not None and user.administration_id == administration_id


def can_take_readiness(user: User | None) -> bool:
    """Members answer for their administration (one must be set on their profile)."""
    return is_member(user) and user is not None and user.administration_id is not None


def can_see_benchmarks(user: User | None) -> bool:
    """Aggregated, anonymised figures: the restricted area."""
    return is_member(user)


def searchable_category_ids(user: User | None, categories: Iterable[Category]) -> list[int]:
    """The categories whose topics and posts search may show this user: those they may see.
    Search indexes only what any reader of a category may read (no hidden, deleted or held
    posts, no deleted topics), so the category decides the rest."""
    return [c.id for c in categories if can_see_category(user, c)]
