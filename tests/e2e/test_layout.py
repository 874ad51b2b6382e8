"""The pages on a phone and in dark mode, checked in a real browser (Debian's Chromium against a
real `forum serve` with the demo seed), logged in as the demo administrator so that every
header link and staff page is there: no horizontal scrolling at 360 and 390 px, the header's
links behind a "Menu" disclosure that works from the keyboard, dark mode following the system
setting, reaction icons drawn without an emoji font, and axe-core (tests/e2e/vendor/axe.min.js)
finding nothing serious or critical on each main page in either theme. A failing check saves a
screenshot under var/test-artifacts/. (The pages' weight is tests/web/test_weight.py's.)"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from forum import totp
from tests.e2e.server import DEMO_PASSWORD, ROOT, ForumServer
from tests.e2e.test_live import WAIT_MS, chromium

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
ARTIFACTS = ROOT / "var" / "test-artifacts"
PHONES = (320, 360, 390)  # 320: WCAG's reflow width (1.4.10)
# The main pages; "{topic}" is the demo topic the category page lists first.
MAIN_PAGES = (
    "/",
    "/c/ai-ml",
    "{topic}",
    "/knowledge",
    "/directory",
    "/search?q=risk",
    "/u/member",
    "/account/security",
    "/notifications",
    "/admin",
    "/review",
)
VISITOR_PAGES = ("/", "/login", "/request-access")
# More of the administrator's pages, for axe at full width.
OTHER_PAGES = (
    "/bookmarks",
    "/account/profile",
    "/account/notifications",
    "/knowledge/entries",
    "/knowledge/documents",
    "/readiness",
    "/a",
    "/admin/members",
    "/admin/audit",
    "/admin/analytics",
)


@dataclass
class Site:
    forum: ForumServer
    admin: dict[str, Any]  # the administrator's logged-in storage state (cookies)
    topic: str

    def pages(self) -> list[str]:
        return [self.topic if path == "{topic}" else path for path in MAIN_PAGES]


def save_screenshot(page: Page, name: str) -> None:
    """What the page looks like now: var/test-artifacts/NAME.png (never fails the test)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^\w.-]+", "_", name)
    with contextlib.suppress(Exception):
        page.screenshot(path=str(ARTIFACTS / f"{safe}.png"))


@contextlib.contextmanager
def screenshot_on_failure(page: Page, name: str) -> Iterator[None]:
    """Keep what the page looked like when a check failed."""
    try:
        yield
    except BaseException:
        save_screenshot(page, name)
        raise


def log_in_admin(browser: Browser, forum: ForumServer, secret: str) -> dict[str, Any]:
    """The demo administrator through the real login form and its two-factor step, once: the
    seed used the current 30 s step, so the next one is the first the server accepts."""
    context = browser.new_context(base_url=forum.url)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto("/login")
    page.fill("#email", "admin@example.org")
    page.fill("#password", DEMO_PASSWORD)
    page.locator("main form[action='/login'] button[type=submit]").click()
    page.wait_for_selector("#code")
    page.fill("#code", totp.code_at(secret, time.time() + totp.PERIOD))
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url)
    state = context.storage_state()
    context.close()
    return dict(state)


def open_context(browser: Browser, site: Site, *, visitor: bool = False, **options: Any) -> Page:
    context: BrowserContext = browser.new_context(
        base_url=site.forum.url, storage_state=None if visitor else site.admin, **options
    )
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    return page


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    server = ForumServer(tmp_path_factory.mktemp("layout"))
    server.run("migrate")
    seeded = server.run("seed-demo")
    server.task("relax")
    found = re.search(r"demo admin: .*? secret (\S+)", seeded)
    assert found, seeded
    server.start()
    try:
        with chromium() as browser:
            admin = log_in_admin(browser, server, found.group(1))
            page = open_context(browser, Site(server, admin, ""))
            page.goto("/c/ai-ml")
            topic = page.locator(".topic-title a, a.topic-title").first.get_attribute("href")
            page.context.close()
        assert topic and re.fullmatch(r"/t/\d+", topic), topic
        yield Site(server, admin, topic)
    finally:
        server.stop()
    log = server.log.read_text()
    assert "Traceback" not in log, log


def overflow(page: Page) -> int:
    """How far the page scrolls sideways (0: not at all)."""
    return int(page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth"))


# One banner, one main, one footer, and one h1 (inside main); the header's <nav> is named.
LANDMARKS = {"banner": 1, "main": 1, "contentinfo": 1, "h1": 1, "h1 in main": 1, "account nav": 1}


def outline(page: Page) -> dict[str, int]:
    return dict(
        page.evaluate(
            """() => ({
                banner: document.querySelectorAll("body > header").length,
                main: document.querySelectorAll("main").length,
                contentinfo: document.querySelectorAll("body > footer").length,
                h1: document.querySelectorAll("h1").length,
                "h1 in main": document.querySelectorAll("main h1").length,
                "account nav": document.querySelectorAll("header nav[aria-label]").length,
            })"""
        )
    )


def test_no_page_scrolls_sideways_on_a_phone(site: Site) -> None:
    """Nor does it lack its landmarks or have other than one h1 (checked on the way); and
    the same in French at 320 px."""
    with chromium() as browser:
        for width in PHONES:
            for visitor, paths in ((False, site.pages()), (True, VISITOR_PAGES)):
                page = open_context(
                    browser, site, visitor=visitor, viewport={"width": width, "height": 800}
                )
                for path in paths:
                    page.goto(path)
                    with screenshot_on_failure(page, f"overflow-{width}-{path}"):
                        assert overflow(page) == 0, f"{path} at {width} px scrolls sideways"
                        assert outline(page) == LANDMARKS, f"{path}: {outline(page)}"
                page.context.close()
        # French words are longer: the narrowest phone again, the administrator in French
        # (the header's switch, through the menu; switched back after).
        page = open_context(browser, site, viewport={"width": 320, "height": 800})
        page.goto("/")
        switch_language(page, "fr")
        try:
            for path in site.pages():
                page.goto(path)
                with screenshot_on_failure(page, f"overflow-fr-320-{path}"):
                    assert page.evaluate("document.documentElement.lang") == "fr"
                    assert overflow(page) == 0, f"{path} in French at 320 px scrolls sideways"
        finally:
            switch_language(page, "en")
            page.context.close()


def switch_language(page: Page, language: str) -> None:
    page.locator(".menu-toggle summary").click()
    page.locator(f'button[name="language"][value="{language}"]').click()
    expect(page.locator("html")).to_have_attribute("lang", language)


def test_the_header_folds_into_a_menu_on_a_phone(site: Site) -> None:
    with chromium() as browser:
        page = open_context(browser, site, viewport={"width": 390, "height": 800})
        page.goto("/")
        menu = page.locator(".menu-toggle summary")
        security = page.get_by_role("link", name="Security", exact=True)
        with screenshot_on_failure(page, "menu-phone"):
            expect(menu).to_be_visible()
            expect(security).to_be_hidden()
            # Unread notifications, folded away: the button shows a dot.
            dot = "getComputedStyle(document.querySelector('.menu-toggle summary'), '::after')"
            assert page.evaluate(f"{dot}.content") == "none"
            page.evaluate("document.getElementById('live-notifications').hidden = false")
            assert page.evaluate(f"{dot}.content") == '""'
            page.evaluate("document.getElementById('live-notifications').hidden = true")
            # From the keyboard: the skip link first, then the brand, then the menu.
            page.keyboard.press("Tab")
            expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
            page.keyboard.press("Tab")
            page.keyboard.press("Tab")
            expect(menu).to_be_focused()
            assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
            page.keyboard.press("Enter")
            expect(security).to_be_visible()
            expect(page.get_by_role("button", name="Log out")).to_be_visible()
            assert overflow(page) == 0
            page.keyboard.press("Tab")  # into the menu: its search box comes first
            expect(page.locator("#header-search-q")).to_be_focused()
            menu.click()
            expect(security).to_be_hidden()
        page.context.close()

        wide = open_context(browser, site, viewport={"width": 1200, "height": 800})
        wide.goto("/")
        with screenshot_on_failure(wide, "menu-wide"):
            expect(wide.locator(".menu-toggle summary")).to_be_hidden()
            expect(wide.get_by_role("link", name="Security", exact=True)).to_be_visible()
            # The skip link leads past the header: the next Tab lands inside <main>.
            wide.keyboard.press("Tab")
            skip = wide.get_by_role("link", name="Skip to content")
            expect(skip).to_be_focused()
            expect(skip).to_be_in_viewport()
            wide.keyboard.press("Enter")
            wide.keyboard.press("Tab")
            assert wide.evaluate("!!document.activeElement.closest('main')")
        wide.context.close()


def _background(page: Page) -> str:
    return str(page.evaluate("getComputedStyle(document.documentElement).backgroundColor"))


def _luminance(css: str) -> float:
    red, green, blue = (int(n) / 255 for n in re.findall(r"\d+", css)[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def test_dark_mode_follows_the_system_setting(site: Site) -> None:
    with chromium() as browser:
        light = open_context(browser, site, color_scheme="light")
        dark = open_context(browser, site, color_scheme="dark")
        for page in (light, dark):
            page.goto(site.topic)
        with screenshot_on_failure(dark, "dark-mode"):
            assert _background(light) != _background(dark)
            assert _luminance(_background(light)) > 0.8
            assert _luminance(_background(dark)) < 0.2
            post = dark.locator("article.post").first
            assert _luminance(post.evaluate("e => getComputedStyle(e).color")) > 0.7
        light.context.close()
        dark.context.close()


def test_reactions_are_icons_not_emoji(site: Site) -> None:
    with chromium() as browser:
        page = open_context(browser, site)
        page.goto(site.topic)
        like = page.locator('article.post .reactions button[name="like"]').first
        with screenshot_on_failure(page, "reaction-icons"):
            expect(like).to_have_accessible_name(re.compile(r"^Like"))
            icon = like.locator("svg use")
            expect(icon).to_have_attribute("href", "#icon-like")
            box = like.locator("svg").bounding_box()
            assert box and box["width"] >= 12 and box["height"] >= 12
            assert page.locator("svg.sprite symbol#icon-like path").count() == 1
            posts = page.locator("article.post").evaluate_all("all => all.map(p => p.outerHTML)")
            assert not re.search(r"[\U00010000-\U0010FFFF]", "".join(posts)), "an emoji in a post"
        page.context.close()


def _axe(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
            .filter(v => v.impact === "serious" || v.impact === "critical")
            .map(v => v.impact + " " + v.id + ": " + v.nodes.slice(0, 3)
                .map(n => n.target.join(" ")).join(", "))"""
    )
    return [str(v) for v in violations]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_nothing_serious_on_the_main_pages(site: Site, scheme: str) -> None:
    """axe is injected as a script tag, which the pages' CSP (script-src 'self') refuses: the
    context bypasses the CSP for that, and only in this test."""
    with chromium() as browser:
        found: dict[str, list[str]] = {}
        for width, visitor, paths in (
            (1200, False, [*site.pages(), *OTHER_PAGES]),
            (390, False, site.pages()),
            (390, True, VISITOR_PAGES),
        ):
            page = open_context(
                browser,
                site,
                visitor=visitor,
                color_scheme=scheme,
                bypass_csp=True,
                viewport={"width": width, "height": 900},
            )
            for path in paths:
                page.goto(path)
                if width < 600 and not visitor:
                    page.locator(".menu-toggle summary").click()  # check the open menu too
                violations = _axe(page)
                if violations:
                    who = "visitor" if visitor else "admin"
                    found[f"{path} ({who}, {width} px)"] = violations
                    save_screenshot(page, f"axe-{scheme}-{width}-{who}-{path}")
            page.context.close()
        assert not found, found
