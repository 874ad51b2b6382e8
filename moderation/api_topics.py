"""API endpoints for moderators' decisions on a topic that PATCH /topics/{id} does not cover:
moving it to another category and merging it into another topic."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from forum.api.bodies import CATEGORY
from forum.api.operation import ApiRoute, operation
from forum.api.parsing import ID_MAX, BodySpec, Integer, read_body
from forum.api.serializers import topic_json
from forum.api.topics import starter, topic_id
from forum.auth import require_user
from forum.queries.topics import access_topic, topic_page
from moderation.gate import require_moderator
from moderation.topics import do_merge_topic, do_move_topic, find_merge_target, find_move_target

INTO = Integer("into", minimum=1, maximum=ID_MAX, description="The id of the topic to merge into.")
TOPIC_MOVE = BodySpec("TopicMove", required=(CATEGORY,))
TOPIC_MERGE = BodySpec("TopicMerge", required=(INTO,))

STAFF = (
    "Moderators of the topic's category (and, for a move or merge, of the other category)"
    " with two-factor authentication on: without it, 403 `two_factor_setup_required`; a"
    " category moderator outside their categories gets 404."
)


@operation(
    "Move a topic to another category (moderators)",
    tag="topics",
    response="Topic",
    body=TOPIC_MOVE,
    auth="required",
    errors=(400, 401, 403, 404, 409, 413, 422),
    description=STAFF + " Subscribers who may not see the new category lose the topic's"
    " channel at once.",
)
async def move_topic(request: Request) -> Response:
    user = require_user(request)
    wanted = topic_id(request)
    body = await read_body(request, TOPIC_MOVE)
    topic, category = await access_topic(user, wanted)
    require_moderator(user, category.id)
    to = await find_move_target(user, body.get(CATEGORY))
    await do_move_topic(user, topic, category, to)
    page = await topic_page(user, topic.id, limit=1)
    return JSONResponse(topic_json(page, await starter(page)))


@operation(
    "Merge a topic into another (moderators); answers the target topic",
    tag="topics",
    response="Topic",
    body=TOPIC_MERGE,
    auth="required",
    errors=(400, 401, 403, 404, 409, 413, 422),
    description=STAFF + " The posts follow the target's last post in their order, keeping"
    " their authors and dates. Afterwards the merged topic's addresses answer 301 (reads) or"
    " 308 (writes) with `Location` naming the same address under the target, and the error"
    " body `topic_merged`.",
)
async def merge_topic(request: Request) -> Response:
    user = require_user(request)
    wanted = topic_id(request)
    body = await read_body(request, TOPIC_MERGE)
    topic, category = await access_topic(user, wanted)
    require_moderator(user, category.id)
    into, into_category = await find_merge_target(user, body.get(INTO))
    target = await do_merge_topic(user, topic, category, into, into_category)
    page = await topic_page(user, target.id, limit=1)
    return JSONResponse(topic_json(page, await starter(page)))


routes: list[BaseRoute] = [
    ApiRoute("/api/v1/topics/{topic_id}/move", POST=move_topic),
    ApiRoute("/api/v1/topics/{topic_id}/merge", POST=merge_topic),
]
