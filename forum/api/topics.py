"""Topics: the latest list, starting one, reading one page by page, changing it, read marks."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from forum.actions.reading import do_mark_read
from forum.actions.topics import do_create_topic, do_update_topic
from forum.api.bodies import (
    CATEGORY,
    CLOSED,
    LANG,
    NEW_TOPIC,
    PINNED,
    POST_BODY,
    POST_NUMBER,
    READ_POSITION,
    TAGS,
    TITLE,
    TOPIC_CHANGES,
)
from forum.api.operation import operation
from forum.api.parsing import ID_MAX, path_id, query_cursor, query_int, read_body
from forum.api.serializers import post_json, topic_json, topic_list_json, topic_page_json
from forum.auth import current_user, require_user
from forum.i18n import _
from forum.models import User
from forum.queries.categories import access_category
from forum.queries.rows import Author
from forum.queries.topics import TopicPage, access_topic, list_topics, topic_page


def topic_id(request: Request) -> int:
    return path_id(request, "topic_id", _("No such topic."))


async def starter(page: TopicPage) -> User | Author:
    """The topic's author, taken from the page's posts when one of them is theirs."""
    for post in page.post_rows:
        if post.author_id == page.topic.author_id:
            return post.author
    return await User.get(id=page.topic.author_id)


@operation(
    "The latest topics across the categories you can see",
    tag="topics",
    response="TopicList",
    query=("cursor",),
    errors=(400,),
)
async def latest_topics(request: Request) -> Response:
    listing = await list_topics(current_user(request), cursor=query_cursor(request))
    return JSONResponse(topic_list_json(listing))


@operation(
    "Start a topic with its first post",
    tag="topics",
    response="CreatedTopic",
    status=201,
    body=NEW_TOPIC,
    auth="required",
    errors=(400, 401, 403, 404, 413, 422, 429),
    may_hold=True,
    description="A post that must wait for a moderator's approval (a new member's first posts,"
    " a category whose posts need approval, a watched word) answers 202"
    ' `{"status": "awaiting_approval", "message", "review_item"}` and appears once'
    " approved. A watched word of the block list is a 422 naming it. Posting too fast is a 429"
    " with Retry-After.",
)
async def create_topic(request: Request) -> Response:
    user = require_user(request)
    body = await read_body(request, NEW_TOPIC)
    category = await access_category(user, body.get(CATEGORY))
    topic, _post = await do_create_topic(
        user,
        category,
        body.get(TITLE),
        body.get(POST_BODY),
        body.get_optional(TAGS) or [],
        language=body.get_optional(LANG),
    )
    page = await topic_page(user, topic.id, limit=1)
    data = {**topic_json(page, user), "post": post_json(page.posts[0])}
    return JSONResponse(data, status_code=201)


@operation(
    "A topic with one page of its posts",
    tag="topics",
    response="TopicPage",
    query=("cursor", "near"),
    errors=(301, 400, 404),
    description="Without a cursor the page starts at post `near` (default 1) and counts a view."
    " A topic merged into another answers 301 with `Location` naming the target.",
)
async def get_topic(request: Request) -> Response:
    user = current_user(request)
    wanted = topic_id(request)
    cursor = query_cursor(request)
    near = query_int(request, "near", minimum=1, maximum=ID_MAX)
    page = await topic_page(user, wanted, cursor=cursor, near=near)
    if cursor is None:
        request.app.state.views.hit(page.topic.id, request.app.state.views.viewers(request))
    return JSONResponse(topic_page_json(page, await starter(page)))


@operation(
    "Retitle or retag a topic (its author or staff); close or pin it (staff)",
    tag="topics",
    response="Topic",
    body=TOPIC_CHANGES,
    auth="required",
    errors=(400, 401, 403, 404, 409, 413, 422),
    description="Closing, pinning and changing someone else's topic are moderation acts: they"
    " need a moderator of the topic's category with two-factor authentication on (without it,"
    " 403 `two_factor_setup_required`) and are written to the audit log.",
)
async def update_topic(request: Request) -> Response:
    user = require_user(request)
    wanted = topic_id(request)
    body = await read_body(request, TOPIC_CHANGES)
    topic, category = await access_topic(user, wanted)
    closed, pinned = body.get_optional(CLOSED), body.get_optional(PINNED)
    await do_update_topic(
        user,
        topic,
        category,
        closed=closed,
        pinned=pinned,
        title=body.get_optional(TITLE),
        tags=body.get_optional(TAGS),
    )
    page = await topic_page(user, topic.id, limit=1)
    return JSONResponse(topic_json(page, await starter(page)))


@operation(
    "Mark a topic read up to a post number",
    tag="topics",
    response=None,
    status=204,
    body=READ_POSITION,
    auth="required",
    errors=(400, 401, 404, 413, 422),
    description="The read position never moves backwards.",
)
async def mark_read(request: Request) -> Response:
    user = require_user(request)
    wanted = topic_id(request)
    body = await read_body(request, READ_POSITION)
    topic, _category = await access_topic(user, wanted)
    await do_mark_read(user, topic, body.get(POST_NUMBER))
    return Response(status_code=204)
