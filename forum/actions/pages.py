"""The public section's pages: written in markdown by administrators, ordered in a menu."""

from __future__ import annotations

import re
from pathlib import Path

from tortoise.exceptions import IntegrityError

from forum.actions.audit import record_audit
from forum.errors import Conflict, Invalid
from forum.events import atomic
from forum.i18n import _
from forum.models import PublicPage, User
from forum.rendering import render_markdown

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_SOURCE = 100_000
DEFAULT_PAGES_DIR = Path(__file__).resolve().parent.parent / "data" / "pages"
# (slug, title), in menu order; the text is forum/data/pages/<slug>.md
DEFAULT_PAGES = [
    ("about", "About the Smart Customs Project"),
    ("instruments-and-tools", "Instruments and tools"),
    ("links", "Links"),
    ("elearning", "eLearning"),
]


def check_slug(slug: str) -> str:
    slug = slug.strip().lower()
    if not 1 <= len(slug) <= 64 or not _SLUG.fullmatch(slug):
        raise Invalid(
            _("A page address has lower-case letters, digits and single dashes."), field="slug"
        )
    return slug


def check_title(title: str) -> str:
    title = " ".join(title.split())
    if not 1 <= len(title) <= 200:
        raise Invalid(_("A title has 1 to 200 characters."), field="title")
    return title


def check_source(source: str) -> str:
    source = source.replace("\r\n", "\n").strip()
    if not source:
        raise Invalid(_("Write the page's text."), field="source")
    if len(source) > MAX_SOURCE or "\x00" in source:
        raise Invalid(_("A page has at most 100,000 characters."), field="source")
    return source


async def _next_position() -> int:
    last = await PublicPage.all().order_by("-position").first()
    return (last.position if last else 0) + 1


async def do_create_page(
    actor: User | None, slug: str, title: str, source: str, *, published: bool = True
) -> PublicPage:
    slug, title, source = check_slug(slug), check_title(title), check_source(source)
    if await PublicPage.filter(slug=slug).exists():
        raise Conflict(_("Another page has that address."))
    try:
        async with atomic():
            page = await PublicPage.create(
                slug=slug,
                title=title,
                source=source,
                html=render_markdown(source),
                position=await _next_position(),
                published=published,
                updated_by_id=actor.id if actor else None,
            )
            if actor is not None:
                await record_audit(actor, "page.create", "page", page.id, data={"slug": slug})
    except IntegrityError as exc:
        raise Conflict(_("Another page has that address.")) from exc
    return page


async def do_update_page(
    actor: User, page: PublicPage, slug: str, title: str, source: str, *, published: bool
) -> PublicPage:
    slug, title, source = check_slug(slug), check_title(title), check_source(source)
    if await PublicPage.filter(slug=slug).exclude(id=page.id).exists():
        raise Conflict(_("Another page has that address."))
    changes = {"slug": slug, "title": title, "source": source, "published": published}
    changed = [name for name, value in changes.items() if getattr(page, name) != value]
    if not changed:
        return page
    try:
        async with atomic():
            await PublicPage.filter(id=page.id).update(
                **changes, html=render_markdown(source), updated_by_id=actor.id
            )
            await record_audit(
                actor, "page.update", "page", page.id, data={"slug": slug, "changed": changed}
            )
    except IntegrityError as exc:
        raise Conflict(_("Another page has that address.")) from exc
    await page.refresh_from_db()
    return page


async def do_move_page(actor: User, page: PublicPage, direction: str) -> None:
    """Swap a page with its neighbour in the menu ("up" or "down")."""
    if direction not in ("up", "down"):
        raise Invalid(_("Move a page up or down."), field="direction")
    async with atomic():
        pages = await PublicPage.all().order_by("position", "id")
        index = next((i for i, p in enumerate(pages) if p.id == page.id), None)
        if index is None:
            return
        other = index - 1 if direction == "up" else index + 1
        if not 0 <= other < len(pages):
            return
        pages[index], pages[other] = pages[other], pages[index]
        for position, each in enumerate(pages, start=1):
            if each.position != position:
                await PublicPage.filter(id=each.id).update(position=position)
        await record_audit(
            actor, "page.move", "page", page.id, data={"slug": page.slug, "direction": direction}
        )


async def seed_pages(directory: Path = DEFAULT_PAGES_DIR) -> int:
    """Create the default public pages that are missing (an edited page is left alone)."""
    created = 0
    for slug, title in DEFAULT_PAGES:
        if await PublicPage.filter(slug=slug).exists():
            continue
        source = (directory / f"{slug}.md").read_text(encoding="utf-8")
        await do_create_page(None, slug, title, source)
        created += 1
    return created
