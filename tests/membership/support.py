"""Driving the membership pages the way a browser and a mail reader would."""

from __future__ import annotations

import re
from email.message import EmailMessage

import httpx

from tests.mail import Inbox
from tests.web.support import csrf_from

APPLICANT_PASSWORD = "a long enough passphrase"


def link_in(message: EmailMessage, prefix: str) -> str:
    """The path of the first link in a message's text that starts with `prefix`."""
    found = re.search(rf"http://testserver({re.escape(prefix)}\S+)", Inbox.text(message))
    assert found, f"no {prefix} link in:\n{Inbox.text(message)}"
    return found.group(1)


def application(
    administration_id: int, email: str = "ana@customs.example", **fields: str
) -> dict[str, str]:
    values = {
        "full_name": "Ana Example",
        "email": email,
        "administration": str(administration_id),
        "position": "Head of risk management",
        "reason": "I am the National Contact Point for the Smart Customs Project.",
        "language": "en",
        "password": APPLICANT_PASSWORD,
    }
    values.update(fields)
    return values


async def apply(client: httpx.AsyncClient, values: dict[str, str]) -> httpx.Response:
    """Open the form, then send it as a browser would."""
    page = await client.get("/request-access")
    assert page.status_code == 200
    return await client.post("/request-access", data={"csrf_token": csrf_from(page), **values})


async def post_form(
    client: httpx.AsyncClient, page_url: str, action: str, data: dict[str, str]
) -> httpx.Response:
    """Open `page_url` for its CSRF token, then post `data` to `action`."""
    page = await client.get(page_url)
    assert page.status_code == 200, (page_url, page.status_code)
    return await client.post(action, data={"csrf_token": csrf_from(page), **data})
