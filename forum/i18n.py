"""Translation of user-facing strings. English is the source language; French comes later.

Catalogues live in forum/locale/<lang>/LC_MESSAGES/forum.mo; a language without one falls back
to the English source strings.
"""

from __future__ import annotations

import gettext as _gettext
from functools import lru_cache
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LANGUAGE = "en"
LANGUAGES = ("en",)


@lru_cache(maxsize=8)
def translations(language: str = DEFAULT_LANGUAGE) -> _gettext.NullTranslations:
    return _gettext.translation("forum", LOCALE_DIR, languages=[language], fallback=True)


def gettext(message: str, language: str = DEFAULT_LANGUAGE) -> str:
    return translations(language).gettext(message)


def ngettext(singular: str, plural: str, n: int, language: str = DEFAULT_LANGUAGE) -> str:
    return translations(language).ngettext(singular, plural, n)


_ = gettext
