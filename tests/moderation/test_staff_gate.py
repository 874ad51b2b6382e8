"""Every staff route and endpoint, walked: staff without two-factor authentication are sent
to set it up (pages) or refused with 403 `two_factor_setup_required` (API), and whatever any
route does for them, no staff act happens: no audit row names them and nothing a moderator
or administrator decides has changed. A new staff route is in the walk by being routed."""

from __future__ import annotations

import re
from typing import Any

import httpx
from starlette.routing import Route

from forum.actions.posts import do_create_post
from forum.actions.topics import do_create_topic
from forum.api.routes import routes as api_routes
from forum.models import (
    AccessRequest,
    AuditLog,
    Category,
    Post,
    PublicPage,
    ReviewItem,
    Role,
    Sanction,
    SiteSetting,
    Topic,
    User,
    WatchedWord,
)
from forum.web.routes import routes as web_routes
from moderation import review
from moderation import settings as moderation_settings
from moderation.sanctions import do_sanction
from moderation.watched import do_add_watched_word
from tests.api.conftest import DOCUMENT
from tests.api.test_robustness import VALID_BODIES
from tests.helpers import bearer, categories, log_in, make_user

# Pages and endpoints that are staff powers: every method of these is one.
STAFF_PAGES = ("/admin", "/review", "/sanctions/", "/t/{id:int}/status", "/t/{id:int}/move",
               "/t/{id:int}/merge")  # fmt: skip
STAFF_PAGE_SUFFIXES = ("/sanctions", "/knowledge/entries/{id:int}/decide",
                       "/knowledge/entries/{id:int}/supersede")  # fmt: skip
STAFF_API = ("/api/v1/review", "/api/v1/admin/", "/api/v1/sanctions/", "/api/v1/categories/order")
STAFF_API_SUFFIXES = ("/sanctions", "/moderation", "/move", "/merge")
STAFF_API_WRITES = {("POST", "/api/v1/categories"), ("PATCH", "/api/v1/categories/{slug}")}

FORM = {
    "action": "approve",
    "reason": "walked",
    "kind": "silence",
    "until": "",
    "closed": "1",
    "pinned": "1",
    "title": "A title changed by the walk",
    "body": "A body written by the walk",
    "name": "Walked",
    "slug": "walked",
    "description": "walked",
    "visibility": "public",
    "posting_right": "members",
    "word": "walkedword",
    "text": "walkedword",
    "category": "drones",
    "categories": "drones",
    "role": "moderator",
    "username": "alice",
    "take_over": "1",
    "note": "walked",
    "direction": "up",
    "archived": "1",
    "flag_threshold": "1",
    "email": "walked@example.org",
    "full_name": "Walked",
}


async def _snapshot(walkers: list[int]) -> list[Any]:
    """What staff decide: if any of it changes, a staff power was used. What the walkers
    wrote themselves (as members may) is left out."""
    return [
        await ReviewItem.exclude(author_id__in=walkers)  # e.g. a knowledge entry they submitted
        .order_by("id")
        .values_list("id", "status", "claimed_by_id", "decision", "post_id"),
        await Sanction.all().order_by("id").values_list("id", "kind", "lifted_at", "until"),
        await Category.all()
        .order_by("id")
        .values_list(
            "id", "slug", "name", "visibility", "position", "archived", "requires_approval"
        ),
        await User.all()
        .order_by("id")
        .values_list(
            "id", "role", "moderator_categories", "is_verified", "silenced_until", "suspended_until"
        ),
        await Topic.exclude(author_id__in=walkers)
        .order_by("id")
        .values_list(
            "id", "title", "closed", "pinned", "category_id", "merged_into_id", "deleted_at"
        ),
        await Post.exclude(author_id__in=walkers)
        .order_by("id")
        .values_list("id", "source", "hidden", "deleted_at"),
        await WatchedWord.all().order_by("id").values_list("id", "word"),
        await SiteSetting.all().order_by("key").values_list("key", "value"),
        await AccessRequest.all().order_by("id").values_list("id", "status"),
        await PublicPage.all().order_by("id").values_list("id", "title", "position"),
    ]


def _fill(path: str, ids: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "id":  # pages name every id "id": pick the object the path is about
            for prefix, key in (("/t/", "topic_id"), ("/p/", "post_id"), ("/review/", "item_id"),
                                ("/sanctions/", "sanction_id"), ("/admin/categories/", "category"),
                                ("/admin/moderators/", "user_id"),
                                ("/admin/members/", "user_id")):  # fmt: skip
                if path.startswith(prefix):
                    return ids[key]
            return "1"
        return ids.get(name, "1")

    return re.sub(r"{(\w+)(?::\w+)?}", value, path)


def _is_staff_page(path: str) -> bool:
    return path.startswith(STAFF_PAGES) or path.endswith(STAFF_PAGE_SUFFIXES)


def _is_staff_api(method: str, path: str) -> bool:
    return (
        path.startswith(STAFF_API)
        or path.endswith(STAFF_API_SUFFIXES)
        or (method, path) in STAFF_API_WRITES
    )


async def _world() -> dict[str, str]:
    cats = await categories()
    admin = await make_user("admin", role=Role.ADMIN)
    mod = await make_user("mod", role=Role.MODERATOR)
    alice, bob = await make_user("alice"), await make_user("bob")
    topic, _ = await do_create_topic(alice, cats["iot"], "Electronic seals", "first words")
    other, _ = await do_create_topic(alice, cats["iot"], "Another topic", "more words")
    post = await do_create_post(alice, topic, cats["iot"], "a reply to flag")
    item = await review.do_flag(bob, post, topic, cats["iot"], "spam")
    sanction = await do_sanction(mod, bob.id, "silence", "walked", None)
    await do_add_watched_word(admin, "walkedword", "flag")
    return {
        "topic_id": str(topic.id),
        "post_id": str(post.id),
        "item_id": str(item.id),
        "sanction_id": str(sanction.id),
        "user_id": str(alice.id),
        "username": "alice",
        "category": str(cats["iot"].id),
        "slug": "iot",
        "kind": "like",
        "word_id": "1",
        "into": str(other.id),
        "token_id": "999999",  # nobody's: revoking the walker's own token would end the walk
    }


async def _walk(client: httpx.AsyncClient, who: User, ids: dict[str, str]) -> list[str]:
    """Every route with every method, as `who`; returns what was wrong."""
    problems: list[str] = []
    for route in web_routes:
        if not isinstance(route, Route):
            continue
        url = _fill(route.path, ids)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            token = await log_in(client, who)  # afresh: the walk also logs out, and so on
            data = {**FORM, "csrf_token": token, "into": ids["into"]}
            response = await client.request(method, url, data=data if method == "POST" else None)
            staff = _is_staff_page(route.path)
            if staff and not (
                response.status_code == 303
                and response.headers["location"] == "/account/security?notice=staff_two_factor"
            ):
                where = response.headers.get("location", response.text[:80])
                problems.append(f"page {method} {url}: {response.status_code} {where}")
    client.cookies.clear()
    headers = await bearer(who)
    for template, item in DOCUMENT["paths"].items():
        url = _fill(template, ids)
        for method, operation in item.items():
            body_ref = operation.get("requestBody", {}).get("content", {}).get("application/json")
            name = body_ref["schema"]["$ref"].rsplit("/", 1)[1] if body_ref else None
            body = VALID_BODIES.get(name, {}) if name else None
            response = await client.request(method.upper(), url, headers=headers, json=body)
            if _is_staff_api(method.upper(), template):
                code = response.json().get("error", {}).get("code") if response.content else None
                if response.status_code != 403 or code != "two_factor_setup_required":
                    problems.append(f"api {method.upper()} {url}: {response.status_code} {code}")
    return problems


async def test_staff_without_two_factor_use_no_staff_power_anywhere(
    client: httpx.AsyncClient,
) -> None:
    ids = await _world()
    lax_mod = await make_user("laxmod", role=Role.MODERATOR, two_factor=False)
    lax_admin = await make_user("laxadmin", role=Role.ADMIN, two_factor=False)
    await moderation_settings.store({"flag_threshold": 100})  # their flags are a member's
    walkers = [lax_mod.id, lax_admin.id]
    before = await _snapshot(walkers)

    for lax in (lax_mod, lax_admin):
        problems = await _walk(client, lax, ids)
        assert problems == [], "\n".join([lax.username, *problems])
        assert await AuditLog.filter(actor_id=lax.id).count() == 0
    assert await _snapshot(walkers) == before
    assert len(api_routes) > 30  # the walk saw the API
