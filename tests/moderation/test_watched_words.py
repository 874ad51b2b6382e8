"""Watched words match whole words, ignoring case and accents; administrators keep the lists
and the moderation settings from pages and the API, audited, and nobody else may."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from markupsafe import escape

from forum.db import count_queries
from forum.errors import Conflict, Forbidden, Invalid, TwoFactorSetupRequired
from forum.models import AuditLog, Role, SiteSetting, User, WatchedWord
from moderation import settings
from moderation.audit import verify
from moderation.configure import do_update_moderation_settings, setting_fields
from moderation.watched import Screening, do_add_watched_word, do_remove_watched_word, match, screen
from tests.api.conftest import check_response
from tests.api.test_robustness import NASTY_VALUES, assert_answered, send
from tests.helpers import bearer, log_in, make_user

# The settings tests start from the site's defaults (the suite's db fixture relaxes them).
pytestmark = pytest.mark.moderation_defaults

SECURITY = "/account/security?notice=staff_two_factor"
MODERATION_AUDIT = ["watched_word.add", "watched_word.remove", "moderation_settings.change"]


def blocks(word: str, text: str) -> bool:
    return match([(word, "block")], text).blocked == word


# --- matching --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "text"),
    [
        ("cat", "A cat sat."),
        ("cat", "CAT!"),
        ("cat", "cat"),
        ("cat", "(cat)"),
        ("cat", "the e-cat's toy"),
        ("Smuggle", "we smuggle nothing"),
        ("café", "Meet at the CAFE"),
        ("cafe", "Meet at the Café"),
        ("École", "ecole nationale"),
        ("naïve", "NAIVE"),
        ("straße", "STRASSE"),
        ("ﬁne", "fine"),
        ("don't", "I don’t know"),
        ("cry\u00adpto", "crypto"),
    ],
)
def test_a_word_matches_whole_words_ignoring_case_and_accents(word: str, text: str) -> None:
    assert blocks(word, text)


@pytest.mark.parametrize(
    ("word", "text"),
    [
        ("cat", "concatenate"),
        ("cat", "cats"),
        ("cat", "tomcat"),
        ("cat", "cat_food"),
        ("cat", "c a t"),
        ("café", "cafes"),
        ("bad word", "badword"),
        ("bad word", "bad words"),
        ("bad word", "word bad"),
    ],
)
def test_a_word_does_not_match_inside_other_words(word: str, text: str) -> None:
    assert not blocks(word, text)


@pytest.mark.parametrize(
    ("word", "text", "found"),
    [
        ("crypto*", "crypto", True),
        ("crypto*", "Cryptocurrency scheme", True),
        ("crypto*", "encrypted", False),
        ("*coin", "buy BITCOIN", True),
        ("*coin", "a coin", True),
        ("*coin", "coins", False),
        ("*coin*", "coinbase and bitcoins", True),
        ("c*t", "cat, coat, ct", True),
        ("c*t", "cab", False),
        ("c*t*x", "a cattax", True),
        ("c*t*x", "cat x", False),
        ("*pay* scheme", "prepayment scheme", True),
        ("*pay* scheme", "prepayment schemes", False),
    ],
)
def test_a_star_stands_for_any_run_of_word_characters(word: str, text: str, found: bool) -> None:
    assert blocks(word, text) is found


def test_a_phrase_matches_across_any_whitespace() -> None:
    assert blocks("bad word", "a bad   word")
    assert blocks("bad word", "a BAD\nWord.")


def test_each_list_reports_its_first_word_as_written_title_before_body() -> None:
    words = [
        ("Crypto*", "block"),
        ("scam", "block"),
        ("urgent", "require_approval"),
        ("Café", "flag"),
    ]
    assert match(words, "An urgent offer", "SCAM! cryptocoins at the cafe") == Screening(
        blocked="scam", require_approval="urgent", flag="Café"
    )
    assert match(words, "nothing", "cryptos then a scam").blocked == "Crypto*"
    assert match(words, "harmless title", "harmless body").clean


def test_many_stars_on_a_long_word_stay_fast() -> None:
    words = [("c*t*x", "block"), ("*a*b*c", "flag")]
    text = "c" + "t" * 50_000 + " " + "a" * 50_000
    started = time.perf_counter()
    assert match(words, text).clean  # a plain backtracking pattern takes seconds here
    assert time.perf_counter() - started < 0.5
    assert match(words, text + "x").clean
    assert match(words, "c" + "t" * 50_000 + "x").blocked == "c*t*x"


# --- screening from the database -------------------------------------------------------


async def test_screen_reads_the_words_in_one_query_and_sees_every_change(db: str) -> None:
    admin = await make_user("admin", role=Role.ADMIN)
    await do_add_watched_word(admin, "contraband", "block")
    await do_add_watched_word(admin, "*coin", "require_approval")
    with count_queries() as counter:
        found = await screen("Contraband offers", "paid in bitcoin")
    assert found == Screening(blocked="contraband", require_approval="*coin")
    assert counter.count == 1

    # Another process changes the list: the next screening sees it.
    await WatchedWord.filter(word="contraband").update(word="smuggling")
    assert (await screen("Contraband offers", "smuggling")).blocked == "smuggling"
    await WatchedWord.all().delete()
    assert (await screen("Contraband offers", "paid in bitcoin")).clean


# --- the actions -----------------------------------------------------------------------


async def test_only_administrators_with_two_factor_may_change_the_lists(db: str) -> None:
    member = await make_user("alice")
    moderator = await make_user("mod", role=Role.MODERATOR)
    admin_without = await make_user("admin", role=Role.ADMIN, two_factor=False)
    for actor in (None, member, moderator):
        with pytest.raises(Forbidden):
            await do_add_watched_word(actor, "scam", "block")
    with pytest.raises(TwoFactorSetupRequired):
        await do_add_watched_word(admin_without, "scam", "block")
    with pytest.raises(TwoFactorSetupRequired):
        await do_update_moderation_settings(admin_without, {"flag_threshold": 5})
    assert not await WatchedWord.exists()
    assert not await AuditLog.filter(action__in=MODERATION_AUDIT).exists()
    assert (await settings.load()).flag_threshold == 3


async def test_the_same_word_twice_in_a_list_is_a_conflict_ignoring_case_and_accents(
    db: str,
) -> None:
    admin = await make_user("admin", role=Role.ADMIN)
    await do_add_watched_word(admin, "Café", "block")
    with pytest.raises(Conflict, match="already in this list"):
        await do_add_watched_word(admin, "  cafe ", "block")
    await do_add_watched_word(admin, "cafe", "flag")  # another list
    assert await WatchedWord.filter().count() == 2


@pytest.mark.parametrize(
    "word",
    ["", "   ", "*", "** *", "a" * 101, "<script>", "drop;table", "nul\x00byte", "e-mail *"],
)
async def test_a_malformed_word_is_refused(db: str, word: str) -> None:
    admin = await make_user("admin", role=Role.ADMIN)
    with pytest.raises(Invalid):
        await do_add_watched_word(admin, word, "block")
    assert not await WatchedWord.exists()


async def test_an_unknown_action_is_refused(db: str) -> None:
    admin = await make_user("admin", role=Role.ADMIN)
    with pytest.raises(Invalid, match="block, require_approval or flag"):
        await do_add_watched_word(admin, "scam", "delete")


def test_every_setting_has_a_label_and_help() -> None:
    described = {f.name for f in setting_fields() if f.label and f.help}
    assert described == set(settings.LIMITS)


# --- pages -----------------------------------------------------------------------------


async def _admin_client(client: httpx.AsyncClient) -> tuple[User, str]:
    admin = await make_user("admin", role=Role.ADMIN)
    return admin, await log_in(client, admin)


async def test_an_administrator_adds_and_removes_words_from_the_page(
    client: httpx.AsyncClient,
) -> None:
    admin, token = await _admin_client(client)
    empty = await client.get("/admin/watched-words")
    assert empty.status_code == 200
    assert empty.text.count("No words in this list.") == 3

    added = await client.post(
        "/admin/watched-words", data={"csrf_token": token, "word": "crypto*", "action": "flag"}
    )
    assert added.status_code == 303
    page = await client.get(added.headers["location"])
    assert "Word added." in page.text and "<code>crypto*</code>" in page.text
    assert page.text.count("No words in this list.") == 2
    word = await WatchedWord.get(word="crypto*")
    assert (word.action, word.created_by_id) == ("flag", admin.id)
    row = await AuditLog.get(action="watched_word.add")
    assert (row.actor_id, row.target_id, row.data) == (
        admin.id,
        word.id,
        {"word": "crypto*", "action": "flag"},
    )

    removed = await client.post(
        f"/admin/watched-words/{word.id}/remove", data={"csrf_token": token}
    )
    assert removed.status_code == 303
    page = await client.get(removed.headers["location"])
    assert "Word removed." in page.text and "<code>crypto*</code>" not in page.text
    assert not await WatchedWord.exists()
    gone = await AuditLog.get(action="watched_word.remove")
    assert (gone.target_id, gone.before) == (word.id, "flag: crypto*")
    assert (await verify()).intact

    again = await client.post(f"/admin/watched-words/{word.id}/remove", data={"csrf_token": token})
    assert again.status_code == 404


async def test_a_refused_word_is_shown_again_with_the_reason(client: httpx.AsyncClient) -> None:
    admin, token = await _admin_client(client)
    await do_add_watched_word(admin, "Café", "block")

    duplicate = await client.post(
        "/admin/watched-words", data={"csrf_token": token, "word": "CAFE", "action": "block"}
    )
    assert duplicate.status_code == 409
    assert "“CAFE” is already in this list (as “Café”)." in duplicate.text
    assert 'value="CAFE"' in duplicate.text

    bad = await client.post(
        "/admin/watched-words",
        data={"csrf_token": token, "word": "<b>x</b>", "action": "require_approval"},
    )
    assert bad.status_code == 422
    assert "may contain only letters, digits" in bad.text
    assert 'value="&lt;b&gt;x&lt;/b&gt;"' in bad.text and "<b>x</b>" not in bad.text
    assert '<option value="require_approval" selected>' in bad.text
    assert await WatchedWord.all().count() == 1


async def test_the_test_box_says_what_would_happen_to_a_text(client: httpx.AsyncClient) -> None:
    admin, token = await _admin_client(client)
    await do_add_watched_word(admin, "contraband", "block")
    await do_add_watched_word(admin, "*coin", "require_approval")
    await do_add_watched_word(admin, "urgent", "flag")

    caught = await client.post(
        "/admin/watched-words/test",
        data={"csrf_token": token, "text": "URGENT: Contraband for Bitcoin"},
    )
    assert caught.status_code == 200
    assert "refused because of “contraband”" in caught.text
    assert "wait for a moderator because of “*coin”" in caught.text
    assert "flagged for review because of “urgent”" in caught.text
    assert "URGENT: Contraband for Bitcoin</textarea>" in caught.text

    clean = await client.post(
        "/admin/watched-words/test", data={"csrf_token": token, "text": "concatenate coins"}
    )
    assert "No watched word found" in clean.text and "because of" not in clean.text
    assert not await AuditLog.filter(action__startswith="watched_word.test").exists()


async def test_the_settings_page_changes_settings_and_audits_the_change(
    client: httpx.AsyncClient,
) -> None:
    admin, token = await _admin_client(client)
    page = await client.get("/admin/moderation-settings")
    assert page.status_code == 200
    for f in setting_fields():
        assert f'name="{f.name}"' in page.text and str(escape(f.help)) in page.text
    assert 'id="flag_threshold" name="flag_threshold" value="3"' in page.text

    form = {f.name: _default(f.name) for f in setting_fields()}
    saved = await client.post(
        "/admin/moderation-settings",
        data={**form, "csrf_token": token, "flag_threshold": "5", "approve_first_posts": "0"},
    )
    assert saved.status_code == 303
    loaded = await settings.load()
    assert (loaded.flag_threshold, loaded.approve_first_posts) == (5, 0)
    after = await client.get(saved.headers["location"])
    assert "Saved." in after.text and 'name="flag_threshold" value="5"' in after.text
    row = await AuditLog.get(action="moderation_settings.change")
    assert row.actor_id == admin.id
    assert row.data == {"changed": ["approve_first_posts", "flag_threshold"]}
    assert '"flag_threshold": 3' in row.before and '"flag_threshold": 5' in row.after

    back = await client.post("/admin/moderation-settings", data={**form, "csrf_token": token})
    assert back.status_code == 303
    assert (await settings.load()).flag_threshold == 3
    assert await AuditLog.filter(action="moderation_settings.change").count() == 2
    # Saving the form unchanged changes nothing, so it writes no audit row.
    same = await client.post("/admin/moderation-settings", data={**form, "csrf_token": token})
    assert same.status_code == 303
    assert await AuditLog.filter(action="moderation_settings.change").count() == 2


def _default(name: str) -> str:
    return str(getattr(settings.ModerationSettings(), name))


@pytest.mark.parametrize(
    ("typed", "message"),
    [("abc", "Give a whole number."), ("0", "Give a number from 1 to 100."), ("-2", "whole")],
)
async def test_a_bad_setting_is_refused_and_the_form_keeps_what_was_typed(
    client: httpx.AsyncClient, typed: str, message: str
) -> None:
    _admin, token = await _admin_client(client)
    form = {f.name: _default(f.name) for f in setting_fields()}
    refused = await client.post(
        "/admin/moderation-settings",
        data={**form, "csrf_token": token, "posts_per_hour": "99", "flag_threshold": typed},
    )
    assert refused.status_code == 422
    assert message in refused.text
    assert f'id="flag_threshold" name="flag_threshold" value="{typed}"' in refused.text
    assert 'name="posts_per_hour" value="99"' in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert not await SiteSetting.exists()
    assert not await AuditLog.filter(action__in=MODERATION_AUDIT).exists()


PAGES = [
    ("GET", "/admin/watched-words"),
    ("POST", "/admin/watched-words"),
    ("POST", "/admin/watched-words/{id}/remove"),
    ("POST", "/admin/watched-words/test"),
    ("GET", "/admin/moderation-settings"),
    ("POST", "/admin/moderation-settings"),
]


async def _page(client: httpx.AsyncClient, token: str, method: str, path: str) -> httpx.Response:
    data = {"csrf_token": token, "word": "scam", "action": "block", "flag_threshold": "9"}
    if method == "GET":
        return await client.get(path)
    return await client.post(path, data=data)


async def test_members_and_moderators_are_refused_the_pages(client: httpx.AsyncClient) -> None:
    admin = await make_user("admin", role=Role.ADMIN)
    word = await do_add_watched_word(admin, "contraband", "block")
    for user in (await make_user("alice"), await make_user("mod", role=Role.MODERATOR)):
        token = await log_in(client, user)
        for method, path in PAGES:
            response = await _page(client, token, method, path.format(id=word.id))
            assert response.status_code == 403, (user.username, method, path)
    assert await WatchedWord.all().count() == 1
    assert (await settings.load()).flag_threshold == 3


async def test_an_administrator_without_two_factor_is_sent_to_set_it_up(
    client: httpx.AsyncClient,
) -> None:
    admin = await make_user("admin", role=Role.ADMIN)
    word = await do_add_watched_word(admin, "contraband", "block")
    token = await log_in(client, await make_user("admin2", role=Role.ADMIN, two_factor=False))
    for method, path in PAGES:
        response = await _page(client, token, method, path.format(id=word.id))
        assert response.status_code == 303, (method, path)
        assert response.headers["location"] == SECURITY
    assert await WatchedWord.all().count() == 1
    assert (await settings.load()).flag_threshold == 3


async def test_the_admin_index_links_both_pages(client: httpx.AsyncClient) -> None:
    await _admin_client(client)
    index = await client.get("/admin")
    assert 'href="/admin/watched-words"' in index.text
    assert 'href="/admin/moderation-settings"' in index.text


# --- API -------------------------------------------------------------------------------


@pytest.fixture
def documented(client: httpx.AsyncClient) -> Iterator[None]:
    """Every API answer in these tests is checked against the OpenAPI document."""
    client.event_hooks["response"].append(check_response)
    yield
    client.event_hooks["response"].remove(check_response)


WORDS = "/api/v1/admin/watched-words"
SETTINGS = "/api/v1/admin/moderation-settings"


@pytest.mark.usefixtures("documented")
async def test_the_api_lists_adds_and_removes_words(client: httpx.AsyncClient) -> None:
    admin = await make_user("admin", role=Role.ADMIN)
    auth = await bearer(admin)
    assert (await client.get(WORDS, headers=auth)).json() == {"words": []}

    created = await client.post(WORDS, headers=auth, json={"word": "Crypto*", "action": "block"})
    assert created.status_code == 201
    body = created.json()
    assert (body["word"], body["action"], body["created_by"]["id"]) == (
        "Crypto*",
        "block",
        admin.id,
    )
    assert (await screen("cryptocurrency")).blocked == "Crypto*"

    duplicate = await client.post(WORDS, headers=auth, json={"word": "crypto*", "action": "block"})
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "conflict"
    assert "already in this list" in duplicate.json()["error"]["message"]

    for bad in (
        {"word": "*", "action": "block"},
        {"word": "x" * 101, "action": "block"},
        {"word": "scam", "action": "delete"},
        {"word": "scam"},
        {"word": 3, "action": "flag"},
    ):
        refused = await client.post(WORDS, headers=auth, json=bad)
        assert refused.status_code == 422, bad

    listed = (await client.get(WORDS, headers=auth)).json()["words"]
    assert [w["word"] for w in listed] == ["Crypto*"]

    deleted = await client.delete(f"{WORDS}/{body['id']}", headers=auth)
    assert deleted.status_code == 204
    assert (await client.get(WORDS, headers=auth)).json() == {"words": []}
    missing = await client.delete(f"{WORDS}/{body['id']}", headers=auth)
    assert missing.status_code == 404
    actions = [row.action for row in await AuditLog.filter(action__in=MODERATION_AUDIT)]
    assert actions == ["watched_word.add", "watched_word.remove"]


@pytest.mark.usefixtures("documented")
async def test_the_api_reads_and_changes_the_settings(client: httpx.AsyncClient) -> None:
    auth = await bearer(await make_user("admin", role=Role.ADMIN))
    read = await client.get(SETTINGS, headers=auth)
    assert read.status_code == 200 and read.json()["flag_threshold"] == 3

    changed = await client.patch(SETTINGS, headers=auth, json={"flag_threshold": 4})
    assert changed.status_code == 200
    assert changed.json()["flag_threshold"] == 4 and changed.json()["posts_per_hour"] == 30
    assert (await settings.load()).flag_threshold == 4
    assert await AuditLog.filter(action="moderation_settings.change").count() == 1

    for bad in ({}, {"flag_threshold": 0}, {"flag_threshold": "4"}, {"no_such": 1}):
        refused = await client.patch(SETTINGS, headers=auth, json=bad)
        assert refused.status_code == 422, bad
    assert (await settings.load()).flag_threshold == 4


@pytest.mark.usefixtures("documented")
async def test_the_api_refuses_everyone_but_administrators_with_two_factor(
    client: httpx.AsyncClient,
) -> None:
    admin = await make_user("admin", role=Role.ADMIN)
    word = await do_add_watched_word(admin, "contraband", "block")
    calls = [
        ("GET", WORDS, None),
        ("POST", WORDS, {"word": "scam", "action": "block"}),
        ("DELETE", f"{WORDS}/{word.id}", None),
        ("GET", SETTINGS, None),
        ("PATCH", SETTINGS, {"flag_threshold": 9}),
    ]
    member = await bearer(await make_user("alice"))
    moderator = await bearer(await make_user("mod", role=Role.MODERATOR))
    without = await bearer(await make_user("admin2", role=Role.ADMIN, two_factor=False))
    for method, url, json in calls:
        assert (await client.request(method, url, json=json)).status_code == 401
        for headers in (member, moderator):
            refused = await client.request(method, url, headers=headers, json=json)
            assert refused.status_code == 403, (method, url)
            assert refused.json()["error"]["code"] == "forbidden"
        refused = await client.request(method, url, headers=without, json=json)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "two_factor_setup_required"
    assert await WatchedWord.all().count() == 1
    assert (await settings.load()).flag_threshold == 3


async def test_removing_a_word_through_the_action_audits_it(db: str) -> None:
    admin = await make_user("admin", role=Role.ADMIN)
    word = await do_add_watched_word(admin, "contraband", "flag")
    await do_remove_watched_word(admin, word.id)
    row = await AuditLog.get(action="watched_word.remove")
    assert row.data == {"word": "contraband", "action": "flag"}


async def test_nasty_values_get_a_4xx_never_a_5xx(client: httpx.AsyncClient) -> None:
    auth = await bearer(await make_user("admin", role=Role.ADMIN))
    valid: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", WORDS, {"word": "contraband", "action": "block"}),
        ("PATCH", SETTINGS, {"flag_threshold": 3, "posts_per_hour": 30}),
    ]
    for method, url, body in valid:
        for field in body:
            for value in NASTY_VALUES:
                response = await send(client, method, url, auth, {**body, field: value})
                assert_answered(response, (method, url, field, value))
    for segment in ("0", "-1", "2147483648", "abc", "%00", "x" * 2000):
        response = await client.delete(f"{WORDS}/{segment}", headers=auth)
        assert response.status_code == 404, segment
    for text in ("\x00", "é" * 100, "a\nb", "ǅ" * 50, "\U0001f600 emoji"):
        assert_answered(
            await send(client, "POST", WORDS, auth, {"word": text, "action": "flag"}), text
        )
