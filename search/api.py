"""API: search and suggestions.

GET /api/v1/search?q=&kind=&category=&author=&administration=&region=&tag=&from=&to=&topic=
    &sort=&cursor=
GET /api/v1/search/suggest?q=
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from forum.api.operation import ApiRoute, operation
from forum.api.serializers import iso
from forum.auth import current_user
from search.query import Result, parse_request, search, suggest

V1 = "/api/v1"


def result_json(r: Result) -> dict[str, Any]:
    return {
        "kind": r.kind,
        "id": r.ref_id,
        "title": r.title,
        "title_html": r.title_html,
        "snippet_html": r.snippet_html,
        "url": r.url,
        "created_at": iso(r.created_at),
        "topic_id": r.topic_id,
        "category": r.category or None,
        "author": r.author or None,
    }


@operation(
    "Search topics, posts, knowledge entries, documents and (members) the directory",
    tag="search",
    response="SearchResults",
    query=(
        "q",
        "kind",
        "category",
        "author",
        "administration",
        "region",
        "tag",
        "from",
        "to",
        "topic",
        "sort",
        "cursor",
    ),  # fmt: skip
    errors=(400,),
    description="Only what the caller may see is searched, counted and returned. Words are"
    " matched across English and French word forms, with or without accents; quote a phrase."
    " `title_html` and `snippet_html` are escaped text whose only markup is `<mark>`."
    " `count` stops at 1,000 (`more_than` is then true).",
)
async def search_endpoint(request: Request) -> Response:
    wanted = parse_request(request.query_params)
    page = await search(current_user(request), wanted)
    return JSONResponse(
        {
            "results": [result_json(r) for r in page.results],
            "count": page.count,
            "more_than": page.more_than,
            "next_cursor": page.next_cursor,
        }
    )


@operation(
    "Suggestions as you type: topic titles, and people for directory readers",
    tag="search",
    response="SearchSuggestions",
    query=("q",),
    errors=(400,),
)
async def suggest_endpoint(request: Request) -> Response:
    found = await suggest(current_user(request), request.query_params.get("q") or "")
    return JSONResponse(
        {"suggestions": [{"kind": s.kind, "label": s.label, "url": s.url} for s in found]}
    )


routes: list[BaseRoute] = [
    ApiRoute(f"{V1}/search", GET=search_endpoint),
    ApiRoute(f"{V1}/search/suggest", GET=suggest_endpoint),
]
