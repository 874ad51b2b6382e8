"""Checks every parser of user input shares (forms, query strings, paths, the API)."""

from __future__ import annotations

from forum.errors import ForumError, Invalid
from forum.i18n import _


def ascii_digits(value: str) -> bool:
    """Digits 0-9 only: `str.isdigit` also accepts "²" or "٣", which `int()` then refuses
    or reads as another number."""
    return value.isascii() and value.isdigit()


def clean_text(value: str, name: str, error: type[ForumError] = Invalid) -> str:
    """Refuse what no database column can store: NUL characters and unpaired surrogates.
    Every form field (`forum.web.forms.read_form`) and every API string passes here: a 422
    naming the field."""
    if "\x00" in value:
        raise error(_("{name} must not contain NUL characters.").format(name=name), field=name)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise error(_("{name} is not valid Unicode text.").format(name=name), field=name) from None
    return value
