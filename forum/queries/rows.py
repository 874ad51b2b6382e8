"""Plain read-only rows for hot pages (cheaper to build than ORM objects)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Author:
    id: int
    username: str
    display_name: str


@dataclass(frozen=True, slots=True)
class PostRow:
    """A post as a page shows it; attribute names match forum.models.Post."""

    id: int
    topic_id: int
    number: int
    author_id: int
    author: Author
    reply_to_id: int | None
    source: str
    html: str
    version: int
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None
    hidden: bool
    language: str  # the language it is written in (forum.i18n.LANGUAGES)
    # Who made the current version, when that is not the author (a moderator's edit).
    edited_by: Author | None = None
