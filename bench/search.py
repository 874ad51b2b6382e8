"""Search at scale: seed N posts in M topics, build the index, time representative queries.

    .venv/bin/python -m bench.search [--posts 1000000] [--topics 50000] [--runs 40]
        [--database-url postgres://postgres@127.0.0.1:5432/bench_search] [--reuse]

Seeds a new SQLite file (or a PostgreSQL database whose tables are all dropped first) with
members-only topics whose posts are varied text: words drawn from a Zipf-like vocabulary of
~20,000 made-up words, a tenth of the posts in French with accents, a few words at known
frequencies (the common word "risk" in about a fifth of the posts, two rare words in about
1 post in 2,000 each, the phrase "electronic seals" in 1 in 100). Then `search.index.rebuild`
(timed; the index size is printed), then each query `--runs` times as a verified member (the
permission filter included, with the result count and the snippets: exactly what the page
does) and prints p50/p95/p99 per query. `--reuse` skips seeding (an existing database),
`--skip-index` the index build.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tortoise import connections

from bench.seed import _accounts, fresh_database, is_postgres
from forum.db import close_db, init_db
from forum.models import Category, PostingRight, Topic, User, Visibility
from forum.queries.sql import postgres_placeholders
from forum.seed import seed_categories
from search.index import rebuild
from search.query import SearchRequest, search

BATCH = 5000
VOCABULARY = 20_000
SYLLABLES = [
    "ka", "lo", "mi", "ra", "te", "su", "vin", "dor", "pel", "qua", "ber", "sol", "tra", "nex",
    "por", "ul", "zen", "fi", "go", "har", "ix", "jun", "mor", "ost", "pla", "rin", "sta", "vel",
]  # fmt: skip
ENGLISH = [
    "customs",
    "officers",
    "review",
    "the",
    "declarations",
    "every",
    "morning",
    "and",
    "the",
    "risk",
    "engine",
    "scores",
    "each",
    "consignment",
    "before",
    "the",
    "container",
    "reaches",
    "the",
    "port",
    "while",
    "analysts",
    "check",
    "data",
    "quality",
]
FRENCH = [
    "les",
    "données",
    "douanières",
    "sont",
    "contrôlées",
    "chaque",
    "semaine",
    "et",
    "les",
    "agents",
    "vérifient",
    "les",
    "déclarations",
    "des",
    "marchandises",
    "à",
    "la",
    "frontière",
    "avec",
    "une",
    "analyse",
    "des",
    "risques",
]
RARE = ("zymurgy", "quixotic")
QUERIES: list[tuple[str, dict[str, object]]] = [
    ("one common word", {"q": "risk"}),
    ("two rare words", {"q": "zymurgy quixotic"}),
    ("a phrase", {"q": '"electronic seals"'}),
    ("filtered (category + dates)", {"q": "risk", "category": "iot"}),
    ("French, accents", {"q": "données douanières"}),
    ("common word, by date", {"q": "risk", "sort": "date"}),
]


def _vocabulary(rng: random.Random) -> list[str]:
    words: set[str] = set()
    for _ in range(VOCABULARY * 3):
        if len(words) >= VOCABULARY:
            break
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def _text(rng: random.Random, vocabulary: list[str], weights: list[float], n: int) -> str:
    french = n % 10 == 0
    words = rng.choices(vocabulary, cum_weights=weights, k=rng.randint(20, 60))
    base = FRENCH if french else ENGLISH
    start = rng.randrange(len(base) - 6)
    at = rng.randrange(len(words))
    words[at:at] = base[start : start + 6]
    if n % 5 == 0:
        words.append("risk")
    if n % 100 == 7:
        words += ["electronic", "seals"]
    if n % 2000 == 11:
        words.append(RARE[0])
    if n % 2000 == 1011 or n % 4000 == 11:
        words.append(RARE[1])
    return " ".join(words).capitalize() + "."


async def seed(database_url: str, topics: int, posts: int) -> None:
    await fresh_database(database_url, print)
    await init_db(database_url)
    try:
        await seed_categories()
        _member, authors = await _accounts(24)
        places = [
            c
            for c in await Category.all().order_by("id")
            if c.visibility == Visibility.MEMBERS and c.posting_right == PostingRight.MEMBERS
        ]
        rng = random.Random(13)
        vocabulary = _vocabulary(rng)
        cumulative, total = [], 0.0
        for rank in range(len(vocabulary)):
            total += 1 / (rank + 1)
            cumulative.append(total)
        start = datetime.now(UTC) - timedelta(days=365)
        step = timedelta(days=365) / max(posts, 1)
        per_topic = max(posts // max(topics, 1), 1)
        started = time.perf_counter()
        rows = [
            Topic(
                category_id=places[i % len(places)].id,
                author_id=authors[i % len(authors)].id,
                title=f"Topic {i}: " + " ".join(rng.choices(vocabulary, k=4)),
                post_count=per_topic,
                highest_post_number=per_topic,
                created_at=start + step * (i * per_topic),
                last_posted_at=start + step * ((i + 1) * per_topic - 1),
                last_poster_id=authors[0].id,
            )
            for i in range(topics)
        ]
        await Topic.bulk_create(rows, batch_size=1000)
        topic_ids = list(await Topic.all().order_by("id").values_list("id", flat=True))
        conn = connections.get("default")
        postgres = is_postgres(database_url)
        sql = (
            "INSERT INTO posts (topic_id, number, author_id, source, html, version, created_at,"
            " hidden) VALUES (?, ?, ?, ?, ?, 1, ?, ?)"
        )
        if postgres:
            sql = postgres_placeholders(sql)
        batch: list[list[object]] = []
        n = 0
        for i, topic_id in enumerate(topic_ids):  # bounded: topics x posts per topic
            for number in range(1, per_topic + 1):
                text = _text(rng, vocabulary, cumulative, n)
                when = start + step * n
                batch.append(
                    [
                        topic_id,
                        number,
                        authors[(i + number) % len(authors)].id,
                        text,
                        f"<p>{html.escape(text)}</p>",
                        when if postgres else str(when),
                        False,
                    ]
                )
                n += 1
            if len(batch) >= BATCH or i == len(topic_ids) - 1:
                await conn.execute_many(sql, batch)
                batch = []
                print(f"\rposts {n}/{topics * per_topic}", end="", flush=True)
        print(f"\nseeded {topics} topics, {n} posts in {time.perf_counter() - started:.0f} s")
        await conn.execute_script("ANALYZE")
    finally:
        await close_db()


async def index_size(database_url: str) -> int:
    conn = connections.get("default")
    if is_postgres(database_url):
        _n, rows = await conn.execute_query("SELECT pg_total_relation_size('search_docs') AS size")
        return int(rows[0]["size"])
    _n, rows = await conn.execute_query(
        "SELECT SUM(pgsize) AS size FROM dbstat WHERE name LIKE 'search_%'"
        " OR name IN ('uid_search_docs_kind_ref', 'idx_search_docs_topic',"
        " 'idx_search_docs_created')"
    )
    return int(rows[0]["size"] or 0)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


async def measure(database_url: str, runs: int, build: bool) -> None:
    await init_db(database_url)
    try:
        if build:
            started = time.perf_counter()
            counts = await rebuild(
                progress=lambda kind, done, total: print(
                    f"\rindexing {kind}: {done}/{total}", end="", flush=True
                ),
                batch=2000,
            )
            seconds = time.perf_counter() - started
            print(f"\nindex built in {seconds:.1f} s: {counts}")
        try:
            size = await index_size(database_url)
            print(f"index size: {size / 2**20:.0f} MiB")
        except Exception as exc:  # dbstat is optional in SQLite builds
            print(f"index size: unknown ({exc})")
        member = await User.get(username="bench-member")
        today = datetime.now(UTC).date()
        table = []
        for name, params in QUERIES:
            request = SearchRequest(**params)  # type: ignore[arg-type]
            if name.startswith("filtered"):
                request = SearchRequest(
                    q="risk", category="iot", date_from=today - timedelta(days=90), date_to=today
                )
            timings: list[float] = []
            page = await search(member, request)  # warm
            for _ in range(runs):
                started = time.perf_counter()
                page = await search(member, request)
                timings.append((time.perf_counter() - started) * 1000)
            more = "+" if page.more_than else ""
            table.append(
                (
                    name,
                    f"{page.count}{more}",
                    statistics.median(timings),
                    _percentile(timings, 0.95),
                    _percentile(timings, 0.99),
                )
            )
        backend = "PostgreSQL" if is_postgres(database_url) else "SQLite"
        print(f"\n{backend}, {runs} runs each, as a verified member (ms)")
        print("| query | results | p50 | p95 | p99 |\n| --- | ---: | ---: | ---: | ---: |")
        for name, found, p50, p95, p99 in table:
            print(f"| {name} | {found} | {p50:.1f} | {p95:.1f} | {p99:.1f} |")
    finally:
        await close_db()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--topics", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--reuse", action="store_true", help="an existing database: no seeding")
    parser.add_argument("--skip-index", action="store_true", help="measure the existing index")
    args = parser.parse_args()
    url = args.database_url
    if not url:
        folder = Path(os.environ.get("BENCH_DIR", tempfile.gettempdir()))
        url = f"sqlite://{folder / f'bench-search-{args.posts}.sqlite3'}"
    if not args.reuse:
        asyncio.run(seed(url, args.topics, args.posts))
    asyncio.run(measure(url, args.runs, build=not args.skip_index))


if __name__ == "__main__":
    main()
