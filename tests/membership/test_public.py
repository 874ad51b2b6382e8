"""The public section: pages administrators write in markdown and order in a menu, the public
home with a clear way to ask for access, and nothing restricted for visitors anywhere."""

from __future__ import annotations

import re

import httpx

from forum.actions.pages import DEFAULT_PAGES, seed_pages
from forum.actions.topics import do_create_topic
from forum.models import Administration, AuditLog, PublicPage, User
from forum.seed import seed_demo
from tests.helpers import PASSWORD, categories, log_in, make_user
from tests.membership.support import post_form


def _menu(html: str) -> list[str]:
    menu = re.search(r'<nav class="public-menu".*?</nav>', html, re.S)
    assert menu, "no public menu"
    return re.findall(r'<a href="/pages/([^"]+)"', menu.group(0))


async def test_the_default_pages_are_seeded_once_in_menu_order(db: str) -> None:
    assert await seed_pages() == 4
    assert await seed_pages() == 0
    pages = await PublicPage.all().order_by("position")
    assert [p.slug for p in pages] == [slug for slug, _title in DEFAULT_PAGES]
    about = pages[0]
    assert "National Contact Points" in about.source and "<strong>" in about.html
    assert 'href="/request-access"' in about.html


async def test_visitors_see_the_project_the_public_categories_and_how_to_ask_for_access(
    client: httpx.AsyncClient,
) -> None:
    await seed_demo(PASSWORD)

    home = await client.get("/")

    assert home.status_code == 200
    assert _menu(home.text) == ["about", "instruments-and-tools", "links", "elearning"]
    assert '<a class="button" href="/request-access">Request access</a>' in home.text
    assert '<a class="category-name" href="/c/welcome">Welcome</a>' in home.text
    assert "/c/ai-ml" not in home.text and "/c/announcements" not in home.text
    assert "risk targeting" not in home.text  # a members-only topic
    assert "/directory" not in home.text and "/admin" not in home.text
    page = await client.get("/pages/instruments-and-tools")
    assert page.status_code == 200
    assert "<h1>Instruments and tools</h1>" in page.text and "Study Report" in page.text
    assert 'aria-current="page">Instruments and tools' in page.text
    assert (await client.get("/pages/no-such-page")).status_code == 404


async def test_members_get_the_forum_home_instead(client: httpx.AsyncClient) -> None:
    await seed_demo(PASSWORD)
    await log_in(client, await User.get(username="member"))
    home = await client.get("/")
    assert "/c/ai-ml" in home.text and 'href="/directory"' in home.text
    assert "Request access" not in home.text


async def test_administrators_write_publish_and_reorder_pages(
    client: httpx.AsyncClient, world: dict[str, Administration], admin: User
) -> None:
    await seed_pages()
    await log_in(client, admin)

    created = await post_form(
        client,
        "/admin/pages/new",
        "/admin/pages/new",
        {
            "slug": "events",
            "title": "Events",
            "source": "# Soon\n\nThe **next** meeting.<script>alert(1)</script>",
        },
    )
    assert created.status_code == 303
    events = await PublicPage.get(slug="events")
    assert not events.published  # the box was not ticked
    assert "<strong>next</strong>" in events.html and "<script>" not in events.html
    assert "&lt;script&gt;" in events.html
    assert (await client.get("/pages/events")).status_code == 200  # a draft, for admins

    edit = f"/admin/pages/{events.id}/edit"
    published = await post_form(
        client,
        edit,
        edit,
        {"slug": "events", "title": "Events and meetings", "source": "Dates.", "published": "1"},
    )
    assert published.status_code == 303
    moved = await post_form(
        client, "/admin/pages", f"/admin/pages/{events.id}/move", {"direction": "up"}
    )
    assert moved.status_code == 303
    async with httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url)) as v:
        home = await v.get("/")
        assert _menu(home.text) == [
            "about",
            "instruments-and-tools",
            "links",
            "events",
            "elearning",
        ]
        assert "<h1>Events and meetings</h1>" in (await v.get("/pages/events")).text
    duplicate = await post_form(
        client,
        "/admin/pages/new",
        "/admin/pages/new",
        {"slug": "about", "title": "x", "source": "x"},
    )
    assert duplicate.status_code == 409
    bad_slug = await post_form(
        client,
        "/admin/pages/new",
        "/admin/pages/new",
        {"slug": "../etc", "title": "x", "source": "x"},
    )
    assert bad_slug.status_code == 422
    actions = [a.action for a in await AuditLog.filter(target_type="page").order_by("id")]
    assert actions == ["page.create", "page.update", "page.move"]


async def test_a_draft_is_invisible_to_visitors_and_members(
    client: httpx.AsyncClient, world: dict[str, Administration], admin: User
) -> None:
    await PublicPage.create(
        slug="draft", title="Secret draft", source="x", html="<p>x</p>", published=False
    )
    assert (await client.get("/pages/draft")).status_code == 404
    assert "Secret draft" not in (await client.get("/")).text
    await log_in(client, await make_user("alice"))
    assert (await client.get("/pages/draft")).status_code == 404


async def test_visitors_reach_no_restricted_content_from_the_public_section(
    client: httpx.AsyncClient, world: dict[str, Administration]
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, _post = await do_create_topic(alice, cats["iot"], "Members only seals", "private")
    await seed_pages()
    for url in ("/", "/pages/about", "/pages/links", "/request-access", "/request-access/sent"):
        response = await client.get(url)
        assert response.status_code == 200, url
        assert "Members only seals" not in response.text and "Alice" not in response.text, url
        assert 'href="/directory"' not in response.text and 'href="/admin"' not in response.text
    assert (await client.get(f"/t/{topic.id}")).status_code == 404
