"""The administrators' outbox page: how much email waits, was sent or failed, the latest
failures with the server's reply, and a way to put failed messages back in the queue."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from forum.models import OutboxMessage, OutboxStatus
from forum.web.forms import path_id, read_form, redirect
from forum.web.staff import require_admin
from forum.web.templating import render
from notifications.outbox import do_retry_failed

LATEST_FAILED = 50


async def outbox_page(request: Request) -> Response:
    require_admin(request)
    counts = {
        status.value: await OutboxMessage.filter(status=status).count() for status in OutboxStatus
    }
    failed = (
        await OutboxMessage.filter(status=OutboxStatus.FAILED)
        .order_by("-available_at", "-id")
        .limit(LATEST_FAILED)
    )
    context = {"counts": counts, "failed": failed, "done": request.query_params.get("done", "")}
    return render(request, "admin/outbox.html", context)


async def retry_one(request: Request) -> Response:
    admin = require_admin(request)
    await read_form(request)  # the CSRF check
    await do_retry_failed(admin, path_id(request))
    return redirect("/admin/outbox?done=retried")


async def retry_all(request: Request) -> Response:
    admin = require_admin(request)
    await read_form(request)
    await do_retry_failed(admin, None)
    return redirect("/admin/outbox?done=retried")


routes: list[BaseRoute] = [
    Route("/admin/outbox", outbox_page, methods=["GET", "HEAD"]),
    Route("/admin/outbox/retry", retry_all, methods=["POST"]),
    Route("/admin/outbox/{id:int}/retry", retry_one, methods=["POST"]),
]
