"""Categories and the topic list of one category."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from forum.api.operation import operation
from forum.api.parsing import path_text, query_cursor
from forum.api.serializers import category_json, topic_list_json
from forum.auth import current_user
from forum.queries.categories import access_category, visible_categories
from forum.queries.topics import list_topics


@operation("The categories you can see", tag="categories", response="CategoryList")
async def list_categories(request: Request) -> Response:
    user = current_user(request)
    categories = await visible_categories(user)
    return JSONResponse({"categories": [category_json(c, user) for c in categories]})


@operation("One category", tag="categories", response="Category", errors=(404, 422))
async def get_category(request: Request) -> Response:
    user = current_user(request)
    category = await access_category(user, path_text(request, "slug"))
    return JSONResponse(category_json(category, user))


@operation(
    "A category's topics, pinned first, then by last activity",
    tag="categories",
    response="TopicList",
    query=("cursor",),
    errors=(400, 404, 422),
)
async def category_topics(request: Request) -> Response:
    user = current_user(request)
    slug = path_text(request, "slug")
    cursor = query_cursor(request)
    category = await access_category(user, slug)
    listing = await list_topics(user, category=category, cursor=cursor)
    return JSONResponse(topic_list_json(listing))
