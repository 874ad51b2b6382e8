"""Member profiles."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum import policy
from forum.auth import current_user
from forum.queries.users import profile
from forum.web.templating import render
from knowledge.document_queries import documents_by
from knowledge.entries import template_labels
from knowledge.entry_queries import published_by


async def show_profile(request: Request) -> Response:
    viewer = current_user(request)
    found = await profile(viewer, request.path_params["username"])
    # Staff see the way to this member's sanctions (the page itself asks for 2FA).
    sanctions = policy.has_staff_role(viewer) and not found.user.is_staff
    context = {
        "profile": found,
        "show_sanctions": sanctions,
        "knowledge_entries": await published_by(viewer, author=found.user),  # issue 11
        "knowledge_labels": template_labels(),
        "documents": await documents_by(viewer, found.user),  # issue 11: what they shared
    }
    return render(request, "profile.html", context)
