"""The NCP directory for verified members, with the filters of the directory page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from forum.api.operation import operation
from forum.auth import require_user
from forum.queries.directory import DirectoryEntry, list_directory, parse_filter

JSON = dict[str, object]


def entry_json(entry: DirectoryEntry) -> JSON:
    return {
        "id": entry.user_id,
        "username": entry.username,
        "display_name": entry.display_name,
        "administration": entry.administration or None,
        "country_code": entry.country_code or None,
        "region": entry.region or None,
        "position": entry.position,
        "languages": entry.languages,
        "expertise": list(entry.expertise_slugs),
        "email": entry.email or None,
        "phone": entry.phone or None,
        "avatar_url": entry.avatar_url or None,
    }


@operation(
    "Verified National Contact Points, with the contact details each chose to show",
    tag="directory",
    response="Directory",
    auth="required",
    query=("region", "administration", "expertise", "q"),
    errors=(400, 404),
    description="For verified members only: anyone else gets 401 (anonymous) or 404.",
)
async def get_directory(request: Request) -> Response:
    user = require_user(request)
    wanted = parse_filter(request.query_params)
    entries = await list_directory(user, wanted)
    return JSONResponse({"members": [entry_json(entry) for entry in entries]})
