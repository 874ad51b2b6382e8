"""In-app notifications: who hears about what, levels and muting, the page, the API, the
badge, and the immediate emails."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from forum.actions.membership import do_approve_request
from forum.actions.posts import do_create_post
from forum.actions.reactions import do_set_reaction
from forum.actions.topics import do_create_topic
from forum.models import (
    AccessRequest,
    AccessStatus,
    Notification,
    OutboxMessage,
    Role,
    Topic,
    TopicNotification,
    User,
)
from forum.settings import Settings
from moderation import review
from notifications.immediate import send_immediate
from notifications.notify import do_set_category_level, do_set_topic_level
from notifications.outbox import send_due
from tests.helpers import bearer, categories, log_in, make_user
from tests.mail import Inbox, SMTPServer
from tests.realtime.support import client, serving


async def _kinds(user: User) -> list[str]:
    return [n.kind for n in await Notification.filter(user_id=user.id).order_by("id")]


async def _topic(author: User, slug: str = "iot") -> tuple[Topic, object]:
    cats = await categories()
    topic, post = await do_create_topic(author, cats[slug], "Seals", "first post")
    return topic, post


async def test_replies_quotes_and_mentions_notify_their_member_once_each(db: str) -> None:
    cats = await categories()
    alice, bob, carol = await make_user("alice"), await make_user("bob"), await make_user("carol")
    topic, first = await do_create_topic(alice, cats["iot"], "Seals", "first post")
    await do_create_post(bob, topic, cats["iot"], "an answer", reply_to=first)
    assert await _kinds(alice) == ["reply"]
    await do_create_post(carol, topic, cats["iot"], f"> **@alice** [wrote](/p/{first.id}):\n> x")
    assert await _kinds(alice) == ["reply", "quote"]  # quoted (and mentioned): one row
    await do_create_post(alice, topic, cats["iot"], "thanks @carol and @alice")
    assert await _kinds(carol) == ["mention"]
    assert await _kinds(alice) == ["reply", "quote"]  # never the actor


async def test_the_author_tracks_and_watchers_hear_of_new_topics_and_posts(db: str) -> None:
    cats = await categories()
    alice, bob, carol = await make_user("alice"), await make_user("bob"), await make_user("carol")
    await do_set_category_level(bob, cats["iot"], "watching_first_post")
    await do_set_category_level(carol, cats["iot"], "watching")
    topic, _first = await do_create_topic(alice, cats["iot"], "Seals", "first post")
    assert (
        await TopicNotification.get(user_id=alice.id, topic_id=topic.id).values_list(
            "level", flat=True
        )
        == "tracking"
    )
    assert await _kinds(bob) == ["new_topic"] and await _kinds(carol) == ["new_topic"]
    await do_create_post(alice, topic, cats["iot"], "more")
    assert await _kinds(bob) == ["new_topic"]
    assert await _kinds(carol) == ["new_topic", "watching"]
    await do_set_topic_level(bob, topic, "watching")
    await do_set_topic_level(carol, topic, "muted")  # muting wins
    await do_create_post(alice, topic, cats["iot"], "again")
    assert await _kinds(bob) == ["new_topic", "watching"]
    assert await _kinds(carol) == ["new_topic", "watching"]


async def test_nobody_hears_of_what_they_cannot_see(db: str) -> None:
    cats = await categories()
    outsider = await make_user("outsider", verified=False)
    alice = await make_user("alice")
    await do_set_category_level(outsider, cats["welcome"], "watching")
    topic, _ = await do_create_topic(alice, cats["iot"], "Seals", "hi @outsider")
    assert await _kinds(outsider) == []
    assert topic.id


async def test_reactions_group_into_one_unread_row(db: str) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, first = await do_create_topic(alice, cats["iot"], "Seals", "first post")
    for name in ("bob", "carol", "dave"):
        await do_set_reaction(await make_user(name), first, topic, cats["iot"], "like", True)
    [note] = await Notification.filter(user_id=alice.id, kind="reaction")
    assert note.count == 3 and note.actor_id == (await User.get(username="dave")).id


async def test_the_page_badge_and_api_mark_read(client: httpx.AsyncClient, db: str) -> None:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    topic, first = await do_create_topic(alice, cats["iot"], "Seals", "first post")
    await do_create_post(bob, topic, cats["iot"], "one", reply_to=first)
    await do_create_post(bob, topic, cats["iot"], "hi @alice")
    csrf = await log_in(client, alice)
    page = await client.get("/notifications")
    assert page.status_code == 200
    assert "Bob replied to your post" in page.text and "Bob mentioned you" in page.text
    assert 'id="live-notifications" href="/notifications" title' in page.text
    home = await client.get("/")
    assert ">2</a>" in home.text
    api = (await client.get("/api/v1/notifications")).json()
    assert api["unread"] == 2 and [n["kind"] for n in api["notifications"]] == ["mention", "reply"]
    opened = await client.get(f"/notifications/{api['notifications'][1]['id']}")
    assert opened.status_code in (302, 303) and opened.headers["location"] == f"/p/{first.id + 1}"
    assert (await client.get("/api/v1/notifications")).json()["unread"] == 1
    marked = await client.post(
        "/api/v1/notifications/read", json={"all": True}, headers={"X-CSRF-Token": csrf}
    )
    assert marked.json() == {"marked": 1, "unread": 0}


async def test_levels_from_the_topic_page_the_category_page_and_the_settings_page(
    client: httpx.AsyncClient, db: str
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, _ = await do_create_topic(alice, cats["iot"], "Seals", "first post")
    csrf = await log_in(client, alice)
    assert 'value="tracking" selected' in (await client.get(f"/t/{topic.id}")).text
    await client.post(f"/t/{topic.id}/notifications", data={"csrf_token": csrf, "level": "muted"})
    assert 'value="muted" selected' in (await client.get(f"/t/{topic.id}")).text
    assert 'value="normal" selected' in (await client.get("/c/iot")).text  # the default
    back = await client.post(
        "/c/iot/notifications", data={"csrf_token": csrf, "level": "watching_first_post"}
    )
    assert back.headers["location"] == "/c/iot"
    assert 'value="watching_first_post" selected' in (await client.get("/c/iot")).text
    await client.post(
        "/c/iot/notifications", data={"csrf_token": csrf, "level": "watching", "back": "settings"}
    )
    settings = await client.get("/account/notifications")
    assert 'value="watching" selected' in settings.text
    assert 'value="watching" selected' in (await client.get("/c/iot")).text
    # a category without topics: the level is not read with its (no) rows but apart
    await client.post("/c/drones/notifications", data={"csrf_token": csrf, "level": "muted"})
    assert 'value="muted" selected' in (await client.get("/c/drones")).text
    await client.post("/account/notifications", data={"csrf_token": csrf, "email_replies": "1"})
    fresh = await User.get(id=alice.id)
    assert fresh.email_replies and not fresh.email_mentions


async def test_immediate_emails_group_and_wait_for_ten_minutes_away(db: str) -> None:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    topic, first = await do_create_topic(alice, cats["iot"], "Seals", "first post")
    await do_create_post(bob, topic, cats["iot"], "one", reply_to=first)
    await do_create_post(bob, topic, cats["iot"], "hi @alice")
    settings = Settings(base_url="https://forum.example")
    now = datetime.now(UTC)
    assert await send_immediate(settings, now=now) == 0  # the window is still open
    await User.filter(id=alice.id).update(last_seen_at=now + timedelta(minutes=5))
    assert await send_immediate(settings, now=now + timedelta(minutes=11)) == 0  # seen
    assert await OutboxMessage.all().count() == 0

    await do_create_post(bob, topic, cats["iot"], "two", reply_to=first)
    await do_create_post(bob, topic, cats["iot"], "three", reply_to=first)
    await User.filter(id=alice.id).update(last_seen_at=now - timedelta(hours=1))
    assert await send_immediate(settings, now=now + timedelta(minutes=11)) == 1
    [mail] = await OutboxMessage.all()
    assert mail.to_address == "alice@example.org"
    assert len(mail.context["items"]) == 2
    assert await send_immediate(settings, now=now + timedelta(minutes=30)) == 0  # sent once


async def test_two_workers_at_once_send_one_immediate_email(db: str) -> None:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    topic, first = await do_create_topic(alice, cats["iot"], "Seals", "first post")
    for n in range(3):
        await do_create_post(bob, topic, cats["iot"], f"answer {n}", reply_to=first)
    await User.filter(id=alice.id).update(last_seen_at=datetime.now(UTC) - timedelta(hours=1))
    settings = Settings(base_url="https://forum.example")
    later = datetime.now(UTC) + timedelta(minutes=11)
    rounds = await asyncio.gather(*(send_immediate(settings, now=later) for _ in range(4)))
    assert sorted(rounds) == [0, 0, 0, 1]
    [mail] = await OutboxMessage.filter(to_address="alice@example.org")
    assert len(mail.context["items"]) == 3


async def test_decisions_on_a_members_post_and_access_request_notify_them(db: str) -> None:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    mod = await make_user("mod", role=Role.MODERATOR)
    topic, _ = await do_create_topic(mod, cats["iot"], "Seals", "first post")
    post = await do_create_post(alice, topic, cats["iot"], "an advert")
    item = await review.do_flag(bob, post, topic, cats["iot"], "spam")
    await review.do_decide(mod, item.id, "hide", "Adverts are not allowed")
    assert "moderation" in await _kinds(alice)

    admin = await make_user("admin", role=Role.ADMIN)
    applicant = await make_user("applicant", verified=False)
    request = await AccessRequest.create(
        email=applicant.email, full_name="Applicant", status=AccessStatus.PENDING, user=applicant
    )
    await do_approve_request(admin, Settings(), request.id, "welcome")
    assert await _kinds(applicant) == ["access"]


async def test_an_away_members_immediate_email_reaches_a_real_smtp_server(
    smtp: SMTPServer, db: str
) -> None:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    topic, first = await do_create_topic(alice, cats["iot"], "Seals <and> locks", "first post")
    await do_create_post(bob, topic, cats["iot"], "a reply for you", reply_to=first)
    await User.filter(id=alice.id).update(last_seen_at=datetime.now(UTC) - timedelta(hours=1))
    settings = Settings(smtp_url=smtp.url, base_url="https://forum.example")
    later = datetime.now(UTC) + timedelta(minutes=11)

    assert await send_immediate(settings, now=later) == 1
    assert await send_due(settings) == 1

    message = await smtp.inbox.wait_for("alice@example.org")
    assert "Seals <and> locks" in Inbox.text(message)
    assert message["Auto-Submitted"] == "auto-generated"


async def test_a_new_notification_updates_the_open_pages_badge(settings: Settings) -> None:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    topic, first = await do_create_topic(alice, cats["iot"], "Seals", "first post")
    async with serving(settings) as served, client(served, headers=await bearer(alice)) as ws:
        await ws.subscribe("user")
        await do_create_post(bob, topic, cats["iot"], "a reply", reply_to=first)
        frames = [f for f in await ws.events(1) if f["name"] == "notification.created"]
        assert frames and frames[0]["data"]["unread"] == 1
