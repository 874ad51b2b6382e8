"""Translation of user-facing strings. English is the source language; French is the other.

Catalogues: forum/locale/forum.pot (extracted from the sources, `forum extract-messages`),
forum/locale/<lang>/LC_MESSAGES/forum.po (translated), compiled to forum.mo by `forum
compile-messages` (run by `make install`) or, when the .mo is missing or older than its .po,
here on first use: a fresh clone speaks French without a build step.

The language of the work in hand is a context variable: the middleware sets it per request
(forum.web.language), mail composition per recipient (`using`); `_()` without a language
translates into it. Code that runs outside a request speaks English.
"""

from __future__ import annotations

import gettext as _gettext
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "forum"
DEFAULT_LANGUAGE = "en"
LANGUAGES = ("en", "fr")
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}  # each in its own language
# A member's setting that follows the switcher's cookie, else the browser (the default).
AUTOMATIC = "auto"

_current: ContextVar[str] = ContextVar("forum_language", default=DEFAULT_LANGUAGE)


def current_language() -> str:
    return _current.get()


def set_language(language: str) -> None:
    """The language of the rest of this task (a request): one the forum speaks."""
    _current.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)


@contextmanager
def using(language: str) -> Iterator[None]:
    """Translate into `language` inside the block (a message for another reader)."""
    token = _current.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)
    try:
        yield
    finally:
        _current.reset(token)


def catalogue_paths(language: str) -> tuple[Path, Path]:
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    return folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"


def compile_catalogue(language: str) -> Path | None:
    """Compile a language's .po into its .mo (written beside it, atomically); None when the
    language has no .po."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    po, mo = catalogue_paths(language)
    if not po.exists():
        return None
    with po.open("rb") as f:
        catalog = read_po(f, locale=language, domain=DOMAIN)
    partial = mo.with_name(f"{mo.name}.{os.getpid()}.partial")  # workers may compile at once
    with partial.open("wb") as f:
        write_mo(f, catalog, use_fuzzy=False)
    partial.replace(mo)
    return mo


def _compiled(language: str) -> None:
    po, mo = catalogue_paths(language)
    if po.exists() and (not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime):
        try:
            compile_catalogue(language)
        except OSError as exc:  # a read-only install: its .mo came with it, or English it is
            log.warning("cannot compile the %s catalogue: %s", language, exc)


@lru_cache(maxsize=8)
def translations(language: str = DEFAULT_LANGUAGE) -> _gettext.NullTranslations:
    if language != DEFAULT_LANGUAGE:
        _compiled(language)
    return _gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)


def gettext(message: str, language: str | None = None) -> str:
    return translations(language or _current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int, language: str | None = None) -> str:
    return translations(language or _current.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    """Mark a string for extraction, translated later where it is shown (a mail's subject,
    kept in English until the recipient's language is known)."""
    return message


_ = gettext


def accept_language(header: str) -> str | None:
    """The language of an Accept-Language header the forum speaks, best q-value first
    (`fr-CA;q=0.8, en;q=0.5` -> "fr"); None when none is spoken or the header is empty."""
    best: tuple[float, int] | None = None
    found: str | None = None
    for position, part in enumerate(header.split(",")[:20]):
        tag, _sep, params = part.strip().partition(";")
        primary = tag.strip().split("-")[0].lower()
        q = 1.0
        for param in params.split(";"):
            name, _eq, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if primary not in LANGUAGES or not 0.0 < q <= 1.0:
            continue
        rank = (q, -position)
        if best is None or rank > best:
            best, found = rank, primary
    return found


def content_language(value: object, default: str) -> str:
    """A language for a post: one the forum speaks, else `default` (the author's)."""
    return value if isinstance(value, str) and value in LANGUAGES else default


def switcher_cookie(language: str, chosen_at: int) -> str:
    """The `lang` cookie's value: the language and when it was chosen (Unix seconds), so that
    at login the later of it and the member's saved choice wins."""
    return f"{language}.{chosen_at}"


def read_switcher_cookie(value: str | None) -> tuple[str | None, int | None]:
    """The language of a `lang` cookie and when it was chosen: `fr.1764633600`, or `fr` as
    written before the time was (chosen at an unknown time); (None, None) for anything else."""
    if not value:
        return None, None
    language, _dot, when = value.partition(".")
    if language not in LANGUAGES:
        return None, None
    if when.isascii() and when.isdigit() and len(when) <= 12:
        return language, int(when)
    return language, None


def choose(preferred: str | None, cookie: str | None, header: str) -> str:
    """A request's language: the member's setting, else (automatic, or a language the forum
    does not speak) the `lang` cookie, else Accept-Language, else English."""
    if preferred in LANGUAGES:
        return preferred  # type: ignore[return-value]
    if cookie in LANGUAGES:
        return cookie  # type: ignore[return-value]
    return accept_language(header) or DEFAULT_LANGUAGE
