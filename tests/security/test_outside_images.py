"""Images from other servers in posts: a reader's browser never fetches them (they would learn
every reader's address). They are shown as links; the forum's own images stay images, and the
Content-Security-Policy lets images come from the forum only. Posts stored before the rule are
rewritten by migration 0011."""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tortoise import connections
from tortoise.migrations.api.migrate import migrate as run_migrations

from forum.actions.posts import do_create_post
from forum.actions.topics import do_create_topic
from forum.app import create_app
from forum.db import close_db, init_db, migrate, tortoise_config
from forum.models import Post, PostRevision, Topic
from forum.settings import Settings
from tests.forum.test_migrations import _insert_row
from tests.helpers import TEST_SECRET, categories, log_in, make_user, relax_moderation
from tests.web.support import article, csrf_from

PIXEL = "https://tracker.example/pixel.png"
BODY = (
    f"Our scanner:\n\n![the scanner]({PIXEL})\n\n![]( //cdn.example/a.png)\n\n"
    "![backslash](/\\tracker.example/b.png) and ![my avatar](/avatars/1.png)"
)
_IMG_SRC = re.compile(r'<img [^>]*src="([^"]*)"')


def _img_sources(html: str) -> list[str]:
    return _IMG_SRC.findall(html)


async def test_a_remote_image_in_a_new_post_is_a_link_and_the_forums_own_stays(
    client: httpx.AsyncClient,
) -> None:
    member = await make_user("alice")
    await categories()
    slug = "iot"
    token = await log_in(client, member)
    created = await client.post(
        f"/c/{slug}/new", data={"csrf_token": token, "title": "Scanners", "body": BODY}
    )
    assert created.status_code == 303, created.text
    page = await client.get(created.headers["location"])
    first = article(page.text, 1)

    # The backslash reaches the page percent-encoded: a path on the forum, not another host.
    assert _img_sources(first) == ["/%5Ctracker.example/b.png", "/avatars/1.png"]
    assert f'<a href="{PIXEL}" rel="nofollow ugc noopener">the scanner</a>' in first
    assert '<a href="//cdn.example/a.png" rel="nofollow ugc noopener">' in first
    img_src = _csp(page)["img-src"]
    assert img_src == "img-src 'self'"

    reply = await client.post(
        f"{created.headers['location']}/reply",
        data={"csrf_token": csrf_from(page), "body": f"again ![x]({PIXEL})"},
    )
    assert reply.status_code == 303
    topic = await Topic.get(title="Scanners")
    api = await client.get(f"/api/v1/topics/{topic.id}")
    assert api.status_code == 200
    posts = api.json()["posts"]
    assert len(posts) == 2 and f'<a href="{PIXEL}"' in posts[1]["html"]
    assert [_img_sources(p["html"]) for p in posts] == [_img_sources(first), []]


def _csp(response: httpx.Response) -> dict[str, str]:
    csp = response.headers["content-security-policy"]
    return {part.strip().split(" ", 1)[0]: part.strip() for part in csp.split(";")}


OLD_HTML = (  # what the renderer stored before the rule
    f'<p>Our scanner:</p>\n<p><img src="{PIXEL}" alt="the &amp; scanner"></p>\n'
    '<p><img src="/avatars/1.png" alt="mine"></p>'
)


# Columns that migrations after 0010 add and today's actions write (0015_content_language).
_LATER_COLUMNS = (
    ("posts", "language"),
    ("topics", "language"),
    ("review_items", "language"),
    ("users", "language_chosen_at"),
    ("users", "seen_language"),
)


@pytest.fixture
async def earlier_forum(tmp_path: Path) -> AsyncIterator[str]:
    """A forum at migration 0010 whose first post and its revision hold a remote image."""
    url = f"sqlite://{tmp_path / 'earlier.sqlite3'}"
    await run_migrations(config=tortoise_config(url), target="forum.0010_search")
    await close_db()
    # Today's actions write posts with today's code, which also clears the author's draft
    # (migration 0012) and writes the content's and the member's languages (0015): stand-ins
    # for that table and those columns exist while they run, and go before the forum is
    # migrated on.
    with contextlib.closing(sqlite3.connect(tmp_path / "earlier.sqlite3")) as conn:
        conn.execute("CREATE TABLE drafts (id INTEGER PRIMARY KEY, user_id INT, key TEXT)")
        for table, column in _LATER_COLUMNS:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")
        conn.commit()
    await init_db(url)
    await relax_moderation()
    member = await make_user("alice")
    category = (await categories())["iot"]
    topic, post = await do_create_topic(member, category, "Scanners", "placeholder")
    await do_create_post(member, topic, category, "a reply without images")
    await close_db()
    with contextlib.closing(sqlite3.connect(tmp_path / "earlier.sqlite3")) as conn:
        conn.execute("DROP TABLE drafts")
        for table, column in _LATER_COLUMNS:
            conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        conn.execute("UPDATE posts SET html = ? WHERE id = ?", (OLD_HTML, post.id))
        conn.execute("UPDATE post_revisions SET html = ? WHERE post_id = ?", (OLD_HTML, post.id))
        for table in ("knowledge_entries", "knowledge_entry_versions"):
            _insert_row(conn, table)
        fields = json.dumps({"context": OLD_HTML, "lessons": "<p>none</p>"})
        conn.execute("UPDATE knowledge_entries SET html = ?", (fields,))
        version = json.dumps({"title": "t", "html": json.loads(fields)})
        conn.execute("UPDATE knowledge_entry_versions SET data = ?", (version,))
        conn.commit()
    yield url
    await close_db()


async def test_posts_stored_before_the_rule_are_shown_without_the_remote_image(
    earlier_forum: str, tmp_path: Path
) -> None:
    applied = await migrate(earlier_forum)
    assert [name for name in applied if "0011" in name], applied

    await init_db(earlier_forum)
    topic = await Topic.get(title="Scanners")
    post = await Post.get(topic_id=topic.id, number=1)
    revision = await PostRevision.get(post_id=post.id)
    for html in (post.html, revision.html):
        assert _img_sources(html) == ["/avatars/1.png"]
        assert f'<a href="{PIXEL}" rel="nofollow ugc noopener">the &amp; scanner</a>' in html
    untouched = await Post.get(topic_id=topic.id, number=2)
    assert untouched.html == "<p>a reply without images</p>"
    conn = connections.get("default")
    [entry] = await conn.execute_query_dict("SELECT html FROM knowledge_entries")
    [version] = await conn.execute_query_dict("SELECT data FROM knowledge_entry_versions")
    data = json.loads(version["data"])
    for fields in (json.loads(entry["html"]), data["html"]):
        assert _img_sources(fields["context"]) == ["/avatars/1.png"]
        assert f'href="{PIXEL}"' in fields["context"] and fields["lessons"] == "<p>none</p>"
    assert data["title"] == "t"

    settings = Settings(
        database_url=earlier_forum,
        broker_url="memory://",
        smtp_url=f"file://{tmp_path}/outbox",
        secret_key=TEST_SECRET,
        base_url="http://testserver",
        var_dir=tmp_path / "var",
    )
    application = create_app(settings, manage_db=False)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            await log_in(c, await post.author)
            page = await c.get(f"/t/{topic.id}")
    assert page.status_code == 200
    assert PIXEL not in "".join(_img_sources(page.text))
    assert f'href="{PIXEL}"' in article(page.text, 1)
