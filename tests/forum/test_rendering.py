"""Posts are untrusted: markdown is rendered, then only an allow-list of HTML survives."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from forum.rendering import ALLOWED_TAGS, render_markdown

REL = 'rel="nofollow ugc noopener"'


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        "[click](javascript:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        "![x](javascript:alert(1))",
        '<iframe src="https://evil.example"></iframe>',
        "<style>body{display:none}</style>",
    ],
)
def test_active_content_never_survives(source: str) -> None:
    parsed = _Elements()
    parsed.feed(render_markdown(source))
    assert parsed.tags <= ALLOWED_TAGS
    for name, value in parsed.attributes:
        assert not name.startswith("on")
        if name in ("href", "src"):
            assert value.split(":", 1)[0] in ("http", "https", "mailto"), value


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.extend((name, value or "") for name, value in attrs)


def test_markdown_features_render() -> None:
    html = render_markdown("**b** _i_ ~~s~~\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n> quoted")
    assert "<strong>b</strong>" in html and "<em>i</em>" in html and "<s>s</s>" in html
    assert "<table>" in html and "<td>1</td>" in html
    assert "<blockquote>" in html


def test_links_get_safe_rel_and_urls_are_linkified() -> None:
    html = render_markdown("see https://www.wcoomd.org and [mail](mailto:ncp@example.org)")
    assert f'<a href="https://www.wcoomd.org" {REL}>https://www.wcoomd.org</a>' in html
    assert f'<a href="mailto:ncp@example.org" {REL}>mail</a>' in html


def test_only_http_https_and_mailto_links_are_kept() -> None:
    html = render_markdown("[f](ftp://example.org/file) [h](https://example.org)")
    assert 'href="ftp' not in html
    assert 'href="https://example.org"' in html


def test_code_is_escaped_once() -> None:
    html = render_markdown("```\nif a < b && c > d:\n```")
    assert "if a &lt; b &amp;&amp; c &gt; d:" in html


@pytest.mark.parametrize(
    ("address", "local"),
    [
        ("/avatars/1.png", True),
        ("pictures/scan.png", True),
        ("https://tracker.example/pixel.png", False),
        ("http://tracker.example/pixel.png", False),
        ("//tracker.example/pixel.png", False),
        ("/\\tracker.example/pixel.png", False),
        ("/\t/tracker.example/pixel.png", False),
        (" //tracker.example/pixel.png", False),
    ],
)
def test_only_images_of_the_forum_itself_are_images(address: str, local: bool) -> None:
    from forum.rendering import is_local_image

    assert is_local_image(address) is local
