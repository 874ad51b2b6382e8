"""Markdown source to safe HTML, in one function used at write time.

Images are shown only from the forum itself (a relative address such as `/avatars/x.png`):
an image on another server becomes a plain link to it, so no reader's browser fetches a
third-party server by opening a page (which would tell that server the reader's address).
"""

from __future__ import annotations

import html as entities
import re
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import bleach
from bleach.html5lib_shim import Filter
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


def is_local_image(src: str) -> bool:
    """Whether an image address stays on the forum: relative, with no scheme and no host.

    Browsers drop tabs and newlines from addresses and read a backslash as a slash
    (`/\\evil.example/x.png` is `//evil.example/x.png`), so those are undone before asking."""
    url = re.sub(r"[\t\n\r]", "", src).strip().replace("\\", "/")
    if not url or url.startswith("//"):
        return False
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc


_SRC = (None, "src")
_ALT = (None, "alt")


class _LocalImagesOnly(Filter):  # type: ignore[misc]
    """After sanitising: an `<img>` from elsewhere becomes `<a href=its address>alt</a>`; an
    `<img>` left without an address (a refused protocol) becomes its alt text."""

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for token in Filter.__iter__(self):
            if token.get("name") != "img" or token["type"] not in ("StartTag", "EmptyTag"):
                yield token
                continue
            data = token.get("data") or {}
            src = str(data.get(_SRC, ""))
            alt = entities.unescape(str(data.get(_ALT, "")))  # bleach keeps entities
            if src and is_local_image(src):
                yield token
            elif src:
                yield {
                    "type": "StartTag",
                    "name": "a",
                    "namespace": token.get("namespace"),
                    "data": {(None, "href"): src, (None, "rel"): LINK_REL},
                }
                yield {"type": "Characters", "data": alt or src}
                yield {"type": "EndTag", "name": "a", "namespace": token.get("namespace")}
            elif alt:
                yield {"type": "Characters", "data": alt}


@lru_cache(maxsize=1)
def _cleaner() -> bleach.Cleaner:
    return bleach.Cleaner(
        tags=ALLOWED_TAGS,
        attributes=_filter_attribute,
        protocols=ALLOWED_PROTOCOLS,
        strip=True,
        strip_comments=True,
        filters=[_LocalImagesOnly],
    )


def render_markdown(source: str) -> str:
    """Render untrusted markdown to HTML that is safe to show as is."""
    html = _parser().render(source)
    return sanitize_html(html)


def sanitize_html(html: str) -> str:
    """The allow-list and the local-images rule, on HTML. Idempotent: stored HTML made by an
    earlier version of the rules passes through it again (migration 0011)."""
    cleaned: str = _cleaner().clean(html)
    return cleaned.strip()


def plain_text(html: str, limit: int = 300) -> str:
    """A short plain-text excerpt of rendered HTML (for lists, previews and emails)."""
    text: str = bleach.clean(html, tags=set(), strip=True)
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
