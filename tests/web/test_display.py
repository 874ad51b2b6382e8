"""What members see on pages (issue 14's display bugs): each test reads the page as served."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import quote

import httpx
import segno
from starlette.applications import Starlette

from forum.actions.administrations import seed_administrations
from forum.actions.membership import do_revoke_membership
from forum.actions.pages import do_create_page
from forum.actions.posts import do_create_post
from forum.actions.reading import do_set_bookmark
from forum.actions.topics import do_create_topic
from forum.models import Administration, AuditLog, Post, Role, Topic, User
from forum.views_buffer import MAX_SEEN, ViewBuffer
from moderation.topics import do_set_topic_status
from tests.clock import ManualClock
from tests.helpers import PASSWORD, categories, log_in, make_user
from tests.web.support import article, csrf_from, log_in_with_form


def excerpts(html: str) -> list[str]:
    """The excerpts' markup as sent (entities and all)."""
    return re.findall(r'<p class="excerpt"[^>]*>(.*?)</p>', html, re.S)


async def test_post_excerpts_are_escaped_once_on_profiles_administrations_and_bookmarks(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    await seed_administrations()
    kenya = await Administration.get(country_code="KE")
    alice = await make_user("alice")
    await User.filter(id=alice.id).update(administration_id=kenya.id)
    alice = await User.get(id=alice.id)
    topic, _first = await do_create_topic(alice, cats["iot"], "Budgets", "Figures follow.")
    post = await do_create_post(alice, topic, cats["iot"], "R&D budget < 5% & <b>falling</b>")
    bob = await make_user("bob")
    await do_set_bookmark(bob, post, topic, cats["iot"], True)
    await log_in(client, bob)

    for path in ("/u/alice", "/a/KE", "/bookmarks"):
        page = await client.get(path)
        assert page.status_code == 200, path
        shown = [e for e in excerpts(page.text) if "budget" in e]
        assert shown == ["R&amp;D budget &lt; 5% &amp; &lt;b&gt;falling&lt;/b&gt;"], path
        assert unescape(shown[0]) == "R&D budget < 5% & <b>falling</b>"  # what one reads
        assert "&amp;amp;" not in page.text and "&amp;lt;" not in page.text, path


async def test_mentions_of_members_link_to_their_profiles(client: httpx.AsyncClient) -> None:
    cats = await categories()
    alice = await make_user("alice")
    await make_user("bob")
    await make_user("carol")
    topic, _first = await do_create_topic(alice, cats["iot"], "Seals", "Who uses them?")
    await log_in(client, alice)
    page = await client.get(f"/t/{topic.id}")
    body = "Thanks @bob and @ghost; mail bob@example.org, not `@bob`."
    replied = await client.post(
        f"/t/{topic.id}/reply", data={"csrf_token": csrf_from(page), "body": body}
    )
    assert replied.status_code == 303

    shown = article((await client.get(f"/t/{topic.id}")).text, 2)
    assert '<a href="/u/bob" class="mention">@bob</a> and @ghost;' in shown  # no such member
    assert "<code>@bob</code>" in shown  # code stays code
    assert 'href="mailto:bob@example.org"' in shown
    assert (await client.get("/u/bob")).status_code == 200  # where the link leads

    post = await Post.get(topic_id=topic.id, number=2)
    edit = await client.get(f"/p/{post.id}/edit")
    edited = await client.post(
        f"/p/{post.id}/edit", data={"csrf_token": csrf_from(edit), "body": "Also @carol."}
    )
    assert edited.status_code == 303
    shown = article((await client.get(f"/t/{topic.id}")).text, 2)
    assert '<a href="/u/carol" class="mention">@carol</a>' in shown


def member_names(page: str) -> list[str]:
    return [
        unescape(n) for n in re.findall(r'<a class="member-name" href="/u/[^"]+">([^<]+)</a>', page)
    ]


async def test_the_directory_folds_accents_and_sorts_countries_as_readers_expect(
    client: httpx.AsyncClient,
) -> None:
    await categories()
    await seed_administrations()
    by_code = {a.country_code: a for a in await Administration.all()}
    for username, name, code in (
        ("amelie", "Amélie Kouassi", "CI"),
        ("jan", "Jan Novák", "CZ"),
        ("ana", "Ana Cruz", "CU"),
    ):
        user = await make_user(username)
        await User.filter(id=user.id).update(display_name=name, administration_id=by_code[code].id)
    await log_in(client, await make_user("reader"))

    for typed in ("Amelie", "amélie", "AMELIE", "kouássi"):
        found = await client.get("/directory", params={"q": typed})
        assert member_names(found.text) == ["Amélie Kouassi"], typed
    assert member_names((await client.get("/directory", params={"q": "novak"})).text) == [
        "Jan Novák"
    ]

    page = await client.get("/directory")
    # By administration: Côte d'Ivoire, Cuba, Czech Republic (not Côte d'Ivoire last).
    assert member_names(page.text)[:3] == ["Amélie Kouassi", "Ana Cruz", "Jan Novák"]
    options = [
        unescape(o) for o in re.findall(r'<option value="[A-Z]{2}"[^>]*>([^<]+)<', page.text)
    ]
    assert options.index("Côte d'Ivoire") < options.index("Cuba") < options.index("Czech Republic")
    assert options.index("Curaçao") < options.index("Czech Republic")


async def test_the_vcard_export_splits_family_and_given_names(client: httpx.AsyncClient) -> None:
    await categories()
    for username, name in (
        ("amelie", "Amélie Kouassi"),
        ("ludwig", "Ludwig van Beethoven"),
        ("jean", "DUPONT Jean-Luc"),
        ("wei", "Chen, Wei"),
        ("mononym", "Sukarno"),
    ):
        user = await make_user(username)
        await User.filter(id=user.id).update(display_name=name)
    await log_in(client, await make_user("reader"))

    cards = (await client.get("/directory.vcf")).text
    for expected in (
        "FN:Amélie Kouassi\r\nN:Kouassi;Amélie;;;\r\n",
        "FN:Ludwig van Beethoven\r\nN:van Beethoven;Ludwig;;;\r\n",
        "FN:DUPONT Jean-Luc\r\nN:DUPONT;Jean-Luc;;;\r\n",
        "FN:Chen\\, Wei\r\nN:Chen;Wei;;;\r\n",
        "FN:Sukarno\r\nN:Sukarno;;;;\r\n",
    ):
        assert expected in cards


async def test_the_audit_log_names_its_targets_with_links(client: httpx.AsyncClient) -> None:
    cats = await categories()
    admin = await make_user("admin", role=Role.ADMIN)
    member = await make_user("carol")
    await User.filter(id=member.id).update(display_name="Carol <Customs>")
    topic, _first = await do_create_topic(member, cats["iot"], "Seals & scanners", "Hello")
    await do_revoke_membership(admin, member.id, "Left the administration")
    await do_set_topic_status(admin, topic, cats["iot"], closed=True)
    await do_create_page(admin, "about", "About the forum", "About us")
    page_row = await AuditLog.get(action="page.create")
    await log_in(client, admin)

    table = (await client.get("/admin/audit")).text.split("<tbody>", 1)[1]
    cells = {
        unescape(re.sub(r"<[^>]+>", "", cell)).strip(): cell
        for cell in re.findall(r'<td class="audit-target">(.*?)</td>', table, re.S)
    }
    assert f"Carol <Customs> (@carol) user #{member.id}" in cells  # escaped, by name
    assert "&lt;Customs&gt;" in cells[f"Carol <Customs> (@carol) user #{member.id}"]
    assert '<a href="/u/carol">' in cells[f"Carol <Customs> (@carol) user #{member.id}"]
    assert f'<a href="/t/{topic.id}">Seals &amp; scanners</a>' in table
    assert f"About the forum page #{page_row.target_id}" in cells
    assert "user #" + str(member.id) + "</td>" not in table  # never only the number


def qr_modules(svg: str) -> set[tuple[int, int]]:
    """The dark modules (column, row) a QR code in segno's SVG draws: its one path of
    horizontal runs (`M x y`, `h n`, `m dx dy`), the 4-module quiet zone taken off."""
    found = re.search(r'<path[^>]*class="qrline"[^>]*d="([^"]+)"', svg) or re.search(
        r'<path[^>]*d="([^"]+)"[^>]*class="qrline"', svg
    )
    assert found, svg[:200]
    x = y = 0.0
    dark: set[tuple[int, int]] = set()
    for command, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", found.group(1)):
        if command == "M":
            x, y = float(a), float(b)
        elif command == "m":
            x, y = x + float(a), y + float(b)
        else:
            dark.update((int(x) + i - 4, int(y - 0.5) - 4) for i in range(int(a)))
            x += float(a)
    return dark


async def test_two_factor_set_up_shows_a_qr_code_made_on_the_server(
    client: httpx.AsyncClient,
) -> None:
    alice = await make_user("alice")
    await log_in(client, alice)
    page = await client.get("/account/security")
    await client.post("/account/2fa/setup", data={"csrf_token": csrf_from(page)})

    page = await client.get("/account/security")
    figure = re.search(
        r'<figure class="qr-code" id="totp-qr" role="img" aria-label="[^"]+">'
        r"(<svg.*?</svg>)</figure>",
        page.text,
        re.S,
    )
    assert figure, "no QR code on the set-up page"
    uri = re.search(r'<code class="uri">([^<]+)</code>', page.text)
    assert uri
    secret = (await User.get(id=alice.id)).totp_secret
    assert f"secret={secret}" in unescape(uri.group(1))
    # What an authenticator app scans: the otpauth address shown beside it, module by module.
    expected = segno.make(unescape(uri.group(1)), error="m").matrix
    wanted = {(x, y) for y, row in enumerate(expected) for x, bit in enumerate(row) if bit}
    assert qr_modules(figure.group(1)) == wanted
    assert "<script" not in figure.group(1) and "http" not in figure.group(1)


async def test_staff_without_two_factor_are_told_at_login_that_their_powers_need_it(
    client: httpx.AsyncClient,
) -> None:
    await make_user("mod", role=Role.MODERATOR, two_factor=False)
    logged_in = await log_in_with_form(client, "mod@example.org", PASSWORD, next_url="/review")
    assert logged_in.status_code == 303
    assert logged_in.headers["location"] == "/account/security?notice=staff_login&next=/review"
    page = await client.get(logged_in.headers["location"])
    notice = re.search(r'<p class="notice" role="status">(.*?)</p>', page.text, re.S)
    assert notice and "need two-factor" in notice.group(1)
    assert "you have a member&#39;s rights only" in notice.group(1)
    assert '<a href="/review">Continue without staff powers</a>' in notice.group(1)
    assert "Set up two-factor authentication" in page.text

    # A member, or staff with 2FA (after their code), go where they were going.
    other = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with other:
        await make_user("amina")
        member = await log_in_with_form(other, "amina@example.org", PASSWORD, next_url="/bookmarks")
        assert member.headers["location"] == "/bookmarks"


def _without_path(html: str, path: str) -> str:
    return html.replace(quote(path, safe="/"), "PATH").replace(path, "PATH")


async def test_a_visitor_on_a_restricted_link_is_asked_to_log_in_without_learning_more(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    topic, _first = await do_create_topic(alice, cats["iot"], "Members only seals", "secret")
    restricted, missing = f"/t/{topic.id}", f"/t/{topic.id + 1000}"

    answers = {}
    for path in (restricted, missing, "/u/alice", "/u/nobody", "/c/iot", "/c/no-such"):
        page = await client.get(path)
        assert page.status_code == 404, path
        assert (
            f'<a class="button" href="/login?next={quote(path, safe="/")}">Log in to see it</a>'
            in (page.text)
        ), path
        assert "does not exist, or it is for members of the forum" in page.text
        assert "Members only seals" not in page.text
        answers[path] = _without_path(page.text, path)
    # Missing or restricted: the same page, word for word (only the address differs).
    assert answers[restricted] == answers[missing]
    assert answers["/u/alice"] == answers["/u/nobody"] == answers[restricted]
    assert answers["/c/iot"] == answers["/c/no-such"]

    # The prompt leads back: logged in through it, the member reads the topic.
    prompt = await client.get(f"/login?next={quote(restricted, safe='/')}")
    done = await client.post(
        "/login",
        data={
            "csrf_token": csrf_from(prompt),
            "email": "alice@example.org",
            "password": PASSWORD,
            "next": restricted,
        },
    )
    assert done.headers["location"] == restricted
    assert "Members only seals" in (await client.get(restricted)).text
    # A member who is logged in gets the plain "not found" page, no login prompt.
    gone = await client.get(missing)
    assert gone.status_code == 404 and "Log in to see it" not in gone.text


async def test_a_view_counts_once_per_member_per_hour_and_once_per_visitor_session(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    public, _ = await do_create_topic(alice, cats["welcome"], "Hello everyone", "one")
    members, _ = await do_create_topic(alice, cats["iot"], "Seals", "two")
    clock = ManualClock()
    app.state.views = ViewBuffer(clock=clock)
    transport = client._transport

    async def views(topic_id: int) -> int:
        await app.state.views.flush()
        return (await Topic.get(id=topic_id)).views

    # Three people: a member reloading, a second member, a visitor reloading.
    await log_in(client, await make_user("bob"))
    for _reload in range(5):
        await client.get(f"/t/{members.id}?near=1")
        await client.get(f"/t/{public.id}")
    assert await views(members.id) == 1 and await views(public.id) == 1
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as carol:
        await log_in(carol, await make_user("carol"))
        await carol.get(f"/t/{members.id}")
    assert await views(members.id) == 2
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as visitor:
        for _reload in range(4):
            assert (await visitor.get(f"/t/{public.id}")).status_code == 200
    assert await views(public.id) == 2
    # Another browser session (another person on another machine) is another view.
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers={"user-agent": "Firefox"}
    ) as other:
        await other.get(f"/t/{public.id}")
        await other.get(f"/t/{public.id}")
    assert await views(public.id) == 3

    # An hour later, bob's next read is a new view; a minute later it is not.
    clock.advance(3601)
    await client.get(f"/t/{members.id}")
    clock.advance(60)
    await client.get(f"/t/{members.id}")
    assert await views(members.id) == 3
    assert '<td class="num">3</td>' in (await client.get("/c/iot")).text


def test_the_memory_of_who_viewed_what_is_bounded() -> None:
    buffer = ViewBuffer(clock=ManualClock())
    for n in range(MAX_SEEN + 500):
        assert buffer.hit(1, (f"u:{n}",))
    assert len(buffer._seen) <= MAX_SEEN
    assert not buffer.hit(1, (f"u:{MAX_SEEN + 499}",))  # the newest are remembered
