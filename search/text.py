"""Text analysis shared by both backends: plain text from stored HTML, accent folding, one
stem per word (English then French Snowball on the folded word), the user's query as tokens,
and snippets whose only markup is our own `<mark>`.

The same analyser turns documents and queries into terms, on SQLite and PostgreSQL alike, so
"douane" meets "douanes", "données" meets "donnees", "customs" meets "custom", and both
backends answer the same.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

MAX_INDEXED_CHARS = 200_000  # of one document's text; the rest is not searchable
MAX_STORED_CHARS = 20_000  # of plain text kept for snippets
MAX_QUERY_CHARS = 500
MAX_QUERY_TERMS = 12

_EN = snowballstemmer.stemmer("english")
_FR = snowballstemmer.stemmer("french")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_TAG = re.compile(r"<[^>]*>")
_BLOCK = re.compile(r"</?(?:p|div|li|ul|ol|h[1-6]|pre|blockquote|tr|td|th|table|br)\b[^>]*>", re.I)
_SPACES = re.compile(r"\s+")


def plain_text(markup: str) -> str:
    """The text of sanitised HTML, tags removed and entities decoded: never markup."""
    text = _BLOCK.sub(" ", markup)
    text = _TAG.sub("", text)
    text = html.unescape(text)  # snippets escape it again: decoded text never becomes tags
    return _SPACES.sub(" ", text).strip()


def fold(text: str) -> str:
    """Lowercase without accents (é -> e, œ -> oe, ß -> ss)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    out = "".join(c for c in decomposed if not unicodedata.combining(c))
    return out.replace("œ", "oe").replace("æ", "ae")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """One term for a word, whatever its language: the folded word's English Snowball stem,
    then that stem's French one (English strips -s/-es/-ed/-ing, French then -e/-ée/-ement
    ...; of the orders and combinations tried this one matched the most word forms of both
    languages). Applied identically to documents and queries: matching is stem(a) == stem(b).
    """
    folded = fold(word)
    if not folded.isascii():
        return folded  # scripts the two stemmers do not know are matched as written
    if len(folded) <= 2 or folded.isdigit():
        return folded
    return str(_FR.stemWord(_EN.stemWord(folded)))


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def terms(text: str) -> str:
    """The text as the index stores it: its words' stems separated by spaces."""
    return " ".join(stem(w) for w in words(text[:MAX_INDEXED_CHARS]))


@dataclass(frozen=True)
class Query:
    """What a person typed, as terms we extracted ourselves: never passed to a full-text
    engine as syntax. `groups` are ANDed; a group of several terms is a phrase."""

    groups: tuple[tuple[str, ...], ...]
    words: tuple[str, ...]  # the folded words, for highlighting

    @property
    def empty(self) -> bool:
        return not self.groups


STOP_WORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "in",
        "is",
        "it",
        "of",
        "on",
        "or",
        "not",
        "the",
        "to",
        "with",
        "au",
        "aux",
        "ce",
        "ces",
        "dans",
        "de",
        "des",
        "du",
        "en",
        "et",
        "est",
        "la",
        "le",
        "les",
        "ou",
        "par",
        "pas",
        "pour",
        "que",
        "qui",
        "sur",
        "un",
        "une",
    }
)


@lru_cache(maxsize=1)
def _stop_stems() -> frozenset[str]:
    return frozenset(stem(w) for w in STOP_WORDS)


def parse_query(raw: str) -> Query:
    """Quoted parts are phrases, everything else single words; operators, brackets and
    stars are ordinary punctuation. An unbalanced quote runs to the end of the text."""
    raw = raw[:MAX_QUERY_CHARS]
    groups: list[tuple[str, ...]] = []
    seen: list[str] = []
    for index, part in enumerate(raw.split('"')):
        found = words(part)
        if not found:
            continue
        stems = tuple(stem(w) for w in found)
        seen.extend(fold(w) for w in found)
        if index % 2 == 1 and len(stems) > 1:
            groups.append(stems)
        else:
            groups.extend((s,) for s in stems)
    stop = _stop_stems()
    content = [g for g in groups if len(g) > 1 or g[0] not in stop]
    if content:  # "risk and customs" needs no "and"; "and or not" still means those words
        groups = content
    unique: list[tuple[str, ...]] = []
    for group in groups:
        if group not in unique:
            unique.append(group)
    return Query(tuple(unique[:MAX_QUERY_TERMS]), tuple(dict.fromkeys(seen)))


OPEN = "\x02"
CLOSE = "\x03"
SNIPPET_CHARS = 240


def snippet(text: str, query: Query, size: int = SNIPPET_CHARS) -> str:
    """An HTML snippet of plain `text` around the first matched words, the matches in
    `<mark>`. Markers are inserted into the plain text, the whole is escaped, and only our
    markers become tags: nothing of the text can be markup."""
    text = text.replace(OPEN, "").replace(CLOSE, "")
    wanted = {s for group in query.groups for s in group}
    spans = [m.span() for m in _WORD.finditer(text) if stem(m.group()) in wanted]
    start = 0
    if spans:
        start = max(0, spans[0][0] - size // 4)
        while start > 0 and not text[start - 1].isspace() and spans[0][0] - start < size // 2:
            start -= 1
    end = min(len(text), start + size)
    marked: list[str] = []
    cursor = start
    for a, b in spans:
        if a < start or b > end:
            continue
        marked.append(text[cursor:a])
        marked.append(OPEN + text[a:b] + CLOSE)
        cursor = b
    marked.append(text[cursor:end])
    body = "".join(marked).strip()
    escaped = html.escape(body, quote=True)
    escaped = escaped.replace(OPEN, "<mark>").replace(CLOSE, "</mark>")
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(text) else ""
    return prefix + escaped + suffix
