"""What the composer (templates/static/composer.js) asks of the server: a preview rendered
by the same `render_markdown` as posts, and drafts saved as the member types.

    POST /composer/preview              body=...          -> the sanitised HTML (text/html)
    GET  /composer/drafts/{key}                           -> {"body", "title", "updated_at"}
                                                             (204: no draft here)
    POST /composer/drafts/{key}         body=..&title=..  -> 204
    POST /composer/drafts/{key}/delete                    -> 204

Members only (`require_member`); state-changing calls carry the CSRF token like any form (the
page's `<meta name="csrf-token">` as the X-CSRF-Token header). Errors are JSON with a message
the composer shows. Previews are bounded per member and worker (`PREVIEWS_PER_MINUTE`): a
preview is rendering work only, nothing is stored, so a per-process window is enough.
"""

from __future__ import annotations

import time
from collections import deque

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from forum.actions.drafts import check_key, do_discard_draft, do_save_draft, find_draft
from forum.actions.posts import MAX_BODY
from forum.auth import require_member
from forum.errors import ForumError, Invalid, RateLimited
from forum.i18n import _
from forum.rendering import render_markdown
from forum.web.forms import read_form

PREVIEWS_PER_MINUTE = 60


def _json_error(exc: ForumError) -> JSONResponse:
    headers = {}
    retry = getattr(exc, "retry_after", None)
    if retry:
        headers["Retry-After"] = str(int(retry))
    body = {"error": {"code": exc.code, "message": str(exc)}}
    return JSONResponse(body, status_code=exc.status, headers=headers)


def _windows(request: Request) -> dict[int, deque[float]]:
    """This app's preview windows by member (kept on the app: one per worker)."""
    windows: dict[int, deque[float]] | None = getattr(request.app.state, "previews", None)
    if windows is None:
        windows = request.app.state.previews = {}
    return windows


def _take_preview(request: Request, user_id: int, now: float | None = None) -> None:
    """Count one preview for the member; RateLimited past PREVIEWS_PER_MINUTE in 60 s."""
    now = time.monotonic() if now is None else now
    windows = _windows(request)
    window = windows.setdefault(user_id, deque())
    while window and window[0] <= now - 60:
        window.popleft()
    if len(window) >= PREVIEWS_PER_MINUTE:
        retry = max(1, int(window[0] + 60 - now) + 1)
        raise RateLimited(_("Too many previews. Try again in a minute."), retry_after=retry)
    window.append(now)
    if len(windows) > 10_000:  # members who previewed long ago
        for key in [k for k, w in windows.items() if not w or w[-1] <= now - 60]:
            del windows[key]


async def preview(request: Request) -> Response:
    user = require_member(request)
    try:
        _take_preview(request, user.id)
        body = (await read_form(request)).get("body", "")
        if len(body) > MAX_BODY:
            raise Invalid(_("A post has at most 50,000 characters."), field="body")
    except ForumError as exc:
        return _json_error(exc)
    return HTMLResponse(render_markdown(body), headers={"cache-control": "no-store"})


async def draft(request: Request) -> Response:
    user = require_member(request)
    key = request.path_params["key"]
    try:
        if request.method == "GET":
            found = await find_draft(user, key)
            if found is None:
                return Response(status_code=204)  # nothing saved here (not an error)
            data = {
                "body": found.body,
                "title": found.title,
                "updated_at": found.updated_at.isoformat(),
            }
            return JSONResponse(data, headers={"cache-control": "no-store"})
        form = await read_form(request)
        await do_save_draft(user, key, form.get("body", ""), form.get("title", ""))
    except ForumError as exc:
        return _json_error(exc)
    return Response(status_code=204)


async def discard_draft(request: Request) -> Response:
    user = require_member(request)
    try:
        key = await check_key(user, request.path_params["key"])  # a place they may see
        await do_discard_draft(user, key)
    except ForumError as exc:
        return _json_error(exc)
    return Response(status_code=204)
