"""The review queue's pages, the author's pending posts, and flagging a post. Thin: parse,
call `moderation.review` / `moderation.queue`, render."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from forum import policy
from forum.auth import require_user
from forum.errors import Conflict, Invalid, NotFound
from forum.i18n import _
from forum.models import FlagReason
from forum.queries.topics import access_post
from forum.web.forms import path_id, read_form, redirect
from forum.web.staff import require_staff
from forum.web.templating import render
from moderation import queue, review
from moderation.sanctions import check_may_speak

GET, POST, FORM = ["GET"], ["POST"], ["GET", "POST"]


async def review_queue(request: Request) -> Response:
    user = require_staff(request)
    params = request.query_params
    status = params.get("status", "pending")
    category = params.get("category", "")
    page = await queue.list_items(
        user, status=status, category=category, cursor=params.get("cursor") or None
    )
    context = {
        "page": page,
        "status": status,
        "category": category,
        "statuses": queue.STATUSES,
        "done": params.get("done", ""),
    }
    return render(request, "review/queue.html", context)


async def review_item(request: Request, *, error: Exception | None = None) -> Response:
    user = require_staff(request)
    view = await queue.item_detail(user, path_id(request), looking=True)
    status = 409 if isinstance(error, Conflict) else 422 if error else 200
    return render(request, "review/item.html", {"view": view, "error": error}, status=status)


async def claim(request: Request) -> Response:
    user = require_staff(request)
    form = await read_form(request)
    item_id = path_id(request)
    try:
        await review.do_claim(user, item_id, take_over=form.get("take_over") == "1")
    except Conflict as exc:
        return await review_item(request, error=exc)
    return redirect(f"/review/{item_id}")


async def unclaim(request: Request) -> Response:
    user = require_staff(request)
    item_id = path_id(request)
    try:
        await review.do_unclaim(user, item_id)
    except Conflict as exc:
        return await review_item(request, error=exc)
    return redirect(f"/review/{item_id}")


async def decide(request: Request) -> Response:
    user = require_staff(request)
    form = await read_form(request)
    item_id = path_id(request)
    try:
        await review.do_decide(
            user,
            item_id,
            form.get("action", ""),
            form.get("reason", ""),
            take_over=form.get("take_over") == "1",
        )
    except (Conflict, Invalid) as exc:
        return await review_item(request, error=exc)
    return redirect(f"/review?done={item_id}")


async def pending(request: Request) -> Response:
    """The author's own posts and topics awaiting approval, and how they were decided."""
    user = require_user(request)
    items = await queue.own_items(user)
    held = request.query_params.get("held", "")
    return render(request, "review/pending.html", {"items": items, "held": held})


async def flag(request: Request) -> Response:
    user = require_user(request)
    post, topic, category = await access_post(user, path_id(request))
    await check_may_speak(user)  # a silenced member is told why before typing anything
    if not policy.can_see_post_body(user, post, category):
        raise NotFound(_("No such post."))
    values = {"reason": "", "note": ""}
    if request.method == "POST":
        form = await read_form(request)
        values = {"reason": form.get("reason", ""), "note": form.get("note", "")}
        try:
            await review.do_flag(user, post, topic, category, values["reason"], values["note"])
        except (Invalid, Conflict) as exc:
            context = {"post": post, "topic": topic, "values": values, "error": exc}
            context["reasons"] = _reasons()
            return render(request, "review/flag.html", context, status=exc.status)
        return redirect(f"/t/{topic.id}?near={post.number}&flagged=1#p{post.number}")
    context = {"post": post, "topic": topic, "values": values, "reasons": _reasons()}
    return render(request, "review/flag.html", context)


def _reasons() -> list[tuple[str, str]]:
    return [(r.value, review.flag_reason_label(r.value)) for r in FlagReason]


routes: list[BaseRoute] = [
    Route("/review", review_queue, methods=GET),
    Route("/review/{id:int}", review_item, methods=GET),
    Route("/review/{id:int}/claim", claim, methods=POST),
    Route("/review/{id:int}/unclaim", unclaim, methods=POST),
    Route("/review/{id:int}/decide", decide, methods=POST),
    Route("/pending", pending, methods=GET),
    Route("/p/{id:int}/flag", flag, methods=FORM),
]
