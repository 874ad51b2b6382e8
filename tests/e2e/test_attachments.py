"""Attachments in a real browser (templates/static/attach.js against a real `forum serve`): an
image and a PDF uploaded through the composer's "Attach a file" button, the reply posted, the
image shown in the post for another member, the PDF downloaded with its exact bytes, and
nothing for a visitor."""

from __future__ import annotations

import io
import re
from pathlib import Path

from PIL import Image
from playwright.sync_api import expect

from knowledge.pdf import make_pdf
from tests.e2e.server import ForumServer
from tests.e2e.test_live import chromium, forum, log_in, open_demo_topic

__all__ = ["forum"]  # the fixture


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (20, 120, 60)).save(out, format="PNG")
    return out.getvalue()


def test_an_image_and_a_pdf_attached_posted_shown_and_downloaded(forum: ForumServer) -> None:
    image = _png(40, 24)
    document = make_pdf("Seal inspection", ["Report on electronic seals."])
    with chromium() as browser:
        member = log_in(browser, forum, "member@example.org")
        page = member.page
        topic_id = open_demo_topic(page)
        toolbar = page.locator('.composer-toolbar[data-target="reply-body"]')
        box = page.locator("#reply-body")
        box.fill("Our seal, and the report:")

        # The image through the button's file chooser: its markdown lands at the cursor.
        with page.expect_file_chooser() as chosen:
            toolbar.get_by_role("button", name="Attach a file").click()
        chosen.value.set_files({"name": "seal.png", "mimeType": "image/png", "buffer": image})
        expect(box).to_have_value(
            re.compile(
                r"^Our seal, and the report:\n!\[seal\.png\]\(/attachments/\d+/seal\.png\)\n$"
            )
        )
        expect(page.locator("#reply-body-status")).to_contain_text("seal.png")

        # The PDF through the same (hidden) input.
        page.set_input_files(
            '.composer-toolbar[data-target="reply-body"] .composer-attach-input',
            {"name": "report.pdf", "mimeType": "application/pdf", "buffer": document},
        )
        expect(box).to_have_value(re.compile(r"\[report\.pdf\]\(/attachments/\d+/report\.pdf\)\n$"))

        # A PDF named as a picture is refused with the server's words; the text is kept.
        before = box.input_value()
        page.set_input_files(
            '.composer-toolbar[data-target="reply-body"] .composer-attach-input',
            {"name": "fake.png", "mimeType": "image/png", "buffer": document},
        )
        expect(page.locator("#reply-body-error")).to_contain_text("content is a PDF")
        assert box.input_value() == before

        # Posting the reply (in place): the image shows in the post, the PDF downloads.
        posts = page.locator("article.post").count()
        page.locator("#reply button[type=submit]").click()
        expect(page.locator("article.post")).to_have_count(posts + 1)
        posted = page.locator("article.post").last
        picture = posted.locator("img[alt='seal.png']")
        expect(picture).to_be_visible()
        assert picture.evaluate("img => img.decode().then(() => img.naturalWidth)") == 40
        with page.expect_download() as downloading:
            posted.get_by_role("link", name="report.pdf").click()
        download = downloading.value
        assert download.suggested_filename == "report.pdf"
        assert Path(download.path()).read_bytes() == document
        address = posted.get_by_role("link", name="report.pdf").get_attribute("href")
        source = picture.get_attribute("src")
        assert address and source

        # Another member of the category sees the picture after a reload of the topic.
        other = log_in(browser, forum, "bob@example.org")
        other.page.goto(f"/t/{topic_id}")
        seen = other.page.locator("article.post img[alt='seal.png']")
        expect(seen).to_be_visible()
        assert seen.evaluate("img => img.decode().then(() => img.naturalWidth)") == 40
        fetched = other.context.request.get(address)
        assert fetched.status == 200 and fetched.body() == document

        # A visitor gets nothing.
        visitor = browser.new_context(base_url=forum.url)
        assert visitor.request.get(source).status == 404
        assert visitor.request.get(address).status == 404
        visitor.close()
        assert member.unexpected_errors("status of 422") == []  # the refused fake, expected
        assert other.unexpected_errors() == []
