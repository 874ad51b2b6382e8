"""The posts a member bookmarked."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum.auth import require_user
from forum.queries.bookmarks import list_bookmarks
from forum.web.templating import render


async def show_bookmarks(request: Request) -> Response:
    user = require_user(request)
    found = await list_bookmarks(user, cursor=request.query_params.get("cursor") or None)
    return render(request, "bookmarks.html", {"bookmarks": found})
