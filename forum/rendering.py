"""Markdown source to safe HTML, in one function used at write time."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from html import unescape

import bleach
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "a", "strong", "em", "del", "s", "code", "pre", "blockquote",
        "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
        "table", "thead", "tbody", "tr", "th", "td", "img", "aside", "div", "span",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": ["href", "title", "rel"],
    "img": ["src", "alt", "title"],
    "ol": ["start"],
    "code": ["class"],
    "aside": ["class", "data-post", "data-topic", "data-username"],
    "div": ["class"],
    "span": ["class"],
}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow ugc noopener"


def _render_link_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    tokens[idx].attrSet("rel", LINK_REL)
    return self.renderToken(tokens, idx, options, env)


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": True, "typographer": False})
    md.enable(["table", "strikethrough", "linkify"])
    md.add_render_rule("link_open", _render_link_open)
    return md


def _filter_attribute(tag: str, name: str, value: str) -> bool:
    allowed = ALLOWED_ATTRIBUTES.get(tag, [])
    if name not in allowed:
        return False
    if name == "rel":
        return value == LINK_REL
    if name == "class" and tag == "code":
        return bool(re.fullmatch(r"language-[A-Za-z0-9_+-]{1,30}", value))
    return True


@lru_cache(maxsize=1)
def _cleaner() -> bleach.Cleaner:
    return bleach.Cleaner(
        tags=ALLOWED_TAGS,
        attributes=_filter_attribute,
        protocols=ALLOWED_PROTOCOLS,
        strip=True,
        strip_comments=True,
    )


def render_markdown(source: str) -> str:
    """Render untrusted markdown to HTML that is safe to show as is."""
    html = _parser().render(source)
    cleaned: str = _cleaner().clean(html)
    return cleaned.strip()


def plain_text(html: str, limit: int = 300) -> str:
    """A short plain-text excerpt of rendered HTML (for lists, previews and emails): text,
    not markup (`R&D < 5%`, not `R&amp;D &lt; 5%`), so the template escapes it exactly once.
    Never mark it safe."""
    text: str = unescape(bleach.clean(html, tags=set(), strip=True))
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
