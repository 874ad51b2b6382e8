"""Constant translations written into templates when they are compiled.

`{{ _("Log out") }}` costs a call, a Markup wrap and a `%` formatting on every render, and a
page has dozens of them. This extension rewrites each `_("literal")` without variables into
the literal's translation while the template is compiled, so the compiled template holds the
translated text as data (autoescaped like any other constant). Calls with variables, and
`ngettext`, stay calls. The environment's language (`environment.language`) decides the
translation: one environment per language.
"""

from __future__ import annotations

from collections.abc import Iterator

from jinja2.ext import Extension
from jinja2.lexer import (
    TOKEN_DOT,
    TOKEN_LPAREN,
    TOKEN_NAME,
    TOKEN_RPAREN,
    TOKEN_STRING,
    Token,
    TokenStream,
)

from forum import i18n


class InlineTranslations(Extension):
    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        language = getattr(self.environment, "language", i18n.DEFAULT_LANGUAGE)
        previous: Token | None = None
        for token in stream:
            if (
                token.type == TOKEN_NAME
                and token.value == "_"
                and (previous is None or previous.type != TOKEN_DOT)
            ):
                taken = [token]
                for _n in range(3):
                    if stream.current.type == "eof":
                        break
                    taken.append(next(stream))
                kinds = [t.type for t in taken]
                if kinds == [TOKEN_NAME, TOKEN_LPAREN, TOKEN_STRING, TOKEN_RPAREN] and (
                    "%" not in taken[2].value
                ):
                    text = i18n.gettext(taken[2].value, language)
                    previous = Token(token.lineno, TOKEN_STRING, text)
                    yield previous
                    continue
                yield from taken
                previous = taken[-1]
                continue
            previous = token
            yield token
