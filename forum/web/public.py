"""The public section: the home page visitors see, and the pages administrators write."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum import policy
from forum.auth import current_user
from forum.queries.categories import visible_categories
from forum.queries.pages import access_public_page, menu_pages
from forum.queries.topics import list_topics
from forum.web import categories
from forum.web.fragments import topic_rows
from forum.web.templating import render
from knowledge.document_queries import latest_publications


async def home(request: Request) -> Response:
    """Members get the forum's home; everyone else the public home: what the project is, the
    public pages, the public categories, and the way to ask for access."""
    user = current_user(request)
    if policy.is_member(user):
        return await categories.home(request)
    topics = await list_topics(user, cursor=request.query_params.get("cursor") or None)
    context = {
        "pages": await menu_pages(),
        "categories": await visible_categories(user),
        "topics": topics,
        "rows": topic_rows(topics, True, user),
        "publications": await latest_publications(user),  # issue 11: public documents
    }
    return render(request, "public_home.html", context)


async def page(request: Request) -> Response:
    user = current_user(request)
    found = await access_public_page(user, request.path_params["slug"])
    return render(request, "public_page.html", {"page": found, "pages": await menu_pages()})
