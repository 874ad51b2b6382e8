"""English and French in a real browser against a real `forum serve`: a visitor's browser
language, the header's switcher (remembered in a cookie), a member's switch saved as their
setting (it follows them to another browser), and an email in French."""

from __future__ import annotations

import email
import email.policy
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.server import ForumServer
from tests.e2e.test_live import chromium, log_in

WAIT_MS = 10_000


@pytest.fixture
def forum(tmp_path: Path) -> Iterator[ForumServer]:
    server = ForumServer(tmp_path)
    server.prepare()  # forum migrate, forum seed-demo
    server.start()
    try:
        yield server
    finally:
        server.stop()
    log = server.log.read_text()
    assert "Traceback" not in log, log


def speaks(page: Page, language: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", language)


def mail_to(outbox: Path, address: str, subject: str = "") -> email.message.EmailMessage:
    """The first .eml the server's sender wrote for `address` (with `subject` in its subject,
    when given); the sender sends every few seconds."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for path in sorted(outbox.glob("*.eml")) if outbox.exists() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if address in str(message["To"]) and subject.lower() in str(message["Subject"]).lower():
                assert isinstance(message, email.message.EmailMessage)
                return message
        time.sleep(0.2)
    raise AssertionError(f"no mail to {address} in {outbox}")


def test_visitors_and_members_switch_to_french_and_get_french_email(
    forum: ForumServer,
) -> None:
    with chromium() as browser:
        # A visitor whose browser asks for French gets French at once.
        quebec = browser.new_context(base_url=forum.url, locale="fr-CA")
        page = quebec.new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto("/")
        speaks(page, "fr")
        expect(page.get_by_role("link", name="Se connecter")).to_be_visible()

        # A visitor in English switches in the header; the choice stays for later pages.
        visitor = browser.new_context(base_url=forum.url, locale="en-US")
        page = visitor.new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto("/login")
        speaks(page, "en")
        page.get_by_role("button", name="Français").click()
        page.wait_for_load_state()
        speaks(page, "fr")
        assert page.url.endswith("/login")
        expect(page.get_by_role("heading", level=1)).to_have_text("Se connecter")
        page.goto("/password/reset")
        speaks(page, "fr")
        expect(page.get_by_role("button", name="Envoyez-moi un lien")).to_be_visible()

        # A member switches: their setting follows them to another browser.
        member = log_in(browser, forum, "member@example.org")
        speaks(member.page, "en")
        member.page.goto("/directory")
        member.page.get_by_role("button", name="Français").click()
        member.page.wait_for_url(f"{forum.url}/directory")
        speaks(member.page, "fr")
        expect(member.page.get_by_role("button", name="Se déconnecter")).to_be_visible()
        elsewhere = log_in(browser, forum, "member@example.org")
        speaks(elsewhere.page, "fr")

        # Their password-reset email is French, though asked for from an English page.
        english = browser.new_context(base_url=forum.url, locale="en-US")
        page = english.new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto("/password/reset")
        speaks(page, "en")
        page.fill("#email", "member@example.org")
        page.get_by_role("button", name="Send me a link").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
        message = mail_to(forum.workdir / "outbox", "member@example.org")
        assert message["Subject"] == "Réinitialisez votre mot de passe du Forum Smart Customs"
        body = message.get_body(preferencelist=("plain",))
        assert body is not None and str(body.get_content()).startswith("Bonjour Demo Member,")
        assert member.unexpected_errors() == [] and elsewhere.unexpected_errors() == []
