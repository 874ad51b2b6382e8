"""Pages in the reader's language: the member's setting, else the `lang` cookie, else
Accept-Language, else English; the header's switcher; dates and counts written the
language's way; content marked with the language it was written in."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from forum import i18n
from forum.actions.topics import do_create_topic
from forum.db import count_queries
from forum.formats import format_day, format_moment, format_number
from forum.models import Category, Post, Role, User
from forum.web.templating import timeago
from tests.helpers import anonymous_csrf, categories, log_in, make_user
from tests.knowledge.entries_support import place, published

HTML_LANG = re.compile(r'<html lang="([a-z]+)">')


def words(page: httpx.Response) -> str:
    """The page's text as read (entities decoded: French has apostrophes)."""
    return html.unescape(page.text)


def page_language(page: httpx.Response) -> str:
    found = HTML_LANG.search(page.text)
    assert found, "the page has no <html lang>"
    return found.group(1)


def assert_french(page: httpx.Response) -> None:
    assert page.status_code == 200
    assert page_language(page) == "fr"
    assert "Aller au contenu" in page.text and "Skip to content" not in page.text
    # The switcher offers the other language, in that language.
    assert 'name="language" value="en" lang="en"' in page.text


def assert_english(page: httpx.Response) -> None:
    assert page.status_code == 200
    assert page_language(page) == "en"
    assert "Skip to content" in page.text and "Aller au contenu" not in page.text
    assert 'name="language" value="fr" lang="fr"' in page.text


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", None),
        ("fr", "fr"),
        ("fr-FR", "fr"),
        ("fr-CA,fr;q=0.9,en;q=0.8", "fr"),
        ("en-US,en;q=0.9,fr;q=0.8", "en"),
        ("de-DE, fr;q=0.7, en;q=0.5", "fr"),
        ("en;q=0.4, FR-ca;q=0.6", "fr"),
        ("fr;q=0, en;q=0.1", "en"),  # q=0: not acceptable
        ("es, de;q=0.8", None),
        ("*", None),
        ("fr;q=abc, en", "en"),
    ],
)
def test_accept_language_is_read_by_q_value(header: str, expected: str | None) -> None:
    assert i18n.accept_language(header) == expected


async def test_a_visitor_reads_french_from_accept_language(client: httpx.AsyncClient) -> None:
    assert_english(await client.get("/"))
    assert_english(await client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}))
    page = await client.get("/", headers={"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"})
    assert_french(page)
    assert "Se connecter" in page.text and "Demander l'accès" in words(page)
    # A cache between visitor and forum must keep the languages apart.
    assert "Accept-Language" in page.headers.get("vary", "")
    assert page.headers["content-language"] == "fr"
    login = await client.get("/login", headers={"Accept-Language": "fr"})
    assert_french(login)
    assert "Mot de passe" in login.text


async def test_a_visitor_reads_french_from_the_lang_cookie_over_accept_language(
    client: httpx.AsyncClient,
) -> None:
    client.cookies.set("lang", "fr")
    assert_french(await client.get("/", headers={"Accept-Language": "en"}))
    assert_french(await client.get("/request-access"))
    client.cookies.set("lang", "xx")  # not a language the forum speaks: the browser's
    assert_english(await client.get("/", headers={"Accept-Language": "en"}))


async def test_a_member_reads_their_setting_before_cookie_and_browser(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    await User.filter(id=alice.id).update(preferred_language="fr")
    topic, _post = await do_create_topic(alice, cats["iot"], "Sceaux électroniques", "Bonjour")
    await log_in(client, alice)
    client.cookies.set("lang", "en")
    home = await client.get("/", headers={"Accept-Language": "en"})
    assert_french(home)
    assert "Se déconnecter" in home.text and "Favoris" in home.text
    shown = await client.get(f"/t/{topic.id}", headers={"Accept-Language": "en"})
    assert_french(shown)
    assert "Répondre" in shown.text and "à l'instant" in words(shown)
    assert "Reply" not in re.sub(r"<script.*?</script>", "", shown.text, flags=re.S)

    # A setting the forum does not speak (Spanish) falls back to the cookie.
    await User.filter(id=alice.id).update(preferred_language="es")
    client.cookies.set("lang", "fr")
    assert_french(await client.get("/", headers={"Accept-Language": "en"}))


async def test_cached_posts_and_rows_are_kept_per_language(client: httpx.AsyncClient) -> None:
    """Posts and topic rows are rendered once per look (forum/web/fragments.py): the
    language is part of the look, so each reader gets their own."""
    cats = await categories()
    alice = await make_user("alice")
    bob = await make_user("bob")
    await User.filter(id=bob.id).update(preferred_language="fr")
    topic, _post = await do_create_topic(alice, cats["iot"], "Electronic seals", "Hello")
    for user, expect, refuse in ((alice, "Bookmark", "Ajouter aux favoris"),
                                 (bob, "Ajouter aux favoris", "Bookmark"),
                                 (alice, "Bookmark", "Ajouter aux favoris")):  # fmt: skip
        client.cookies.clear()
        await log_in(client, user)
        shown = await client.get(f"/t/{topic.id}")
        assert expect in shown.text and refuse not in shown.text, user.username
        listed = await client.get(f"/c/{cats['iot'].slug}")
        assert ("à l'instant" in words(listed)) == (user is bob)


async def test_the_switcher_remembers_a_visitors_choice_and_returns_to_the_page(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/request-access?from=menu")
    assert_english(page)
    assert 'action="/language"' in page.text
    assert 'name="next" value="/request-access?from=menu"' in page.text
    token = anonymous_csrf(client)
    switched = await client.post(
        "/language",
        data={"csrf_token": token, "language": "fr", "next": "/request-access?from=menu"},
    )
    assert switched.status_code == 303
    assert switched.headers["location"] == "/request-access?from=menu"
    cookie = switched.headers["set-cookie"]
    assert cookie.startswith("lang=fr.") and "Max-Age=" in cookie and "SameSite=Lax" in cookie
    assert_french(await client.get(switched.headers["location"]))
    assert_french(await client.get("/login"))
    back = await client.post("/language", data={"csrf_token": token, "language": "en", "next": "/"})
    assert back.status_code == 303 and back.headers["location"] == "/"
    assert_english(await client.get("/"))


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", ""],
)
async def test_the_switcher_never_leaves_the_site(client: httpx.AsyncClient, target: str) -> None:
    token = anonymous_csrf(client)
    switched = await client.post(
        "/language", data={"csrf_token": token, "language": "fr", "next": target}
    )
    assert switched.status_code == 303 and switched.headers["location"] == "/"


async def test_the_switcher_needs_the_forms_token_and_a_spoken_language(
    client: httpx.AsyncClient,
) -> None:
    anonymous_csrf(client)
    refused = await client.post(
        "/language", data={"language": "fr", "next": "/"}, headers={"Accept-Language": "fr"}
    )
    assert refused.status_code == 403 and "lang=" not in refused.headers.get("set-cookie", "")
    # Refused before any page is rendered, and still in the reader's language.
    assert '<html lang="fr">' in refused.text
    assert "Ce formulaire a expiré ou n'a pas été envoyé par ce site." in words(refused)
    token = anonymous_csrf(client)
    wrong = await client.post("/language", data={"csrf_token": token, "language": "de"})
    assert wrong.status_code == 422
    assert "lang" not in client.cookies


async def test_a_member_switching_changes_their_setting(client: httpx.AsyncClient) -> None:
    alice = await make_user("alice")
    token = await log_in(client, alice)
    assert_english(await client.get("/"))
    switched = await client.post(
        "/language", data={"csrf_token": token, "language": "fr", "next": "/account/profile"}
    )
    assert switched.status_code == 303 and switched.headers["location"] == "/account/profile"
    assert (await User.get(id=alice.id)).preferred_language == "fr"
    client.cookies.delete("lang")  # the setting alone speaks French now, on any device
    profile = await client.get("/account/profile")
    assert_french(profile)
    assert "Votre profil" in profile.text


async def test_choosing_the_language_costs_no_query(client: httpx.AsyncClient) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, _post = await do_create_topic(alice, cats["iot"], "Electronic seals", "Hello")
    await log_in(client, alice)
    await client.get(f"/t/{topic.id}")  # warm the caches
    await client.get(f"/t/{topic.id}", headers={"Accept-Language": "fr"})
    with count_queries() as english:
        assert_english(await client.get(f"/t/{topic.id}"))
    await User.filter(id=alice.id).update(preferred_language="fr")
    await client.get(f"/t/{topic.id}")
    with count_queries() as french:
        assert_french(await client.get(f"/t/{topic.id}"))
    assert french.count == english.count


def test_dates_times_numbers_and_time_ago_are_written_the_languages_way() -> None:
    moment = datetime(2026, 12, 1, 19, 51, 7, tzinfo=UTC)
    assert format_day(moment, "en") == "Dec 1, 2026"
    assert format_day(moment, "fr") == "1 déc. 2026"
    assert format_moment(moment, "en") == "Dec 1, 2026, 19:51"
    assert format_moment(moment, "fr") == "1 déc. 2026, 19:51"
    assert format_moment(moment, "fr", seconds=True) == "1 déc. 2026, 19:51:07"
    assert format_number(1234567, "en") == "1,234,567"
    assert format_number(1234567, "fr") == "1\u202f234\u202f567"
    # Memoised for the minute, per language: one language's words never leak to the other.
    then = datetime.now(UTC) - timedelta(hours=3, minutes=5)
    assert timeago(then, "en") == "3 hours ago"
    assert timeago(then, "fr") == "il y a 3 heures"
    assert timeago(then, "en") == "3 hours ago"
    with i18n.using("fr"):
        assert timeago(then) == "il y a 3 heures"
        assert timeago(datetime.now(UTC) - timedelta(days=1)) == "il y a 1 jour"
    assert timeago(datetime.now(UTC)) == "just now"


async def test_counts_and_times_on_pages_are_written_the_languages_way(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, _post = await do_create_topic(alice, cats["iot"], "Electronic seals", "Hello")
    await Post.filter(topic_id=topic.id).update(created_at=datetime.now(UTC) - timedelta(days=3))
    await Category.filter(id=cats["iot"].id).update(topic_count=1234)
    await log_in(client, alice)
    english = await client.get("/")
    assert "1,234 topics" in english.text
    assert "3 days ago" in (await client.get(f"/t/{topic.id}")).text
    await User.filter(id=alice.id).update(preferred_language="fr")
    french = await client.get("/")
    assert "1\u202f234 sujets" in french.text and "1,234" not in french.text
    assert "il y a 3 jours" in (await client.get(f"/t/{topic.id}")).text


async def test_knowledge_content_keeps_the_language_it_was_written_in(
    client: httpx.AsyncClient,
) -> None:
    await categories()  # the technologies entries are about
    author = await place(await make_user("amelie"), "FR")
    moderator = await make_user("moderator", role=Role.MODERATOR)
    entry = await published(
        author, moderator, language="fr", title="Scellés électroniques aux frontières",
        summary="Les agents ont adopté les scellés après six mois.",
    )  # fmt: skip
    reader = await make_user("reader")
    await log_in(client, reader)
    page = await client.get(f"/knowledge/entries/{entry.id}")
    assert page.status_code == 200 and page_language(page) == "en"
    assert '<h1 lang="fr">Scellés électroniques aux frontières</h1>' in page.text
    assert 'lang="fr">Les agents ont adopté les scellés après six mois.</p>' in page.text
    listed = await client.get("/knowledge/entries")
    assert f'lang="fr"><a href="/knowledge/entries/{entry.id}">' in listed.text


async def test_a_stale_emailed_link_is_explained_in_french(client: httpx.AsyncClient) -> None:
    """The message of a bad confirmation or invitation link was never extracted (it was
    given to `_()` through a variable), so French visitors read it in English."""
    french = {"Accept-Language": "fr-FR,fr;q=0.9"}
    for path in ("/request-access/confirm/nope", "/request-access/invitation/nope"):
        page = await client.get(path, headers=french)
        assert "Ce lien n'est pas valable, a expiré ou a déjà été utilisé." in html.unescape(
            page.text
        ), path
