"""Participation analytics on a forum whose every row the test wrote: exact figures, the
same in the page's tables, its SVG charts and its CSV; and only administrators get in."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import httpx

from forum.actions.posts import do_create_post
from forum.actions.topics import do_create_topic
from forum.models import (
    AccessRequest,
    AccessStatus,
    Post,
    Region,
    ReviewItem,
    ReviewKind,
    ReviewStatus,
    Role,
    Topic,
    User,
)
from readiness.analytics import dashboard, summed_range, window
from readiness.models import ActivityAuthorDay, ActivityCount, ActivityDay
from tests.helpers import categories, log_in, make_user
from tests.readiness.support import administration, ncp
from tests.readiness.test_assessment import svg_bars


async def _at(post: Post, when: datetime) -> None:
    await Post.filter(id=post.id).update(created_at=when)
    if post.number == 1:
        await Topic.filter(id=post.topic_id).update(created_at=when)


async def _forum(now: datetime) -> dict[str, object]:
    """Four topics in the window, one long before it; review items and access requests."""
    cats = await categories()
    ai, chain = cats["ai-ml"], cats["blockchain"]
    alice = await ncp("alice", await administration("FR", Region.EUR))
    bob = await ncp("bob", await administration("KE", Region.ESA))
    carol = await ncp("carol", None)
    await ncp("dora", await administration("BR", Region.AMS))  # an NCP who never posts
    _since, weeks = window(now)
    week9 = datetime.fromisoformat(weeks[9]).replace(tzinfo=UTC)
    week10 = datetime.fromisoformat(weeks[10]).replace(tzinfo=UTC)
    hour = timedelta(hours=1)

    async def topic(user: User, category: object, title: str, when: datetime) -> Topic:
        t, first = await do_create_topic(user, category, title, "An opening post.")  # type: ignore[arg-type]
        await _at(first, when)
        return t

    async def reply(user: User, t: Topic, when: datetime) -> None:
        category = ai if t.category_id == ai.id else chain
        await _at(await do_create_post(user, t, category, "A reply."), when)

    t0 = await topic(alice, ai, "Long ago", now - timedelta(weeks=20))
    t1 = await topic(alice, ai, "Risk targeting pilots", week9 + 10 * hour)
    await reply(bob, t1, week9 + 12 * hour)  # first reply after 2 h
    t4 = await topic(alice, chain, "Ledgers for origin", week9 + 12 * hour)
    await reply(carol, t4, week9 + 36 * hour)  # after 1 day
    await reply(carol, t1, week10 + 30 * hour)
    t2 = await topic(bob, chain, "Certificates", week10 + 57 * hour)
    await reply(alice, t2, week10 + 57.5 * hour)  # after 30 min
    t3 = await topic(carol, ai, "Nobody answers", week10 + 80 * hour)
    await reply(carol, t2, now - timedelta(minutes=1))  # today: read from the posts directly
    for t, views in ((t0, 100), (t1, 50), (t2, 10), (t3, 5), (t4, 0)):
        await Topic.filter(id=t.id).update(views=views)

    decided = week10 + 10 * hour
    for wait in (1, 3, 5):
        item = await ReviewItem.create(
            kind=ReviewKind.QUEUED_POST,
            category_id=ai.id,
            author_id=carol.id,
            status=ReviewStatus.APPROVED,
        )
        await ReviewItem.filter(id=item.id).update(
            created_at=decided - wait * hour, decided_at=decided
        )
    await ReviewItem.create(kind=ReviewKind.QUEUED_POST, category_id=ai.id, author_id=carol.id)
    for days in (1, 3):
        request = await AccessRequest.create(email=f"r{days}@example.org", full_name="R",
                                             status=AccessStatus.APPROVED)  # fmt: skip
        await AccessRequest.filter(id=request.id).update(
            created_at=decided - timedelta(days=days), decided_at=decided
        )
    await AccessRequest.create(email="w@example.org", full_name="W", status=AccessStatus.PENDING)
    return {"weeks": weeks, "t1": t1, "t2": t2, "t4": t4}


async def test_figures_on_a_seeded_forum(db: str) -> None:
    now = datetime.now(UTC)
    made = await _forum(now)
    data = await dashboard(now)
    assert data.weeks == made["weeks"]
    assert data.posts_per_week == [0] * 9 + [4, 4, 1]
    assert data.active_per_week == [0] * 9 + [3, 3, 1]
    assert [(c.key, c.posts, c.active) for c in data.by_category] == [
        ("blockchain", 5, 3), ("ai-ml", 4, 3)
    ]  # fmt: skip
    assert {(c.key, c.posts, c.active) for c in data.by_region} == {
        ("EUR", 3, 1), ("", 4, 1), ("ESA", 2, 1)
    }  # fmt: skip
    a = data.administrations
    assert (a.total, a.with_ncps, a.active) == (3, 3, 2)
    assert a.inactive_with_ncps == [("Customs of BR", "AMS")]
    assert [t.title for t in data.most_viewed] == [
        "Long ago", "Risk targeting pilots", "Certificates", "Nobody answers",
        "Ledgers for origin",
    ]  # fmt: skip
    # Ties (two replies each) go to the newer topic first.
    assert [(t.title, t.replies) for t in data.most_replied[:3]] == [
        ("Certificates", 2), ("Risk targeting pilots", 2), ("Ledgers for origin", 1)
    ]  # fmt: skip
    # First replies after 30 min, 2 h and 1 day: the median is 2 h; one topic waits.
    assert (data.first_reply.count, data.first_reply.waiting) == (3, 1)
    assert abs((data.first_reply.median_seconds or 0) - 7200) < 1
    assert (data.review.count, data.review.waiting) == (3, 1)
    assert abs((data.review.median_seconds or 0) - 3 * 3600) < 1
    assert (data.access.count, data.access.waiting) == (2, 1)
    assert abs((data.access.median_seconds or 0) - 86400) < 1  # the lower of 1 and 3 days

    # Finished days were summed once: a second load reads the sums and adds nothing.
    first, last = summed_range(now)
    assert await ActivityDay.all().count() == (last - first).days + 1
    summed = await ActivityCount.all().values_list("posts", flat=True)
    assert sum(summed) == 8  # the window's posts before today (the old topic is older)
    by_author = await ActivityAuthorDay.all().values_list("posts", flat=True)
    assert sum(by_author) == 8 and len(by_author) == 7  # one row per author and day
    again = await dashboard(now)
    assert again.posts_per_week == data.posts_per_week
    assert again.by_category == data.by_category
    assert await ActivityCount.all().count() == len(summed)


async def test_the_page_charts_and_csv_show_the_same_figures(
    db: str, client: httpx.AsyncClient
) -> None:
    now = datetime.now(UTC)
    await _forum(now)
    admin = await make_user("root", role=Role.ADMIN)
    await log_in(client, admin)
    page = await client.get("/admin/analytics")
    assert page.status_code == 200
    weekly = page.text.split('id="weekly"')[1].split("</section>")[0]
    bars = svg_bars(weekly)
    posts = [int(b.get("data-value") or 0) for b in bars if b.get("data-series") == "Posts"]
    active = [
        int(b.get("data-value") or 0) for b in bars if b.get("data-series") == "Active members"
    ]
    assert posts == [0] * 9 + [4, 4, 1] and active == [0] * 9 + [3, 3, 1]
    heights = [float(b.get("height") or 0) for b in bars if b.get("data-series") == "Posts"]
    tallest = max(heights)
    act_h = [float(b.get("height") or 0) for b in bars if b.get("data-series") == "Active members"]
    assert abs(act_h[9] / tallest - 0.75) < 0.01  # 3 against 4
    assert len(re.findall(r"<td>4</td><td>3</td>", weekly)) == 2
    assert 'href="/admin/analytics"' in page.text  # in the administrators' navigation
    assert re.search(r'id="wait-first-reply".*?<td>2.0 h</td><td>3</td><td>1</td>', page.text)
    assert re.search(r'id="wait-review".*?<td>3.0 h</td><td>3</td><td>1</td>', page.text)
    assert re.search(r'id="wait-access".*?<td>24.0 h</td><td>2</td><td>1</td>', page.text)
    assert "Customs of BR (AMS)" in page.text
    regions = page.text.split('id="regions"')[1].split("</section>")[0]
    drawn = {(b.get("data-label"), b.get("data-series")): b.get("data-value")
             for b in svg_bars(regions)}  # fmt: skip
    assert drawn[("EUR", "Posts")] == "3" and drawn[("ESA", "Posts")] == "2"
    assert drawn[("—", "Posts")] == "4" and drawn[("—", "Active members")] == "1"
    assert re.search(r"No administration</th><td>4</td><td>1</td>", regions)

    exported = await client.get("/admin/analytics.csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    weeks = [r for r in rows if r["section"] == "week"]
    assert [int(r["posts"]) for r in weeks] == [0] * 9 + [4, 4, 1]
    by = {(r["section"], r["label"]): r for r in rows}
    assert by[("category", "ai-ml")]["posts"] == "4"
    assert by[("category", "blockchain")]["posts"] == "5"
    assert by[("region", "none")]["posts"] == "4"
    assert by[("administrations", "with_ncps_inactive_90_days")]["value"] == "1"
    assert by[("first_reply", "median_seconds")]["value"] == "7200"


async def test_only_administrators_reach_the_dashboard(db: str, client: httpx.AsyncClient) -> None:
    for path in ("/admin/analytics", "/admin/analytics.csv"):
        client.cookies.clear()
        visitor = await client.get(path)
        assert visitor.status_code in (302, 303) and "/login" in visitor.headers["location"]
    member = await make_user("alice")
    moderator = await make_user("mod", role=Role.MODERATOR)
    lax = await make_user("lax", role=Role.ADMIN, two_factor=False)
    admin = await make_user("root", role=Role.ADMIN)
    for path in ("/admin/analytics", "/admin/analytics.csv"):
        await log_in(client, member)
        assert (await client.get(path)).status_code == 403
        await log_in(client, moderator)
        assert (await client.get(path)).status_code == 403
        await log_in(client, lax)
        no_2fa = await client.get(path)
        assert no_2fa.status_code in (302, 303)
        assert no_2fa.headers["location"].startswith("/account/security")
        await log_in(client, admin)
        assert (await client.get(path)).status_code == 200
