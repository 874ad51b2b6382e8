"""The email digest: what each member gets (as they see the forum), when (their local hour,
across daylight saving), once per period, and how they stop it in one click."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
import pytest

from forum.actions.topics import do_create_topic
from forum.models import (
    Category,
    CategoryNotification,
    DigestFrequency,
    DigestSent,
    NotificationLevel,
    OutboxMessage,
    Post,
    Role,
    Topic,
    User,
    Visibility,
)
from forum.settings import Settings
from notifications import digest, mailer
from notifications.outbox import send_due
from tests.helpers import TEST_SECRET, categories, log_in, make_user
from tests.mail import Inbox, SMTPServer

SETTINGS = Settings(secret_key=TEST_SECRET, base_url="https://forum.example")


def _soon() -> datetime:
    """A few seconds from now, or, early on a Monday, the members' default hour that week
    (weekly, Monday 08:00 UTC): before it this week's digest is not due yet."""
    soon = datetime.now(UTC) + timedelta(seconds=5)
    monday = soon.date() - timedelta(days=soon.weekday())
    return max(soon, datetime.combine(monday, time(8), tzinfo=UTC))


async def _staff_room() -> Category:
    return await Category.create(
        slug="staff-room", name="Staff room", visibility=Visibility.STAFF, position=99
    )


async def _queued(user: User) -> dict[str, Any]:
    [message] = await OutboxMessage.filter(user_id=user.id)
    return message.context


def _titles(context: dict[str, Any]) -> list[str]:
    return [t["title"] for t in context["topics"]]


async def test_each_member_gets_what_they_may_see_and_have_not_muted(db: str) -> None:
    cats = await categories()
    room = await _staff_room()
    admin = await make_user("admin", role=Role.ADMIN)
    alice, bob = await make_user("alice"), await make_user("bob")
    await do_create_topic(admin, cats["iot"], "Electronic seals <b>now</b>", "first")
    await do_create_topic(admin, room, "Staff only: a sanction to discuss", "secret")
    await do_create_topic(admin, cats["drones"], "Drones at the border", "hi")
    await CategoryNotification.create(
        user_id=bob.id, category_id=cats["drones"].id, level=NotificationLevel.MUTED
    )
    await CategoryNotification.create(
        user_id=alice.id, category_id=cats["drones"].id, level=NotificationLevel.WATCHING
    )
    unverified = await make_user("newbie", verified=False)
    suspended = await make_user("gone")
    await User.filter(id=suspended.id).update(suspended_until=datetime.now(UTC) + timedelta(days=3))

    report = await digest.run_round(SETTINGS, now=_soon())

    alice_gets, bob_gets = await _queued(alice), await _queued(bob)
    assert _titles(alice_gets)[0] == "Drones at the border"  # watched categories first
    assert "Staff only: a sanction to discuss" not in _titles(alice_gets) + _titles(bob_gets)
    assert "Drones at the border" not in _titles(bob_gets)  # muted
    assert "Staff only: a sanction to discuss" in _titles(await _queued(admin))
    assert not await OutboxMessage.filter(user_id__in=[unverified.id, suspended.id]).exists()
    assert report.queued == 3 and report.due == 3


async def test_the_email_has_both_parts_list_headers_and_absolute_links(
    smtp: SMTPServer, db: str
) -> None:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    await User.filter(id=bob.id).update(digest_frequency=DigestFrequency.NEVER)
    await do_create_topic(bob, cats["iot"], "Seals <and> locks", "first")
    await digest.run_round(SETTINGS, now=_soon())

    assert await send_due(Settings(smtp_url=smtp.url, base_url="https://forum.example")) == 1
    message = await smtp.inbox.wait_for("alice@example.org")
    assert message["Subject"] == "Your weekly forum digest"
    assert message["List-Id"] == digest.LIST_ID
    token = digest.unsubscribe_token(TEST_SECRET, alice.id)
    assert message["List-Unsubscribe"].startswith(
        f"<https://forum.example/digest/unsubscribe/{token}>, <mailto:"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = Inbox.text(message)
    assert "Seals <and> locks" in text and "https://forum.example/t/" in text
    assert "https://forum.example/account/digest" in text
    assert "Bob" in text  # new in the directory
    html = message.get_body(preferencelist=("html",))
    assert html is not None and "Seals &lt;and&gt; locks" in str(html.get_content())


async def test_nothing_new_sends_nothing_and_a_second_round_sends_nothing_again(db: str) -> None:
    alice = await make_user("alice")
    await User.filter(id=alice.id).update(created_at=datetime.now(UTC) - timedelta(days=30))
    report = await digest.run_round(SETTINGS, now=_soon())
    assert (report.due, report.skipped, report.queued) == (1, 1, 0)
    assert not await OutboxMessage.exists()
    assert (await DigestSent.get(user_id=alice.id)).outcome == "nothing_new"
    again = await digest.run_round(SETTINGS, now=_soon())
    assert again.due == 0


async def test_brussels_gets_it_at_local_eight_across_the_end_of_summer_time(db: str) -> None:
    cats = await categories()
    author, ana = await make_user("author"), await make_user("ana")
    await User.filter(id=author.id).update(digest_frequency=DigestFrequency.NEVER)
    old = datetime(2026, 9, 1, tzinfo=UTC)
    await User.filter(id__in=[author.id, ana.id]).update(created_at=old)
    await User.filter(id=ana.id).update(timezone="Europe/Brussels", digest_since=old)
    topic, _post = await do_create_topic(author, cats["iot"], "Summer seals", "first")

    async def post_at(moment: datetime) -> None:
        await Post.filter(topic_id=topic.id).update(created_at=moment)
        await Topic.filter(id=topic.id).update(created_at=moment, last_posted_at=moment)

    async def queued_at(iso: str) -> int:
        return (await digest.run_round(SETTINGS, now=datetime.fromisoformat(iso))).queued

    await post_at(datetime(2026, 10, 17, 12, tzinfo=UTC))
    assert await queued_at("2026-10-19T05:59:00+00:00") == 0  # 07:59 summer time
    assert await queued_at("2026-10-19T06:00:00+00:00") == 1  # 08:00 CEST
    await post_at(datetime(2026, 10, 24, 12, tzinfo=UTC))
    assert await queued_at("2026-10-26T06:30:00+00:00") == 0  # 07:30 CET: not yet
    assert await queued_at("2026-10-26T07:00:00+00:00") == 1  # 08:00 CET
    assert await queued_at("2026-10-26T07:30:00+00:00") == 0  # once
    periods = (
        await DigestSent.filter(user_id=ana.id).order_by("id").values_list("period", flat=True)
    )
    assert periods == ["2026-W43", "2026-W44"]


async def test_a_daily_member_in_tokyo_is_due_at_their_hour(db: str) -> None:
    ken = await make_user("ken")
    await User.filter(id=ken.id).update(
        timezone="Asia/Tokyo", digest_frequency=DigestFrequency.DAILY, digest_hour=7
    )
    ken = await User.get(id=ken.id)
    assert digest.due_period(ken, datetime(2026, 12, 1, 21, 59, tzinfo=UTC)) is None
    assert digest.due_period(ken, datetime(2026, 12, 1, 22, 0, tzinfo=UTC)) == "2026-12-02"


async def test_two_rounds_at_once_send_one_digest_per_member(db: str) -> None:
    cats = await categories()
    members = [await make_user(f"member{n}") for n in range(6)]
    await do_create_topic(members[0], cats["iot"], "Busy week", "first")
    now = _soon()
    first, second = await asyncio.gather(
        digest.run_round(SETTINGS, now=now, batch=2), digest.run_round(SETTINGS, now=now, batch=2)
    )
    assert first.queued + second.queued == 6
    assert await OutboxMessage.all().count() == 6
    assert await DigestSent.all().count() == 6


async def test_two_processes_at_once_send_one_digest_per_member(db: str, tmp_path: Any) -> None:
    if not db.startswith("sqlite"):
        pytest.skip("the processes share the SQLite file")
    cats = await categories()
    members = [await make_user(f"member{n}") for n in range(8)]
    await do_create_topic(members[0], cats["iot"], "Busy week", "first")
    env = {**os.environ, "FORUM_DATABASE_URL": db, "FORUM_VAR_DIR": str(tmp_path)}
    env["FORUM_SECRET_KEY"] = TEST_SECRET
    command = [sys.executable, "-m", "forum.cli", "send-digests", "--now", _soon().isoformat()]

    async def one_run() -> tuple[int | None, bytes]:
        run = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        out, _err = await asyncio.wait_for(run.communicate(), timeout=60)
        return run.returncode, out

    outputs = await asyncio.gather(one_run(), one_run())
    assert all(code == 0 and b"failed 0" in out for code, out in outputs), outputs
    assert await OutboxMessage.all().count() == 8
    assert await DigestSent.all().count() == 8


async def test_forum_send_digests_prints_the_summary_and_a_dry_run_queues_nothing(
    db: str, tmp_path: Any
) -> None:
    if not db.startswith("sqlite"):
        pytest.skip("the command runs on the SQLite file")
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    await User.filter(id=bob.id).update(created_at=datetime.now(UTC) - timedelta(days=30))
    await User.filter(id=alice.id).update(created_at=datetime.now(UTC) - timedelta(days=30))
    await do_create_topic(alice, cats["iot"], "Busy week", "first")
    await User.filter(id=alice.id).update(digest_frequency=DigestFrequency.NEVER)
    env = {**os.environ, "FORUM_DATABASE_URL": db, "FORUM_VAR_DIR": str(tmp_path)}
    env["FORUM_SECRET_KEY"] = TEST_SECRET
    command = [sys.executable, "-m", "forum.cli", "send-digests", "--now", _soon().isoformat()]
    dry = await asyncio.to_thread(
        subprocess.run, [*command, "--dry-run"], env=env, capture_output=True, check=False
    )
    assert dry.returncode == 0, dry.stderr
    assert b"due 1, built 1, queued 1, skipped 0 (nothing new), failed 0" in dry.stdout
    assert not await OutboxMessage.exists() and not await DigestSent.exists()
    real = await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, check=False
    )
    assert b"due 1, built 1, queued 1, skipped 0 (nothing new), failed 0" in real.stdout
    assert await OutboxMessage.filter(user_id=bob.id).count() == 1


async def test_a_cookieless_post_unsubscribes_at_once_and_a_get_does_not(
    client: httpx.AsyncClient,
) -> None:
    alice = await make_user("alice")
    token = digest.unsubscribe_token(TEST_SECRET, alice.id)
    url = f"/digest/unsubscribe/{token}"

    shown = await client.get(url)
    assert shown.status_code == 200 and "Unsubscribe" in shown.text
    assert (await User.get(id=alice.id)).digest_frequency == DigestFrequency.WEEKLY

    client.cookies.clear()
    done = await client.post(
        url,
        content="List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200, done.text
    assert (await User.get(id=alice.id)).digest_frequency == DigestFrequency.NEVER

    forged = await client.post(f"/digest/unsubscribe/{alice.id}.{'0' * 64}")
    assert forged.status_code in (403, 404)
    # Other form posts still need their CSRF token.
    assert (await client.post("/account/digest", data={"frequency": "daily"})).status_code == 403


async def test_a_member_chooses_when_and_an_unknown_zone_is_refused(
    client: httpx.AsyncClient,
) -> None:
    alice = await make_user("alice")
    csrf = await log_in(client, alice)
    page = await client.get("/account/digest")
    assert page.status_code == 200 and "Europe/Brussels" in page.text
    form = {"csrf_token": csrf, "frequency": "daily", "weekday": "2", "hour": "7"}
    bad = await client.post("/account/digest", data={**form, "timezone": "Mars/Olympus"})
    assert bad.status_code == 422
    ok = await client.post("/account/digest", data={**form, "timezone": "Europe/Brussels"})
    assert ok.status_code == 303
    saved = await User.get(id=alice.id)
    assert (saved.digest_frequency, saved.digest_hour, saved.timezone) == (
        DigestFrequency.DAILY,
        7,
        "Europe/Brussels",
    )


async def test_an_administrator_previews_a_members_digest_as_them(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    room = await _staff_room()
    admin = await make_user("admin", role=Role.ADMIN)
    await make_user("alice")
    await do_create_topic(admin, room, "Staff only: a sanction", "secret")
    await do_create_topic(admin, cats["iot"], "Seals for everyone", "hi")
    await log_in(client, admin)
    page = await client.get("/admin/digest-preview?user=alice")
    assert page.status_code == 200
    assert "Seals for everyone" in page.text and "Staff only" not in page.text
    assert not await OutboxMessage.exists() and not await DigestSent.exists()


async def test_new_knowledge_entries_are_in_the_digest_as_each_member_may_see_them(
    db: str,
) -> None:
    from knowledge.models import KnowledgeEntry
    from tests.knowledge.entries_support import draft, place, published

    cats = await categories()
    mod = await make_user("mod", role=Role.MODERATOR)
    author = await place(await make_user("author"))
    alice, bob = await make_user("alice"), await make_user("bob")
    entry = await published(author, mod, title="Risk scoring with machine learning")
    await draft(author, title="A draft nobody else may read")
    technology = (await KnowledgeEntry.get(id=entry.id)).technology_id
    await CategoryNotification.create(
        user_id=bob.id, category_id=technology, level=NotificationLevel.MUTED
    )
    await digest.run_round(SETTINGS, now=_soon())

    alice_gets = await _queued(alice)
    assert [e["title"] for e in alice_gets["entries"]] == ["Risk scoring with machine learning"]
    assert alice_gets["entries"][0]["url"] == f"https://forum.example/knowledge/entries/{entry.id}"
    bob_gets = await OutboxMessage.filter(user_id=bob.id).first()
    assert bob_gets is None or bob_gets.context["entries"] == []  # muted technology
    context = (await OutboxMessage.get(user_id=alice.id)).context
    composed = mailer.compose("alice@example.org", "Digest", digest.TEMPLATE, context)
    for part in (composed.text, composed.html or ""):
        assert "Best practice: " in part and "Risk scoring with machine learning" in part
        assert "A draft nobody else may read" not in part
    assert cats["ai-ml"].id == technology


async def test_new_documents_are_in_the_digest_but_not_deleted_ones_or_ones_own(
    db: str, settings: Settings
) -> None:
    from knowledge.documents import do_delete_document
    from tests.knowledge.documents_helpers import make_document

    await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    await make_document(settings, bob, title="Our risk engine, described")
    gone = await make_document(settings, bob, title="A withdrawn draft")
    await do_delete_document(bob, gone)
    await digest.run_round(SETTINGS, now=_soon())

    alice_gets = await _queued(alice)
    assert [d["title"] for d in alice_gets["documents"]] == ["Our risk engine, described"]
    composed = mailer.compose("alice@example.org", "Digest", digest.TEMPLATE, alice_gets)
    assert "New documents" in composed.text and "Our risk engine, described" in composed.text
    bob_gets = await OutboxMessage.filter(user_id=bob.id).first()
    assert bob_gets is None or bob_gets.context["documents"] == []  # not their own
