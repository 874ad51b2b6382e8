"""The search page, the API and suggestions through the real ASGI app: every bad query gets a
2xx or a 4xx with a message, snippets carry no markup from user content."""

from __future__ import annotations

import re

import httpx
import pytest

from forum.actions.posts import do_create_post
from forum.actions.topics import do_create_topic
from forum.models import Role
from forum.pagination import encode_cursor
from tests.helpers import bearer, categories, log_in, make_user
from tests.search.support import staff_room

BAD_QUERIES = [
    '"unbalanced quote',
    '"',
    '""',
    "AND OR NOT",
    "NOT",
    "NEAR(",
    "NEAR(a b, 2)",
    "*",
    "a*",
    "-",
    "+-*/()^:",
    "title:x",
    "{a b}",
    "'",
    "\\",
    "a & b | !c",
    "a <-> b",
    "😀",
    "x" * 10_000,
    "a " * 300,
    "é" * 499,
    "%00",
    "a%00b",
    "%ff%fe",
    "%C3%28",
    "%ED%A0%80",
    "    ",
]


@pytest.fixture
async def member(client: httpx.AsyncClient) -> dict[str, str]:
    cats = await categories()
    alice = await make_user("alice")
    topic, _first = await do_create_topic(
        alice, cats["iot"], "Risk engines for seals", "**Bold** risk words and [a link](/t/1)"
    )
    await do_create_post(
        alice,
        topic,
        cats["iot"],
        "risk <script>alert('x')</script> and <img src=x onerror=alert(1)> and"
        ' <a href="javascript:alert(2)">click</a> `<b>code</b>` risk',
    )
    return await bearer(alice)


async def test_every_bad_query_gets_results_or_a_clear_400(
    client: httpx.AsyncClient, member: dict[str, str]
) -> None:
    for raw in BAD_QUERIES:
        for path in ("/api/v1/search?q=", "/api/v1/search/suggest?q=", "/search?q="):
            response = await client.get(path + raw, headers=member)
            assert response.status_code in (200, 400), (path, raw[:30], response.status_code)
            if response.status_code == 400 and path.startswith("/api/"):
                assert response.json()["error"]["message"], raw[:30]
            if response.status_code == 400 and path == "/search?q=":
                assert 'role="alert"' in response.text, raw[:30]


async def test_bad_filters_and_cursors_are_400s_with_a_message(
    client: httpx.AsyncClient, member: dict[str, str]
) -> None:
    bad = [
        "kind=nonsense", "sort=random", "from=yesterday", "to=2024-13-01",
        "from=2025-01-02&to=2025-01-01", "topic=abc", "topic=0", "topic=99999999999",
        "region=MARS", "administration=B3", "cursor=%00", "cursor=" + "A" * 201,
        "cursor=" + encode_cursor("a", 1), "cursor=" + encode_cursor(2**40),
        "cursor=" + encode_cursor(-20), "page=0", "page=abc", "author=" + "x" * 41,
        "tag=%00",
    ]  # fmt: skip
    for query in bad:
        response = await client.get(f"/api/v1/search?q=risk&{query}", headers=member)
        assert response.status_code == 400, (query, response.text)
        assert response.json()["error"]["message"]
        page = await client.get(f"/search?q=risk&{query}", headers=member)
        assert page.status_code == 400 and 'role="alert"' in page.text, query


async def test_snippets_carry_only_our_marks(
    client: httpx.AsyncClient, member: dict[str, str]
) -> None:
    response = await client.get("/api/v1/search?q=risk&kind=post", headers=member)
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 2
    for result in results:
        for text in (result["snippet_html"], result["title_html"]):
            tags = re.findall(r"<[^>]*>", text)
            assert set(tags) <= {"<mark>", "</mark>"}, text
            assert "<mark>" in text or text == result["title_html"]
    joined = " ".join(r["snippet_html"] for r in results)
    assert "&lt;script&gt;" in joined and "onerror" in joined  # shown as text, escaped
    assert "**" not in joined and "Bold" in joined  # rendered text, not markdown source
    page = await client.get("/search?q=risk+alert+onerror", headers=member)
    assert page.status_code == 200
    results_html = page.text.split('class="search-results"', 1)[1].split("</ol>", 1)[0]
    assert "<script" not in results_html and "<img" not in results_html
    links = re.findall(r"<a [^>]*>", results_html)
    assert links and all(
        re.fullmatch(r'<a href="/[tp]/\d+" lang="(en|fr)">', link) for link in links
    ), links
    tags = {t.split()[0].strip("<>/") for t in re.findall(r"</?[a-z][^>]*>", results_html)}
    assert tags <= {"li", "p", "h2", "a", "mark", "time"}, tags
    assert "<mark>alert</mark>" in results_html


async def test_the_page_shows_count_results_pages_and_an_empty_message(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, _first = await do_create_topic(alice, cats["iot"], "Paging the pelican", "pelican")
    for n in range(25):
        await do_create_post(alice, topic, cats["iot"], f"pelican reply {n}")
    await log_in(client, alice)

    first = await client.get("/search?q=pelican")
    assert first.status_code == 200
    assert "27 results" in first.text
    assert first.text.count('class="search-result ') == 20
    next_link = re.search(r'href="(/search\?[^"]*page=2[^"]*)" rel="next"', first.text)
    assert next_link is not None
    second = await client.get(next_link.group(1).replace("&amp;", "&"))
    assert second.text.count('class="search-result ') == 7 and 'rel="prev"' in second.text
    nothing = await client.get("/search?q=flamingo")
    assert "0 results" in nothing.text and "Nothing matches" in nothing.text
    blank = await client.get("/search?q=%2A%2A%2A")
    assert blank.status_code == 200 and "punctuation and operators alone" in blank.text
    form = await client.get("/search")
    assert form.status_code == 200 and 'name="q"' in form.text and 'name="kind"' in form.text


async def test_the_header_has_a_search_box_for_members_that_works_without_script(
    client: httpx.AsyncClient,
) -> None:
    await categories()
    alice = await make_user("alice")
    await log_in(client, alice)
    home = await client.get("/")
    assert 'action="/search"' in home.text and 'role="combobox"' in home.text
    assert 'aria-controls="header-search-suggestions"' in home.text
    assert '<script src="/static/search.js" defer>' in home.text
    script = await client.get("/static/search.js")
    assert script.status_code == 200 and "150" in script.text


async def test_suggestions_over_http_follow_the_policy(client: httpx.AsyncClient) -> None:
    cats = await categories()
    room = await staff_room()
    mod = await make_user("mod", role=Role.MODERATOR)
    alice = await make_user("alice")
    await make_user("heronwatcher")
    await do_create_topic(mod, room, "Heron staff plans", "staff")
    await do_create_topic(alice, cats["iot"], "Heron sensors", "members")
    await do_create_topic(alice, cats["welcome"], "Heron welcome", "everyone")

    def labels(response: httpx.Response) -> list[str]:
        assert response.status_code == 200
        return sorted(s["label"] for s in response.json()["suggestions"])

    as_member = await client.get("/api/v1/search/suggest?q=hero", headers=await bearer(alice))
    assert labels(as_member) == ["Heron sensors", "Heron welcome", "Heronwatcher"]
    two_words = await client.get("/api/v1/search/suggest?q=heron+sens", headers=await bearer(alice))
    assert labels(two_words) == ["Heron sensors"]
    as_staff = await client.get("/api/v1/search/suggest?q=hero", headers=await bearer(mod))
    assert "Heron staff plans" in labels(as_staff)
    anonymous = await client.get("/api/v1/search/suggest?q=hero")
    assert labels(anonymous) == ["Heron welcome"]
    unverified = await make_user("newbie", verified=False)
    pending = await client.get("/api/v1/search/suggest?q=hero", headers=await bearer(unverified))
    assert labels(pending) == ["Heron welcome"]
    people = await client.get(
        "/api/v1/search?q=heronwatcher&kind=member", headers=await bearer(unverified)
    )
    assert people.status_code == 200 and people.json()["count"] == 0


async def test_the_api_pages_with_a_cursor(client: httpx.AsyncClient) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, _first = await do_create_topic(alice, cats["iot"], "Cursor topic", "lynx")
    for n in range(21):
        await do_create_post(alice, topic, cats["iot"], f"lynx {n}")
    headers = await bearer(alice)
    first = (await client.get("/api/v1/search?q=lynx&sort=date", headers=headers)).json()
    assert first["count"] == 22 and len(first["results"]) == 20 and first["next_cursor"]
    second = await client.get(
        f"/api/v1/search?q=lynx&sort=date&cursor={first['next_cursor']}", headers=headers
    )
    body = second.json()
    assert len(body["results"]) == 2 and body["next_cursor"] is None
    ids = {r["id"] for r in first["results"]} | {r["id"] for r in body["results"]}
    assert len(ids) == 22


NASTY_VALUES = [
    "", " ", "%00", "a%00b", "%ff", "%ED%A0%80", "x" * 2000, "-1", "0", "2147483648",
    "1e3", "NaN", "null", "[]", "%22", "*", "NEAR(", "\u202e", "é" * 300, "2024-02-30",
    "9999-12-31", "0001-01-01",
]  # fmt: skip
PARAMETERS = [
    "q", "kind", "category", "author", "administration", "region", "tag", "from", "to",
    "topic", "sort", "cursor", "page",
]  # fmt: skip


async def test_every_parameter_survives_every_nasty_value(
    client: httpx.AsyncClient, member: dict[str, str]
) -> None:
    for name in PARAMETERS:
        for value in NASTY_VALUES:
            for path in ("/api/v1/search", "/search"):
                url = f"{path}?q=risk&{name}={value}"
                response = await client.get(url, headers=member)
                assert response.status_code in (200, 400), (url[:80], response.status_code)
    for value in NASTY_VALUES:
        response = await client.get(f"/api/v1/search/suggest?q={value}", headers=member)
        assert response.status_code in (200, 400), (value[:30], response.status_code)


async def test_the_topic_page_searches_in_its_topic(client: httpx.AsyncClient) -> None:
    cats = await categories()
    alice = await make_user("alice")
    here, _p = await do_create_topic(alice, cats["iot"], "Here topic", "the walrus is here")
    await do_create_topic(alice, cats["iot"], "Elsewhere topic", "the walrus is elsewhere")
    await log_in(client, alice)
    page = await client.get(f"/t/{here.id}")
    assert f'<input type="hidden" name="topic" value="{here.id}">' in page.text
    found = await client.get(f"/search?q=walrus&topic={here.id}")
    assert "1 result" in found.text and "Here topic" in found.text
    assert "Elsewhere" not in found.text and f"Only in topic #{here.id}" in found.text
