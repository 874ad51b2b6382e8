"""Moderation settings administrators change at run time, stored in `site_settings`.

Each has a default; `load()` reads them all in one query and `save()` validates and writes
(through an audited action in moderation/admin.py)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from forum.errors import Invalid
from forum.i18n import _
from forum.models import SiteSetting


@dataclass(frozen=True)
class ModerationSettings:
    approve_first_posts: int = 1  # a new member's first N posts wait for approval
    flag_threshold: int = 3  # flags that hide a post pending review
    posts_per_interval: int = 1  # rate limit: at most this many posts...
    interval_seconds: int = 15  # ...per this many seconds
    posts_per_hour: int = 30
    new_member_days: int = 7  # "first week": stricter limits below
    new_posts_per_interval: int = 1
    new_interval_seconds: int = 60
    new_posts_per_hour: int = 10


LIMITS: dict[str, tuple[int, int]] = {
    "approve_first_posts": (0, 100),
    "flag_threshold": (1, 100),
    "posts_per_interval": (1, 1000),
    "interval_seconds": (1, 86400),
    "posts_per_hour": (1, 10000),
    "new_member_days": (0, 365),
    "new_posts_per_interval": (1, 1000),
    "new_interval_seconds": (1, 86400),
    "new_posts_per_hour": (1, 10000),
}


async def load() -> ModerationSettings:
    stored = {s.key: s.value for s in await SiteSetting.filter(key__startswith="moderation.")}
    values: dict[str, Any] = {}
    for f in fields(ModerationSettings):
        value = stored.get(f"moderation.{f.name}")
        if isinstance(value, int):
            values[f.name] = value
    return replace(ModerationSettings(), **values)


def check(changes: dict[str, Any]) -> dict[str, int]:
    """Validate settings from a form or the API (strings of digits or integers)."""
    cleaned: dict[str, int] = {}
    for name, raw in changes.items():
        if name not in LIMITS:
            raise Invalid(_("Unknown setting: %(name)s.") % {"name": name}, field=name)
        text = str(raw).strip()
        if not (text.isascii() and text.isdigit()):
            raise Invalid(_("Give a whole number."), field=name)
        low, high = LIMITS[name]
        value = int(text)
        if not low <= value <= high:
            raise Invalid(
                _("Give a number from %(low)d to %(high)d.") % {"low": low, "high": high},
                field=name,
            )
        cleaned[name] = value
    return cleaned


async def store(values: dict[str, int]) -> None:
    """Write checked values; the caller holds the transaction and writes the audit row."""
    for name, value in values.items():
        await SiteSetting.update_or_create(defaults={"value": value}, key=f"moderation.{name}")
