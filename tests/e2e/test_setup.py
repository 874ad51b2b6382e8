"""Set-up that cannot silently break (issue 14), in a real browser against a real `forum
serve` on a free (so non-default) port: without FORUM_BASE_URL the live updates work at any
name of the server; with FORUM_BASE_URL naming another address, the page says that live
updates are off and why, and the server's log says it once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.server import DEMO_PASSWORD, ForumServer
from tests.e2e.test_live import TOPIC_TITLE, Member, chromium, live


@pytest.fixture
def forum(tmp_path: Path) -> Iterator[ForumServer]:
    server = ForumServer(tmp_path)
    del server.env["FORUM_BASE_URL"]  # as `PORT=8810 make run` starts it
    server.prepare()
    try:
        yield server
    finally:
        server.stop()
    log = server.log.read_text()
    assert "Traceback" not in log, log


def log_in_at(browser: Browser, base_url: str, email: str) -> Member:
    context = browser.new_context(base_url=base_url)
    member = Member(context, context.new_page())
    page = member.watch(member.page)
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto("/c/ai-ml")
    page.get_by_role("link", name=TOPIC_TITLE).click()
    page.wait_for_url(re.compile(r"/t/\d+$"))
    return member


def test_live_updates_follow_the_served_port_and_say_why_when_refused(
    forum: ForumServer,
) -> None:
    elsewhere = f"http://localhost:{forum.port}"
    forum.start()
    with chromium() as browser:
        for base in (forum.url, elsewhere):  # 127.0.0.1 as started, and another name for it
            member = log_in_at(browser, base, "member@example.org")
            live(member.page)
            expect(member.page.locator("#live-status")).to_have_text("")
            assert member.unexpected_errors() == []
            member.context.close()
        assert "base URL " + forum.url + " (from --host/--port" in forum.log.read_text()

        forum.stop()
        forum.env["FORUM_BASE_URL"] = forum.url  # now set, and the page opened elsewhere
        forum.start()
        member = log_in_at(browser, elsewhere, "member@example.org")
        page = member.page
        expect(page.locator("body")).to_have_attribute("data-live", "offline")
        status = page.get_by_role("status").filter(has_text="Live updates are off")
        expect(status).to_contain_text(
            f"set up to be opened at {forum.url} (FORUM_BASE_URL), but this page came from"
            f" {elsewhere}"
        )
        # It keeps trying (and keeps being refused) while the page stays open.
        page.wait_for_timeout(2_000)
        expect(page.locator("body")).not_to_have_attribute("data-live", "connected")

        # At the configured address the same member is live.
        right = log_in_at(browser, forum.url, "member@example.org")
        live(right.page)
        expect(right.page.locator("#live-status")).to_have_text("")
    log = forum.log.read_text()
    origin_warning = f"a request's Origin is '{elsewhere}' but FORUM_BASE_URL is {forum.url}"
    assert log.count(origin_warning) == 1, log
    assert log.count(f"a request's Host is 'localhost:{forum.port}'") == 1, log
