"""Reading the review queue: items with what a moderator needs to decide them.

Every read is scoped by the policy: a moderator sees the items of the categories they
moderate (`policy.moderated_categories`), and asking for another one is a 404.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from forum import policy
from forum.errors import BadRequest, NotFound
from forum.i18n import _
from forum.models import (
    Category,
    Flag,
    Post,
    ReviewItem,
    ReviewKind,
    ReviewStatus,
    ReviewView,
    Sanction,
    Topic,
    User,
)
from forum.pagination import decode_cursor, encode_cursor
from moderation.gate import require_moderator
from moderation.review import access_item

ITEMS_PER_PAGE = 30
LOOKING_WINDOW = timedelta(minutes=5)
STATUSES = tuple(s.value for s in ReviewStatus)


@dataclass
class AuthorHistory:
    posts: int
    decisions: dict[str, int]  # earlier decided items about their content, by status
    sanctions: list[Sanction]


@dataclass
class ItemView:
    item: ReviewItem
    category: Category
    author: User
    topic: Topic | None
    post: Post | None
    flags: list[tuple[Flag, User]] = field(default_factory=list)
    history: AuthorHistory | None = None
    claimed_by: User | None = None
    decided_by: User | None = None
    looking: list[User] = field(default_factory=list)  # other moderators here in 5 minutes

    @property
    def title(self) -> str:
        if self.item.kind in (ReviewKind.QUEUED_TOPIC, ReviewKind.KNOWLEDGE_ENTRY):
            return self.item.title
        return self.topic.title if self.topic is not None else ""

    @property
    def html(self) -> str:
        """The content under review, as rendered (and sanitised) when it was written."""
        if self.item.kind == ReviewKind.FLAGGED_POST:
            return self.post.html if self.post is not None else ""
        return self.item.html


@dataclass
class ItemPage:
    items: list[ItemView]
    next_cursor: str | None


def _check_status(status: str) -> ReviewStatus:
    if status not in STATUSES:
        raise BadRequest(_("Unknown status: choose one of %(s)s.") % {"s": ", ".join(STATUSES)})
    return ReviewStatus(status)


async def list_items(
    user: User | None,
    *,
    status: str = "pending",
    category: str = "",
    cursor: str | None = None,
    limit: int = ITEMS_PER_PAGE,
) -> ItemPage:
    """Pending items oldest first (a queue); decided ones newest first."""
    actor = require_moderator(user)
    wanted = _check_status(status)
    query = ReviewItem.filter(status=wanted)
    scope = policy.moderated_categories(actor)
    if scope is not None:
        query = query.filter(category_id__in=scope)
    if category:
        found = await Category.get_or_none(slug=category)
        if found is None or not policy.moderates(actor, found.id):
            raise NotFound(_("No such category."))
        query = query.filter(category_id=found.id)
    oldest_first = wanted == ReviewStatus.PENDING
    if cursor:
        (after,) = decode_cursor(cursor, int)
        query = query.filter(id__gt=after) if oldest_first else query.filter(id__lt=after)
    rows = await query.order_by("id" if oldest_first else "-id").limit(limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    views = await describe(actor, rows)
    next_cursor = encode_cursor(rows[-1].id) if more and rows else None
    return ItemPage(views, next_cursor)


async def item_detail(user: User | None, item_id: int, *, looking: bool = False) -> ItemView:
    """One item; `looking` records that this moderator has it open (who else is looking)."""
    item = await access_item(user, item_id)
    assert user is not None
    if looking:
        now = datetime.now(UTC)
        updated = await ReviewView.filter(item_id=item.id, user_id=user.id).update(seen_at=now)
        if not updated:
            await ReviewView.create(item_id=item.id, user_id=user.id, seen_at=now)
    (view,) = await describe(user, [item])
    return view


async def describe(viewer: User, items: list[ReviewItem]) -> list[ItemView]:
    """Items with their content, flags, author history and who else is looking: a fixed
    number of queries for the whole page."""
    if not items:
        return []
    user_ids = {i.author_id for i in items}
    user_ids |= {i.claimed_by_id for i in items if i.claimed_by_id}
    user_ids |= {i.decided_by_id for i in items if i.decided_by_id}
    flags = await Flag.filter(item_id__in=[i.id for i in items]).order_by("id")
    user_ids |= {f.user_id for f in flags}
    since = datetime.now(UTC) - LOOKING_WINDOW
    views = await ReviewView.filter(item_id__in=[i.id for i in items], seen_at__gte=since).exclude(
        user_id=viewer.id
    )
    user_ids |= {v.user_id for v in views}
    users = {u.id: u for u in await User.filter(id__in=list(user_ids))}
    categories = {c.id: c for c in await Category.filter(id__in=[i.category_id for i in items])}
    topic_ids = [i.topic_id for i in items if i.topic_id]
    topics = {t.id: t for t in await Topic.filter(id__in=topic_ids)} if topic_ids else {}
    post_ids = [i.post_id for i in items if i.post_id]
    posts = {p.id: p for p in await Post.filter(id__in=post_ids)} if post_ids else {}
    authors = list({i.author_id for i in items})
    post_counts: dict[int, int] = defaultdict(int)
    for author_id in await Post.filter(author_id__in=authors, deleted_at__isnull=True).values_list(
        "author_id", flat=True
    ):
        post_counts[int(author_id)] += 1  # type: ignore[call-overload]
    decisions: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for author_id, status in (
        await ReviewItem.filter(author_id__in=authors)
        .exclude(status=ReviewStatus.PENDING)
        .values_list("author_id", "status")
    ):
        decisions[author_id][ReviewStatus(status).value] += 1
    sanctions: dict[int, list[Sanction]] = defaultdict(list)
    for sanction in await Sanction.filter(user_id__in=authors).order_by("-id"):
        sanctions[sanction.user_id].append(sanction)
    flags_by_item: dict[int, list[tuple[Flag, User]]] = defaultdict(list)
    for f in flags:
        flags_by_item[f.item_id].append((f, users[f.user_id]))
    looking: dict[int, list[User]] = defaultdict(list)
    for v in views:
        looking[v.item_id].append(users[v.user_id])
    result = []
    for i in items:
        result.append(
            ItemView(
                item=i,
                category=categories[i.category_id],
                author=users[i.author_id],
                topic=topics.get(i.topic_id) if i.topic_id else None,
                post=posts.get(i.post_id) if i.post_id else None,
                flags=flags_by_item.get(i.id, []),
                history=AuthorHistory(
                    post_counts.get(i.author_id, 0),
                    _earlier(decisions.get(i.author_id, {}), i),
                    sanctions.get(i.author_id, []),
                ),
                claimed_by=users.get(i.claimed_by_id) if i.claimed_by_id else None,
                decided_by=users.get(i.decided_by_id) if i.decided_by_id else None,
                looking=looking.get(i.id, []),
            )
        )
    return result


def _earlier(decisions: dict[str, int], item: ReviewItem) -> dict[str, int]:
    """The author's decided items other than this one."""
    counts = dict(decisions)
    if item.status != ReviewStatus.PENDING and counts.get(item.status.value):
        counts[item.status.value] -= 1
    return {status: n for status, n in counts.items() if n}


async def pending_count(user: User | None) -> int:
    """The number a staff page shows beside "Review" (0 for anyone else)."""
    if not policy.is_staff(user):
        return 0
    query = ReviewItem.filter(status=ReviewStatus.PENDING)
    scope = policy.moderated_categories(user)
    if scope is not None:
        query = query.filter(category_id__in=scope)
    return await query.count()


async def own_items(user: User, *, topic_id: int | None = None) -> list[ItemView]:
    """An author's posts and topics sent for approval and how they were decided, and the
    decisions that hid or removed their published posts (with the moderator's reason);
    with `topic_id`, their replies there still awaiting approval."""
    queued = (ReviewKind.QUEUED_POST, ReviewKind.QUEUED_TOPIC)
    removed = (ReviewStatus.REJECTED, ReviewStatus.DELETED)
    # (knowledge entries are followed on /knowledge/mine)
    query = ReviewItem.filter(author_id=user.id).exclude(kind=ReviewKind.KNOWLEDGE_ENTRY)
    if topic_id is not None:
        query = query.filter(
            topic_id=topic_id, status=ReviewStatus.PENDING, kind=ReviewKind.QUEUED_POST
        )
    items = [
        i
        for i in await query.order_by("-id").limit(100)
        if i.kind in queued or i.status in removed  # flags on a post that stayed: not theirs
    ][:50]
    if not items:
        return []
    categories = {c.id: c for c in await Category.filter(id__in=[i.category_id for i in items])}
    topic_ids = [i.topic_id for i in items if i.topic_id]
    topics = {t.id: t for t in await Topic.filter(id__in=topic_ids)} if topic_ids else {}
    return [
        ItemView(
            item=i,
            category=categories[i.category_id],
            author=user,
            topic=topics.get(i.topic_id) if i.topic_id else None,
            post=None,
        )
        for i in items
        if policy.can_see_category(user, categories[i.category_id])
    ]
