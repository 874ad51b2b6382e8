"""Live pages in a real browser: Debian's Chromium, driven by Playwright, against a real
`forum serve` (uvicorn) on a temporary SQLite database, with two members in two browser
contexts. Proves templates/static/live.js and the /ws endpoint together: replies, edits,
reactions and deletions reach the other member's open page without a reload, typing and
reading show, a mention counts on the badge, a category page announces a new topic, and a
page whose server restarts catches up on what it missed.

Playwright's sync API runs its own event loop, so these are plain (not async) tests.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Route,
    expect,
    sync_playwright,
)

from tests.e2e.server import DEMO_PASSWORD, ForumServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 10_000  # per expectation
RECONNECT_MS = 30_000  # a restart plus the back-off
TOPIC_TITLE = "Using machine learning for risk targeting: lessons learned"  # demo seed, ai-ml


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    assert CHROMIUM.exists(), (
        f"{CHROMIUM} is missing: the browser tests need Debian's Chromium"
        " (apt-get install -y chromium); they are never skipped"
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        except BaseException:
            save_screenshots(browser)
            raise
        finally:
            browser.close()


ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"


def save_screenshots(browser: Browser) -> list[Path]:
    """Every open page of a failed browser test, as a PNG under var/test-artifacts/ (named
    by the test and the page), so what the member saw can be looked at afterwards."""
    test = os.environ.get("PYTEST_CURRENT_TEST", "browser-test").split(" ")[0]
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", test.split("::")[-1])
    saved: list[Path] = []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for c, context in enumerate(browser.contexts):
        for p, page in enumerate(context.pages):
            path = ARTIFACTS / f"{stem}-{c}-{p}.png"
            with contextlib.suppress(Exception):  # a page that crashed has nothing to show
                page.screenshot(path=str(path), full_page=True)
                saved.append(path)
    return saved


@dataclass
class Member:
    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> Page:
        """Collect script errors and console errors (a CSP violation is one)."""
        page.set_default_timeout(WAIT_MS)
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))
        page.on("console", lambda m: self._console(page, m))
        return page

    def _console(self, page: Page, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            self.errors.append(f"{page.url}: {message.text} ({where})")

    def new_page(self) -> Page:
        return self.watch(self.context.new_page())

    def unexpected_errors(self, *allowed: str) -> list[str]:
        ignored = ("favicon.ico", *allowed)
        return [e for e in self.errors if not any(a in e for a in ignored)]


def log_in(browser: Browser, forum: ForumServer, email: str) -> Member:
    """A member in their own browser context, logged in through the real login form."""
    context = browser.new_context(base_url=forum.url)
    member = Member(context, context.new_page())
    page = member.watch(member.page)
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url)
    return member


def live(page: Page) -> None:
    """Wait until the page's script has subscribed (events after this reach it)."""
    expect(page.locator("body")).to_have_attribute("data-live", "connected")


def open_demo_topic(page: Page) -> int:
    page.goto("/c/ai-ml")
    page.get_by_role("link", name=TOPIC_TITLE).click()
    page.wait_for_url(re.compile(r"/t/\d+$"))
    live(page)
    found = re.search(r"/t/(\d+)$", page.url)
    assert found
    return int(found.group(1))


def reply(page: Page, body: str) -> None:
    """Reply through the page's form: composer.js sends it in place, and the reply appears."""
    posts = page.locator("article.post").count()
    page.fill("#reply-body", body)
    page.locator("#reply button[type=submit]").click()
    expect(page.locator("#reply-body")).to_have_value("")
    expect(page.locator("article.post")).to_have_count(posts + 1)
    live(page)


def mark(page: Page) -> None:
    """Leave a mark in the page's window: it is gone if the page ever reloads."""
    page.evaluate("window.neverReloaded = true")


def never_reloaded(page: Page) -> bool:
    return bool(page.evaluate("window.neverReloaded === true"))


@pytest.fixture
def forum(tmp_path: Path) -> Iterator[ForumServer]:
    server = ForumServer(tmp_path)
    server.prepare()  # forum migrate, forum seed-demo
    server.task("member", "bob")
    server.start()
    try:
        yield server
    finally:
        server.stop()
    log = server.log.read_text()
    assert "Traceback" not in log, log


def test_two_members_see_each_other_live(forum: ForumServer) -> None:
    with chromium() as browser:
        a = log_in(browser, forum, "member@example.org")
        b = log_in(browser, forum, "bob@example.org")
        b_list = b.new_page()
        b_list.goto("/c/ai-ml")
        live(b_list)
        b_home = b.new_page()
        b_home.goto("/")
        live(b_home)
        topic_id = open_demo_topic(a.page)
        open_demo_topic(b.page)
        mark(b.page)
        mark(b_list)
        mark(b_home)

        # Both read the topic: each page says so.
        expect(a.page.locator("#live-reading")).to_have_text("2 members reading this topic")
        expect(b.page.locator("#live-reading")).to_have_text("2 members reading this topic")

        # A replies through the form; B's page shows the reply, once.
        reply(a.page, "Label quality is **everything**, agreed.")
        expect(b.page.locator("#p3 .post-body")).to_have_text(
            "Label quality is everything, agreed."
        )
        expect(b.page.locator("#p3 .post-body strong")).to_have_text("everything")
        expect(b.page.locator("article.post")).to_have_count(3)
        expect(b.page.locator("#live-replies")).to_have_text("2 replies")  # the header counts it
        # Screen readers hear of it (a status region), on the other member's page only.
        expect(b.page.locator("#live-announce")).to_have_text("New reply by Demo Member")
        expect(a.page.locator("#live-announce")).to_have_text("")

        # A edits it; B's copy changes in place.
        a.page.locator("#p3").get_by_role("link", name="Edit").click()
        a.page.fill("#body", "Label quality is everything, and drift monitoring too.")
        a.page.get_by_role("button", name="Save").click()
        a.page.wait_for_url(re.compile(r"/t/\d+"))
        live(a.page)
        expect(b.page.locator("#p3 .post-body")).to_have_text(
            "Label quality is everything, and drift monitoring too."
        )
        expect(b.page.locator("#p3 a.edited")).to_be_visible()

        # A likes post #2; B sees the count.
        a.page.goto(f"/t/{topic_id}")
        like = '#p2 .reactions button[name="like"]'
        a.page.locator(like).click()
        expect(a.page.locator(like)).to_have_attribute("aria-pressed", "true")  # in place
        expect(a.page.locator(like)).to_be_focused()
        live(a.page)
        expect(b.page.locator(f"{like} .count")).to_have_text("1")
        mark(a.page)
        a.page.locator("#p2 button.bookmark").click()  # the same form, sent to /bookmark
        expect(a.page.locator("#p2 button.bookmark")).to_have_text("Remove bookmark")
        expect(a.page.locator("#p2 button.bookmark")).to_be_focused()
        assert never_reloaded(a.page)

        # B types a reply; A sees it, throttled but at once.
        b.page.locator("#reply-body").press_sequentially("I wonder")
        expect(a.page.locator("#live-typing")).to_have_text("bob is typing…")

        # A mentions B: B's badge counts it and leads to the notifications; the post appears.
        badge = b.page.locator("#live-notifications")
        expect(badge).to_be_hidden()
        reply(a.page, "@bob what did your administration find?")
        expect(badge).to_have_text("1")
        expect(badge).to_be_visible()
        expect(b.page.locator("#p4 .post-body")).to_contain_text("what did your administration")
        expect(badge).to_have_attribute("href", "/notifications")
        # A's page stayed open through the reply (sent in place): B's typing notice fades once
        # B has been quiet for TYPING_SHOWN (6 s, live.js).
        expect(a.page.locator("#live-typing")).to_be_hidden(timeout=9000)

        # A deletes it; B's copy becomes the placeholder.
        a.page.locator("#p4 summary", has_text="Delete").click()
        a.page.locator("#p4 button.danger").click()
        expect(b.page.locator("#p4 .post-placeholder")).to_have_text("This post was deleted.")

        # A starts a topic in the category B has open in another tab (and the home page's
        # latest list in a third).
        a.page.goto("/c/ai-ml/new")
        a.page.fill("#title", "Explainability tools in production")
        a.page.fill("#body", "Which ones do you use?")
        a.page.get_by_role("button", name="Create topic").click()
        a.page.wait_for_url(re.compile(r"/t/\d+$"))
        bar = b_list.locator("#live-new")
        expect(bar).to_be_visible()
        expect(bar).to_contain_text("1 new topic")
        expect(b_home.locator("#live-new")).to_contain_text("1 new topic")
        assert never_reloaded(b.page) and never_reloaded(b_list) and never_reloaded(b_home)
        bar.get_by_role("link", name="show").click()
        expect(
            b_list.get_by_role("link", name="Explainability tools in production")
        ).to_be_visible()
        expect(b_list.locator("#live-new")).to_be_hidden()

        assert b.page.locator("#reply-body").input_value() == "I wonder"
        assert a.unexpected_errors() == []
        assert b.unexpected_errors() == []


def test_a_page_catches_up_after_the_server_restarts(forum: ForumServer) -> None:
    with chromium() as browser:
        b = log_in(browser, forum, "bob@example.org")
        topic_id = open_demo_topic(b.page)
        mark(b.page)

        forum.stop()
        expect(b.page.locator("body")).not_to_have_attribute("data-live", "connected")
        forum.task("reply", str(topic_id), "member", "Posted while the server was down.")
        forum.start()

        missed = b.page.locator("#p3 .post-body")
        expect(missed).to_have_text("Posted while the server was down.", timeout=RECONNECT_MS)
        expect(b.page.locator("body")).to_have_attribute("data-live", "connected")
        expect(b.page.locator("article.post")).to_have_count(3)
        assert never_reloaded(b.page)
        # While the server was away the browser reported failed connection attempts.
        assert b.unexpected_errors("ERR_CONNECTION_REFUSED") == []


def test_what_happens_before_the_page_connects_is_not_lost(forum: ForumServer) -> None:
    with chromium() as browser:
        b = log_in(browser, forum, "bob@example.org")
        b.page.goto("/c/ai-ml")
        live(b.page)
        # The next page's script is held back: the page is read, but not yet live.
        held: list[Route] = []

        def hold(route: Route) -> None:
            held.append(route)

        b.page.route("**/static/live.js", hold)  # routing also turns off the cache
        b.page.get_by_role("link", name=TOPIC_TITLE).click()
        # A deferred script holds back the load events: wait for the answer, then the script.
        b.page.wait_for_url(re.compile(r"/t/\d+$"), wait_until="commit")
        found = re.search(r"/t/(\d+)$", b.page.url)
        assert found
        for _ in range(200):
            if held:
                break
            b.page.wait_for_timeout(50)
        assert held, "the topic page never asked for live.js"

        # Another member replies through the server, which fans the event out at once: to
        # nobody on this page yet.
        a = log_in(browser, forum, "member@example.org")
        a.page.goto(f"/t/{found.group(1)}")
        reply(a.page, "Posted before the page was live.")
        held[0].continue_()

        expect(b.page.locator("#p3 .post-body")).to_have_text("Posted before the page was live.")
        live(b.page)  # this page's script: a reloaded page's would still be held
        expect(b.page.locator("article.post")).to_have_count(3)
        assert a.unexpected_errors() == [] and b.unexpected_errors() == []


def test_a_failed_browser_test_leaves_screenshots(tmp_path: Path) -> None:
    """What `chromium()` does when a test inside it fails: each open page is saved."""
    with pytest.raises(AssertionError, match="the page says no"), chromium() as browser:
        page = browser.new_context().new_page()
        page.set_content("<h1>What the member saw</h1>")
        before = set(ARTIFACTS.glob("*.png")) if ARTIFACTS.exists() else set()
        raise AssertionError("the page says no")
    saved = set(ARTIFACTS.glob("test_a_failed_browser_test_leaves_screenshots-*.png")) - before
    assert saved and all(p.stat().st_size > 1000 for p in saved)
    for path in saved:
        path.unlink()
