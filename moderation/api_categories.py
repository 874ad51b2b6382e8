"""The API of administrators' category and moderator management. Thin: the gate first (so a
member hears 403 whatever the body), then the body, then one action."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from forum.api.bodies import NO_NUL
from forum.api.operation import operation
from forum.api.parsing import BodySpec, Flag, Text, TextList, path_id, path_text, read_body
from forum.api.serializers import category_json
from forum.auth import require_user
from forum.i18n import N_, _
from forum.models import Category, PostingRight, User, Visibility
from moderation.categories import (
    DESCRIPTION_MAX,
    NAME_MAX,
    SLUG_MAX,
    access_category_by_slug,
    check_new_category,
    do_archive_category,
    do_create_category,
    do_order_categories,
    do_update_category,
)
from moderation.gate import require_administrator
from moderation.moderators import ROLES, categories_by_slug, check_role, do_set_moderation

SLUG_PATTERN = "[a-z0-9]+(?:-[a-z0-9]+)*"
SLUG = Text(
    "slug",
    min_length=1,
    max_length=SLUG_MAX,
    pattern=SLUG_PATTERN,
    pattern_message=N_("A category's address has lower-case letters, digits and single dashes."),
    description="The category's address (/c/<slug>); it cannot change later.",
)
NAME = Text("name", min_length=1, max_length=NAME_MAX, pattern=NO_NUL)
DESCRIPTION = Text("description", max_length=DESCRIPTION_MAX, pattern=NO_NUL)
VISIBILITY = Text(
    "visibility",
    max_length=16,
    choices=[v.value for v in Visibility],
    description="Who sees the category; a change takes effect at once, live sockets included.",
)
POSTING_RIGHT = Text(
    "posting_right",
    max_length=16,
    choices=[r.value for r in PostingRight],
    description="Who may start topics.",
)
REQUIRES_APPROVAL = Flag("requires_approval", description="Every new post waits for review.")
ARCHIVED = Flag("archived", description="Read-only: no new topics or replies.")
SLUGS = TextList(
    "slugs",
    Text("slugs", min_length=1, max_length=SLUG_MAX, pattern=NO_NUL),
    max_items=1000,
    description="Every category's slug, once each, in the new order.",
)
ROLE = Text("role", max_length=16, choices=ROLES)
CATEGORIES = TextList(
    "categories",
    Text("categories", min_length=1, max_length=SLUG_MAX, pattern=NO_NUL),
    max_items=1000,
    description="Slugs of the categories moderated; empty or absent: every category.",
)

NEW_CATEGORY = BodySpec(
    "NewCategory",
    required=(SLUG, NAME),
    optional=(DESCRIPTION, VISIBILITY, POSTING_RIGHT, REQUIRES_APPROVAL),
)
CATEGORY_CHANGES = BodySpec(
    "CategoryChanges",
    optional=(NAME, DESCRIPTION, VISIBILITY, POSTING_RIGHT, REQUIRES_APPROVAL, ARCHIVED),
    at_least_one=True,
)
CATEGORY_ORDER = BodySpec("CategoryOrder", required=(SLUGS,))
MODERATION = BodySpec("Moderation", required=(ROLE,), optional=(CATEGORIES,))

ADMIN_ONLY = "Administrators with two-factor authentication only (403 otherwise)."


def _administrator(request: Request) -> User:
    return require_administrator(require_user(request))


@operation(
    "Create a category",
    tag="categories",
    response="Category",
    status=201,
    body=NEW_CATEGORY,
    auth="required",
    errors=(409,),
    description=ADMIN_ONLY + " It goes last in the order.",
)
async def create_category(request: Request) -> Response:
    actor = _administrator(request)
    body = await read_body(request, NEW_CATEGORY)
    requires_approval: bool | None = body.get_optional(REQUIRES_APPROVAL)
    new = check_new_category(
        body.get(SLUG),
        body.get(NAME),
        body.get_optional(DESCRIPTION) or "",
        body.get_optional(VISIBILITY) or Visibility.MEMBERS.value,
        body.get_optional(POSTING_RIGHT) or PostingRight.MEMBERS.value,
        bool(requires_approval),
    )
    category = await do_create_category(actor, new)
    return JSONResponse(category_json(category, actor), status_code=201)


@operation(
    "Change a category",
    tag="categories",
    response="Category",
    body=CATEGORY_CHANGES,
    auth="required",
    errors=(404,),
    description=ADMIN_ONLY + " Send only what changes; the slug cannot change.",
)
async def update_category(request: Request) -> Response:
    actor = _administrator(request)
    category = await access_category_by_slug(path_text(request, "slug"))
    body = await read_body(request, CATEGORY_CHANGES)
    changes: dict[str, object] = {}
    for text in (NAME, DESCRIPTION, VISIBILITY, POSTING_RIGHT):
        if (value := body.get_optional(text)) is not None:
            changes[text.name] = value
    for flag in (REQUIRES_APPROVAL, ARCHIVED):
        if (checked := body.get_optional(flag)) is not None:
            changes[flag.name] = checked
    if set(changes) == {"archived"}:
        category = await do_archive_category(actor, category, changes["archived"] is True)
    else:
        category = await do_update_category(actor, category, changes)
    return JSONResponse(category_json(category, actor))


@operation(
    "Set the order of the categories",
    tag="categories",
    response="CategoryList",
    body=CATEGORY_ORDER,
    auth="required",
    description=ADMIN_ONLY,
)
async def order_categories(request: Request) -> Response:
    actor = _administrator(request)
    body = await read_body(request, CATEGORY_ORDER)
    ordered = await do_order_categories(actor, body.get(SLUGS))
    return JSONResponse({"categories": [category_json(c, actor) for c in ordered]})


@operation(
    "Make a member a moderator (of some categories or all), or a moderator a member",
    tag="moderation",
    response="Moderator",
    body=MODERATION,
    auth="required",
    errors=(404,),
    description=ADMIN_ONLY + " Administrators themselves are not changed here (403).",
)
async def set_moderation(request: Request) -> Response:
    actor = _administrator(request)
    user_id = path_id(request, "user_id", _("No such member."))
    body = await read_body(request, MODERATION)
    role = check_role(body.get(ROLE))
    ids = await categories_by_slug(body.get_optional(CATEGORIES) or [])
    target = await do_set_moderation(actor, user_id, role, ids)
    slugs = await Category.filter(id__in=target.moderator_categories).order_by("position", "id")
    return JSONResponse(
        {
            "id": target.id,
            "username": target.username,
            "display_name": target.display_name,
            "role": target.role.value,
            "categories": [c.slug for c in slugs],
        }
    )
