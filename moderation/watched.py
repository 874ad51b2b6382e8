"""Watched words: lists administrators keep of words to block, hold for approval or flag.

A watched word is a word, a phrase of words, or a simple wildcard where `*` stands for any run
of word characters (`crypto*`, `*coin`, `c*t`). It matches whole words only, ignoring case and
accents: both the word and the text are folded the same way (NFKD, combining marks dropped,
casefolded, invisible format characters removed), so `café` matches `CAFE`, `cafe` matches
`Café`, and `cat` does not match `concatenate`.

    screening = await screen(title, body)     # one query for the words
    if screening.blocked: refuse, naming screening.blocked

The words are read on every call (one small query: posting is rare, and another worker or the
CLI may have just changed them); the regular expressions built from them are cached in this
process, keyed by the words themselves, so a change anywhere is seen at once.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from tortoise.exceptions import IntegrityError

from forum.errors import Conflict, Invalid, NotFound
from forum.events import atomic
from forum.i18n import _
from forum.models import User, WatchedAction, WatchedWord
from moderation import audit
from moderation.gate import require_administrator

MAX_WORD = 100
ACTIONS: tuple[WatchedAction, ...] = (
    WatchedAction.BLOCK,
    WatchedAction.REQUIRE_APPROVAL,
    WatchedAction.FLAG,
)
# Typographic apostrophes and hyphens count as the plain ones, in words and texts alike.
_SAME = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2010": "-", "\u2011": "-"})


@dataclass(frozen=True)
class Screening:
    """What the watched words say about a text: the first word found of each kind, as the
    administrator wrote it, or None."""

    blocked: str | None = None
    require_approval: str | None = None
    flag: str | None = None

    @property
    def clean(self) -> bool:
        return self.blocked is None and self.require_approval is None and self.flag is None


def fold(text: str) -> str:
    """The form both words and texts are compared in: no accents, no case, no invisibles."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_SAME))
    kept = "".join(
        char
        for char in decomposed
        if not unicodedata.combining(char) and unicodedata.category(char) != "Cf"
    )
    return unicodedata.normalize("NFKD", kept.casefold())


def _allowed(char: str) -> bool:
    return char in " *-'" or unicodedata.category(char)[0] in "LNM"


def check_word(word: str) -> str:
    """A watched word as it will be stored: trimmed, inner spaces collapsed, validated."""
    word = " ".join(unicodedata.normalize("NFC", word.translate(_SAME)).split())
    if not 1 <= len(word) <= MAX_WORD:
        raise Invalid(_("A watched word has 1 to 100 characters."), field="word")
    if not all(_allowed(char) for char in word):
        raise Invalid(
            _(
                "A watched word may contain only letters, digits, spaces, hyphens, apostrophes"
                " and * (any run of letters or digits)."
            ),
            field="word",
        )
    if not all(
        any(unicodedata.category(char)[0] in "LN" for char in part) for part in word.split()
    ):
        raise Invalid(
            _("Each word of a watched word needs at least one letter or digit."), field="word"
        )
    return word


def check_action(action: str) -> WatchedAction:
    try:
        return WatchedAction(action)
    except ValueError:
        raise Invalid(
            _("Choose what the word does: block, require_approval or flag."), field="action"
        ) from None


def _literal(piece: str) -> str:
    return r"\s+".join(re.escape(part) for part in piece.split(" "))


def word_pattern(word: str) -> str:
    """The regular expression for one word, to search folded text with; `_compiled` puts
    the word boundaries around it.

    A plain run-of-word-characters before every literal part would backtrack quadratically
    on a long word (`a*b*c` against 50,000 `b`s takes seconds), so every part after a `*`
    but the last is found at its first place in an atomic group, as a glob matcher does; the
    last part may backtrack to the end of the word, once.
    """
    pieces = re.split(r"\*+", fold(word))
    parts = [_literal(pieces[0])]
    middle, last = pieces[1:-1], pieces[-1] if len(pieces) > 1 else None
    parts += [rf"(?>\w*?{_literal(piece)})" for piece in middle if piece]
    if last is not None:
        parts.append(rf"\w*{_literal(last)}")
    return "".join(parts)


@lru_cache(maxsize=64)
def _compiled(words: tuple[str, ...]) -> re.Pattern[str] | None:
    """One expression for a list of words; the group that matched names the word."""
    if not words:
        return None
    # Longer words first, so that of two starting at one place the longer is reported.
    order = sorted(range(len(words)), key=lambda i: -len(words[i]))
    choices = "|".join(f"(?P<w{i}>{word_pattern(words[i])})" for i in order)
    return re.compile(rf"(?<!\w)(?:{choices})(?!\w)")


def find(words: tuple[str, ...], texts: tuple[str, ...]) -> str | None:
    """The first of `words` found in `texts` (earlier texts first, then the leftmost)."""
    pattern = _compiled(words)
    if pattern is None:
        return None
    for text in texts:
        found = pattern.search(fold(text))
        if found is not None and found.lastgroup is not None:
            return words[int(found.lastgroup[1:])]
    return None


def match(words: list[tuple[str, str]], *texts: str) -> Screening:
    """Screen texts against `(word, action)` pairs, without the database."""
    by_action: dict[str, list[str]] = {str(action): [] for action in ACTIONS}
    for word, action in words:
        by_action.setdefault(str(action), []).append(word)
    return Screening(
        blocked=find(tuple(sorted(by_action["block"])), texts),
        require_approval=find(tuple(sorted(by_action["require_approval"])), texts),
        flag=find(tuple(sorted(by_action["flag"])), texts),
    )


async def screen(*texts: str) -> Screening:
    """What the watched words say about a new post or topic (title and body): one query."""
    rows = await WatchedWord.all().values_list("word", "action")
    return match([(str(word), str(action)) for word, action in rows], *texts)


async def watched_words() -> dict[WatchedAction, list[WatchedWord]]:
    """Every watched word, by action, in alphabetical order."""
    lists: dict[WatchedAction, list[WatchedWord]] = {action: [] for action in ACTIONS}
    for word in await WatchedWord.all().select_related("created_by").order_by("word", "id"):
        lists[word.action].append(word)
    return lists


async def do_add_watched_word(actor: User | None, word: str, action: str) -> WatchedWord:
    """Add a word to one list. The same word (ignoring case and accents) twice in one list is
    a Conflict."""
    admin = require_administrator(actor)
    word = check_word(word)
    kind = check_action(action)
    folded = fold(word)
    async with atomic():
        existing = await WatchedWord.filter(action=kind).values_list("word", flat=True)
        twin = next((str(w) for w in existing if fold(str(w)) == folded), None)
        if twin is not None:
            raise Conflict(
                _("“%(word)s” is already in this list (as “%(twin)s”).")
                % {"word": word, "twin": twin},
                field="word",
            )
        try:
            added = await WatchedWord.create(word=word, action=kind, created_by_id=admin.id)
        except IntegrityError:
            raise Conflict(
                _("“%(word)s” is already in this list.") % {"word": word}, field="word"
            ) from None
        await audit.append(
            admin,
            "watched_word.add",
            "watched_word",
            added.id,
            data={"word": word, "action": kind.value},
            after=f"{kind.value}: {word}",
        )
    return added


async def do_remove_watched_word(actor: User | None, word_id: int) -> WatchedWord:
    admin = require_administrator(actor)
    async with atomic():
        word = await WatchedWord.get_or_none(id=word_id)
        if word is None:
            raise NotFound(_("No such watched word."))
        if not await WatchedWord.filter(id=word.id).delete():
            raise NotFound(_("No such watched word."))
        await audit.append(
            admin,
            "watched_word.remove",
            "watched_word",
            word.id,
            data={"word": word.word, "action": word.action.value},
            before=f"{word.action.value}: {word.word}",
        )
    return word
