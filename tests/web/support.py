"""Reading pages the way a test needs to: the CSRF token a page carries, posts, reactions."""

from __future__ import annotations

import re

import httpx

_CSRF = re.compile(r'<meta name="csrf-token" content="([0-9a-f]+)">')


def csrf_from(page: httpx.Response) -> str:
    """The CSRF token this page hands its forms."""
    found = _CSRF.search(page.text)
    assert found, "the page carries no CSRF token"
    return found.group(1)


async def log_in_with_form(
    client: httpx.AsyncClient, email: str, password: str, next_url: str = ""
) -> httpx.Response:
    """Open the login page, then submit its form as a browser would."""
    page = await client.get("/login", params={"next": next_url} if next_url else None)
    assert page.status_code == 200
    data = {"csrf_token": csrf_from(page), "email": email, "password": password}
    if next_url:
        data["next"] = next_url
    return await client.post("/login", data=data)


def article(html: str, number: int) -> str:
    """The markup of post #number on a topic page."""
    found = re.search(rf'<article class="[^"]*" id="p{number}">.*?</article>', html, re.S)
    assert found, f"post #{number} is not on the page"
    return found.group(0)


def post_numbers(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<article class="[^"]*" id="p(\d+)">', html)]


def reaction_button(html: str, post_id: int, kind: str) -> str:
    """The toggle button for one reaction kind in a post's reaction form."""
    form = re.search(rf'<form method="post" action="/p/{post_id}/react".*?</form>', html, re.S)
    assert form, f"no reaction form under post {post_id}"
    button = re.search(rf'<button name="{kind}" .*?</button>', form.group(0), re.S)
    if button is None:
        raise AssertionError(f"no {kind} button under post {post_id}")
    return button.group(0)


def reaction_count(button: str) -> int:
    found = re.search(r'<span class="count">(\d+)</span>', button)
    return int(found.group(1)) if found else 0


def press(html: str, post_id: int, button: str) -> tuple[str, dict[str, str]]:
    """Where a browser without JavaScript sends a post's reaction form when the button whose
    tag starts with `<button {button}` is pressed, and what it sends: the form's inputs and
    the button's name and value, to the button's formaction when it has one."""
    form = re.search(rf'<form [^>]*action="([^"]+)"[^>]* id="f{post_id}">(.*?)</form>', html, re.S)
    assert form, f"no reaction form under post {post_id}"
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form[2]))
    for tag in re.findall(r"<button [^>]*>", html):
        owned = f'form="f{post_id}"' in tag or tag in form[2]
        if owned and tag.startswith(f"<button {button}"):
            field = re.search(r'name="([^"]+)" value="([^"]*)"', tag)
            assert field, tag
            action = re.search(r'formaction="([^"]+)"', tag)
            return action[1] if action else form[1], {**fields, field[1]: field[2]}
    raise AssertionError(f"no button {button} for post {post_id}")
