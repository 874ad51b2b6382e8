"""Reactions on a post: a fixed set of kinds, at most one of each per member."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from forum.actions.reactions import do_set_reaction
from forum.api.bodies import KIND, NEW_REACTION
from forum.api.operation import operation
from forum.api.parsing import path_text, read_body
from forum.api.posts import post_id, post_view
from forum.api.serializers import my_reactions_json, reactions_json
from forum.auth import require_user
from forum.models import User
from forum.queries.topics import access_post


async def _set(user: User, wanted: int, kind: str, present: bool) -> Response:
    post, topic, category = await access_post(user, wanted)
    await do_set_reaction(user, post, topic, category, kind, present)
    view = await post_view(user, post)
    return JSONResponse(
        {
            "post_id": post.id,
            "reactions": reactions_json(view.reactions),
            "my_reactions": my_reactions_json(view.mine),
        }
    )


@operation(
    "React to a post",
    tag="reactions",
    response="Reactions",
    body=NEW_REACTION,
    auth="required",
    errors=(400, 401, 403, 404, 413, 422),
)
async def add_reaction(request: Request) -> Response:
    user = require_user(request)
    wanted = post_id(request)
    body = await read_body(request, NEW_REACTION)
    return await _set(user, wanted, body.get(KIND), True)


@operation(
    "Take back a reaction",
    tag="reactions",
    response="Reactions",
    auth="required",
    errors=(401, 403, 404, 422),
)
async def remove_reaction(request: Request) -> Response:
    user = require_user(request)
    wanted = post_id(request)
    return await _set(user, wanted, KIND.parse(path_text(request, "kind")), False)
