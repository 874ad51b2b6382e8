"""Seed a large, realistic forum fast: accounts through the real actions, content in bulk.

Bulk inserts skip the actions (and so the event log) on purpose: ten thousand posts through
`do_create_post` would take minutes. Everything the pages read is kept consistent: topic and
category counters, post numbers, first revisions, tags, reactions, replies, read state.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tortoise import connections
from tortoise.transactions import in_transaction

from forum import policy
from forum.actions.users import do_create_api_token, do_create_session, do_create_user
from forum.db import close_db, init_db, migrate
from forum.models import (
    Bookmark,
    Category,
    Post,
    PostingRight,
    PostRevision,
    Reaction,
    Role,
    Tag,
    Topic,
    TopicTag,
    TopicUser,
    User,
    Visibility,
)
from forum.rendering import render_markdown
from forum.seed import seed_categories
from moderation import settings as moderation_settings

Progress = Callable[[str], None]

MEMBER_USERNAME = "bench-member"
MEMBER_PASSWORD = "bench member password"  # never used to log in: the session is made directly
BENCH_CATEGORY = "ai-ml"
AUTHORS = 24
BATCH = 1000
TAGS = [
    "risk-management", "pilot", "legal", "procurement", "training", "data-quality",
    "open-source", "interoperability", "privacy", "lessons-learned", "research", "case-study",
]  # fmt: skip
TITLES = [
    "Lessons from pilot {n} of automated risk targeting",
    "How we measure data quality before training models ({n})",
    "Procurement pitfalls when buying scanning analytics, part {n}",
    "Case study {n}: electronic seals on transit corridors",
    "Legal basis for sharing declaration data with partners ({n})",
    "Training officers to trust (and question) the model, round {n}",
]
BODIES = [
    "Thanks for sharing. We saw the same thing: **label quality** mattered more than the "
    "algorithm. Our seizure records had free-text outcomes, so we spent three months "
    "normalising them before any training started.",
    "A few numbers from our side:\n\n| year | declarations | flagged | hits |\n|---|---|---|---|\n"
    "| 2022 | 1.2M | 14k | 9% |\n| 2023 | 1.4M | 11k | 13% |\n\n"
    "The hit rate went up while the share of flagged declarations went down.",
    "We keep the officer in the loop:\n\n1. the model proposes a score;\n"
    "2. the officer sees the three strongest reasons;\n3. the officer decides and records why.\n\n"
    "Overrides are reviewed monthly and fed back into the training set.",
    "> Has anyone tried explainability tools in production?\n\n"
    "Yes. SHAP values per declaration, computed at scoring time. It costs about 20 ms per "
    "declaration on our hardware, which is fine for our volumes. See https://example.org/notes "
    "for the write-up we circulated internally.",
    "Short answer: it depends on your legal framework. In our case the data protection "
    "authority asked for a *data protection impact assessment* before the pilot could start, "
    "and that took longer than the technical work.",
    "Here is the query we run every quarter to watch for drift:\n\n```sql\n"
    "SELECT hs_chapter, avg(score) AS mean_score, count(*)\n"
    "FROM scored_declarations\nWHERE scored_at >= now() - interval '90 days'\n"
    "GROUP BY hs_chapter\nORDER BY mean_score DESC;\n```\n\n"
    "When a chapter moves by more than two standard deviations we retrain.",
    "We tried this in 2021 and stopped. The vendor's model could not be retrained on our "
    "data, and we had no way to audit it. Our advice: insist on access to the features and "
    "the training pipeline in the contract, not only on the scores.",
    "+1. Also worth reading: the WCO study on disruptive technologies, chapter 4, which "
    "covers governance. We used its checklist almost as is.",
]


@dataclass(frozen=True)
class SeedResult:
    session_key: str
    member_username: str
    topic_id: int
    category_slug: str
    topics: int
    posts: int
    reactions: int
    seconds: float
    # The realistic load: one session per member (the first is `session_key`'s member), every
    # topic and category a reader may open, and an API token for each member who posts.
    member_sessions: tuple[str, ...] = ()
    topic_ids: tuple[int, ...] = ()
    category_slugs: tuple[str, ...] = ()
    writer_tokens: tuple[str, ...] = ()


def mix_pages(seeded: SeedResult, posts: int) -> tuple[list[str], list[str]]:
    """What the realistic load opens: every page of every topic (20 posts a page), and every
    category page (the home page is `/`)."""
    topics = [
        f"/t/{tid}" + (f"?near={start}" if start > 1 else "")
        for tid in seeded.topic_ids
        for start in range(1, posts + 1, 20)
    ]
    return topics, [f"/c/{slug}" for slug in seeded.category_slugs]


def is_postgres(database_url: str) -> bool:
    return urlsplit(database_url).scheme in {"postgres", "postgresql", "asyncpg"}


async def _ensure_postgres_database(database_url: str) -> None:
    """Create the database named in the URL when it does not exist yet."""
    import asyncpg

    parts = urlsplit(database_url)
    dsn = urlunsplit(("postgres", parts.netloc, parts.path, parts.query, ""))
    try:
        connection = await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError:
        admin = await asyncpg.connect(urlunsplit(("postgres", parts.netloc, "/postgres", "", "")))
        try:
            name = parts.path.lstrip("/").replace('"', '""')
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        return
    await connection.close()


async def _drop_postgres_tables(database_url: str) -> None:
    await init_db(database_url)
    try:
        db = connections.get("default")
        _count, rows = await db.execute_query(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        )
        names = [str(row["tablename"]) for row in rows]
        if names:
            quoted = ", ".join('"' + name.replace('"', '""') + '"' for name in names)
            await db.execute_script(f"DROP TABLE IF EXISTS {quoted} CASCADE")
    finally:
        await close_db()


async def fresh_database(database_url: str, progress: Progress) -> None:
    """An empty, migrated database: Postgres tables are dropped, SQLite files must be new."""
    if is_postgres(database_url):
        await _ensure_postgres_database(database_url)
        await _drop_postgres_tables(database_url)
        progress("dropped every table in the PostgreSQL database")
    else:
        path = Path(database_url[len("sqlite://") :].split("?", 1)[0])
        if path.exists():
            raise SystemExit(f"bench: {path} exists; give a path to a new SQLite file")
    applied = await migrate(database_url)
    progress(f"applied {len(applied)} migration(s)")


async def _accounts(count: int) -> tuple[User, list[User]]:
    """The benchmark's member (through the real action) and other authors (in bulk)."""
    member = await do_create_user(
        email=f"{MEMBER_USERNAME}@example.org",
        username=MEMBER_USERNAME,
        password=MEMBER_PASSWORD,
        display_name="Bench Member",
        is_verified=True,
    )
    await User.bulk_create(
        [
            User(
                email=f"ncp{i:02d}@example.org",
                username=f"ncp{i:02d}",
                display_name=f"National Contact Point {i:02d}",
                password_hash=member.password_hash,
                role=Role.MEMBER,
                is_verified=True,
            )
            for i in range(1, count + 1)
        ]
    )
    authors = await User.filter(username__startswith="ncp").order_by("id")
    return member, [member, *authors]


def _topic_categories(categories: Sequence[Category], topics: int) -> list[Category]:
    """Half the topics in the benchmark's category, the rest spread over the other ones."""
    bench = next(c for c in categories if c.slug == BENCH_CATEGORY)
    others = [c for c in categories if c.id != bench.id] or [bench]
    return [bench if i % 2 == 0 else others[(i // 2) % len(others)] for i in range(topics)]


async def _insert_topics(
    places: list[Category], authors: list[User], posts: int, start: datetime, step: timedelta
) -> list[Topic]:
    rows = []
    for i, category in enumerate(places):
        first = start + step * (i * posts)
        last_author = authors[(i + posts - 1) % len(authors)]
        rows.append(
            Topic(
                category_id=category.id,
                author_id=authors[i % len(authors)].id,
                title=TITLES[i % len(TITLES)].format(n=i + 1),
                post_count=posts,
                highest_post_number=posts,
                views=(i * 37) % 500,
                created_at=first,
                last_posted_at=first + step * (posts - 1),
                last_poster_id=last_author.id,
            )
        )
    await Topic.bulk_create(rows, batch_size=BATCH)
    return await Topic.all().order_by("id")


async def _insert_tags(topics: list[Topic]) -> None:
    await Tag.bulk_create([Tag(name=name) for name in TAGS])
    tag_ids = await Tag.all().order_by("id").values_list("id", flat=True)
    links = [
        TopicTag(topic_id=topic.id, tag_id=tag_ids[(i + k * 5) % len(tag_ids)])
        for i, topic in enumerate(topics)
        for k in range(1 + i % 3)
    ]
    await TopicTag.bulk_create(links, batch_size=BATCH)


async def _insert_posts(
    topics: list[Topic],
    authors: list[User],
    posts: int,
    start: datetime,
    step: timedelta,
    progress: Progress,
) -> None:
    rendered = [(body, render_markdown(body)) for body in BODIES]
    batch: list[Post] = []
    done = 0
    total = len(topics) * posts
    for i, topic in enumerate(topics):
        for number in range(1, posts + 1):
            source, html = rendered[(i + number) % len(rendered)]
            batch.append(
                Post(
                    topic_id=topic.id,
                    number=number,
                    author_id=authors[(i + number - 1) % len(authors)].id,
                    source=source,
                    html=html,
                    created_at=start + step * (i * posts + number - 1),
                )
            )
        if len(batch) >= BATCH or i == len(topics) - 1:
            await Post.bulk_create(batch, batch_size=BATCH)
            done += len(batch)
            batch = []
            progress(f"posts {done}/{total}")
    # Every fifth post answers the one before it, as the reply button would record.
    await connections.get("default").execute_query(
        "UPDATE posts SET reply_to_id = (SELECT p.id FROM posts p "
        "WHERE p.topic_id = posts.topic_id AND p.number = posts.number - 1) "
        "WHERE posts.number % 5 = 0"
    )


async def _insert_revisions() -> None:
    rows = await Post.all().order_by("id").values_list("id", "source", "html", "author_id")
    await PostRevision.bulk_create(
        [
            PostRevision(post_id=pid, version=1, source=source, html=html, editor_id=author_id)
            for pid, source, html, author_id in rows
        ],
        batch_size=BATCH,
    )


async def _insert_reactions(authors: list[User]) -> int:
    """Two posts in three get one to three reactions from different authors."""
    kinds = policy.REACTION_KINDS
    post_ids = await Post.all().order_by("id").values_list("id", flat=True)
    rows = [
        Reaction(
            post_id=pid,
            user_id=authors[(i + k * 7) % len(authors)].id,
            kind=kinds[(i + k) % len(kinds)],
        )
        for i, pid in enumerate(post_ids)
        if i % 3
        for k in range(1 + i % 3)
    ]
    await Reaction.bulk_create(rows, batch_size=BATCH)
    return len(rows)


async def _member_state(member: User, topics: list[Topic], bench: Topic) -> None:
    """The member has read some topics part way and bookmarked a few posts."""
    await TopicUser.bulk_create(
        [
            TopicUser(user_id=member.id, topic_id=t.id, last_read_post_number=1 + i % t.post_count)
            for i, t in enumerate(topics)
            if i % 4 == 0
        ],
        batch_size=BATCH,
    )
    marked = await Post.filter(topic_id=bench.id, number__in=[2, 7, 11]).values_list(
        "id", flat=True
    )
    await Bookmark.bulk_create([Bookmark(user_id=member.id, post_id=pid) for pid in marked])


async def _update_category_counters(places: list[Category], posts: int) -> None:
    for category in {c.id: c for c in places}.values():
        count = sum(1 for c in places if c.id == category.id)
        await Category.filter(id=category.id).update(topic_count=count, post_count=count * posts)


async def seed_forum(
    database_url: str,
    *,
    topics: int,
    posts: int,
    members: int = 1,
    progress: Progress = print,
    days: float = 90,
    revisions: bool = True,
    reactions: bool = True,
) -> SeedResult:
    """A fresh database holding `topics` topics of `posts` posts each, and `members` logged-in
    members (the first one has read some topics part way and bookmarked a few posts). Posts
    are spread evenly over the last `days` days; `revisions=False` / `reactions=False` skip
    rows a benchmark does not read (bench/analytics.py)."""
    started = time.perf_counter()
    await fresh_database(database_url, progress)
    await init_db(database_url)
    try:
        await seed_categories()
        member, authors = await _accounts(max(AUTHORS, members - 1))
        progress(f"accounts: {len(authors)}")
        categories = [
            c
            for c in await Category.all()
            if c.visibility == Visibility.MEMBERS and c.posting_right == PostingRight.MEMBERS
        ]
        places = _topic_categories(categories, topics)
        step = timedelta(days=days) / max(topics * posts, 1)
        start = datetime.now(UTC) - timedelta(days=days)
        async with in_transaction():
            rows = await _insert_topics(places, authors, posts, start, step)
            await _insert_tags(rows)
            progress(f"topics: {len(rows)}")
            await _insert_posts(rows, authors, posts, start, step, progress)
            if revisions:
                await _insert_revisions()
            reacted = await _insert_reactions(authors) if reactions else 0
            progress(f"reactions: {reacted}")
            bench = next(t for t in rows if t.category_id == places[0].id)
            await _member_state(member, rows, bench)
            await _update_category_counters(places, posts)
        session_key = await do_create_session(member, user_agent="bench/http")
        sessions = [session_key]
        for other in authors[1:members]:
            sessions.append(await do_create_session(other, user_agent="bench/http"))
        # The writer's replies stand for members posting, each in turn with their own token.
        writer_tokens = []
        for writer in authors[:members]:
            _record, token = await do_create_api_token(writer, "bench writer")
            writer_tokens.append(token)
        # Even shared among them, 5 replies a second is more than a member's posting limits
        # allow (moderation/settings.py), so the load raises them, as an administrator may.
        limits = ("posts_per_interval", "posts_per_hour", "new_posts_per_interval")
        await moderation_settings.store(
            {**dict.fromkeys(limits, 1000), "new_posts_per_hour": 10_000}
        )
        slugs = sorted({c.slug for c in places})
    finally:
        await close_db()
    return SeedResult(
        member_sessions=tuple(sessions),
        topic_ids=tuple(t.id for t in rows),
        category_slugs=tuple(slugs),
        writer_tokens=tuple(writer_tokens),
        session_key=session_key,
        member_username=member.username,
        topic_id=bench.id,
        category_slug=places[0].slug,
        topics=topics,
        posts=topics * posts,
        reactions=reacted,
        seconds=time.perf_counter() - started,
    )
