"""Reading what a browser sends: form fields, path and query parameters, and where to go next."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse

from forum.errors import BadRequest, NotFound
from forum.i18n import _
from forum.inputs import ascii_digits, clean_text
from forum.middleware import MAX_FIELDS
from forum.models import Post

MAX_ID = 2**31 - 1  # ids are 32-bit integers in every database we support


async def read_form(request: Request) -> dict[str, str]:
    """The text fields of a submitted form (file parts are ignored); the last value wins."""
    async with request.form(max_fields=MAX_FIELDS) as form:
        return {
            key: clean_text(value, key)
            for key, value in form.multi_items()
            if isinstance(value, str)
        }


def path_id(request: Request, name: str = "id") -> int:
    """An id from the path (routes declare it `:int`); out of range is simply not found."""
    value = int(request.path_params[name])
    if not 0 < value <= MAX_ID:
        raise NotFound(_("Not found."))
    return value


def parse_id(value: str | None) -> int | None:
    """An optional positive id from a query string or form field; garbage is a bad request."""
    if value is None or value == "":
        return None
    if not ascii_digits(value) or len(value) > 10 or not 0 < int(value) <= MAX_ID:
        raise BadRequest(_("That is not a valid number."))
    return int(value)


def parse_flag(value: str | None) -> bool:
    """A checkbox-like field sent as 1 or 0."""
    if value not in ("0", "1"):
        raise BadRequest(_("Expected 1 or 0."))
    return value == "1"


def optional_flag(value: str | None) -> bool | None:
    return None if value is None or value == "" else parse_flag(value)


def split_tags(value: str) -> list[str]:
    return [part for part in (p.strip() for p in value.split(",")) if part]


def safe_next(value: str | None) -> str:
    """A local path to return to after logging in; anything that could leave the site is "/"."""
    if (
        not value
        or len(value) > 2000
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(char) < 32 or ord(char) == 127 for char in value)
    ):
        return "/"
    return value


def post_url(post: Post) -> str:
    """Where a post is read: its topic, opened at its number."""
    return f"/t/{post.topic_id}?near={post.number}#p{post.number}"


def redirect(url: str) -> RedirectResponse:
    """After a form: see other, so reloading the next page never resubmits."""
    return RedirectResponse(url, status_code=303)
