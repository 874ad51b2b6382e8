"""Dates, times and numbers written the way a language writes them (Babel's CLDR data).

Stored times are UTC and shown as such; the page's language decides the words and the order:
"Dec 1, 2026, 19:51" / "1 déc. 2026, 19:51", "1,234" / "1 234".
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from babel.dates import format_date, format_time
from babel.numbers import format_decimal
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from forum import i18n


def format_day(value: datetime | date | None, language: str | None = None) -> str:
    """A date, in `language` or the request's: "Dec 1, 2026", "1 déc. 2026"."""
    if value is None:
        return ""
    return _day(value, language or i18n.current_language())


@lru_cache(maxsize=4096)
def _day(value: datetime | date, language: str) -> str:
    return format_date(value, "medium", locale=language)


def format_moment(
    value: datetime | None, language: str | None = None, seconds: bool = False
) -> str:
    """A date and a 24-hour UTC time: "Dec 1, 2026, 19:51", "1 déc. 2026, 19:51"."""
    if value is None:
        return ""
    return _moment(value, language or i18n.current_language(), seconds)


@lru_cache(maxsize=4096)
def _moment(value: datetime, language: str, seconds: bool) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    clock = format_time(value, "HH:mm:ss" if seconds else "HH:mm", locale=language)
    return f"{format_date(value, 'medium', locale=language)}, {clock}"


def format_number(value: float | None, language: str | None = None) -> str:
    """1234 as "1,234" or "1 234" (French's narrow no-break space)."""
    if value is None:
        return ""
    language = language or i18n.current_language()
    if isinstance(value, int) and -(2**31) < value < 2**31:
        return _whole_number(value, language)
    return format_decimal(value, locale=language)


@lru_cache(maxsize=8192)
def _whole_number(value: int, language: str) -> str:
    """Counts repeat (reply and view counts on every page): Babel's formatting, once each."""
    return format_decimal(value, locale=language)


@lru_cache(maxsize=8192)
def _counted(singular: str, plural: str, num: int, language: str) -> Markup:
    text = Markup(i18n.ngettext(singular, plural, num, language))  # noqa: S704 - our catalogue
    return text.replace("%(num)d", "%(num)s") % {"num": format_number(num, language)}


def template_ngettext(language: str) -> Any:
    """`ngettext` for a language's templates (pages and email): the catalogue's form for
    `num`, and `num` itself written the language's way (1 234 topics); the other variables
    are escaped like Jinja's own newstyle gettext does."""

    @pass_context
    def ngettext(context: Context, singular: str, plural: str, num: int, **variables: Any) -> str:
        if not variables and context.eval_ctx.autoescape and isinstance(num, int):
            return _counted(singular, plural, num, language)  # the same count, once
        text = i18n.ngettext(singular, plural, num, language)
        if context.eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704 - our catalogue, as Jinja's own ngettext
        return text.replace("%(num)d", "%(num)s") % {  # type: ignore[no-any-return]
            **variables,
            "num": format_number(num, language),
        }

    return ngettext
