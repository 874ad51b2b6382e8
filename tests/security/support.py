"""Driving the security pages as a browser would, and reading what they answer."""

from __future__ import annotations

import re
from email.message import EmailMessage

import httpx

from forum.auth import SESSION_COOKIE
from tests.mail import Inbox
from tests.web.support import csrf_from

RESET_LINK = re.compile(r"http://testserver(/password/reset/[A-Za-z0-9_-]+)")


async def submit(
    client: httpx.AsyncClient, page_url: str, action: str, data: dict[str, str]
) -> httpx.Response:
    """Open `page_url`, then post its form to `action` with the page's CSRF token."""
    page = await client.get(page_url)
    assert page.status_code == 200, (page_url, page.status_code)
    return await client.post(action, data={"csrf_token": csrf_from(page), **data})


async def ask_for_reset(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await submit(client, "/password/reset", "/password/reset", {"email": email})


def reset_path(message: EmailMessage) -> str:
    """The path of the reset link in a mail (the same link is in its text and HTML parts)."""
    found = RESET_LINK.findall(Inbox.text(message))
    assert len(found) == 1, Inbox.text(message)
    html = message.get_body(preferencelist=("html",))
    assert html is not None and found[0] in str(html.get_content())
    return str(found[0])


def set_cookie_headers(response: httpx.Response) -> list[str]:
    return response.headers.get_list("set-cookie")


def cookie_header(response: httpx.Response, name: str) -> str:
    """The one Set-Cookie header of `response` that sets `name`."""
    found = [h for h in set_cookie_headers(response) if h.startswith(f"{name}=")]
    assert len(found) == 1, set_cookie_headers(response)
    return found[0]


def session_key(client: httpx.AsyncClient) -> str:
    return str(client.cookies.get(SESSION_COOKIE, ""))
