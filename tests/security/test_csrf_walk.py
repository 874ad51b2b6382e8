"""Every state-changing page route and API endpoint, walked as a member logged in with a
cookie: without a CSRF token, or with one made for another session, each is refused with 403
and changes nothing. A new route is in the walk by being routed."""

from __future__ import annotations

import httpx
from starlette.routing import Route

from forum.api.routes import routes as api_routes
from forum.auth import CSRF_COOKIE, SESSION_COOKIE
from forum.models import User
from forum.web.routes import routes as web_routes
from tests.helpers import log_in
from tests.moderation.test_staff_gate import FORM, _fill, _snapshot, _world

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# The one cookie-less, token-less POST (RFC 8058 one-click unsubscribe: the signed token in
# the path is the proof); its path shape is `<digits>.<64 hex>`, which the walk's filler is not.
EXEMPT = {"/digest/unsubscribe/{token}"}


async def test_every_state_change_refuses_a_missing_or_foreign_csrf_token(
    client: httpx.AsyncClient, db: str
) -> None:
    ids = await _world()
    alice = await User.get(username="alice")
    bob = await User.get(username="bob")
    before = await _snapshot([])
    foreign = await log_in(client, bob)  # a real token, for bob's session
    problems: list[str] = []
    walked = 0
    for route in [*web_routes, *api_routes]:
        if not isinstance(route, Route) or route.path in EXEMPT:
            continue
        url = _fill(route.path, ids)
        for method in sorted((route.methods or set()) & UNSAFE):
            for token in ("", foreign):
                await log_in(client, alice)  # a fresh cookie session each time
                if url.startswith("/api/"):
                    headers = {"X-CSRF-Token": token} if token else {}
                    answer = await client.request(method, url, json={}, headers=headers)
                else:
                    data = {**FORM, "csrf_token": token} if token else dict(FORM)
                    answer = await client.request(method, url, data=data)
                walked += 1
                refused_by_csrf = (
                    answer.json().get("error", {}).get("code") == "csrf_failed"
                    if url.startswith("/api/")
                    else "was not sent by this site" in answer.text
                )
                if answer.status_code != 403 or not refused_by_csrf:
                    problems.append(f"{method} {url} ({'foreign' if token else 'no'} token): "
                                    f"{answer.status_code}")  # fmt: skip
    assert problems == []
    assert walked > 100  # the walk really went through the routes
    assert await _snapshot([]) == before
    assert client.cookies.get(SESSION_COOKIE) and client.cookies.get(CSRF_COOKIE)
