"""Markdown source to safe HTML, in one function used at write time.

Images are shown only from the forum itself (a relative address such as `/avatars/x.png`):
an image on another server becomes a plain link to it, so no reader's browser fetches a
third-party server by opening a page (which would tell that server the reader's address).
"""

from __future__ import annotations

import html as entities
import re
from collections.abc import Collection, Iterator, Sequence
from functools import lru_cache
from html import unescape
from typing import Any
from urllib.parse import quote, urlsplit

import bleach
from bleach.html5lib_shim import Filter
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_inline import StateInline
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
    "a": ["href", "title", "rel", "class"],
    "img": ["src", "alt", "title"],
    "ol": ["start"],
    "code": ["class"],
    "aside": ["class", "data-post", "data-topic", "data-username"],
    "div": ["class"],
    "span": ["class"],
}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow ugc noopener"


MENTION_CLASS = "mention"
# What forum.actions.posts counts as a mention, at one position of the source.
_MENTION_AT = re.compile(r"@([A-Za-z0-9_][A-Za-z0-9_.-]{1,38}[A-Za-z0-9_])")
_NOT_BEFORE_MENTION = re.compile(r"[\w@`]")


def _render_link_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    if tokens[idx].markup != MENTION_CLASS:  # a profile of this forum: no rel needed
        tokens[idx].attrSet("rel", LINK_REL)
    return self.renderToken(tokens, idx, options, env)


def _mention(state: StateInline, silent: bool) -> bool:
    """`@name` of a member the caller named in `env["mentions"]` (those that exist) becomes
    a link to their profile; not inside a link or code (those rules run before this one)."""
    pos = state.pos
    if state.src[pos] != "@" or state.linkLevel > 0:
        return False
    known = state.env.get("mentions") if isinstance(state.env, dict) else None
    if not known or (pos > 0 and _NOT_BEFORE_MENTION.match(state.src[pos - 1])):
        return False
    found = _MENTION_AT.match(state.src, pos, state.posMax)
    if found is None or found.group(1) not in known:
        return False
    name = found.group(1)
    if not silent:
        token = state.push("link_open", "a", 1)
        token.attrs = {"href": "/u/" + quote(name), "class": MENTION_CLASS}
        token.markup = MENTION_CLASS
        token = state.push("text", "", 0)
        token.content = "@" + name
        token = state.push("link_close", "a", -1)
        token.markup = MENTION_CLASS
    state.pos = found.end()
    return True


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": True, "typographer": False})
    md.enable(["table", "strikethrough", "linkify"])
    md.add_render_rule("link_open", _render_link_open)
    md.inline.ruler.before("text", "mention", _mention)
    return md


def _filter_attribute(tag: str, name: str, value: str) -> bool:
    allowed = ALLOWED_ATTRIBUTES.get(tag, [])
    if name not in allowed:
        return False
    if name == "rel":
        return value == LINK_REL
    if name == "class" and tag == "code":
        return bool(re.fullmatch(r"language-[A-Za-z0-9_+-]{1,30}", value))
    if name == "class" and tag == "a":
        return value == MENTION_CLASS
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


def render_markdown(source: str, mentions: Collection[str] = ()) -> str:
    """Render untrusted markdown to HTML that is safe to show as is; `@name` for each name in
    `mentions` (members that exist: forum.actions.posts.render_post) links to the profile."""
    html = _parser().render(source, {"mentions": frozenset(mentions)})
    return sanitize_html(html)


def sanitize_html(html: str) -> str:
    """The allow-list and the local-images rule, on HTML. Idempotent: stored HTML made by an
    earlier version of the rules passes through it again (migration 0011)."""
    cleaned: str = _cleaner().clean(html)
    return cleaned.strip()


def plain_text(html: str, limit: int = 300) -> str:
    """A short plain-text excerpt of rendered HTML (for lists, previews and emails): text,
    not markup (`R&D < 5%`, not `R&amp;D &lt; 5%`), so the template escapes it exactly once.
    Never mark it safe."""
    text: str = unescape(bleach.clean(html, tags=set(), strip=True))
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
