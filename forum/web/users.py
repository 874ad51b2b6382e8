"""Member profiles."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum.auth import current_user
from forum.queries.users import profile
from forum.web.templating import render


async def show_profile(request: Request) -> Response:
    found = await profile(current_user(request), request.path_params["username"])
    return render(request, "profile.html", {"profile": found})
