"""The composer in a real browser (templates/static/composer.js against a real `forum serve`):
a preview rendered by the server, a draft that follows the member to a new browser, a reply
sent in place, and a refused reply that keeps its text and says why."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.server import ForumServer
from tests.e2e.test_live import chromium, forum, log_in, mark, never_reloaded, open_demo_topic

__all__ = ["forum"]  # the fixture


def test_preview_draft_and_a_reply_in_place(forum: ForumServer) -> None:
    with chromium() as browser:
        first = log_in(browser, forum, "member@example.org")
        page = first.page
        topic_id = open_demo_topic(page)
        toolbar = page.locator('.composer-toolbar[data-target="reply-body"]')
        expect(toolbar).to_be_visible()

        # Preview: the server's rendering, sanitised.
        page.fill("#reply-body", "Drift **matters** <script>window.owned = 1</script>")
        page.get_by_role("button", name="Preview").click()
        preview = page.locator("#reply-body-preview")
        expect(preview.locator("strong")).to_have_text("matters")
        expect(preview).to_contain_text("<script>")  # shown as text, never run
        assert page.evaluate("window.owned === undefined")
        expect(page.locator("#reply-body")).to_be_hidden()
        page.get_by_role("button", name="Write").click()
        expect(page.locator("#reply-body")).to_be_visible()

        # A toolbar button wraps the selection.
        page.fill("#reply-body", "Feedback loops")
        page.locator("#reply-body").select_text()
        toolbar.get_by_role("button", name="Bold").click()
        expect(page.locator("#reply-body")).to_have_value("**Feedback loops**")

        # The draft is saved as one types, and restored in another browser.
        page.fill("#reply-body", "We retrain monthly; drift alerts go to the analysts.")
        expect(page.locator("#reply-body-status")).to_have_text("Draft saved")
        second = log_in(browser, forum, "member@example.org")
        second.page.goto(f"/t/{topic_id}")
        expect(second.page.locator("#reply-body")).to_have_value(
            "We retrain monthly; drift alerts go to the analysts."
        )
        expect(second.page.locator("#reply-body-status")).to_have_text("Your draft was restored.")

        # Posting it happens in place and deletes the draft.
        mark(second.page)
        posts = second.page.locator("article.post").count()
        second.page.locator("#reply button[type=submit]").click()
        expect(second.page.locator("article.post")).to_have_count(posts + 1)
        expect(second.page.locator("article.post").last).to_contain_text("drift alerts")
        expect(second.page.locator("#reply-body")).to_have_value("")
        assert never_reloaded(second.page)
        third = log_in(browser, forum, "member@example.org")
        with third.page.expect_response(lambda r: "/composer/drafts/" in r.url) as asked:
            third.page.goto(f"/t/{topic_id}")
        assert asked.value.status == 204  # no draft any more
        expect(third.page.locator("#reply-body")).to_have_value("")

        # A refused reply keeps its text and says why.
        too_long = "x" * 50_001
        third.page.locator("#reply-body").evaluate("(box, text) => { box.value = text; }", too_long)
        third.page.locator("#reply button[type=submit]").click()
        expect(third.page.locator("#reply-body-error")).to_contain_text("50,000")
        assert third.page.locator("#reply-body").input_value() == too_long
        assert first.unexpected_errors() == [] and second.unexpected_errors() == []
        assert third.unexpected_errors("status of 422") == []  # the refused reply, expected
