"""Images and files attached to posts (forum/web/attachments.py): the composer's upload gives
the markdown to insert; the type comes from the content; sizes and quotas are bounded with
nothing left behind; every download asks who may read a post that shows the file."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from PIL import Image

from forum.actions.attachments import attachment_dir
from forum.actions.posts import do_create_post, do_edit_post
from forum.actions.topics import do_create_topic
from forum.errors import Held
from forum.models import Attachment, Category, PostAttachment, PostingRight, Role, Visibility
from forum.rendering import render_markdown
from forum.settings import Settings
from moderation import review
from tests.helpers import categories, log_in, make_user
from tests.knowledge.documents_helpers import EXE, HTML, SVG, docx, pdf

MAX_BYTES = 64 * 1024
QUOTA_BYTES = 160 * 1024


@pytest.fixture(name="settings")
def small_limits(settings: Settings) -> Settings:
    return replace(settings, attachment_max_bytes=MAX_BYTES, attachment_quota_bytes=QUOTA_BYTES)


def png(size: tuple[int, int] = (4, 3), noise: bool = False) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    if noise:
        image = Image.effect_noise(size, 90).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def picture(kind: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (5, 5), (0, 90, 200)).save(out, format=kind)
    return out.getvalue()


def stored(settings: Settings) -> list[Path]:
    root = attachment_dir(settings)
    return sorted(root.iterdir()) if root.exists() else []


async def _upload(
    client: httpx.AsyncClient, token: str, name: str, data: bytes, content_type: str = ""
) -> httpx.Response:
    return await client.post(
        "/composer/attachments",
        files={"file": (name, data, content_type or "application/octet-stream")},
        headers={"X-CSRF-Token": token},
    )


async def test_an_image_and_a_file_give_the_markdown_to_insert(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    alice = await make_user("alice")
    token = await log_in(client, alice)
    image = png()
    shown = await _upload(client, token, "seal [front].png", image, "image/png")
    assert shown.status_code == 201, shown.text
    data = shown.json()
    attachment = await Attachment.get(id=data["id"])
    assert data["image"] is True and attachment.content_type == "image/png"
    assert data["markdown"] == (
        f"![seal \\[front\\].png](/attachments/{attachment.id}/seal%20%5Bfront%5D.png)"
    )
    (path,) = stored(settings)
    assert path.name == attachment.stored_name and path.read_bytes() == image
    assert "seal" not in path.name  # a random name, outside every served folder
    assert path.parent == settings.var_dir / "attachments"  # not a served folder

    document = await _upload(client, token, "report.pdf", pdf(), "application/pdf")
    assert document.status_code == 201
    found = await Attachment.get(id=document.json()["id"])
    assert document.json()["markdown"] == f"[report.pdf](/attachments/{found.id}/report.pdf)"
    assert found.content_type == "application/pdf" and document.json()["image"] is False

    for kind, name, content_type in (
        ("JPEG", "photo.jpeg", "image/jpeg"),
        ("GIF", "anim.gif", "image/gif"),
        ("WEBP", "scan.webp", "image/webp"),
    ):
        answer = await _upload(client, token, name, picture(kind))
        assert answer.status_code == 201, answer.text
        assert (await Attachment.get(id=answer.json()["id"])).content_type == content_type
    word = await _upload(client, token, "minutes", docx())  # a name without extension gets one
    assert word.json()["name"] == "minutes.docx"


async def test_the_type_comes_from_the_content_and_refusals_leave_nothing(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = await log_in(client, await make_user("alice"))
    cases = [
        ("scan.png", pdf(), "named .png but its content is a PDF"),
        ("page.png", HTML, "an HTML page"),
        ("logo.png", SVG, "an SVG image"),
        ("photo.jpg", EXE, "an executable program"),
        ("broken.png", png()[:40], "damaged or truncated"),
        ("empty.png", b"", "empty"),
    ]
    for name, content, said in cases:
        refused = await _upload(client, token, name, content, "image/png")
        assert refused.status_code == 422, (name, refused.text)
        assert said in refused.json()["error"]["message"], name
    assert stored(settings) == [] and await Attachment.all().count() == 0

    missing = await client.post(
        "/composer/attachments", files={"other": ("a.png", png())}, headers={"X-CSRF-Token": token}
    )
    assert missing.status_code == 400
    no_csrf = await client.post("/composer/attachments", files={"file": ("a.png", png())})
    assert no_csrf.status_code == 403
    assert stored(settings) == [] and await Attachment.all().count() == 0


async def test_too_large_and_over_quota_are_refused_with_nothing_stored(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = await log_in(client, await make_user("alice"))
    big = png((300, 300), noise=True)
    assert len(big) > MAX_BYTES
    refused = await _upload(client, token, "big.png", big)
    assert refused.status_code == 413
    assert "64 KiB" in refused.json()["error"]["message"]
    assert stored(settings) == [] and await Attachment.all().count() == 0

    part = pdf(size=50 * 1024)
    for _ in range(3):  # 150 KiB of 160
        assert (await _upload(client, token, "part.pdf", part)).status_code == 201
    over = await _upload(client, token, "part.pdf", part)
    assert over.status_code == 413
    message = over.json()["error"]["message"]
    assert "quota of 160 KiB" in message and "you use 1" in message
    assert len(stored(settings)) == 3 and await Attachment.all().count() == 3

    await log_in(client, await make_user("bob"))  # a quota per member
    token = await log_in(client, await make_user("carol"))
    assert (await _upload(client, token, "part.pdf", part)).status_code == 201


async def test_an_upload_streams_and_a_large_announced_one_is_refused_unread(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = await log_in(client, await make_user("alice"))
    boundary = "attach-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"'
        "\r\nContent-Type: application/pdf\r\n\r\n"
    ).encode()
    headers = {
        "X-CSRF-Token": token,
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    }
    announced = await client.post(
        "/composer/attachments",
        content=head,
        headers={**headers, "Content-Length": str(MAX_BYTES + 600 * 1024)},
    )
    assert announced.status_code == 413  # the attachments' limit, not the documents' 25 MiB
    assert "too large" in announced.json()["error"]["message"]  # JSON, for the composer

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        yield head + b"%PDF-1.4\n"
        for _ in range(40):
            yield b"x" * 4096
        yield f"\r\n--{boundary}--\r\n".encode()

    streamed = await client.post("/composer/attachments", content=chunks(), headers=headers)
    assert streamed.status_code == 413
    assert "64 KiB" in streamed.json()["error"]["message"]
    assert stored(settings) == [] and await Attachment.all().count() == 0


async def test_uploads_are_for_members_who_may_post(client: httpx.AsyncClient) -> None:
    anonymous = await client.post("/composer/attachments", files={"file": ("a.png", png())})
    assert anonymous.status_code == 403  # no CSRF token a visitor could have
    token = await log_in(client, await make_user("pat", verified=False))
    waiting = await _upload(client, token, "a.png", png())
    assert waiting.status_code == 404
    assert await Attachment.all().count() == 0


async def _staff_category() -> Category:
    return await Category.create(
        slug="staff-only",
        name="Staff only",
        description="",
        visibility=Visibility.STAFF,
        posting_right=PostingRight.STAFF,
        position=99,
    )


async def test_who_may_download_follows_the_posts_that_show_it(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    mod = await make_user("mod", role=Role.ADMIN)
    token = await log_in(client, alice)
    image = png()
    uploaded = (await _upload(client, token, "seal.png", image)).json()
    url = uploaded["url"]

    # Not yet in a post: its uploader alone.
    mine = await client.get(url)
    assert mine.status_code == 200 and mine.content == image
    await log_in(client, bob)
    assert (await client.get(url)).status_code == 404

    # Bob writing its address in his own post does not give him alice's file.
    topic, _first = await do_create_topic(bob, cats["iot"], "Seals", f"Look: ![x]({url})")
    assert await PostAttachment.all().count() == 0
    assert (await client.get(url)).status_code == 404

    # Alice's reply shows it: every reader of the topic may download it, visitors may not.
    reply = await do_create_post(alice, topic, cats["iot"], f"Ours:\n\n{uploaded['markdown']}")
    assert await PostAttachment.filter(post_id=reply.id).count() == 1
    seen = await client.get(url)
    assert seen.status_code == 200 and seen.content == image
    assert seen.headers["content-type"] == "image/png"
    assert seen.headers["x-content-type-options"] == "nosniff"
    assert seen.headers["content-disposition"].startswith("inline;")
    assert "sandbox" in seen.headers["content-security-policy"]
    assert seen.headers["cache-control"] == "no-store"
    client.cookies.clear()
    assert (await client.get(url)).status_code == 404  # a members' category

    # A file in a staff category: its readers only; the uploader too, since it is used.
    staff_room = await _staff_category()
    report = (await _upload(client, await log_in(client, mod), "minutes.pdf", pdf())).json()
    await do_create_topic(mod, staff_room, "Rota for June", report["markdown"])
    got = await client.get(report["url"])
    assert got.status_code == 200 and got.content == pdf()
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"].startswith('attachment; filename="minutes.pdf"')
    assert got.headers["x-content-type-options"] == "nosniff"
    await log_in(client, alice)
    assert (await client.get(report["url"])).status_code == 404
    assert (await client.get("/attachments/999999/none.png")).status_code == 404


async def test_a_post_deleted_or_edited_keeps_the_rule(client: httpx.AsyncClient) -> None:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    token = await log_in(client, alice)
    first = (await _upload(client, token, "one.png", png())).json()
    second = (await _upload(client, token, "two.png", png((2, 2)))).json()
    topic, post = await do_create_topic(alice, cats["iot"], "Seals", "No picture yet")
    await do_edit_post(alice, post, topic, cats["iot"], f"Now: {first['markdown']}")
    await log_in(client, bob)
    assert (await client.get(first["url"])).status_code == 200
    assert (await client.get(second["url"])).status_code == 404  # never used

    # Public category: visitors too.
    welcome, _p = await do_create_topic(alice, cats["welcome"], "Hello", second["markdown"])
    client.cookies.clear()
    assert (await client.get(second["url"])).status_code == 200
    assert welcome.category_id == cats["welcome"].id


async def test_an_attachment_image_in_a_post_renders_as_an_image() -> None:
    html = render_markdown(
        "![seal.png](/attachments/12/seal.png) and ![x](https://e.example/x.png)"
    )
    assert '<img src="/attachments/12/seal.png" alt="seal.png">' in html
    assert "<img" not in html.split("and", 1)[1]  # a remote image stays a link


async def test_an_attachment_image_shows_on_the_topic_page(client: httpx.AsyncClient) -> None:
    cats = await categories()
    alice = await make_user("alice")
    token = await log_in(client, alice)
    uploaded = (await _upload(client, token, "seal.png", png())).json()
    topic, _post = await do_create_topic(alice, cats["iot"], "Seals", uploaded["markdown"])
    page = await client.get(f"/t/{topic.id}")
    assert f'<img src="{uploaded["url"]}" alt="seal.png">' in page.text


async def test_a_held_reply_shows_its_image_to_the_moderators_who_decide_it(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    mod = await make_user("mod", role=Role.MODERATOR)
    topic, _post = await do_create_topic(bob, cats["iot"], "Seals", "Which ones?")
    await Category.filter(id=cats["iot"].id).update(requires_approval=True)
    iot = await Category.get(id=cats["iot"].id)
    uploaded = (await _upload(client, await log_in(client, alice), "seal.png", png())).json()
    with pytest.raises(Held) as held:
        await do_create_post(alice, topic, iot, uploaded["markdown"])

    await log_in(client, bob)
    assert (await client.get(uploaded["url"])).status_code == 404  # not published yet
    await log_in(client, mod)
    assert (await client.get(uploaded["url"])).status_code == 200  # to decide it

    await review.do_decide(mod, held.value.item_id, "approve")
    await log_in(client, bob)
    assert (await client.get(uploaded["url"])).status_code == 200
