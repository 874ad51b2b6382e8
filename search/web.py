"""The search page, `/search?q=`: a form with every filter, results with highlighted
snippets, the count and pages. A bad query is answered on the page itself, with a 400."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from forum import policy
from forum.auth import current_user
from forum.errors import BadRequest
from forum.models import Region
from forum.queries.administrations import all_administrations
from forum.queries.categories import visible_categories
from forum.web.templating import render
from search.index import KINDS
from search.query import PAGE_SIZE, SearchRequest, parse_request, search


async def search_page(request: Request) -> Response:
    user = current_user(request)
    context: dict[str, Any] = {
        "kinds": [k for k in KINDS if k != "member" or policy.can_see_directory(user)],
        "categories": await visible_categories(user),
        "regions": list(Region),
        "administrations": await all_administrations() if policy.is_member(user) else [],
        "page": None,
        "error": "",
    }
    try:
        wanted = parse_request(request.query_params)
    except BadRequest as exc:
        context["wanted"] = SearchRequest(q=(request.query_params.get("q") or "")[:200])
        context["error"] = exc.message
        return render(request, "search.html", context, status=400)
    context["wanted"] = wanted
    if wanted.q:
        page = await search(user, wanted)
        context["page"] = page
        number = page.page_number
        if number > 1:
            context["previous_url"] = "/search?" + urlencode(wanted.params(page=number - 1))
        if page.next_offset is not None:
            context["next_url"] = "/search?" + urlencode(
                wanted.params(page=page.next_offset // PAGE_SIZE + 1)
            )
    return render(request, "search.html", context)


routes: list[BaseRoute] = [Route("/search", search_page, methods=["GET"])]
