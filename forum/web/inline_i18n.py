"""Constant translations written into templates when they are compiled.

`{{ _("Log out") }}` costs a call, a Markup wrap and a `%` formatting on every render, and a
page has dozens of them. This extension rewrites each `_("literal")` without variables into
the literal's translation while the template is compiled, so the compiled template holds the
translated text as data (autoescaped like any other constant). A call whose variables are
all string constants without markup characters (`_("%(n)s members", n="{n}")`, a pattern for
live.js) is translated and formatted there too; calls with other variables, and `ngettext`,
stay calls. The environment's language (`environment.language`) decides the
translation: one environment per language.
"""

from __future__ import annotations

from collections.abc import Iterator

from jinja2.ext import Extension
from jinja2.lexer import (
    TOKEN_ASSIGN,
    TOKEN_COMMA,
    TOKEN_DOT,
    TOKEN_LPAREN,
    TOKEN_NAME,
    TOKEN_RPAREN,
    TOKEN_STRING,
    Token,
    TokenStream,
)

from forum import i18n

_UNSAFE = set("<>&\"'")


def _constant_call(taken: list[Token]) -> tuple[str, dict[str, str]] | None:
    """`_("text")` or `_("text", name="value", ...)` with constant strings only: the text and
    the variables; None for anything else."""
    if len(taken) < 4 or [t.type for t in taken[:3]] != [TOKEN_NAME, TOKEN_LPAREN, TOKEN_STRING]:
        return None
    text, rest = taken[2].value, taken[3:]
    variables: dict[str, str] = {}
    while rest and rest[0].type == TOKEN_COMMA:
        if len(rest) < 4 or [t.type for t in rest[1:4]] != [TOKEN_NAME, TOKEN_ASSIGN, TOKEN_STRING]:
            return None
        variables[rest[1].value] = rest[3].value
        rest = rest[4:]
    if [t.type for t in rest] != [TOKEN_RPAREN]:
        return None
    if ("%" in text and not variables) or any(_UNSAFE & set(v) for v in variables.values()):
        return None
    return text, variables


class InlineTranslations(Extension):
    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        language = getattr(self.environment, "language", i18n.DEFAULT_LANGUAGE)
        previous: Token | None = None
        for token in stream:
            if (
                token.type == TOKEN_NAME
                and token.value == "_"
                and (previous is None or previous.type != TOKEN_DOT)
                and stream.current.type == TOKEN_LPAREN
            ):
                # Take the call up to its closing parenthesis (or a little past a call that
                # is not all constants, which then goes through unchanged).
                taken = [token]
                while stream.current.type != "eof" and len(taken) < _LONGEST:
                    taken.append(next(stream))
                    if taken[-1].type == TOKEN_RPAREN:
                        break
                constant = _constant_call(taken)
                if constant is not None:
                    text, variables = constant
                    translated = i18n.gettext(text, language)
                    if variables:
                        translated = translated % variables
                    if not variables or not (_UNSAFE & set(translated)):
                        previous = Token(token.lineno, TOKEN_STRING, translated)
                        yield previous
                        continue
                yield from taken
                previous = taken[-1]
                continue
            previous = token
            yield token


_LONGEST = 3 + 4 * 4 + 1  # _ ( "text" and four constant variables )
