"""Administrators change the moderation settings (moderation/settings.py): one audited act."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from forum.events import atomic
from forum.i18n import _
from forum.models import User
from moderation import audit, settings
from moderation.gate import require_administrator
from moderation.settings import ModerationSettings


async def do_update_moderation_settings(
    actor: User | None, changes: dict[str, Any]
) -> ModerationSettings:
    """Check every change (nothing is stored if one is wrong), store those that differ and
    audit them in one row with the values before and after."""
    admin = require_administrator(actor)
    cleaned = settings.check(changes)
    async with atomic():
        current = asdict(await settings.load())
        changed = {name: value for name, value in cleaned.items() if current[name] != value}
        if changed:
            await settings.store(changed)
            await audit.append(
                admin,
                "moderation_settings.change",
                "site_settings",
                None,
                data={"changed": sorted(changed)},
                before={name: current[name] for name in changed},
                after=changed,
            )
        return await settings.load()


@dataclass(frozen=True)
class SettingField:
    name: str
    label: str
    help: str
    low: int
    high: int


def setting_fields() -> list[SettingField]:
    """Every moderation setting with what it means, in the order of ModerationSettings."""
    texts = {
        "approve_first_posts": (
            _("First posts held for approval"),
            _("This many of a new member’s first posts wait for a moderator; 0 turns it off."),
        ),
        "flag_threshold": (
            _("Flags that hide a post"),
            _("When this many members flag a post, it is hidden until a moderator decides."),
        ),
        "posts_per_interval": (
            _("Posts per short interval"),
            _("At most this many posts in the short interval below (staff are exempt)."),
        ),
        "interval_seconds": (
            _("Short interval, in seconds"),
            _("The length of the short interval the limit above counts in."),
        ),
        "posts_per_hour": (
            _("Posts per hour"),
            _("At most this many posts in any hour."),
        ),
        "new_member_days": (
            _("Days a member counts as new"),
            _("For this many days after joining, the stricter limits below apply."),
        ),
        "new_posts_per_interval": (
            _("New members: posts per short interval"),
            _("At most this many posts in the new members' short interval."),
        ),
        "new_interval_seconds": (
            _("New members: short interval, in seconds"),
            _("The length of the new members' short interval."),
        ),
        "new_posts_per_hour": (
            _("New members: posts per hour"),
            _("At most this many posts in any hour during a member's first days."),
        ),
    }
    result = []
    for f in fields(ModerationSettings):
        label, help_text = texts.get(f.name, (f.name.replace("_", " ").capitalize(), ""))
        low, high = settings.LIMITS[f.name]
        result.append(SettingField(f.name, label, help_text, low, high))
    return result
