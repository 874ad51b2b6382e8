"""Posts and topic titles keep the language they were written in (`lang`, chosen in the
composer or the API's `lang` field, by default the author's interface language), on every
page that shows them and in emails; a member's language choice made last wins."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import httpx

from forum.actions.posts import do_create_post
from forum.actions.topics import do_create_topic
from forum.models import Post, Topic, User
from forum.settings import Settings
from notifications.immediate import send_immediate
from tests.helpers import PASSWORD, anonymous_csrf, categories, log_in, make_user
from tests.i18n.test_pages import assert_english, assert_french
from tests.mail import SMTPServer
from tests.web.support import article, csrf_from, log_in_with_form

FRENCH_REPLY = "Les scellés électroniques ont réduit les délais de moitié dans nos bureaux."


def composer_language(html: str) -> str:
    """The language selected in the page's composer."""
    select = re.search(r'<select id="[a-z-]+-lang" name="lang">(.*?)</select>', html, re.S)
    assert select, "the composer has no language select"
    chosen = re.findall(r'<option value="([a-z]+)" lang="[a-z]+" selected>', select.group(1))
    assert len(chosen) == 1
    return chosen[0]


async def away(user: User) -> None:
    """Not seen for an hour: immediate emails are due (notifications/immediate.py)."""
    await User.filter(id=user.id).update(last_seen_at=datetime.now(UTC) - timedelta(hours=1))


async def send_immediate_emails(settings: Settings) -> None:
    assert await send_immediate(settings, now=datetime.now(UTC) + timedelta(minutes=11)) == 1


async def test_a_french_reply_is_marked_french_on_the_topic_page_and_in_the_email(
    client: httpx.AsyncClient, smtp: SMTPServer, settings: Settings
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, first = await do_create_topic(alice, cats["iot"], "Electronic seals", "Which ones?")
    amelie = await make_user("amelie")
    await log_in(client, amelie)
    page = await client.get(f"/t/{topic.id}")
    assert composer_language(page.text) == "en"  # her pages are English: so is the default
    assert '<label for="reply-body-lang">Language of the post</label>' in page.text

    sent = await client.post(
        f"/t/{topic.id}/reply",
        data={
            "csrf_token": csrf_from(page),
            "body": FRENCH_REPLY,
            "reply_to": str(first.id),
            "lang": "fr",
        },
    )
    assert sent.status_code == 303
    reply = await Post.get(topic_id=topic.id, number=2)
    assert reply.language == "fr"

    shown = (await client.get(f"/t/{topic.id}")).text
    assert '<h1 lang="en">Electronic seals</h1>' in shown
    assert '<div class="post-body" lang="en"><p>Which ones?</p>' in article(shown, 1)
    assert f'<div class="post-body" lang="fr"><p>{FRENCH_REPLY}</p>' in article(shown, 2)

    # Alice reads English; the reply's words are marked French in her email.
    await away(alice)
    await send_immediate_emails(settings)
    message = await smtp.inbox.wait_for("alice@example.org")
    assert message["Subject"] == "New activity for you on the Smart Customs Forum"
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    content = str(html.get_content())
    assert f'<blockquote lang="fr">{FRENCH_REPLY}</blockquote>' in content
    assert (
        '<a href="http://testserver/p/' in content and 'lang="en">Electronic seals</a>' in content
    )


async def test_a_french_topic_is_marked_in_lists_search_and_profiles(
    client: httpx.AsyncClient,
) -> None:
    await categories()
    amelie = await make_user("amelie")
    await log_in(client, amelie)
    form = await client.get("/c/iot/new")
    assert composer_language(form.text) == "en"
    sent = await client.post(
        "/c/iot/new",
        data={
            "csrf_token": csrf_from(form),
            "title": "Scellés électroniques aux frontières",
            "body": FRENCH_REPLY,
            "tags": "",
            "lang": "fr",
        },
    )
    assert sent.status_code == 303
    topic = await Topic.get(title="Scellés électroniques aux frontières")
    assert topic.language == "fr"

    listing = (await client.get("/c/iot")).text
    assert re.search(rf'class="topic-title" href="/t/{topic.id}" lang="fr">', listing)
    profile = (await client.get("/u/amelie")).text
    assert 'lang="fr">Scell' in profile and '<p class="excerpt" lang="fr">Les scell' in profile
    found = (await client.get("/search", params={"q": "scellés"})).text
    assert re.search(rf'<a href="/t/{topic.id}" lang="fr">', found), found
    assert '<p class="snippet" lang="fr">' in found


async def test_a_refused_reply_keeps_its_chosen_language(client: httpx.AsyncClient) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, _first = await do_create_topic(alice, cats["iot"], "Electronic seals", "Which ones?")
    token = await log_in(client, alice)
    refused = await client.post(
        f"/t/{topic.id}/reply", data={"csrf_token": token, "body": "  ", "lang": "fr"}
    )
    assert refused.status_code == 422
    assert composer_language(refused.text) == "fr"
    wrong = await client.post(
        f"/t/{topic.id}/reply", data={"csrf_token": token, "body": "Bonjour", "lang": "de"}
    )
    assert wrong.status_code == 422 and "Choose English or French" in wrong.text
    assert await Post.filter(topic_id=topic.id).count() == 1


async def test_editing_a_first_post_can_change_its_and_its_titles_language(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, first = await do_create_topic(alice, cats["iot"], "Scellés", "Lesquels choisir ?")
    assert first.language == "en"  # written outside any page: English
    token = await log_in(client, alice)
    form = await client.get(f"/p/{first.id}/edit")
    assert composer_language(form.text) == "en"
    saved = await client.post(
        f"/p/{first.id}/edit",
        data={"csrf_token": token, "title": "Scellés", "tags": "", "body": "Lesquels choisir ?",
              "lang": "fr"},
    )  # fmt: skip
    assert saved.status_code == 303
    post = await Post.get(id=first.id)
    assert post.language == "fr" and post.version == 1  # the same text: no new revision
    assert (await Topic.get(id=topic.id)).language == "fr"
    shown = (await client.get(f"/t/{topic.id}")).text
    assert '<h1 lang="fr">Scell' in shown and '<div class="post-body" lang="fr">' in shown


async def test_a_visitor_who_chose_french_then_logs_in_sees_french(
    client: httpx.AsyncClient,
) -> None:
    await make_user("alice")  # automatic, the default
    assert_english(await client.get("/"))
    switched = await client.post(
        "/language", data={"csrf_token": anonymous_csrf(client), "language": "fr"}
    )
    assert switched.status_code == 303
    logged_in = await log_in_with_form(client, "alice@example.org", PASSWORD)
    assert logged_in.status_code == 303
    assert_french(await client.get("/", headers={"Accept-Language": "en"}))
    alice = await User.get(username="alice")
    assert alice.preferred_language == "auto" and alice.mail_language == "fr"


async def test_at_login_the_later_of_the_switcher_and_the_saved_language_wins(
    client: httpx.AsyncClient,
) -> None:
    alice = await make_user("alice")
    chosen_earlier = datetime.now(UTC) - timedelta(days=3)
    await User.filter(id=alice.id).update(
        preferred_language="en", language_chosen_at=chosen_earlier
    )
    await client.post("/language", data={"csrf_token": anonymous_csrf(client), "language": "fr"})
    await log_in_with_form(client, "alice@example.org", PASSWORD)
    assert_french(await client.get("/"))
    assert (await User.get(id=alice.id)).preferred_language == "fr"  # saved: every device
    await client.post("/logout", data={"csrf_token": csrf_from(await client.get("/"))})

    # A choice saved after the cookie was set (on another device, say) is not undone by it.
    yesterday = int(time.time()) - 86400
    await User.filter(id=alice.id).update(
        preferred_language="en", language_chosen_at=datetime.now(UTC)
    )
    client.cookies.set("lang", f"fr.{yesterday}")
    await log_in_with_form(client, "alice@example.org", PASSWORD)
    assert_english(await client.get("/"))
    assert (await User.get(id=alice.id)).preferred_language == "en"


async def test_a_member_who_switches_while_signed_in_gets_it_saved_and_in_the_next_email(
    client: httpx.AsyncClient, smtp: SMTPServer, settings: Settings
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    bob = await make_user("bob")
    topic, first = await do_create_topic(alice, cats["iot"], "Electronic seals", "Which ones?")
    await log_in_with_form(client, "alice@example.org", PASSWORD)
    page = await client.get("/")
    assert_english(page)
    switched = await client.post(
        "/language", data={"csrf_token": csrf_from(page), "language": "fr", "next": "/"}
    )
    assert switched.status_code == 303
    saved = await User.get(id=alice.id)
    assert saved.preferred_language == "fr" and saved.language_chosen_at is not None

    await do_create_post(bob, topic, cats["iot"], "The RFID ones.", reply_to=first)
    await away(alice)
    await send_immediate_emails(settings)
    message = await smtp.inbox.wait_for("alice@example.org")
    assert message["Subject"] == "Nouvelle activité pour vous sur le Forum Smart Customs"
    html = message.get_body(preferencelist=("html",))
    assert html is not None and '<blockquote lang="en">The RFID ones.</blockquote>' in str(
        html.get_content()
    )


async def test_an_automatic_members_emails_follow_the_language_of_their_pages(
    client: httpx.AsyncClient, smtp: SMTPServer, settings: Settings
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    bob = await make_user("bob")
    topic, first = await do_create_topic(alice, cats["iot"], "Electronic seals", "Which ones?")
    page = await client.get("/login", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    await client.post(
        "/login",
        data={"csrf_token": csrf_from(page), "email": "alice@example.org", "password": PASSWORD},
        headers={"Accept-Language": "fr-FR,fr;q=0.9"},
    )
    stored = await User.get(id=alice.id)
    assert stored.preferred_language == "auto" and stored.seen_language == "fr"

    await do_create_post(bob, topic, cats["iot"], "The RFID ones.", reply_to=first)
    await away(alice)
    await send_immediate_emails(settings)
    message = await smtp.inbox.wait_for("alice@example.org")
    assert message["Subject"] == "Nouvelle activité pour vous sur le Forum Smart Customs"
