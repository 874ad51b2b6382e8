"""Members edit their own profile and avatar; avatars are re-encoded, bounded and private."""

from __future__ import annotations

from io import BytesIO

import httpx
from PIL import Image

from forum.models import Administration, User
from forum.settings import Settings
from tests.helpers import log_in, make_user
from tests.web.support import csrf_from


def _image(fmt: str, size: tuple[int, int] = (600, 400), **save: object) -> bytes:
    out = BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format=fmt, **save)
    return out.getvalue()


async def _upload(
    client: httpx.AsyncClient, data: bytes, filename: str = "me.png", csrf: str | None = None
) -> httpx.Response:
    token = csrf if csrf is not None else csrf_from(await client.get("/account/profile"))
    return await client.post(
        f"/account/avatar?csrf_token={token}",
        files={"avatar": (filename, data, "application/octet-stream")},
    )


async def test_a_member_edits_their_profile_and_the_directory_shows_it(
    client: httpx.AsyncClient, world: dict[str, Administration]
) -> None:
    alice = await make_user("alice")
    await log_in(client, alice)
    page = await client.get("/account/profile")
    assert page.status_code == 200 and 'name="expertise" value="ai-ml"' in page.text

    saved = await client.post(
        "/account/profile",
        data={
            "csrf_token": csrf_from(page),
            "display_name": "  Alice   Mwangi ",
            "administration": str(world["KE"].id),
            "position": "Risk analyst",
            "languages": "English, Swahili",
            "expertise": ["ai-ml", "blockchain"],
            "phone": "+254 (20) 123-4567",
            "show_email": "1",
            "preferred_language": "fr",
        },
    )

    assert (
        saved.status_code == 303 and saved.headers["location"] == "/account/profile?saved=profile"
    )
    alice = await User.get(id=alice.id)
    assert alice.display_name == "Alice Mwangi" and alice.expertise == ["ai-ml", "blockchain"]
    assert alice.show_email and not alice.show_phone and alice.preferred_language == "fr"
    listing = (await client.get("/directory?administration=KE")).text
    assert "Alice Mwangi" in listing and "alice@example.org" in listing
    assert "+254 (20) 123-4567" not in listing  # the phone stays private
    assert "Blockchain" in listing


async def test_the_profile_form_refuses_bad_values_and_keeps_them(
    client: httpx.AsyncClient, world: dict[str, Administration]
) -> None:
    await log_in(client, await make_user("alice"))
    csrf = csrf_from(await client.get("/account/profile"))
    base = {"csrf_token": csrf, "display_name": "Alice", "preferred_language": "en"}
    for change, message in (
        ({"expertise": "cooking"}, "areas of expertise from the list"),
        ({"phone": "call me maybe"}, "phone number"),
        ({"administration": "999999"}, "administration from the list"),
        ({"display_name": ""}, "full name"),
        ({"preferred_language": "tlh"}, "language from the list"),
    ):
        response = await client.post("/account/profile", data={**base, **change})
        assert response.status_code == 422, change
        assert message in response.text, change
    assert (await User.get(username="alice")).display_name == "Alice"


async def test_the_language_setting_offers_automatic_first_and_remembers_when_it_was_chosen(
    client: httpx.AsyncClient, world: dict[str, Administration]
) -> None:
    alice = await make_user("alice")
    assert alice.preferred_language == "auto" and alice.language_chosen_at is None
    await log_in(client, alice)
    page = await client.get("/account/profile")
    assert '<option value="auto" selected>Automatic (the language menu, else your browser)' in (
        page.text
    )
    base = {"csrf_token": csrf_from(page), "display_name": "Alice"}
    await client.post("/account/profile", data={**base, "preferred_language": "fr"})
    chosen = await User.get(id=alice.id)
    assert chosen.preferred_language == "fr" and chosen.language_chosen_at is not None
    await client.post("/account/profile", data={**base, "preferred_language": "auto"})
    back = await User.get(id=alice.id)
    assert back.preferred_language == "auto" and back.mail_language == "en"  # no cookie: English
    assert (
        back.language_chosen_at is not None and back.language_chosen_at > chosen.language_chosen_at
    )


async def test_an_avatar_is_re_encoded_as_a_small_png_and_replaces_the_old_one(
    client: httpx.AsyncClient, settings: Settings, world: dict[str, Administration]
) -> None:
    alice = await make_user("alice")
    await log_in(client, alice)
    jpeg = _image("JPEG", (1200, 800), comment=b"secret camera notes")

    response = await _upload(client, jpeg, "holiday.jpg")

    assert response.status_code == 303
    name = (await User.get(id=alice.id)).avatar
    assert name.endswith(".png") and "holiday" not in name
    stored = settings.var_dir / "avatars" / name
    with Image.open(stored) as image:
        assert image.format == "PNG" and image.size == (256, 171)
    assert b"secret camera notes" not in stored.read_bytes()
    served = await client.get(f"/avatars/{name}")
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    assert served.content == stored.read_bytes()

    again = await _upload(client, _image("WEBP", (100, 300)), "me.webp")
    assert again.status_code == 303
    newer = (await User.get(id=alice.id)).avatar
    assert newer != name and not stored.exists()
    with Image.open(settings.var_dir / "avatars" / newer) as image:
        assert image.size == (85, 256)

    removed = await client.post(
        "/account/avatar/remove",
        data={"csrf_token": csrf_from(await client.get("/account/profile"))},
    )
    assert removed.status_code == 303 and (await User.get(id=alice.id)).avatar == ""
    assert not (settings.var_dir / "avatars" / newer).exists()


async def test_files_that_are_not_images_or_too_large_are_refused_clearly(
    client: httpx.AsyncClient, world: dict[str, Administration]
) -> None:
    alice = await make_user("alice")
    await log_in(client, alice)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    for data, filename in (
        (b"just some text", "notes.png"),
        (svg, "picture.svg"),
        (_image("PNG")[:60], "truncated.png"),
        (_image("BMP", (20, 20)), "old.bmp"),
    ):
        response = await _upload(client, data, filename)
        assert response.status_code == 422, filename
        assert "not an image we can read" in response.text, filename
    big = _image("PNG", (10, 10)) + b"\0" * (2 * 1024 * 1024)
    too_big = await _upload(client, big)
    assert too_big.status_code == 413
    huge = await _upload(client, b"\0" * (3 * 1024 * 1024))
    assert huge.status_code == 413
    missing = await client.post(
        f"/account/avatar?csrf_token={csrf_from(await client.get('/account/profile'))}",
        files={"other": ("x.txt", b"x", "text/plain")},
    )
    assert missing.status_code == 422
    assert (await User.get(id=alice.id)).avatar == ""


async def test_an_upload_without_the_csrf_token_is_refused(
    client: httpx.AsyncClient, world: dict[str, Administration]
) -> None:
    alice = await make_user("alice")
    await log_in(client, alice)
    response = await _upload(client, _image("PNG"), csrf="forged")
    assert response.status_code == 403
    assert (await User.get(id=alice.id)).avatar == ""


async def test_avatars_are_shown_to_members_and_their_owner_only(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, world: dict[str, Administration]
) -> None:
    newcomer = await make_user("newcomer", verified=False)
    await log_in(client, newcomer)
    assert (await _upload(client, _image("PNG"))).status_code == 303
    name = (await User.get(id=newcomer.id)).avatar
    assert (await client.get(f"/avatars/{name}")).status_code == 200  # the owner

    assert (await other_client.get(f"/avatars/{name}")).status_code == 404  # a visitor
    await log_in(other_client, await make_user("stranger", verified=False))
    assert (await other_client.get(f"/avatars/{name}")).status_code == 404
    await log_in(other_client, await make_user("member"))
    assert (await other_client.get(f"/avatars/{name}")).status_code == 200
    for bad in ("../../etc/passwd", "..%2F..%2Fsecret_key", "x.png", name.replace(".png", ".txt")):
        assert (await other_client.get(f"/avatars/{bad}")).status_code == 404, bad


async def test_a_small_file_of_huge_dimensions_is_refused_before_it_is_decoded(
    client: httpx.AsyncClient, settings: Settings, world: dict[str, Administration]
) -> None:
    """A ~130 KB PNG of 6,320 x 6,320 pixels used to be decoded whole (hundreds of MB)."""
    alice = await make_user("alice")
    await log_in(client, alice)
    out = BytesIO()
    Image.new("L", (6320, 6320), 0).save(out, format="PNG", optimize=True)
    assert len(out.getvalue()) < 2 * 1024 * 1024  # small enough to be uploaded at all
    refused = await _upload(client, out.getvalue(), "bomb.png")
    assert refused.status_code == 422
    assert "at most 16 megapixels" in refused.text
    assert (await User.get(id=alice.id)).avatar == ""
    # A phone photo's size is fine, and comes out small.
    photo = await _upload(client, _image("JPEG", (4000, 3000), quality=60), "photo.jpg")
    assert photo.status_code == 303
    name = (await User.get(id=alice.id)).avatar
    with Image.open(settings.var_dir / "avatars" / name) as image:
        assert max(image.size) == 256
