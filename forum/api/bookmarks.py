"""Bookmarks: a member's private list of posts to come back to."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from forum.actions.reading import do_set_bookmark
from forum.api.operation import operation
from forum.api.posts import post_id
from forum.auth import require_user
from forum.queries.topics import access_post


async def _set(request: Request, present: bool) -> Response:
    user = require_user(request)
    post, topic, category = await access_post(user, post_id(request))
    bookmarked = await do_set_bookmark(user, post, topic, category, present)
    return JSONResponse({"post_id": post.id, "bookmarked": bookmarked})


@operation(
    "Bookmark a post", tag="bookmarks", response="Bookmark", auth="required", errors=(401, 404)
)
async def add_bookmark(request: Request) -> Response:
    return await _set(request, True)


@operation(
    "Remove a bookmark", tag="bookmarks", response="Bookmark", auth="required", errors=(401, 404)
)
async def remove_bookmark(request: Request) -> Response:
    return await _set(request, False)
