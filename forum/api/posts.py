"""Posts: replying, reading one, editing with revisions, and soft deletion."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from forum import policy
from forum.actions.posts import do_create_post, do_delete_post, do_edit_post
from forum.api.bodies import LANG, NEW_POST, POST_BODY, POST_EDIT, REPLY_TO
from forum.api.operation import operation
from forum.api.parsing import path_id, read_body
from forum.api.serializers import post_json, revision_json
from forum.api.topics import topic_id
from forum.auth import current_user, require_user
from forum.errors import NotFound
from forum.i18n import _
from forum.models import Post, User
from forum.queries.topics import PostView, access_post, access_topic, post_revisions, topic_page


def post_id(request: Request) -> int:
    return path_id(request, "post_id", _("No such post."))


async def post_view(user: User | None, post: Post) -> PostView:
    """The post as its topic page shows it: reactions, bookmark and permissions included."""
    page = await topic_page(user, post.topic_id, near=post.number, limit=1)
    if not page.posts or page.posts[0].post.id != post.id:
        raise NotFound(_("No such post."))
    return page.posts[0]


@operation(
    "Reply in a topic, optionally to one of its posts",
    tag="posts",
    response="Post",
    status=201,
    body=NEW_POST,
    auth="required",
    errors=(400, 401, 403, 404, 413, 422, 429),
    may_hold=True,
    description="A post that must wait for a moderator's approval (a new member's first posts,"
    " a category whose posts need approval, a watched word) answers 202"
    ' `{"status": "awaiting_approval", "message", "review_item"}` and appears once'
    " approved. A watched word of the block list is a 422 naming it. Posting too fast is a 429"
    " with Retry-After.",
)
async def create_post(request: Request) -> Response:
    user = require_user(request)
    wanted = topic_id(request)
    body = await read_body(request, NEW_POST)
    topic, category = await access_topic(user, wanted)
    parent = None
    parent_id = body.get_optional(REPLY_TO)
    if parent_id is not None:
        parent, _topic, _category = await access_post(user, parent_id)
        if not policy.can_see_post_body(user, parent, category):
            raise NotFound(_("No such post."))
    post = await do_create_post(
        user, topic, category, body.get(POST_BODY), parent, language=body.get_optional(LANG)
    )
    return JSONResponse(post_json(await post_view(user, post)), status_code=201)


@operation("One post", tag="posts", response="Post", errors=(404,))
async def get_post(request: Request) -> Response:
    user = current_user(request)
    post, _topic, _category = await access_post(user, post_id(request))
    return JSONResponse(post_json(await post_view(user, post)))


@operation(
    "Edit a post; the earlier text stays in its revisions",
    tag="posts",
    response="Post",
    body=POST_EDIT,
    auth="required",
    errors=(400, 401, 403, 404, 413, 422),
)
async def edit_post(request: Request) -> Response:
    user = require_user(request)
    wanted = post_id(request)
    body = await read_body(request, POST_EDIT)
    post, topic, category = await access_post(user, wanted)
    await do_edit_post(
        user, post, topic, category, body.get(POST_BODY), language=body.get_optional(LANG)
    )
    return JSONResponse(post_json(await post_view(user, post)))


@operation(
    "Delete a post; it keeps its place in the topic without its text",
    tag="posts",
    response="Post",
    auth="required",
    errors=(401, 403, 404),
)
async def delete_post(request: Request) -> Response:
    user = require_user(request)
    post, topic, category = await access_post(user, post_id(request))
    await do_delete_post(user, post, topic, category)
    return JSONResponse(post_json(await post_view(user, post)))


@operation("A post's revisions, newest first", tag="posts", response="RevisionList", errors=(404,))
async def list_revisions(request: Request) -> Response:
    post, revisions = await post_revisions(current_user(request), post_id(request))
    return JSONResponse({"post_id": post.id, "revisions": [revision_json(r) for r in revisions]})
