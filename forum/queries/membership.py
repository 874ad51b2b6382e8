"""What administrators read (the access-request queue, invitations, members), and what an
emailed link's page shows its holder before they act on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from forum import policy
from forum.actions.membership import BAD_LINK, REMINDER_WINDOW, access_email_token
from forum.errors import BadLink
from forum.i18n import _
from forum.models import (
    AccessRequest,
    AccessStatus,
    Administration,
    Role,
    TokenPurpose,
    User,
)


@dataclass(frozen=True)
class LinkedRequest:
    """The access request an emailed link belongs to, still waiting for its email step."""

    request: AccessRequest
    administration: Administration | None


async def _linked_request(secret: str, purpose: TokenPurpose) -> LinkedRequest:
    token = await access_email_token(secret, purpose)
    request = await AccessRequest.get_or_none(id=token.access_request_id)
    if request is None or request.status != AccessStatus.EMAIL_PENDING:
        raise BadLink(_(BAD_LINK))
    administration = await Administration.get_or_none(id=request.administration_id)
    return LinkedRequest(request, administration)


async def access_confirmation(secret: str) -> LinkedRequest:
    """The application a confirmation link belongs to, for the page that asks to confirm it."""
    return await _linked_request(secret, TokenPurpose.CONFIRM_EMAIL)


async def access_invitation(secret: str) -> LinkedRequest:
    """The invitation a link belongs to, for the form that completes it."""
    return await _linked_request(secret, TokenPurpose.INVITATION)


async def own_latest_request(user: User) -> AccessRequest | None:
    """The account's most recent request for access (what its owner is told about)."""
    return await AccessRequest.filter(user_id=user.id).order_by("-created_at", "-id").first()


async def pending_requests() -> list[AccessRequest]:
    """Confirmed requests waiting for a decision, oldest first."""
    return (
        await AccessRequest.filter(status=AccessStatus.PENDING)
        .select_related("administration", "invited_by")
        .order_by("created_at", "id")
    )


async def unconfirmed_count() -> int:
    return await AccessRequest.filter(status=AccessStatus.EMAIL_PENDING, invited_by_id=None).count()


async def outstanding_invitations() -> list[AccessRequest]:
    return (
        await AccessRequest.filter(status=AccessStatus.EMAIL_PENDING, user_id=None)
        .exclude(invited_by_id=None)
        .select_related("administration", "invited_by")
        .order_by("-created_at", "-id")
    )


async def recent_decisions(limit: int = 20) -> list[AccessRequest]:
    return (
        await AccessRequest.filter(status__in=[AccessStatus.APPROVED, AccessStatus.REJECTED])
        .select_related("administration", "decided_by")
        .order_by("-decided_at", "-id")
        .limit(limit)
    )


@dataclass(frozen=True)
class MemberRow:
    user: User
    lapsed: bool
    lapsing: bool  # within the reminder window


MEMBER_VIEWS = ("all", "lapsing", "lapsed")


async def verified_members(view: str = "all") -> list[MemberRow]:
    """Accounts with a verification (current or lapsed), soonest end date first."""
    now = datetime.now(UTC)
    users = (
        await User.filter(is_verified=True, role=Role.MEMBER)
        .select_related("administration")
        .order_by("verified_until", "display_name", "id")
    )
    rows = []
    for user in users:
        lapsed = not policy.verification_current(user, now)
        until = user.verified_until
        lapsing = not lapsed and until is not None and until <= now + REMINDER_WINDOW
        if view == "lapsed" and not lapsed or view == "lapsing" and not lapsing:
            continue
        rows.append(MemberRow(user, lapsed, lapsing))
    return rows


def waiting_for(request: AccessRequest, now: datetime | None = None) -> timedelta:
    return (now or datetime.now(UTC)) - request.created_at
