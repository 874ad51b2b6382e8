"""Nothing restricted is found, counted or suggested for someone who may not see it: the
permission filter is part of the query, asked of forum.policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from forum.actions.posts import do_create_post, do_delete_post
from forum.actions.topics import do_create_topic
from forum.models import Category, Role, User, Visibility
from moderation import review
from search.query import SearchRequest, search
from tests.helpers import categories, make_user
from tests.search.support import count, found, staff_room, suggested


async def test_a_staff_only_categorys_topics_reach_only_staff_with_two_factor(db: str) -> None:
    await categories()
    room = await staff_room()
    mod = await make_user("mod", role=Role.MODERATOR)
    topic, post = await do_create_topic(mod, room, "Secret platypus rota", "platypus duty list")
    alice = await make_user("alice")
    no_2fa = await make_user("lazy", role=Role.MODERATOR, two_factor=False)

    assert set(await found(mod, "platypus")) == {("topic", topic.id), ("post", post.id)}
    assert await suggested(mod, "platyp") == ["Secret platypus rota"]
    for viewer in (alice, no_2fa, None):
        assert await found(viewer, "platypus") == []
        assert await count(viewer, "platypus") == 0
        assert await count(viewer, "platypus", category="staff-room") == 0
        assert await count(viewer, "platypus", topic=topic.id) == 0
        assert await suggested(viewer, "platyp") == []


async def test_visitors_and_unverified_accounts_find_only_public_categories(db: str) -> None:
    cats = await categories()
    alice = await make_user("alice")
    public, _p = await do_create_topic(alice, cats["welcome"], "Welcome axolotl", "axolotl hi")
    members, _m = await do_create_topic(alice, cats["iot"], "Members axolotl", "axolotl iot")
    unverified = await make_user("newbie", verified=False)

    assert await count(alice, "axolotl") == 4
    for viewer in (None, unverified):
        assert {kind_id[1] for kind_id in await found(viewer, "axolotl", kind="topic")} == {
            public.id
        }
        assert await count(viewer, "axolotl") == 2
        assert await suggested(viewer, "axolo") == ["Welcome axolotl"]
    assert sorted(await suggested(alice, "axolo")) == ["Members axolotl", "Welcome axolotl"]
    assert members.id in {i for _k, i in await found(alice, "axolotl", kind="topic")}


async def test_a_category_made_staff_only_disappears_from_members_results_at_once(
    db: str,
) -> None:
    cats = await categories()
    alice = await make_user("alice")
    await do_create_topic(alice, cats["iot"], "Gecko sensors", "gecko text")
    assert await count(alice, "gecko") == 2
    await Category.filter(id=cats["iot"].id).update(visibility=Visibility.STAFF)
    assert await count(alice, "gecko") == 0


async def test_hidden_and_deleted_posts_are_found_by_nobody_not_even_their_moderators(
    db: str,
) -> None:
    """Search shows what every reader of the category may read; moderators read hidden and
    deleted text on the topic page itself."""
    cats = await categories()
    alice = await make_user("alice")
    mod = await make_user("mod", role=Role.MODERATOR)
    topic, _first = await do_create_topic(alice, cats["iot"], "Ordinary topic", "words")
    hidden = await do_create_post(alice, topic, cats["iot"], "hidden capybara")
    deleted = await do_create_post(alice, topic, cats["iot"], "deleted capybara")
    await review.do_flag(mod, hidden, topic, cats["iot"], "spam")
    await do_delete_post(alice, deleted, topic, cats["iot"])
    for viewer in (alice, mod, None):
        assert await count(viewer, "capybara") == 0


async def test_the_directory_is_searchable_only_by_verified_members_and_lists_only_them(
    db: str,
) -> None:
    await categories()
    alice = await make_user("alice")
    ocelot = await make_user("ocelot")  # a verified member named Ocelot
    pending = await make_user("ocelotpending", verified=False)
    lapsed = await make_user("ocelotlapsed")
    await User.filter(id=lapsed.id).update(verified_until=datetime.now(UTC) - timedelta(days=1))
    lapsed = await User.get(id=lapsed.id)
    unverified_viewer = await make_user("viewer", verified=False)

    assert await found(alice, "ocelot", kind="member") == [("member", ocelot.id)]
    assert await suggested(alice, "ocel") == ["Ocelot"]
    for viewer in (None, unverified_viewer, lapsed):
        assert await count(viewer, "ocelot") == 0
        assert await count(viewer, "ocelot", kind="member") == 0
        assert await suggested(viewer, "ocel") == []
    assert ("member", pending.id) not in await found(alice, "ocelotpending")
    assert ("member", lapsed.id) not in await found(alice, "ocelotlapsed")


async def test_counts_never_include_what_the_viewer_cannot_see(db: str) -> None:
    cats = await categories()
    room = await staff_room()
    alice = await make_user("alice")
    mod = await make_user("mod", role=Role.MODERATOR)
    for n in range(3):
        await do_create_topic(mod, room, f"Staff manatee {n}", "manatee staff only")
    await do_create_topic(alice, cats["iot"], "Public manatee", "manatee for members")

    member_page = await search(alice, SearchRequest(q="manatee"))
    staff_page = await search(mod, SearchRequest(q="manatee"))
    assert member_page.count == len(member_page.results) == 2
    assert staff_page.count == len(staff_page.results) == 8
