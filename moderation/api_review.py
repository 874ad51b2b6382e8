"""The review queue's API and flagging a post: thin handlers over moderation/review.py."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from forum.api.bodies import NO_NUL
from forum.api.operation import ApiRoute, operation
from forum.api.parsing import BodySpec, Flag, Text, path_id, query_cursor, read_body
from forum.auth import require_user
from forum.i18n import _
from forum.models import FlagReason, ReviewKind
from forum.queries.topics import access_post
from moderation import queue, review

FLAG_REASON = Text(
    "reason",
    max_length=20,
    choices=[r.value for r in FlagReason],
    description="off_topic, inappropriate, spam, sensitive (sensitive or confidential"
    " information) or other (then a note is required).",
)
FLAG_NOTE = Text("note", max_length=review.NOTE_MAX, pattern=NO_NUL, description="For moderators.")
NEW_FLAG = BodySpec("NewFlag", required=(FLAG_REASON,), optional=(FLAG_NOTE,))
DECISION_ACTION = Text("action", max_length=10, choices=review.DECISIONS)
DECISION_REASON = Text(
    "reason",
    max_length=review.REASON_MAX,
    pattern=NO_NUL,
    description="Told to the author; required to reject.",
)
TAKE_OVER = Flag("take_over", description="Decide or claim an item another moderator claimed.")
DECISION = BodySpec("Decision", required=(DECISION_ACTION,), optional=(DECISION_REASON, TAKE_OVER))
CLAIM = BodySpec("Claim", optional=(TAKE_OVER,))


def item_id(request: Request) -> int:
    return path_id(request, "item_id", _("No such review item."))


def _user(user: Any) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.id, "username": user.username, "display_name": user.display_name}


def _time(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def item_json(view: queue.ItemView) -> dict[str, Any]:
    item = view.item
    history = view.history
    return {
        "id": item.id,
        "kind": item.kind.value,
        "status": item.status.value,
        "reason": item.reason,
        "reason_label": review.reason_label(item.reason),
        "score": item.score,
        "category": view.category.slug,
        "topic_id": item.topic_id,
        "post_id": item.post_id,
        "entry_id": item.entry_id,
        "title": view.title,
        "html": view.html,
        "source": item.source if item.kind != ReviewKind.FLAGGED_POST else "",
        "tags": list(item.tags),
        "post_hidden": bool(view.post.hidden) if view.post is not None else False,
        "author": _user(view.author),
        "author_history": {
            "posts": history.posts if history else 0,
            "decisions": history.decisions if history else {},
            "sanctions": [
                {
                    "kind": s.kind.value,
                    "reason": s.reason,
                    "until": _time(s.until),
                    "lifted": s.lifted_at is not None,
                }
                for s in (history.sanctions if history else [])
            ],
        },
        "flags": [
            {
                "user": _user(flagger),
                "reason": flag.reason.value,
                "note": flag.note,
                "created_at": _time(flag.created_at),
            }
            for flag, flagger in view.flags
        ],
        "claimed_by": _user(view.claimed_by),
        "looking": [_user(u) for u in view.looking],
        "created_at": _time(item.created_at),
        "decided_by": _user(view.decided_by),
        "decided_at": _time(item.decided_at),
        "decision": item.decision,
        "decision_reason": item.decision_reason,
    }


@operation(
    "The review queue: items of the categories you moderate",
    tag="review",
    response="ReviewList",
    auth="required",
    query=("status", "category", "cursor"),
    errors=(400, 401, 403, 404),
    description="Staff with two-factor authentication only. Pending items come oldest first,"
    " decided ones newest first. A category you do not moderate is a 404.",
)
async def list_review(request: Request) -> Response:
    user = require_user(request)
    params = request.query_params
    page = await queue.list_items(
        user,
        status=params.get("status", "pending"),
        category=params.get("category", ""),
        cursor=query_cursor(request),
    )
    return JSONResponse(
        {"items": [item_json(v) for v in page.items], "next_cursor": page.next_cursor}
    )


@operation(
    "One review item (records that you are looking at it)",
    tag="review",
    response="ReviewItem",
    auth="required",
    errors=(401, 403, 404),
)
async def get_review_item(request: Request) -> Response:
    user = require_user(request)
    view = await queue.item_detail(user, item_id(request), looking=True)
    return JSONResponse(item_json(view))


async def _answer(request: Request, wanted: int) -> Response:
    view = await queue.item_detail(require_user(request), wanted)
    return JSONResponse(item_json(view))


@operation(
    "Claim a review item",
    tag="review",
    response="ReviewItem",
    body=CLAIM,
    auth="required",
    errors=(401, 403, 404, 409),
    description="409 when another moderator has it (unless take_over) or it is decided;"
    " the error's detail is the item as it now is.",
)
async def claim_item(request: Request) -> Response:
    user = require_user(request)
    wanted = item_id(request)
    body = await read_body(request, CLAIM)
    take_over = body.get_optional(TAKE_OVER)
    await review.do_claim(user, wanted, take_over=take_over is True)
    return await _answer(request, wanted)


@operation(
    "Release your claim on a review item",
    tag="review",
    response="ReviewItem",
    auth="required",
    errors=(401, 403, 404, 409),
)
async def release_item(request: Request) -> Response:
    user = require_user(request)
    wanted = item_id(request)
    await review.do_unclaim(user, wanted)
    return await _answer(request, wanted)


@operation(
    "Decide a review item",
    tag="review",
    response="ReviewItem",
    body=DECISION,
    auth="required",
    errors=(400, 401, 403, 404, 409, 422),
    description="approve, reject (reason required; the author is told), hide, unhide, delete"
    " or ignore. An item is decided once: of two decisions at the same instant one wins and"
    " the other is a 409 whose detail is the item as it now is.",
)
async def decide_item(request: Request) -> Response:
    user = require_user(request)
    wanted = item_id(request)
    body = await read_body(request, DECISION)
    take_over = body.get_optional(TAKE_OVER)
    await review.do_decide(
        user,
        wanted,
        body.get(DECISION_ACTION),
        body.get_optional(DECISION_REASON) or "",
        take_over=take_over is True,
    )
    return await _answer(request, wanted)


@operation(
    "Flag a post for the moderators",
    tag="review",
    response="FlagResult",
    status=201,
    body=NEW_FLAG,
    auth="required",
    errors=(401, 403, 404, 409, 422),
    description="Once per member and post (a second flag is a 409). At the threshold the post"
    " is hidden pending review.",
)
async def flag_post(request: Request) -> Response:
    user = require_user(request)
    post, topic, category = await access_post(user, path_id(request, "post_id", _("No such post.")))
    body = await read_body(request, NEW_FLAG)
    item = await review.do_flag(
        user, post, topic, category, body.get(FLAG_REASON), body.get_optional(FLAG_NOTE) or ""
    )
    hidden = await type(post).filter(id=post.id).values_list("hidden", flat=True)
    return JSONResponse(
        {"post_id": post.id, "review_item": item.id, "post_hidden": bool(hidden and hidden[0])},
        status_code=201,
    )


V1 = "/api/v1"
routes = [
    ApiRoute(f"{V1}/review", GET=list_review),
    ApiRoute(f"{V1}/review/{{item_id}}", GET=get_review_item),
    ApiRoute(f"{V1}/review/{{item_id}}/claim", POST=claim_item, DELETE=release_item),
    ApiRoute(f"{V1}/review/{{item_id}}/decisions", POST=decide_item),
    ApiRoute(f"{V1}/posts/{{post_id}}/flags", POST=flag_post),
]
