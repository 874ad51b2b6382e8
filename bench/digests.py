"""Digest round at scale (run by hand): `python -m bench.digests [--members 10000]`.

Seeds 10,000 verified members, 2,000 topics and 40,000 posts in the week (bulk inserts into a
new SQLite file), runs a digest round for 2,000 and then for 10,000 members, delivers the
outbox to a local aiosmtpd sink (its own process, as a mail server is) and prints digests/s,
total time and peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import resource
import socket
import tempfile
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from pathlib import Path

from aiosmtpd.controller import Controller

from forum.db import close_db, init_db, migrate
from forum.models import Category, DigestFrequency, DigestSent, OutboxMessage, Post, Topic, User
from forum.seed import seed_categories
from forum.settings import Settings
from notifications import digest
from notifications.outbox import send_due

BATCH = 1000


class Sink:
    """Counts what it accepts; runs in its own process, as a mail server would."""

    def __init__(self, count: Synchronized[int]) -> None:
        self.count = count

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        with self.count.get_lock():
            self.count.value += 1
        return "250 OK"


def serve_sink(port: int, count: Synchronized[int], stop: Event) -> None:
    controller = Controller(Sink(count), hostname="127.0.0.1", port=port)
    controller.start()
    stop.wait()
    controller.stop()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def seed(members: int, topics: int, posts: int, now: datetime) -> None:
    await seed_categories()
    categories = [c for c in await Category.all() if c.visibility != "staff"]
    long_ago = now - timedelta(days=90)
    for start in range(0, members, BATCH):
        await User.bulk_create(
            [
                User(
                    email=f"m{n}@example.org",
                    username=f"m{n}",
                    display_name=f"Member {n}",
                    password_hash="!",
                    is_verified=True,
                    verified_until=now + timedelta(days=300),
                    timezone=random.choice(["UTC", "Europe/Brussels", "Asia/Tokyo"]),
                    created_at=long_ago if n > 20 else now - timedelta(days=2),
                )
                for n in range(start, min(start + BATCH, members))
            ]
        )
    author_ids = await User.all().limit(200).values_list("id", flat=True)
    week = [now - timedelta(seconds=random.randint(3600, 6 * 86400)) for _ in range(topics)]
    await Topic.bulk_create(
        [
            Topic(
                category_id=random.choice(categories).id,
                author_id=random.choice(author_ids),
                title=f"Topic {n} about seals, scans and risk",
                post_count=posts // topics,
                highest_post_number=posts // topics,
                created_at=week[n],
                last_posted_at=week[n] + timedelta(hours=1),
            )
            for n in range(topics)
        ],
        batch_size=BATCH,
    )
    topic_ids = await Topic.all().values_list("id", flat=True)
    rows = []
    for n in range(posts):
        rows.append(
            Post(
                topic_id=topic_ids[n % topics],
                number=n // topics + 1,
                author_id=random.choice(author_ids),
                source="a post",
                html="<p>a post</p>",
                created_at=now - timedelta(seconds=random.randint(60, 6 * 86400)),
            )
        )
        if len(rows) == BATCH:
            await Post.bulk_create(rows)
            rows = []


async def wait_for_port(port: int) -> None:
    for _ in range(200):  # at most 10 s
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    raise SystemExit("the SMTP sink did not start")


async def one_round(settings: Settings, now: datetime, due: int) -> tuple[int, float, int]:
    await DigestSent.all().delete()
    await OutboxMessage.all().delete()
    await User.all().update(digest_frequency=DigestFrequency.WEEKLY, digest_since=None)
    cutoff = await User.all().order_by("id").offset(due - 1).first()
    assert cutoff is not None
    await User.filter(id__gt=cutoff.id).update(digest_frequency=DigestFrequency.NEVER)
    started = time.perf_counter()
    report = await digest.run_round(settings, now=now)
    built = time.perf_counter() - started
    delivered = 0
    while (sent := await send_due(settings, limit=200)) > 0:
        delivered += sent
    return report.queued, built, delivered


async def main(members: int) -> None:
    path = Path(tempfile.mkdtemp()) / "digests.sqlite3"
    url = f"sqlite://{path}"
    await migrate(url)
    await init_db(url)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    count: Synchronized[int] = multiprocessing.Value("i", 0)  # type: ignore[assignment]
    stop = multiprocessing.Event()
    sink = multiprocessing.Process(target=serve_sink, args=(port, count, stop), daemon=True)
    sink.start()
    await wait_for_port(port)
    settings = Settings(
        database_url=url, smtp_url=f"smtp://127.0.0.1:{port}", base_url="https://forum.example"
    )
    # A Tuesday noon: everyone's Monday 08:00 has passed, in every zone.
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    started = time.perf_counter()
    await seed(members, 2000, 40_000, now)
    print(
        f"seeded {members} members, 2000 topics, 40000 posts"
        f" in {time.perf_counter() - started:.1f} s"
    )
    print(
        f"{'members':>8} {'queued':>7} {'build s':>8} {'digests/s':>10}"
        f" {'deliver s':>10} {'total s':>8} {'peak RSS MB':>12}"
    )
    for due in (2000, members):
        t0 = time.perf_counter()
        queued, built, delivered = await one_round(settings, now, due)
        total = time.perf_counter() - t0
        print(
            f"{due:>8} {queued:>7} {built:>8.1f} {queued / built:>10.0f}"
            f" {total - built:>10.1f} {total:>8.1f} {peak_rss_mb():>12.0f}"
            f"   (sent {delivered}; the sink has accepted {count.value} so far)"
        )
    stop.set()
    sink.join(timeout=10)
    await close_db()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=10_000)
    asyncio.run(main(parser.parse_args().members))
