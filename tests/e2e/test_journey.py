"""A new member's whole journey in a real browser against a real `forum serve`: request
access through the public form, confirm it from the email the server wrote, an
administrator (two-factor code and all) approves it, and the new member posts a first topic
that another member sees."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from forum import totp
from tests.e2e.server import DEMO_PASSWORD, ForumServer
from tests.e2e.test_french import mail_to
from tests.e2e.test_live import chromium, log_in

APPLICANT = "ana.e2e@customs.example"
APPLICANT_PASSWORD = "a long enough password 42"
WAIT_MS = 10_000


@pytest.fixture
def forum(tmp_path: Path) -> Iterator[tuple[ForumServer, str]]:
    server = ForumServer(tmp_path)
    server.run("migrate")
    seeded = server.run("seed-demo")
    found = re.search(r"demo admin: two-factor authentication is on; add the secret (\w+)", seeded)
    assert found, seeded
    server.task("relax")
    server.start()
    try:
        yield server, found.group(1)
    finally:
        server.stop()
    log = server.log.read_text()
    assert "Traceback" not in log, log


def test_request_access_confirm_be_approved_and_post_a_first_topic(
    forum: tuple[ForumServer, str],
) -> None:
    server, admin_secret = forum
    outbox = Path(server.env["FORUM_SMTP_URL"].removeprefix("file://"))
    with chromium() as browser:
        # A visitor asks for access through the public form.
        visitor = browser.new_context(base_url=server.url)
        page = visitor.new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto("/")
        page.get_by_role("link", name="Request access").first.click()
        page.fill("#full_name", "Ana Example")
        page.fill("#email", APPLICANT)
        page.select_option("#administration", index=1)
        page.fill("#position", "Head of risk management")
        page.fill("#reason", "I am the National Contact Point for the Smart Customs Project.")
        page.fill("#password", APPLICANT_PASSWORD)
        page.get_by_role("button", name="Send my request").click()
        page.wait_for_url(re.compile(r"/request-access/sent$"))

        # The confirmation link comes by email; following it and saying yes confirms it.
        message = mail_to(outbox, APPLICANT)
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        link = re.search(r"https?://\S+/request-access/confirm/\S+", body.get_content())
        assert link, body.get_content()
        page.goto(link.group(0))
        page.get_by_role("button", name="Yes, this is my request").click()
        expect(page.locator("main")).to_contain_text("administrator")

        # An administrator logs in with the two-factor code and approves the request.
        admin = browser.new_context(base_url=server.url)
        staff = admin.new_page()
        staff.set_default_timeout(WAIT_MS)
        staff.goto("/login")
        staff.fill("#email", "admin@example.org")
        staff.fill("#password", DEMO_PASSWORD)
        staff.locator("form[action='/login'] button[type=submit]").click()
        staff.wait_for_url(re.compile(r"/login/2fa"))
        # The seed used this step's code to turn 2FA on; the next step's is accepted too.
        staff.fill("#code", totp.code_at(admin_secret, time.time() + totp.PERIOD))
        staff.locator("form[action='/login/2fa'] button[type=submit]").click()
        staff.wait_for_url(lambda url: "/login" not in url)
        staff.goto("/admin/access-requests")
        request = staff.locator("article, li, tr, section").filter(has_text=APPLICANT).last
        request.get_by_role("button", name="Approve").click()
        expect(staff.locator("p.notice[role=status]")).to_contain_text("Approved")
        decision = mail_to(outbox, APPLICANT, subject="approved")
        assert "approved" in str(decision["Subject"]).lower()

        # The new member logs in and starts a topic; another member sees it.
        page.goto("/login")
        page.fill("#email", APPLICANT)
        page.fill("#password", APPLICANT_PASSWORD)
        page.locator("form[action='/login'] button[type=submit]").click()
        page.wait_for_url(lambda url: "/login" not in url)
        page.goto("/c/ai-ml")
        page.get_by_role("link", name="New topic").click()
        page.fill("#title", "Hello from a new National Contact Point")
        page.fill("#body", "We start a **risk targeting** pilot next month.")
        page.get_by_role("button", name="Create topic").click()
        page.wait_for_url(re.compile(r"/t/\d+"))
        expect(page.locator("h1")).to_have_text("Hello from a new National Contact Point")
        expect(page.locator("article.post .post-body strong")).to_have_text("risk targeting")

        colleague = log_in(browser, server, "member@example.org")
        colleague.page.goto("/c/ai-ml")
        expect(
            colleague.page.get_by_role("link", name="Hello from a new National Contact Point")
        ).to_be_visible()
        assert colleague.unexpected_errors() == []
