"""The application factory: routes, middleware and one lifespan for every side effect."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import re
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

import forum.cache
import forum.reads
from forum import events
from forum.api.routes import routes as api_routes
from forum.cache import Caches
from forum.db import BACKGROUND, close_db, init_db
from forum.errors import (
    BadLink,
    ForumError,
    Held,
    TopicMerged,
    TwoFactorSetupRequired,
    retry_headers,
)
from forum.middleware import middleware
from forum.reads import ReadBuffer
from forum.settings import Settings
from forum.views_buffer import ViewBuffer
from forum.web.routes import error_page
from forum.web.routes import routes as web_routes
from forum.web.static import build_static
from notifications.digest import DigestScheduler
from notifications.immediate import ImmediateSender
from notifications.outbox import OutboxSender
from readiness.questionnaires import load_catalogue
from realtime.broker import create_broker
from realtime.endpoint import route as websocket_route
from realtime.hub import Hub

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


async def _idle() -> None:
    await asyncio.Event().wait()


async def healthz(request: Request) -> Response:
    from forum.health import database_state

    database = await database_state()  # a read and a committed write, each bounded
    broker = request.app.state.broker
    broker_state = "ok" if await broker.healthy() else "unreachable"
    healthy = database == "ok" and broker_state == "ok"
    return JSONResponse(
        {
            "status": "ok" if healthy else "degraded",
            "database": database,
            "broker": broker_state,
            "broker_backend": broker.url.split("://", 1)[0],
        },
        status_code=200 if healthy else 503,
    )


def error_response(
    request: Request, status: int, code: str, message: str, detail: dict[str, object] | None = None
) -> Response:
    if request.url.path.startswith("/api/"):
        error: dict[str, object] = {"code": code, "message": message}
        if detail is not None:
            error["detail"] = detail
        return JSONResponse({"error": error}, status_code=status)
    return error_page(request, status, message)


def merged_topic_redirect(request: Request, exc: TopicMerged) -> Response:
    """The same address under the topic it was merged into: 301 for reads, 308 for writes."""
    path = re.sub(
        rf"^(/t|/api/v1/topics)/{exc.topic_id}(?=/|$)", rf"\g<1>/{exc.into}", request.url.path
    )
    if path == request.url.path:
        path = f"/t/{exc.into}"
    location = path + (f"?{request.url.query}" if request.url.query else "")
    status = 301 if request.method in ("GET", "HEAD") else 308
    response = error_response(request, status, exc.code, exc.message)
    response.status_code = status
    response.headers["location"] = location
    return response


async def forum_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ForumError)
    if isinstance(exc, Held):
        # Kept for approval: the API says so (202), a form goes to the author's pending posts.
        if request.url.path.startswith("/api/"):
            held = {
                "status": "awaiting_approval",
                "message": exc.message,
                "review_item": exc.item_id,
            }
            return JSONResponse(held, status_code=202)
        from starlette.responses import RedirectResponse

        return RedirectResponse(f"/pending?held={exc.item_id}#item-{exc.item_id}", status_code=303)
    if isinstance(exc, TopicMerged):
        return merged_topic_redirect(request, exc)
    if isinstance(exc, BadLink) and not request.url.path.startswith("/api/"):
        body: Response = error_page(request, exc.status, exc.message, for_visitor=True)
    else:
        body = error_response(request, exc.status, exc.code, exc.message, exc.detail)
    body.headers.update(retry_headers(exc))
    if exc.status == 401 and not request.url.path.startswith("/api/"):
        from starlette.responses import RedirectResponse

        # After logging in, come back to the page; a form's POST-only URL cannot be revisited.
        back = request.url.path if request.method == "GET" else "/"
        return RedirectResponse(f"/login?next={quote(back, safe='/')}", status_code=303)
    if isinstance(exc, TwoFactorSetupRequired) and not request.url.path.startswith("/api/"):
        from starlette.responses import RedirectResponse

        # Staff without two-factor authentication: the security page says why and sets it up.
        return RedirectResponse("/account/security?notice=staff_two_factor", status_code=303)
    return body


async def http_error(request: Request, exc: Exception) -> Response:
    from starlette.exceptions import HTTPException

    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}
    return error_response(
        request, exc.status_code, codes.get(exc.status_code, "error"), str(exc.detail)
    )


def create_app(settings: Settings | None = None, *, manage_db: bool = True) -> Starlette:
    """Build the ASGI app. `manage_db=False` lets a caller (tests) own the DB connection."""
    settings = settings or Settings.from_env()
    secret_key = settings.resolved_secret_key()
    # Issue 12: the readiness questionnaires are data files; a bad one stops start-up here.
    questionnaires = load_catalogue()
    # Styles and scripts are served minified, built once here from templates/static/.
    static_dir = build_static(TEMPLATES_DIR / "static", settings.var_dir / "static")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_db:
            await init_db(settings.database_url)
        from forum.actions.attachments import attachment_dir
        from knowledge.storage import remove_stale_spools

        remove_stale_spools(settings)  # uploads a crash interrupted (issue 11)
        remove_stale_spools(settings, directory=attachment_dir(settings))  # posts' (issue 14)
        broker = create_broker(settings.broker_url)
        await broker.connect()
        app.state.broker = broker
        events.set_broker(broker)
        reads: ReadBuffer = app.state.reads
        # Other workers hear of positions through a shared broker; in memory there are none.
        reads.set_publisher(None if broker.url.startswith("memory:") else broker.publish_now)
        forum.reads.install(reads)
        forum.cache.install(app.state.caches)
        app.state.hub.listeners[forum.reads.MESSAGE_TYPE] = reads.heard
        await app.state.hub.start(broker)

        def background(name: str, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
            return asyncio.create_task(work, name=f"{BACKGROUND}{name}")

        flusher = background("views", app.state.views.run())
        read_flusher = background("reads", reads.run())
        mail_sender = background(
            "outbox",
            OutboxSender(settings).run() if settings.mail_sender else _idle(),
        )
        digests = background("digests", DigestScheduler(settings).run())
        immediate = background("immediate", ImmediateSender(settings).run())
        from knowledge.text import TextExtractor

        document_text = background("document-text", TextExtractor(settings).run())  # issue 11
        if manage_db:  # a served process (tests own their process and skip this)
            # What is alive after start-up (modules, templates) never needs collecting. Frozen,
            # and with a higher first threshold, full collections, which stall every socket
            # and request for up to seconds with 10,000 connections, become rare.
            gc.collect()
            gc.freeze()
            gc.set_threshold(50_000, 20, 10)
        try:
            yield
        finally:
            await app.state.hub.stop()  # every socket closes with 1012 and reconnects
            for task in (flusher, read_flusher, mail_sender, digests, immediate, document_text):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            with contextlib.suppress(Exception):
                await app.state.views.flush()
            try:
                await reads.flush()  # SIGTERM: uvicorn's graceful shutdown runs this
            except Exception as exc:
                logging.getLogger(__name__).error("read positions lost at shutdown: %s", exc)
            forum.reads.install(forum.reads.ReadBuffer())
            forum.cache.install(None)
            events.set_broker(None)
            await broker.disconnect()
            if manage_db:
                await close_db()

    # Routes are tried in order and pages are the busiest. No page path starts with /api/,
    # /static/, /ws or /healthz, so trying pages first changes no request's route.
    routes: list[BaseRoute] = [
        *web_routes,
        Route("/healthz", healthz),
        websocket_route,
        Mount("/static", app=StaticFiles(directory=static_dir), name="static"),
        *api_routes,
    ]
    from starlette.exceptions import HTTPException

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={ForumError: forum_error, HTTPException: http_error},
        middleware=middleware(settings, secret_key),
    )
    app.state.settings = settings
    app.state.questionnaires = questionnaires
    app.state.secret_key = secret_key
    app.state.caches = Caches.from_env()
    app.state.views = ViewBuffer()
    app.state.reads = ReadBuffer()
    app.state.hub = Hub()
    app.state.broker = create_broker("memory://")
    return app
