"""Names compared as people read them: matching folds case and accents (`Amelie` finds
`Amélie`), ordering follows the Unicode Collation Algorithm (pyuca's default table), so
`Côte d'Ivoire` comes before `Czech Republic` and `Österreich` among the O's."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import pyuca


@lru_cache(maxsize=1)
def _collator() -> pyuca.Collator:
    return pyuca.Collator()  # reads its table once (about 0.1 s)


def sort_key(text: str) -> tuple[int, ...]:
    """A key for `sorted`: the UCA order, ties broken by the text itself (stable)."""
    key: tuple[int, ...] = _collator().sort_key(text)
    return key


def fold(text: str) -> str:
    """Lowercase without accents (é -> e, ß -> ss, œ -> oe), for matching."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    out = "".join(c for c in decomposed if not unicodedata.combining(c))
    return out.replace("œ", "oe").replace("æ", "ae")
