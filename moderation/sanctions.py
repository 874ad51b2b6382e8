"""Sanctions on members: warn, silence, suspend, and lifting one early.

    await do_sanction(actor, user_id, "silence", "Off-topic posting after two warnings", until)
    await do_lift_sanction(actor, sanction_id, "Apologised")

- **warn**: a private note the member sees on their next page (a banner, shown once:
  `Sanction.seen_at` is set when a page carried it; the session lookup says whether one is
  waiting, so no page pays a query for it).
- **silence**: `User.silenced_until`; the policy (`may_participate`) stops posting, reacting
  and flagging, and `check_may_speak(user)` says why and until when.
- **suspend**: `User.suspended_until`; every session and API token ends and open sockets
  close (`session.revoked`, `user.access_revoked`); login is refused with the reason
  (`check_not_suspended`), and the policy and the auth middleware treat the account as
  anonymous.

Silences and suspensions lift by themselves: the policy compares `until` with now. The user
columns always hold the latest end of the sanctions of that kind still in force (a sanction
without an end is stored as FOREVER), so lifting one silence leaves another in force.
Every sanction and lift writes its audit row and its event (`sanction.created` /
`sanction.lifted` on `user:<id>`) in the same transaction. Staff cannot be sanctioned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from forum import i18n, policy
from forum.actions.users import do_revoke_sessions
from forum.errors import Conflict, Forbidden, Invalid, NotFound
from forum.events import atomic, record_event
from forum.formats import format_moment
from forum.i18n import N_, _
from forum.models import ApiToken, AuditLog, Sanction, SanctionKind, User
from moderation import audit
from moderation.gate import require_moderator
from notifications import notify, outbox

REASON_MAX = 2000
# "Until lifted": far enough never to pass, near enough to convert to any time zone.
FOREVER = datetime(9999, 1, 1, tzinfo=UTC)
KINDS = tuple(kind.value for kind in SanctionKind)
# The page's choice of duration; "custom" reads a date and time, "" means until lifted.
DURATIONS: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
    "3d": timedelta(days=3),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}


class Silenced(Forbidden):
    """A silenced member tried to post, react or flag; the message says why and until when."""

    code = "silenced"


class Suspended(Forbidden):
    """A suspended member tried to log in; the message says why and until when."""

    code = "suspended"


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def in_force(sanction: Sanction, now: datetime | None = None) -> bool:
    """Not lifted and not yet ended (a warning stays "in force" until the member saw it)."""
    if sanction.lifted_at is not None:
        return False
    if sanction.kind == SanctionKind.WARN:
        return sanction.seen_at is None
    return sanction.until is None or _aware(sanction.until) > (now or _now())


# --- checking input ------------------------------------------------------------------------


def check_kind(kind: str) -> SanctionKind:
    if kind not in KINDS:
        raise Invalid(_("Choose warn, silence or suspend."), field="kind")
    return SanctionKind(kind)


def check_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise Invalid(_("Give the reason: the member is shown it."), field="reason")
    if len(reason) > REASON_MAX:
        raise Invalid(_("A reason has at most 2,000 characters."), field="reason")
    return reason


def check_until(until: datetime | None, now: datetime | None = None) -> datetime | None:
    """An end in the future (naive times are UTC), or None for "until lifted"."""
    if until is None:
        return None
    until = _aware(until)
    if until <= (now or _now()):
        raise Invalid(_("The end must be in the future."), field="until")
    return min(until, FOREVER).astimezone(UTC)


def parse_iso(text: str) -> datetime:
    """An ISO-8601 date and time from the API (a time without an offset is UTC)."""
    try:
        return _aware(datetime.fromisoformat(text.strip()))
    except ValueError:
        raise Invalid(
            _("Give the end as an ISO-8601 date and time, e.g. 2030-01-31T18:00:00Z."),
            field="until",
        ) from None


def until_from_form(duration: str, custom: str, now: datetime | None = None) -> datetime | None:
    """The end chosen on the page: a duration from now, a date and time (UTC), or none."""
    if duration == "":
        return None
    if duration == "custom":
        if not custom.strip():
            raise Invalid(_("Give the date and time the sanction ends."), field="until")
        return check_until(parse_iso(custom), now)
    if duration not in DURATIONS:
        raise Invalid(_("Choose how long the sanction lasts."), field="duration")
    return (now or _now()) + DURATIONS[duration]


# --- what the member is told ---------------------------------------------------------------


def until_text(until: datetime | None) -> str:
    """An end as the member and staff read it ("further notice" for none)."""
    if until is None or _aware(until) >= FOREVER:
        return _("further notice")
    return format_moment(_aware(until)) + " UTC"


def sanction_message(sanction: Sanction) -> str:
    """What the member is told by email (the reason and the end, in words)."""
    values = {"when": until_text(sanction.until), "reason": sanction.reason}
    if sanction.kind == SanctionKind.WARN:
        return _("A moderator sent you a warning: %(reason)s") % values
    if sanction.kind == SanctionKind.SILENCE:
        return (
            _(
                "You are silenced until %(when)s: you may read but not post, react or flag."
                " Reason: %(reason)s"
            )
            % values
        )
    return (
        _("Your account is suspended until %(when)s: you cannot log in. Reason: %(reason)s")
        % values
    )


async def _current(user: User, kind: SanctionKind) -> Sanction | None:
    """The sanction of this kind in force that lasts longest (it sets the user's column)."""
    now = _now()
    found = [
        s
        for s in await Sanction.filter(user_id=user.id, kind=kind, lifted_at=None).order_by("-id")
        if in_force(s, now)
    ]
    return max(found, key=lambda s: _aware(s.until) if s.until else FOREVER, default=None)


async def silence_notice(user: User | None) -> str | None:
    """ "You are silenced until ...: <reason>" while the user is silenced, else None."""
    if user is None or not policy.is_silenced(user):
        return None
    current = await _current(user, SanctionKind.SILENCE)
    reason = current.reason if current else ""
    return _("You are silenced until %(when)s: %(reason)s") % {
        "when": until_text(user.silenced_until),
        "reason": reason,
    }


async def check_may_speak(user: User | None) -> None:
    """Raise Silenced (403 `silenced`, with the reason and the end) for a silenced user.

    Call it first in every action that posts, reacts or flags: the policy refuses them
    anyway, this says why."""
    notice = await silence_notice(user)
    if notice is not None:
        raise Silenced(notice)


async def check_not_suspended(user: User) -> None:
    """Raise Suspended for a suspended account (logging in): "suspended until X: reason"."""
    if not policy.is_suspended(user):
        return
    current = await _current(user, SanctionKind.SUSPEND)
    reason = current.reason if current else ""
    raise Suspended(
        _("This account is suspended until %(when)s: %(reason)s")
        % {"when": until_text(user.suspended_until), "reason": reason}
    )


async def unseen_warnings(user_id: int) -> list[Sanction]:
    """Warnings the member has not been shown yet, oldest first."""
    return (
        await Sanction.filter(user_id=user_id, kind=SanctionKind.WARN, seen_at=None, lifted_at=None)
        .order_by("id")
        .limit(20)
    )


async def do_mark_warnings_seen(user_id: int, sanction_ids: list[int]) -> None:
    """A page carried these warnings: they are not shown again (one rare write)."""
    if sanction_ids:
        await Sanction.filter(id__in=sanction_ids, user_id=user_id, seen_at=None).update(
            seen_at=_now()
        )


# --- acts -----------------------------------------------------------------------------------


async def access_target(user_id: int) -> User:
    user = await User.get_or_none(id=user_id)
    if user is None:
        raise NotFound(_("No such member."))
    return user


async def _latest_end(user_id: int, kind: SanctionKind, now: datetime) -> datetime | None:
    """What the user's column must hold: the latest end of this kind's sanctions in force."""
    ends: list[datetime] = []
    for sanction in await Sanction.filter(user_id=user_id, kind=kind, lifted_at=None):
        if in_force(sanction, now):
            ends.append(_aware(sanction.until) if sanction.until else FOREVER)
    return max(ends, default=None)


_COLUMN = {SanctionKind.SILENCE: "silenced_until", SanctionKind.SUSPEND: "suspended_until"}


def _iso(value: datetime | None) -> str | None:
    return _aware(value).isoformat() if value is not None else None


def _payload(sanction: Sanction) -> dict[str, object]:
    return {
        "sanction_id": sanction.id,
        "user_id": sanction.user_id,
        "kind": str(sanction.kind),
        "until": _iso(sanction.until),
    }


async def do_sanction(
    actor: User | None, user_id: int, kind: str, reason: str, until: datetime | None = None
) -> Sanction:
    """Warn, silence or suspend a member; `until` None lasts until lifted (a warning has no
    end: it is shown once)."""
    actor = require_moderator(actor)
    sanction_kind = check_kind(kind)
    reason = check_reason(reason)
    now = _now()
    until = None if sanction_kind == SanctionKind.WARN else check_until(until, now)
    target = await access_target(user_id)
    if target.id == actor.id:
        raise Conflict(_("You cannot sanction yourself."))
    if target.is_staff:
        raise Conflict(
            _("Moderators and administrators cannot be sanctioned: change the role first.")
        )
    async with atomic():
        sanction = await Sanction.create(
            user_id=target.id,
            kind=sanction_kind,
            reason=reason,
            until=until,
            created_by_id=actor.id,
        )
        before = after = None
        column = _COLUMN.get(sanction_kind)
        if column is not None:
            before = getattr(target, column)
            after = await _latest_end(target.id, sanction_kind, now)
            await User.filter(id=target.id).update(**{column: after})
            setattr(target, column, after)
        await audit.append(
            actor,
            f"sanction.{sanction_kind}",
            "user",
            target.id,
            reason=reason,
            data={"sanction_id": sanction.id, "until": _iso(until)},
            before=_iso(before),
            after=_iso(after),
        )
        await record_event(
            "sanction.created", f"user:{target.id}", _payload(sanction), user_id=target.id
        )
        with i18n.using(target.mail_language):  # the member reads it in their language
            told = sanction_message(sanction)
        await notify.on_moderation(target.id, str(sanction_kind), told)
        await outbox.enqueue(
            target,
            "moderation_notice",
            N_("A moderator's decision about your account"),
            {"name": target.display_name, "message": told, "link": ""},
        )
        if sanction_kind == SanctionKind.SUSPEND:
            await _end_every_way_in(target, now)
    return sanction


async def _end_every_way_in(user: User, now: datetime) -> None:
    """Sessions, API tokens and open sockets of a suspended account (inside the transaction)."""
    await do_revoke_sessions(user)  # records session.revoked with the ended sessions
    await ApiToken.filter(user_id=user.id, revoked_at=None).update(revoked_at=now)
    # Token-authenticated sockets have no session: this closes every socket of the account.
    await record_event(
        "user.access_revoked",
        f"user:{user.id}",
        {"user_id": user.id, "reason": "suspended"},
        user_id=user.id,
    )


async def do_lift_sanction(actor: User | None, sanction_id: int, reason: str) -> Sanction:
    """End a sanction before its time (or withdraw a warning not yet seen)."""
    actor = require_moderator(actor)
    reason = check_reason(reason)
    sanction = await Sanction.get_or_none(id=sanction_id)
    if sanction is None:
        raise NotFound(_("No such sanction."))
    now = _now()
    if not in_force(sanction, now):
        raise Conflict(_("This sanction is no longer in force."))
    async with atomic():
        lifted = await Sanction.filter(id=sanction.id, lifted_at=None).update(
            lifted_at=now, lifted_by_id=actor.id
        )
        if not lifted:  # someone else lifted it a moment ago
            raise Conflict(_("This sanction is no longer in force."))
        sanction.lifted_at, sanction.lifted_by_id = now, actor.id
        before = after = None
        column = _COLUMN.get(sanction.kind)
        if column is not None:
            target = await access_target(sanction.user_id)
            before = getattr(target, column)
            after = await _latest_end(target.id, sanction.kind, now)
            await User.filter(id=target.id).update(**{column: after})
        await audit.append(
            actor,
            "sanction.lift",
            "user",
            sanction.user_id,
            reason=reason,
            data={"sanction_id": sanction.id, "kind": str(sanction.kind)},
            before=_iso(before),
            after=_iso(after),
        )
        await record_event(
            "sanction.lifted",
            f"user:{sanction.user_id}",
            _payload(sanction),
            user_id=sanction.user_id,
        )
    return sanction


# --- reading the history --------------------------------------------------------------------


@dataclass(frozen=True)
class SanctionEntry:
    sanction: Sanction
    in_force: bool
    lift_reason: str


async def list_sanctions(actor: User | None, user_id: int) -> tuple[User, list[SanctionEntry]]:
    """A member's sanctions, newest first, with who lifted them and why (staff only)."""
    require_moderator(actor)
    target = await access_target(user_id)
    sanctions = (
        await Sanction.filter(user_id=target.id)
        .select_related("created_by", "lifted_by")
        .order_by("-id")
        .limit(200)
    )
    reasons: dict[int, str] = {}
    if any(s.lifted_at is not None for s in sanctions):
        for row in await AuditLog.filter(
            action="sanction.lift", target_type="user", target_id=target.id
        ):
            sanction_id = row.data.get("sanction_id") if isinstance(row.data, dict) else None
            if isinstance(sanction_id, int):
                reasons[sanction_id] = row.reason
    now = _now()
    return target, [SanctionEntry(s, in_force(s, now), reasons.get(s.id, "")) for s in sanctions]
