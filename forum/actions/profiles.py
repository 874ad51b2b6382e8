"""A member's own directory profile and avatar."""

from __future__ import annotations

import asyncio
import re
import secrets
import warnings
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from forum import i18n
from forum.actions.membership import LANGUAGE_CODES, check_full_name
from forum.cache import touch_topics_written_by
from forum.errors import Invalid, TooLarge
from forum.events import atomic
from forum.i18n import _
from forum.models import Administration, User
from forum.queries.directory import expertise_categories
from forum.settings import Settings
from search import index as search_index

AVATAR_MAX_BYTES = 2 * 1024 * 1024
AVATAR_UPLOAD_PATH = "/account/avatar"  # forum.middleware allows this path a larger body
AVATAR_SIZE = 256
# Refused from the header, before decoding: a 12-megapixel phone photo fits, while a small,
# highly compressed PNG of 6,320 x 6,320 (40 MP) would have cost ~600 MB to decode.
AVATAR_MAX_PIXELS = 16_000_000
AVATAR_WORKERS = 2  # images decoded at once, whatever the number of uploads
AVATAR_FORMATS = frozenset({"PNG", "JPEG", "GIF", "WEBP"})
_AVATAR_NAME = re.compile(r"[A-Za-z0-9_-]{16,64}\.png")
_PHONE = re.compile(r"\+?[0-9 ().\-/]{5,40}(?:\s*(?:ext\.?|x)\s*[0-9]{1,6})?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class ProfileChanges:
    display_name: str
    position: str
    languages: str
    expertise: list[str]
    phone: str
    show_email: bool
    show_phone: bool
    administration_id: int | None
    preferred_language: str


def _text(value: str, field: str, limit: int, message: str) -> str:
    value = " ".join(value.split())
    if len(value) > limit or _CONTROL.search(value):
        raise Invalid(message, field=field)
    return value


async def check_profile(
    *,
    display_name: str,
    position: str,
    languages: str,
    expertise: list[str],
    phone: str,
    show_email: bool,
    show_phone: bool,
    administration_id: int | None,
    preferred_language: str,
) -> ProfileChanges:
    name = check_full_name(display_name)
    position = _text(position, "position", 200, _("A position has at most 200 characters."))
    languages = _text(languages, "languages", 200, _("List your languages in 200 characters."))
    phone = " ".join(phone.split())
    if phone and not _PHONE.fullmatch(phone):
        raise Invalid(_("A phone number has digits, spaces and + ( ) - . / only."), field="phone")
    slugs = {c.slug for c in await expertise_categories()}
    chosen = list(dict.fromkeys(expertise))
    if any(slug not in slugs for slug in chosen):
        raise Invalid(_("Choose areas of expertise from the list."), field="expertise")
    if administration_id is not None and not await Administration.exists(id=administration_id):
        raise Invalid(_("Choose your administration from the list."), field="administration")
    if preferred_language not in LANGUAGE_CODES and preferred_language != i18n.AUTOMATIC:
        raise Invalid(_("Choose a language from the list."), field="preferred_language")
    return ProfileChanges(
        display_name=name,
        position=position,
        languages=languages,
        expertise=chosen,
        phone=phone,
        show_email=show_email,
        show_phone=show_phone,
        administration_id=administration_id,
        preferred_language=preferred_language,
    )


async def do_update_profile(user: User, changes: ProfileChanges) -> User:
    values = {
        "display_name": changes.display_name,
        "position": changes.position,
        "languages": changes.languages,
        "expertise": changes.expertise,
        "phone": changes.phone,
        "show_email": changes.show_email,
        "show_phone": changes.show_phone,
        "administration_id": changes.administration_id,
        "preferred_language": changes.preferred_language,
    }
    if changes.preferred_language != user.preferred_language:
        values["language_chosen_at"] = datetime.now(UTC)  # the later choice wins (at login)
    async with atomic():
        await User.filter(id=user.id).update(**values)
        await search_index.index_member(user.id)
        if changes.display_name != user.display_name:
            # Topic pages show authors' names: every topic the member wrote in shows the new
            # name on its next view, in every worker.
            await touch_topics_written_by(user.id)
    for name, value in values.items():
        setattr(user, name, value)
    return user


# --- avatars -----------------------------------------------------------------------------


def reencode_avatar(data: bytes) -> bytes:
    """Decode an uploaded image and write it again as a PNG of at most 256x256 pixels.

    Whatever the upload carried besides pixels (metadata, scripts in an SVG-like payload,
    trailing bytes) does not survive; only the formats listed are decoded at all.
    """
    if len(data) > AVATAR_MAX_BYTES:
        raise TooLarge(_("An avatar is at most 2 MB."))
    not_an_image = Invalid(
        _("That file is not an image we can read (PNG, JPEG, GIF or WebP)."), field="avatar"
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(BytesIO(data), formats=sorted(AVATAR_FORMATS)) as image:
                width, height = image.size
                if width < 1 or height < 1:
                    raise not_an_image
                if width * height > AVATAR_MAX_PIXELS:
                    raise Invalid(
                        _("That image is too large: at most 16 megapixels (e.g. 4000 x 4000)."),
                        field="avatar",
                    )
                image.seek(0)
                # Shrink while decoding (JPEG decodes at 1/2 ... 1/8 scale), then work on the
                # small picture: nothing the size of the original is copied or converted.
                image.draft("RGB", (AVATAR_SIZE * 2, AVATAR_SIZE * 2))
                image.thumbnail((AVATAR_SIZE, AVATAR_SIZE), Image.Resampling.LANCZOS)
                oriented = ImageOps.exif_transpose(image) or image
                picture = oriented.convert("RGBA")
        out = BytesIO()
        picture.save(out, format="PNG", optimize=True)
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        ValueError,
        SyntaxError,
        EOFError,
    ):
        raise not_an_image from None
    return out.getvalue()


def avatar_dir(settings: Settings) -> Path:
    return settings.var_dir / "avatars"


def avatar_path(settings: Settings, name: str) -> Path | None:
    """Where a stored avatar lives, or None for a name we never make (no path tricks)."""
    if not _AVATAR_NAME.fullmatch(name):
        return None
    return avatar_dir(settings) / name


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(data)
    temporary.replace(path)


def _remove(settings: Settings, name: str) -> None:
    path = avatar_path(settings, name) if name else None
    if path is not None:
        path.unlink(missing_ok=True)


_decoding: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


async def _reencode_bounded(data: bytes) -> bytes:
    """At most AVATAR_WORKERS images are decoded at once (per event loop, i.e. per worker);
    the others wait their turn."""
    loop = asyncio.get_running_loop()
    gate = _decoding.setdefault(loop, asyncio.Semaphore(AVATAR_WORKERS))
    async with gate:
        return await asyncio.to_thread(reencode_avatar, data)


async def do_set_avatar(settings: Settings, user: User, data: bytes) -> str:
    png = await _reencode_bounded(data)
    name = secrets.token_urlsafe(18) + ".png"
    path = avatar_path(settings, name)
    assert path is not None
    await asyncio.to_thread(_write, path, png)
    previous = user.avatar
    async with atomic():
        await User.filter(id=user.id).update(avatar=name)
    user.avatar = name
    if previous and previous != name:
        await asyncio.to_thread(_remove, settings, previous)
    return name


async def do_remove_avatar(settings: Settings, user: User) -> None:
    previous = user.avatar
    if not previous:
        return
    async with atomic():
        await User.filter(id=user.id).update(avatar="")
    user.avatar = ""
    await asyncio.to_thread(_remove, settings, previous)


async def do_set_preferred_language(
    user: User, language: str, *, chosen_at: datetime | None = None
) -> None:
    """The header's language switcher, for a member (at login, the choice made with it just
    before, at `chosen_at`): their setting becomes that language (pages and emails). One of
    the languages the forum speaks."""
    if language not in i18n.LANGUAGES:
        raise Invalid(_("Choose a language from the list."), field="language")
    when = chosen_at or datetime.now(UTC)
    await User.filter(id=user.id).update(preferred_language=language, language_chosen_at=when)
    user.preferred_language = language
    user.language_chosen_at = when
