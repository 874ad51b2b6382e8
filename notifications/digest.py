"""The email digest: who is due, what each member gets (asked of the policy as them), queued.

A round (`run_round`, `forum send-digests`, every minute in a served process) walks the
members in batches of `BATCH` by id, never all at once. A member is due when their local
time (`User.timezone`) has reached `digest_hour` on `digest_weekday` this ISO week (weekly)
or today (daily), and no `DigestSent` row exists for that period (`2026-W49`, `2026-12-01`,
in their zone). The round reads the period's active topics, the categories and the new
members once, and per batch the levels, unread counts and digests already sent: a fixed
number of queries per batch, whatever the batch holds. Each topic is then filtered per
member in memory through `policy.can_see_topic` as that member: nothing they cannot see,
nothing in a category or topic they muted.

Sending is `DigestSent` first, then the outbox row and the new `digest_since`, in one
transaction: the unique (user, period) key makes the second of two concurrent rounds fail
its insert and skip, so a member gets one digest per period.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tortoise import connections
from tortoise.expressions import Q
from tortoise.functions import Count

from forum import events, policy
from forum.errors import Invalid
from forum.formats import format_moment
from forum.i18n import N_, _
from forum.inputs import ascii_digits
from forum.models import (
    AccessRequest,
    AccessStatus,
    Category,
    CategoryNotification,
    DigestFrequency,
    DigestSent,
    Notification,
    NotificationLevel,
    Post,
    Role,
    Topic,
    TopicNotification,
    User,
)
from forum.queries.sql import execute
from forum.security import sign
from forum.settings import Settings
from knowledge.models import Document, EntryStatus, KnowledgeEntry
from notifications import outbox
from notifications.mailer import mail_language

log = logging.getLogger(__name__)

BATCH = 500
TOPICS_SHOWN = 10
MEMBERS_SHOWN = 10
ENTRIES_SHOWN = 10
ENTRIES_READ = 200  # a round reads at most this many new entries (newest first)
LONGEST_WINDOW = timedelta(days=31)  # a digest never reaches further back than this
TEMPLATE = "digest"
UNSUBSCRIBE_PURPOSE = "digest-unsubscribe"
LIST_ID = "Smart Customs Forum digest <digest.smart-customs-forum.invalid>"
UNSUBSCRIBE_MAILTO = "unsubscribe@smart-customs-forum.invalid"
WATCHED = (NotificationLevel.WATCHING, NotificationLevel.WATCHING_FIRST_POST)
POLL_SECONDS = 60.0


# --- when -------------------------------------------------------------------------------------


def zone(name: str) -> ZoneInfo:
    """The member's zone; an unknown name (set before validation existed) counts as UTC."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def check_timezone(name: str) -> str:
    name = name.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(_("Choose a time zone from the list."), field="timezone") from None
    return name


def due_period(user: User, now: datetime) -> str | None:
    """The period whose digest is due at `now` (its local hour has been reached), or None.

    The scheduled instant is built as a wall-clock time in the member's zone, so across a
    daylight-saving change it is still their local hour (07:00 UTC instead of 06:00 for
    Brussels at 08:00 after the last Sunday of October)."""
    if user.digest_frequency == DigestFrequency.NEVER:
        return None
    tz = zone(user.timezone)
    local = now.astimezone(tz)
    hour = min(max(user.digest_hour, 0), 23)
    if user.digest_frequency == DigestFrequency.DAILY:
        day = local.date()
        period = day.isoformat()
    else:
        monday = local.date() - timedelta(days=local.weekday())
        day = monday + timedelta(days=min(max(user.digest_weekday, 0), 6))
        year, week, _weekday = local.isocalendar()
        period = f"{year}-W{week:02d}"
    scheduled = datetime.combine(day, time(hour), tzinfo=tz)
    return period if now >= scheduled else None


def window_start(user: User, now: datetime) -> datetime:
    back = timedelta(days=1 if user.digest_frequency == DigestFrequency.DAILY else 7)
    since = user.digest_since or now - back
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return max(since, now - LONGEST_WINDOW)


# --- the unsubscribe token --------------------------------------------------------------------


def unsubscribe_token(secret_key: str, user_id: int) -> str:
    return f"{user_id}.{sign(secret_key, UNSUBSCRIBE_PURPOSE, str(user_id))}"


def user_id_from_token(secret_key: str, token: str) -> int | None:
    raw_id, _sep, signature = token.partition(".")
    if not ascii_digits(raw_id) or len(raw_id) > 12:
        return None
    expected = sign(secret_key, UNSUBSCRIBE_PURPOSE, raw_id)
    return int(raw_id) if hmac.compare_digest(expected, signature) else None


# --- what -------------------------------------------------------------------------------------


@dataclass
class ActiveTopic:
    topic: Topic
    category: Category
    activity: int  # posts in the round's window


@dataclass
class NewMember:
    user_id: int
    username: str
    display_name: str
    since: datetime


@dataclass
class Round:
    """What a round reads once: the categories, the active topics, the new members."""

    now: datetime
    since: datetime
    topics: list[ActiveTopic]  # most active first
    new_members: list[NewMember]  # newest first
    entries: list[KnowledgeEntry] = field(default_factory=list)  # published, newest first
    category_names: dict[int, str] = field(default_factory=dict)
    documents: list[Document] = field(default_factory=list)  # new, newest first


@dataclass
class MemberState:
    """Per batch: a member's levels and unread count."""

    muted_categories: set[int] = field(default_factory=set)
    watched_categories: set[int] = field(default_factory=set)
    muted_topics: set[int] = field(default_factory=set)
    unread: int = 0


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def read_round(now: datetime, since: datetime) -> Round:
    """The topics with posts since `since` (ranked by posts since then) and new members."""
    categories = {c.id: c for c in await Category.all()}
    counts = (
        await Post.filter(created_at__gte=since, created_at__lte=now, deleted_at__isnull=True)
        .filter(hidden=False)
        .group_by("topic_id")
        .annotate(n=Count("id"))
        .values_list("topic_id", "n")
    )
    activity = {int(topic_id): int(n) for topic_id, n in counts}
    topics = await Topic.filter(
        id__in=list(activity), deleted_at__isnull=True, merged_into_id__isnull=True
    )
    active = [
        ActiveTopic(t, categories[t.category_id], activity[t.id])
        for t in topics
        if t.category_id in categories
    ]
    active.sort(key=lambda a: (-a.activity, -_aware(a.topic.last_posted_at).timestamp()))
    # New in the directory: approved since `since`, or created verified since (operators).
    approved = {
        int(uid): _aware(at)
        for uid, at in await AccessRequest.filter(
            status=AccessStatus.APPROVED,
            decided_at__gte=since,
            decided_at__lte=now,
            user_id__isnull=False,
        ).values_list("user_id", "decided_at")
    }
    people = await User.filter(
        Q(id__in=list(approved)) | Q(created_at__gte=since, created_at__lte=now),
        is_active=True,
        is_verified=True,
    ).order_by("-id")
    new_members = [
        NewMember(u.id, u.username, u.display_name, approved.get(u.id, _aware(u.created_at)))
        for u in people
        if policy.is_member(u)
    ]
    new_members.sort(key=lambda m: m.since, reverse=True)
    entries = (
        await KnowledgeEntry.filter(
            status=EntryStatus.PUBLISHED, published_at__gte=since, published_at__lte=now
        )
        .order_by("-published_at", "-id")
        .limit(ENTRIES_READ)
    )
    documents = (
        await Document.filter(is_deleted=False, created_at__gte=since, created_at__lte=now)
        .order_by("-id")
        .limit(ENTRIES_READ)
    )
    return Round(
        now=now,
        since=since,
        topics=active,
        new_members=new_members,
        entries=entries,
        documents=documents,
        category_names={c.id: c.name for c in categories.values()},
    )


async def read_states(user_ids: list[int]) -> dict[int, MemberState]:
    """Levels and unread counts of a batch of members: three queries, whatever the batch."""
    states = {uid: MemberState() for uid in user_ids}
    for uid, category_id, level in await CategoryNotification.filter(
        user_id__in=user_ids
    ).values_list("user_id", "category_id", "level"):
        if level == NotificationLevel.MUTED:
            states[uid].muted_categories.add(category_id)
        elif level in WATCHED:
            states[uid].watched_categories.add(category_id)
    for uid, topic_id in await TopicNotification.filter(
        user_id__in=user_ids, level=NotificationLevel.MUTED
    ).values_list("user_id", "topic_id"):
        states[uid].muted_topics.add(topic_id)
    for uid, n in (
        await Notification.filter(user_id__in=user_ids, read_at__isnull=True)
        .group_by("user_id")
        .annotate(n=Count("id"))
        .values_list("user_id", "n")
    ):
        states[uid].unread = int(n)
    return states


def build(
    user: User, state: MemberState, found: Round, since: datetime, settings: Settings
) -> dict[str, Any] | None:
    """The digest `user` gets (their policy answers, their mutes), or None: nothing new."""
    base = settings.base_url.rstrip("/")
    picked: list[ActiveTopic] = []
    for watched_pass in (True, False):
        for item in found.topics:
            if len(picked) >= TOPICS_SHOWN:
                break
            topic, category = item.topic, item.category
            if (category.id in state.watched_categories) != watched_pass:
                continue
            if category.id in state.muted_categories or topic.id in state.muted_topics:
                continue  # muting wins, here too
            if _aware(topic.last_posted_at) < since:
                continue
            if not policy.can_see_topic(user, topic, category):
                continue
            picked.append(item)
    members = [m for m in found.new_members if m.since >= since and m.user_id != user.id]
    entries = [
        entry
        for entry in found.entries
        if entry.published_at is not None
        and _aware(entry.published_at) >= since
        and entry.author_id != user.id
        and entry.technology_id not in state.muted_categories
        and policy.can_see_entry(user, entry)
    ][:ENTRIES_SHOWN]
    documents = [
        document
        for document in found.documents
        if _aware(document.created_at) >= since
        and document.uploaded_by_id != user.id
        and policy.can_see_document(user, document)
    ][:ENTRIES_SHOWN]
    if not picked and not members and not entries and not documents:
        return None
    topics = [
        {
            "title": item.topic.title,
            "lang": item.topic.language,
            "url": f"{base}/t/{item.topic.id}",
            "category": item.category.name,
            "posts": item.activity,
            "new": _aware(item.topic.created_at) >= since,
            "watched": item.category.id in state.watched_categories,
        }
        for item in picked
    ]
    return {
        "name": user.display_name,
        # In the member's time zone, written their language's way ("1 déc. 2026, 08:00").
        "since": format_moment(
            since.astimezone(zone(user.timezone)).replace(tzinfo=None),
            mail_language(user.mail_language),
        ),
        "daily": user.digest_frequency == DigestFrequency.DAILY,
        "topics": topics,
        "new_members": [
            {"name": m.display_name, "url": f"{base}/u/{m.username}"}
            for m in members[:MEMBERS_SHOWN]
        ],
        "more_members": max(len(members) - MEMBERS_SHOWN, 0),
        "entries": [
            {
                "title": entry.title,
                "lang": entry.language,
                "kind": str(entry.kind.value),
                "url": f"{base}/knowledge/entries/{entry.id}",
                "technology": found.category_names.get(entry.technology_id, ""),
            }
            for entry in entries
        ],
        "documents": [
            {"title": d.title, "lang": d.language, "url": f"{base}/knowledge/documents/{d.id}"}
            for d in documents
        ],
        "unread": state.unread,
        "notifications_url": f"{base}/notifications",
        "settings_url": f"{base}/account/digest",
        "unsubscribe_url": unsubscribe_url(settings, user.id),
    }


def unsubscribe_url(settings: Settings, user_id: int) -> str:
    token = unsubscribe_token(settings.resolved_secret_key(), user_id)
    return f"{settings.base_url.rstrip('/')}/digest/unsubscribe/{token}"


def headers(settings: Settings, user_id: int) -> dict[str, str]:
    """Chosen by the code (no user text): RFC 2369 list headers and RFC 8058 one-click."""
    return {
        "List-Id": LIST_ID,
        "List-Unsubscribe": (
            f"<{unsubscribe_url(settings, user_id)}>, <mailto:{UNSUBSCRIBE_MAILTO}"
            f"?subject=unsubscribe-{user_id}>"
        ),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def subject(context: dict[str, Any]) -> str:
    """In English, as stored: the mailer translates it for the recipient."""
    return N_("Your daily forum digest") if context.get("daily") else N_("Your weekly forum digest")


# --- the round --------------------------------------------------------------------------------


@dataclass
class RoundReport:
    due: int = 0
    built: int = 0
    queued: int = 0
    skipped: int = 0  # nothing new
    failed: int = 0
    elsewhere: int = 0  # sent by another round at the same time

    def summary(self) -> str:
        line = (
            f"due {self.due}, built {self.built}, queued {self.queued}, "
            f"skipped {self.skipped} (nothing new), failed {self.failed}"
        )
        return line + (f", {self.elsewhere} by another run" if self.elsewhere else "")


Progress = Callable[[RoundReport, int], None]  # (so far, members looked at)


def _candidates() -> Any:
    """Accounts that may be due: active, digests on, verified or staff (the policy decides)."""
    return (
        User.filter(is_active=True)
        .filter(Q(is_verified=True) | Q(role__in=[Role.MODERATOR, Role.ADMIN]))
        .exclude(digest_frequency=DigestFrequency.NEVER)
    )


_CLAIM_PERIODS = (
    "INSERT INTO digests_sent (user_id, period, outcome, created_at) VALUES {values}"
    " ON CONFLICT (user_id, period) DO NOTHING RETURNING user_id"
)


async def _record(
    built: list[tuple[User, str, dict[str, Any] | None]], now: datetime, settings: Settings
) -> set[int]:
    """One transaction for a batch: a DigestSent row per member first (the unique key decides
    who sends), then the emails of the members this round won and their new window start.
    Returns the ids of those members; the others' period is another round's."""
    if not built:
        return set()
    args: list[Any] = []
    for user, period, context in built:
        args += [user.id, period, "queued" if context else "nothing_new", now]
    async with events.atomic():
        won = {
            row["user_id"]
            for row in await execute(
                connections.get("default"),  # the transaction's
                _CLAIM_PERIODS.format(values=", ".join(["(?, ?, ?, ?)"] * len(built))),
                *args,
            )
        }
        letters = [
            (user, TEMPLATE, subject(context), context, headers(settings, user.id))
            for user, _period, context in built
            if context is not None and user.id in won
        ]
        await outbox.enqueue_many(letters)
        if letters:
            await User.filter(id__in=[user.id for user, *_rest in letters]).update(digest_since=now)
    return won


async def run_round(
    settings: Settings,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    batch: int = BATCH,
) -> RoundReport:
    now = _aware(now or datetime.now(UTC))
    report = RoundReport()
    found: Round | None = None
    last_id = 0
    looked = 0
    while True:
        users = await _candidates().filter(id__gt=last_id).order_by("id").limit(batch)
        if not users:
            break
        last_id = users[-1].id
        looked += len(users)
        due = [(u, p) for u in users if policy.is_member(u) and (p := due_period(u, now))]
        if due:
            already = set(
                await DigestSent.filter(
                    user_id__in=[u.id for u, _p in due], period__in={p for _u, p in due}
                ).values_list("user_id", "period")
            )
            due = [(u, p) for u, p in due if (u.id, p) not in already]
        if due:
            if found is None:  # read once, from the widest window a member may need
                found = await read_round(now, now - LONGEST_WINDOW)
            states = await read_states([u.id for u, _p in due])
        built: list[tuple[User, str, dict[str, Any] | None]] = []
        for user, period in due:
            report.due += 1
            assert found is not None
            try:
                context = build(user, states[user.id], found, window_start(user, now), settings)
            except Exception:
                log.exception("digest for user %s failed", user.id)
                report.failed += 1
                continue
            report.built += 1
            built.append((user, period, context))
        if dry_run:
            report.skipped += sum(context is None for _u, _p, context in built)
            report.queued += sum(context is not None for _u, _p, context in built)
        else:
            try:
                won = await _record(built, now, settings)
            except Exception:
                log.exception("recording %s digests failed", len(built))
                report.failed += len(built)
                won = set()
            for user, _period, context in built:
                if user.id not in won:
                    report.elsewhere += 1
                elif context is None:
                    report.skipped += 1
                else:
                    report.queued += 1
        if progress is not None:
            progress(report, looked)
    return report


async def preview(settings: Settings, user: User, now: datetime | None = None) -> Any:
    """The digest `user` would get next (as them), rendered; nothing is queued. None: nothing
    new."""
    from notifications import mailer

    now = _aware(now or datetime.now(UTC))
    found = await read_round(now, now - LONGEST_WINDOW)
    state = (await read_states([user.id]))[user.id]
    context = build(user, state, found, window_start(user, now), settings)
    if context is None:
        return None
    return mailer.compose(
        user.email, subject(context), TEMPLATE, {"base_url": settings.base_url, **context}
    )


# --- the member's choices ---------------------------------------------------------------------


async def do_set_digest_preferences(
    user: User, frequency: str, weekday: str, hour: str, timezone: str
) -> None:
    try:
        chosen = DigestFrequency(frequency)
    except ValueError:
        raise Invalid(_("Choose daily, weekly or never."), field="frequency") from None
    if not ascii_digits(weekday) or not 0 <= int(weekday) <= 6:
        raise Invalid(_("Choose a day of the week."), field="weekday")
    if not ascii_digits(hour) or not 0 <= int(hour) <= 23:
        raise Invalid(_("Choose an hour between 0 and 23."), field="hour")
    name = check_timezone(timezone)
    async with events.atomic():
        await User.filter(id=user.id).update(
            digest_frequency=chosen,
            digest_weekday=int(weekday),
            digest_hour=int(hour),
            timezone=name,
        )
    user.digest_frequency, user.digest_weekday = chosen, int(weekday)
    user.digest_hour, user.timezone = int(hour), name


async def do_unsubscribe_digest(user_id: int) -> bool:
    """One-click: digests off at once. False: no such account."""
    async with events.atomic():
        changed = await User.filter(id=user_id).update(digest_frequency=DigestFrequency.NEVER)
    return bool(changed)


class DigestScheduler:
    """A digest round every minute while the app runs; safe in every worker (unique key)."""

    def __init__(self, settings: Settings, poll: float = POLL_SECONDS) -> None:
        self.settings = settings
        self.poll = poll

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.poll)  # the first round a minute after start-up
            try:
                await run_round(self.settings)
            except Exception:  # a database hiccup: the next round tries again
                log.exception("digest round failed")
