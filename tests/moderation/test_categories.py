"""Administrators manage categories and moderators: through the pages and the API, audited,
refused to everyone else, and a change of visibility or of a moderator's rights takes effect
at once on pages, the API and open WebSockets."""

from __future__ import annotations

import re

import httpx

from forum.actions.posts import do_create_post
from forum.actions.topics import do_create_topic
from forum.models import AuditLog, Category, Role, User, Visibility
from forum.settings import Settings
from moderation.categories import do_update_category
from moderation.moderators import do_set_moderation
from tests.helpers import bearer, categories, log_in, make_user
from tests.realtime.support import client as ws_client
from tests.realtime.support import serving


def _home_order(html: str) -> list[str]:
    return re.findall(r'class="category-name" href="/c/([a-z0-9-]+)"', html)


async def _audit(action: str) -> list[AuditLog]:
    return await AuditLog.filter(action=action).order_by("id")


async def _staff_acts() -> list[str]:
    """The audit log's rows about categories and moderators (enrolling in 2FA writes rows too)."""
    rows = await AuditLog.all().order_by("id")
    return [r.action for r in rows if r.action.startswith(("category.", "moderator."))]


# --- who may --------------------------------------------------------------------------------


async def test_members_and_moderators_are_refused_and_staff_without_2fa_are_sent_to_set_it_up(
    client: httpx.AsyncClient,
) -> None:
    await categories()
    member = await make_user("alice")
    moderator = await make_user("mod", role=Role.MODERATOR)
    lax_admin = await make_user("lax", role=Role.ADMIN, two_factor=False)
    new = {"slug": "customs-labs", "name": "Customs labs"}
    for user in (member, moderator):
        response = await client.post("/api/v1/categories", headers=await bearer(user), json=new)
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "forbidden"
        reorder = await client.post(
            "/api/v1/categories/order", headers=await bearer(user), json={"slugs": []}
        )
        assert reorder.status_code == 403
        patch = await client.patch(
            "/api/v1/categories/welcome", headers=await bearer(user), json={"archived": True}
        )
        assert patch.status_code == 403
        put = await client.put(
            f"/api/v1/users/{member.id}/moderation",
            headers=await bearer(user),
            json={"role": "moderator"},
        )
        assert put.status_code == 403
        csrf = await log_in(client, user)
        assert (await client.get("/admin/categories")).status_code == 403
        assert (await client.get("/admin/moderators")).status_code == 403
        page = await client.post("/admin/categories/new", data={"csrf_token": csrf, **new})
        assert page.status_code == 403
    response = await client.post("/api/v1/categories", headers=await bearer(lax_admin), json=new)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "two_factor_setup_required"
    csrf = await log_in(client, lax_admin)
    for page in (
        await client.get("/admin/categories"),
        await client.post("/admin/categories/new", data={"csrf_token": csrf, **new}),
        await client.get("/admin/moderators"),
    ):
        assert page.status_code == 303
        assert page.headers["location"] == "/account/security?notice=staff_two_factor"
    assert not await Category.filter(slug="customs-labs").exists()
    assert await _staff_acts() == []
    assert (await User.get(id=member.id)).role == Role.MEMBER


# --- create and edit ------------------------------------------------------------------------


async def test_an_administrator_creates_a_category_from_the_page_and_members_find_it(
    client: httpx.AsyncClient,
) -> None:
    await categories()
    admin = await make_user("secretariat", role=Role.ADMIN)
    member = await make_user("alice")
    csrf = await log_in(client, admin)
    assert "/admin/categories" in (await client.get("/admin")).text
    blank = await client.get("/admin/categories/new")
    assert blank.status_code == 200 and 'name="slug"' in blank.text
    form = {
        "csrf_token": csrf,
        "slug": "customs-labs",
        "name": "Customs   labs",
        "description": "Pilots and prototypes.",
        "visibility": "members",
        "posting_right": "members",
        "requires_approval": "1",
    }
    response = await client.post("/admin/categories/new", data=form)
    assert response.status_code == 303
    listing = await client.get(response.headers["location"])
    assert "Customs labs" in listing.text and "/c/customs-labs" in listing.text
    created = await Category.get(slug="customs-labs")
    assert created.requires_approval and created.visibility == Visibility.MEMBERS
    assert created.position == max(await Category.all().values_list("position", flat=True))

    await log_in(client, member)
    home = await client.get("/")
    assert _home_order(home.text)[-1] == "customs-labs"
    assert (await client.get("/c/customs-labs")).status_code == 200

    (row,) = await _audit("category.create")
    assert row.actor_id == admin.id and row.target_id == created.id
    assert '"slug": "customs-labs"' in row.after and '"requires_approval": true' in row.after


async def test_a_refused_form_says_why_and_keeps_what_was_typed(
    client: httpx.AsyncClient,
) -> None:
    await categories()
    admin = await make_user("secretariat", role=Role.ADMIN)
    csrf = await log_in(client, admin)
    typed = {
        "csrf_token": csrf,
        "name": "Customs labs",
        "description": "Typed with care",
        "visibility": "staff",
        "posting_right": "staff",
    }
    bad = await client.post("/admin/categories/new", data={**typed, "slug": "Bad Slug!"})
    assert bad.status_code == 422
    assert "lower-case letters, digits and single dashes" in bad.text
    assert "Typed with care" in bad.text and 'value="Bad Slug!"' in bad.text
    assert 'value="staff" checked' in bad.text
    taken = await client.post("/admin/categories/new", data={**typed, "slug": "cybersecurity"})
    assert taken.status_code == 409
    assert "Another category has the address “cybersecurity”" in taken.text
    reserved = await client.post("/admin/categories/new", data={**typed, "slug": "order"})
    assert reserved.status_code == 422
    empty = await client.post("/admin/categories/new", data={**typed, "slug": "x", "name": " "})
    assert empty.status_code == 422 and "1 to 100 characters" in empty.text
    assert await Category.filter(name="Customs labs").count() == 0
    assert await _staff_acts() == []


async def test_the_api_creates_and_edits_categories_and_explains_refusals(
    client: httpx.AsyncClient,
) -> None:
    await categories()
    admin = await make_user("secretariat", role=Role.ADMIN)
    headers = await bearer(admin)
    body = {"slug": "customs-labs", "name": "Customs labs", "visibility": "staff"}
    created = await client.post("/api/v1/categories", headers=headers, json=body)
    assert created.status_code == 201, created.text
    assert created.json()["slug"] == "customs-labs"
    assert created.json()["visibility"] == "staff"
    assert created.json()["archived"] is False
    again = await client.post("/api/v1/categories", headers=headers, json=body)
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    bad = await client.post("/api/v1/categories", headers=headers, json={**body, "slug": "A B"})
    assert bad.status_code == 422 and "address" in bad.json()["error"]["message"]
    wrong = await client.post(
        "/api/v1/categories", headers=headers, json={**body, "slug": "x", "visibility": "all"}
    )
    assert wrong.status_code == 422

    edited = await client.patch(
        "/api/v1/categories/customs-labs",
        headers=headers,
        json={"name": "Customs laboratories", "visibility": "members", "posting_right": "staff"},
    )
    assert edited.status_code == 200, edited.text
    got = edited.json()
    assert (got["name"], got["visibility"], got["posting_right"]) == (
        "Customs laboratories",
        "members",
        "staff",
    )
    nothing = await client.patch("/api/v1/categories/customs-labs", headers=headers, json={})
    assert nothing.status_code == 422
    missing = await client.patch("/api/v1/categories/nope", headers=headers, json={"name": "x"})
    assert missing.status_code == 404

    (row,) = await _audit("category.update")
    assert row.before == (
        '{"name": "Customs labs", "posting_right": "members", "visibility": "staff"}'
    )
    assert row.after == (
        '{"name": "Customs laboratories", "posting_right": "staff", "visibility": "members"}'
    )
    assert row.data == {"slug": "customs-labs", "changed": ["name", "visibility", "posting_right"]}


async def test_a_new_name_shows_at_once_on_pages_that_were_already_rendered(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    admin = await make_user("secretariat", role=Role.ADMIN)
    member = await make_user("alice")
    topic, _ = await do_create_topic(member, cats["iot"], "Electronic seals", "Which ones?")
    await log_in(client, member)
    assert "Internet of Things" in (await client.get("/")).text  # the cards are cached now
    assert "Internet of Things" in (await client.get(f"/t/{topic.id}")).text

    await log_in(client, admin)
    edit = await client.get(f"/admin/categories/{cats['iot'].id}/edit")
    assert edit.status_code == 200 and 'value="Internet of Things"' in edit.text
    csrf = await log_in(client, admin)
    saved = await client.post(
        f"/admin/categories/{cats['iot'].id}/edit",
        data={
            "csrf_token": csrf,
            "name": "Connected devices",
            "description": "Seals and sensors.",
            "visibility": "members",
            "posting_right": "members",
        },
    )
    assert saved.status_code == 303

    await log_in(client, member)
    home = (await client.get("/")).text
    assert "Connected devices" in home and "Internet of Things" not in home
    assert "Seals and sensors." in home
    assert "Connected devices" in (await client.get(f"/t/{topic.id}")).text
    assert "Connected devices" in (await client.get("/c/iot")).text


# --- order ----------------------------------------------------------------------------------


async def test_categories_move_up_and_down_on_the_page_and_take_a_whole_order_from_the_api(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    admin = await make_user("secretariat", role=Role.ADMIN)
    csrf = await log_in(client, admin)
    before = _home_order((await client.get("/")).text)
    assert before[:2] == ["welcome", "announcements"]
    moved = await client.post(
        f"/admin/categories/{cats['announcements'].id}/move",
        data={"csrf_token": csrf, "direction": "up"},
    )
    assert moved.status_code == 303
    after = _home_order((await client.get("/")).text)
    assert after[:2] == ["announcements", "welcome"] and sorted(after) == sorted(before)
    first = await client.post(
        f"/admin/categories/{cats['announcements'].id}/move",
        data={"csrf_token": csrf, "direction": "up"},
    )
    assert first.status_code == 303  # already first: nothing changes
    assert _home_order((await client.get("/")).text) == after
    nonsense = await client.post(
        f"/admin/categories/{cats['announcements'].id}/move",
        data={"csrf_token": csrf, "direction": "sideways"},
    )
    assert nonsense.status_code == 422

    headers = await bearer(admin)
    wanted = list(reversed(before))
    ordered = await client.post("/api/v1/categories/order", headers=headers, json={"slugs": wanted})
    assert ordered.status_code == 200, ordered.text
    assert [c["slug"] for c in ordered.json()["categories"]] == wanted
    listed = await client.get("/api/v1/categories", headers=headers)
    assert [c["slug"] for c in listed.json()["categories"]] == wanted
    assert _home_order((await client.get("/")).text) == wanted
    partial = await client.post(
        "/api/v1/categories/order", headers=headers, json={"slugs": wanted[1:]}
    )
    assert partial.status_code == 422 and wanted[0] in partial.json()["error"]["message"]
    twice = await client.post(
        "/api/v1/categories/order", headers=headers, json={"slugs": [*wanted, wanted[0]]}
    )
    assert twice.status_code == 422

    rows = await _audit("category.reorder")
    assert len(rows) == 2
    assert rows[0].data == {"slug": "announcements", "direction": "up"}
    assert rows[1].after.startswith(f'["{wanted[0]}"')


# --- archive --------------------------------------------------------------------------------


async def test_an_archived_category_is_read_only_and_says_so(client: httpx.AsyncClient) -> None:
    cats = await categories()
    admin = await make_user("secretariat", role=Role.ADMIN)
    member = await make_user("alice")
    topic, _ = await do_create_topic(member, cats["drones"], "Drone patrols", "Who flies them?")
    member_csrf = await log_in(client, member)
    assert "Archived" not in (await client.get("/")).text

    csrf = await log_in(client, admin)
    done = await client.post(
        f"/admin/categories/{cats['drones'].id}/archive", data={"csrf_token": csrf, "archived": "1"}
    )
    assert done.status_code == 303
    assert "Archived" in (await client.get("/admin/categories")).text

    member_csrf = await log_in(client, member)
    home = (await client.get("/")).text
    card = home[home.index('href="/c/drones"') :][:200]
    assert "Archived" in card
    category_page = (await client.get("/c/drones")).text
    assert "This category is archived" in category_page and "/c/drones/new" not in category_page
    topic_page = await client.get(f"/t/{topic.id}")
    assert topic_page.status_code == 200 and "Archived" in topic_page.text
    message = "This category is archived: it takes no new topics or replies."
    reply = await client.post(
        f"/t/{topic.id}/reply", data={"csrf_token": member_csrf, "body": "One more"}
    )
    assert reply.status_code == 403 and message in reply.text
    new_topic = await client.post(
        "/c/drones/new",
        data={"csrf_token": member_csrf, "title": "Another one", "body": "x", "tags": ""},
    )
    assert new_topic.status_code == 403 and message in new_topic.text
    headers = await bearer(member)
    api_topic = await client.post(
        "/api/v1/topics",
        headers=headers,
        json={"category": "drones", "title": "Through the API", "body": "x"},
    )
    assert api_topic.status_code == 403 and api_topic.json()["error"]["message"] == message
    api_reply = await client.post(
        f"/api/v1/topics/{topic.id}/posts", headers=headers, json={"body": "x"}
    )
    assert api_reply.status_code == 403 and api_reply.json()["error"]["message"] == message
    assert (await client.get("/api/v1/categories/drones", headers=headers)).json()["archived"]

    unarchived = await client.patch(
        "/api/v1/categories/drones", headers=await bearer(admin), json={"archived": False}
    )
    assert unarchived.status_code == 200 and unarchived.json()["archived"] is False
    again = await client.post(
        f"/api/v1/topics/{topic.id}/posts", headers=headers, json={"body": "Back again"}
    )
    assert again.status_code == 201
    assert await _staff_acts() == [
        "category.archive",
        "category.unarchive",
    ]


# --- visibility -----------------------------------------------------------------------------


async def test_a_category_made_staff_only_disappears_at_once_from_pages_and_the_api(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    admin = await make_user("secretariat", role=Role.ADMIN)
    member = await make_user("alice")
    topic, post = await do_create_topic(member, cats["robotics"], "Robot dogs", "At ports?")
    headers = await bearer(member)
    await log_in(client, member)
    for url in ("/c/robotics", f"/t/{topic.id}", f"/p/{post.id}"):
        assert (await client.get(url)).status_code in (200, 303), url
    assert (await client.get("/api/v1/categories/robotics", headers=headers)).status_code == 200
    assert "/c/robotics" in (await client.get("/")).text

    changed = await client.patch(
        "/api/v1/categories/robotics", headers=await bearer(admin), json={"visibility": "staff"}
    )
    assert changed.status_code == 200

    await log_in(client, member)
    for url in ("/c/robotics", f"/t/{topic.id}", f"/p/{post.id}"):
        assert (await client.get(url)).status_code == 404, url
    assert "/c/robotics" not in (await client.get("/")).text
    for url in (
        "/api/v1/categories/robotics",
        f"/api/v1/topics/{topic.id}",
        f"/api/v1/posts/{post.id}",
    ):
        assert (await client.get(url, headers=headers)).status_code == 404, url
    listed = await client.get("/api/v1/categories", headers=headers)
    assert "robotics" not in [c["slug"] for c in listed.json()["categories"]]
    latest = await client.get("/api/v1/latest", headers=headers)
    assert topic.id not in [t["id"] for t in latest.json()["topics"]]
    staff_view = await client.get(f"/api/v1/topics/{topic.id}", headers=await bearer(admin))
    assert staff_view.status_code == 200


async def test_open_sockets_stop_hearing_a_category_the_moment_it_becomes_staff_only(
    settings: Settings,
) -> None:
    cats = await categories()
    admin = await make_user("secretariat", role=Role.ADMIN)
    member = await make_user("alice")
    topic, _ = await do_create_topic(member, cats["robotics"], "Robot dogs", "At ports?")
    topic_key, category_key = f"topic:{topic.id}", "category:robotics"
    async with (
        serving(settings) as served,
        ws_client(served, headers=await bearer(member)) as members,
        ws_client(served, headers=await bearer(admin)) as staff,
    ):
        _, answer = await members.subscribe(topic_key, category_key, "latest")
        assert answer["channels"] == sorted([topic_key, category_key, "latest"])
        await staff.subscribe(topic_key, category_key)

        await do_update_category(admin, cats["robotics"], {"visibility": "staff"})
        refused = [await members.recv(), await members.recv()]
        assert {(f["type"], f["code"], f["channel"]) for f in refused} == {
            ("error", "forbidden", topic_key),
            ("error", "forbidden", category_key),
        }
        (updated,) = await staff.events(1)
        assert updated["name"] == "category.updated"
        assert updated["data"]["visibility"] == "staff"

        await do_create_post(admin, topic, cats["robotics"], "Staff only now")
        await do_create_topic(admin, cats["robotics"], "A staff topic", "x")
        assert await members.silence() == []
        names = [f["name"] for f in await staff.events(2)]
        assert names == ["post.created", "topic.created"]
        before, again = await members.subscribe(topic_key, category_key)
        assert {f["channel"] for f in before} == {topic_key, category_key}
        assert again["channels"] == ["latest"]
        assert served.hub.connections_of(member.id) == 1  # still connected, just not to those


# --- moderators -----------------------------------------------------------------------------


async def test_an_administrator_promotes_assigns_and_demotes_moderators_on_the_page(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    admin = await make_user("secretariat", role=Role.ADMIN)
    member = await make_user("alice")
    csrf = await log_in(client, admin)
    assert "/admin/moderators" in (await client.get("/admin")).text
    unknown = await client.post(
        "/admin/moderators/promote",
        data={"csrf_token": csrf, "username": "nobody", "category": str(cats["iot"].id)},
    )
    assert unknown.status_code == 422 and "nobody" in unknown.text
    assert f'value="{cats["iot"].id}" checked' in unknown.text  # the ticks survive

    promoted = await client.post(
        "/admin/moderators/promote",
        content=(
            f"csrf_token={csrf}&username=alice"
            f"&category={cats['iot'].id}&category={cats['drones'].id}"
        ),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert promoted.status_code == 303
    alice = await User.get(id=member.id)
    assert alice.role == Role.MODERATOR
    assert sorted(alice.moderator_categories) == sorted([cats["iot"].id, cats["drones"].id])
    page = await client.get("/admin/moderators")
    assert "@alice" in page.text

    narrowed = await client.post(
        f"/admin/moderators/{member.id}/categories",
        data={"csrf_token": csrf, "category": str(cats["iot"].id)},
    )
    assert narrowed.status_code == 303
    assert (await User.get(id=member.id)).moderator_categories == [cats["iot"].id]
    everything = await client.post(
        f"/admin/moderators/{member.id}/categories", data={"csrf_token": csrf}
    )
    assert everything.status_code == 303
    assert (await User.get(id=member.id)).moderator_categories == []

    demoted = await client.post(f"/admin/moderators/{member.id}/demote", data={"csrf_token": csrf})
    assert demoted.status_code == 303
    assert (await User.get(id=member.id)).role == Role.MEMBER
    admin_demoted = await client.post(
        f"/admin/moderators/{admin.id}/demote", data={"csrf_token": csrf}
    )
    assert admin_demoted.status_code == 403
    assert (await User.get(id=admin.id)).role == Role.ADMIN

    assert await _staff_acts() == [
        "moderator.promote",
        "moderator.assign",
        "moderator.assign",
        "moderator.demote",
    ]
    first = (await _audit("moderator.promote"))[0]
    assert first.before == '{"role": "member"}'
    assert first.after == '{"categories": ["iot", "drones"], "role": "moderator"}'


async def test_the_api_sets_a_moderators_categories_by_slug_and_never_touches_administrators(
    client: httpx.AsyncClient,
) -> None:
    await categories()
    admin = await make_user("secretariat", role=Role.ADMIN)
    other_admin = await make_user("deputy", role=Role.ADMIN)
    member = await make_user("alice")
    newcomer = await make_user("newcomer", verified=False)
    headers = await bearer(admin)
    url = f"/api/v1/users/{member.id}/moderation"
    response = await client.put(
        url, headers=headers, json={"role": "moderator", "categories": ["iot", "drones"]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["role"] == "moderator"
    assert sorted(response.json()["categories"]) == ["drones", "iot"]
    unknown = await client.put(
        url, headers=headers, json={"role": "moderator", "categories": ["nope"]}
    )
    assert unknown.status_code == 422 and "nope" in unknown.json()["error"]["message"]
    bad_role = await client.put(url, headers=headers, json={"role": "admin"})
    assert bad_role.status_code == 422
    admin_change = await client.put(
        f"/api/v1/users/{other_admin.id}/moderation", headers=headers, json={"role": "member"}
    )
    assert admin_change.status_code == 403
    unverified = await client.put(
        f"/api/v1/users/{newcomer.id}/moderation", headers=headers, json={"role": "moderator"}
    )
    assert unverified.status_code == 422
    nobody = await client.put(
        "/api/v1/users/999999/moderation", headers=headers, json={"role": "member"}
    )
    assert nobody.status_code == 404
    demoted = await client.put(url, headers=headers, json={"role": "member"})
    assert demoted.json() == {
        "id": member.id,
        "username": "alice",
        "display_name": "Alice",
        "role": "member",
        "categories": [],
    }
    assert (await User.get(id=other_admin.id)).role == Role.ADMIN


async def test_a_moderator_whose_rights_narrow_loses_open_sockets_and_one_promoted_keeps_them(
    settings: Settings,
) -> None:
    cats = await categories()
    admin = await make_user("secretariat", role=Role.ADMIN)
    moderator = await make_user("mod", role=Role.MODERATOR)
    member = await make_user("alice")
    async with (
        serving(settings) as served,
        ws_client(served, headers=await bearer(moderator)) as staff,
        ws_client(served, headers=await bearer(member)) as rising,
    ):
        await staff.subscribe("staff")
        await rising.subscribe("user")
        await do_set_moderation(admin, member.id, Role.MODERATOR, [cats["iot"].id])
        assert await rising.silence() == []  # nothing taken away: the socket stays
        await do_set_moderation(admin, moderator.id, Role.MODERATOR, [cats["iot"].id])
        assert await staff.close_code() == 1008  # every category -> one: narrowed
        assert served.hub.connections_of(moderator.id) == 0
        async with ws_client(served, headers=await bearer(moderator)) as again:
            await again.subscribe("staff")
            await do_set_moderation(admin, moderator.id, Role.MODERATOR, [])  # widened
            assert await again.silence() == []
            await do_set_moderation(admin, moderator.id, Role.MEMBER)
            assert await again.close_code() == 1008
        async with ws_client(served, headers=await bearer(moderator)) as demoted:
            before, answer = await demoted.subscribe("staff")
            assert before[0]["code"] == "forbidden" and answer["channels"] == []
