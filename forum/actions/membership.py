"""Verified membership: applications, email confirmation, invitations, administrators'
decisions, revocation and yearly re-verification.

Who becomes a verified member: `do_approve_request` is the only code that turns
`User.is_verified` on for an applicant (`do_reverify_member` only extends a verification that
exists). An application, a confirmed email and an accepted invitation leave it off.
(`forum.actions.users.do_create_user(is_verified=True)` exists for operators: the
`create-admin` command and the demo seed; no page or API endpoint reaches it.)

Responses to an application never depend on whether the email is known: the password is
hashed and one email is sent in every case, and the page and status are the same. A second
application for an address whose first one still waits for confirmation changes nothing but
sends the owner a fresh link to the first one; its confirmation page shows the details so the
owner can confirm them or discard them. An application whose link expired is replaced.

Emails are written to the outbox (`notifications.outbox`) in the transaction of their cause and
sent by its sender outside any request: no request waits for the mail server.
"""

from __future__ import annotations

import logging
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError

from forum import i18n, policy
from forum.actions.audit import record_audit
from forum.actions.users import check_email, check_password
from forum.errors import BadLink, Conflict, Invalid, NotFound
from forum.events import atomic, record_event
from forum.i18n import N_, _
from forum.models import (
    AccessRequest,
    AccessStatus,
    Administration,
    AuditLog,
    EmailToken,
    ReminderClaim,
    Role,
    TokenPurpose,
    User,
)
from forum.security import hash_password, new_token, token_hash
from forum.settings import Settings
from notifications import notify, outbox
from search import index as search_index

log = logging.getLogger(__name__)

CONFIRMATION_LIFETIME = timedelta(hours=24)
INVITATION_LIFETIME = timedelta(days=7)
VERIFICATION_PERIOD = timedelta(days=365)
REMINDER_WINDOW = timedelta(days=30)
LANGUAGES: tuple[tuple[str, str], ...] = (
    ("en", "English"),
    ("fr", "Français"),
    ("es", "Español"),
    ("pt", "Português"),
    ("ar", "العربية"),
    ("ru", "Русский"),
    ("zh", "中文"),
)
LANGUAGE_CODES = frozenset(code for code, _name in LANGUAGES)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _now() -> datetime:
    return datetime.now(UTC)


# --- checks ------------------------------------------------------------------------------


def _line(value: str, field: str, *, low: int, high: int, message: str) -> str:
    value = " ".join(value.split())
    if not low <= len(value) <= high or _CONTROL.search(value):
        raise Invalid(message, field=field)
    return value


def check_full_name(value: str) -> str:
    return _line(
        value,
        "full_name",
        low=2,
        high=120,
        message=_("Enter your full name (2 to 120 characters)."),
    )


def check_position(value: str) -> str:
    return _line(
        value, "position", low=2, high=200, message=_("Enter your position (2 to 200 characters).")
    )


def check_reason(value: str) -> str:
    value = value.strip()
    if not 10 <= len(value) <= 2000 or _CONTROL.search(value):
        raise Invalid(_("Say in 10 to 2,000 characters why you need access."), field="reason")
    return value


def _language_setting(applied_in: str) -> str:
    """A new member's language setting: automatic (the switcher, else the browser); a
    language the forum does not speak is kept as their stated preference (it reads as
    automatic too)."""
    return i18n.AUTOMATIC if applied_in in i18n.LANGUAGES else applied_in


def _first_seen_language(applied_in: str) -> str:
    """Their emails' language until their pages are seen: the one they applied in."""
    return applied_in if applied_in in i18n.LANGUAGES else ""


def check_language(value: str) -> str:
    if value not in LANGUAGE_CODES:
        raise Invalid(_("Choose a language from the list."), field="language")
    return value


async def check_administration_id(value: int | None) -> Administration:
    administration = await Administration.get_or_none(id=value) if value else None
    if administration is None:
        raise Invalid(_("Choose your administration from the list."), field="administration")
    return administration


@dataclass(frozen=True)
class Application:
    full_name: str
    email: str
    administration: Administration
    position: str
    reason: str
    language: str
    password: str


async def check_application(
    *,
    full_name: str,
    email: str,
    administration_id: int | None,
    position: str,
    reason: str,
    language: str,
    password: str,
) -> Application:
    """Validate an application form, field by field in the order the form shows them."""
    return Application(
        full_name=check_full_name(full_name),
        email=check_email(email),
        administration=await check_administration_id(administration_id),
        position=check_position(position),
        reason=check_reason(reason),
        language=check_language(language),
        password=check_password(password),
    )


# --- mail --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    to: str
    subject: str
    template: str
    context: dict[str, Any]


async def _queue(mail: Outgoing, user: User | None = None) -> None:
    """Put the message in the outbox; call inside the `atomic()` block of its cause."""
    await outbox.enqueue_to(mail.to, mail.template, mail.subject, mail.context, user=user)


def _request_context(
    request: AccessRequest, administration: Administration | None
) -> dict[str, Any]:
    return {
        "full_name": request.full_name,
        "administration": administration.name if administration else "",
        "position": request.position,
        "applied_at": request.created_at.strftime("%Y-%m-%d %H:%M UTC")
        if request.created_at
        else "",
    }


# --- tokens ------------------------------------------------------------------------------


async def _new_email_token(
    purpose: TokenPurpose,
    request: AccessRequest,
    lifetime: timedelta,
    user: User | None = None,
) -> str:
    secret = new_token()
    await EmailToken.create(
        purpose=purpose,
        token_hash=token_hash(secret),
        user_id=user.id if user else request.user_id,
        access_request_id=request.id,
        expires_at=_now() + lifetime,
    )
    return secret


BAD_LINK = N_("This link is invalid, has expired or was already used.")


async def access_email_token(secret: str, purpose: TokenPurpose) -> EmailToken:
    """A live (unused, unexpired) token for this secret, or NotFound: one answer for all."""
    if not secret or len(secret) > 100:
        raise BadLink(_(BAD_LINK))
    token = await EmailToken.get_or_none(token_hash=token_hash(secret), purpose=purpose)
    if token is None or token.used_at is not None or token.expires_at <= _now():
        raise BadLink(_(BAD_LINK))
    return token


async def _claim(token: EmailToken) -> None:
    """Use the token up, exactly once even under concurrent requests."""
    claimed = await EmailToken.filter(id=token.id, used_at=None).update(used_at=_now())
    if not claimed:
        raise BadLink(_(BAD_LINK))


# --- applying ----------------------------------------------------------------------------


def _username_base(full_name: str, email: str) -> str:
    for source in (full_name, email.split("@", 1)[0]):
        ascii_text = unicodedata.normalize("NFKD", source).encode("ascii", "ignore").decode()
        base = re.sub(r"[^a-z0-9]+", ".", ascii_text.lower()).strip(".")[:30].strip(".")
        if len(base) >= 3:
            return base
    return "member"


async def _free_username(full_name: str, email: str) -> str:
    base = _username_base(full_name, email)
    names = await User.filter(username__startswith=base).values_list("username", flat=True)
    taken = {str(name) for name in names}
    if base not in taken:
        return base
    for n in range(2, 1000):
        if f"{base}{n}" not in taken:
            return f"{base}{n}"
    return f"{base}.{secrets.token_hex(3)}"


async def _new_applicant(application: Application, password_hash: str, *, active: bool) -> User:
    """An account for an applicant: never verified; inactive until the email is confirmed."""
    return await User.create(
        email=application.email,
        username=await _free_username(application.full_name, application.email),
        display_name=application.full_name,
        password_hash=password_hash,
        role=Role.MEMBER,
        is_verified=False,
        is_active=active,
        administration_id=application.administration.id,
        position=application.position,
        preferred_language=_language_setting(application.language),
        seen_language=_first_seen_language(application.language),
    )


def _fresh_applicant(user: User) -> bool:
    """An account made by an application that was never confirmed (so never used)."""
    return (
        not user.is_active
        and not user.is_verified
        and user.role == Role.MEMBER
        and user.last_seen_at is None
    )


async def _unconfirmed_request(user: User) -> AccessRequest | None:
    if not _fresh_applicant(user):
        return None
    return (
        await AccessRequest.filter(user_id=user.id, status=AccessStatus.EMAIL_PENDING)
        .order_by("-id")
        .first()
    )


def _confirm_mail(settings: Settings, request: AccessRequest, secret: str, template: str,
                  administration: Administration | None) -> Outgoing:  # fmt: skip
    return Outgoing(
        to=request.email,
        subject=N_("Confirm your request for access to the Smart Customs Forum"),
        template=template,
        context={
            **_request_context(request, administration),
            "link": f"{settings.base_url}/request-access/confirm/{secret}",
            "hours": int(CONFIRMATION_LIFETIME.total_seconds() // 3600),
        },
    )


async def _apply_once(settings: Settings, application: Application, password_hash: str) -> None:
    async with atomic():
        await _queue(await _application_mail(settings, application, password_hash))


async def _application_mail(
    settings: Settings, application: Application, password_hash: str
) -> Outgoing:
    async with atomic():
        user = await User.get_or_none(email=application.email)
        if user is None:
            user = await _new_applicant(application, password_hash, active=False)
            request = await AccessRequest.create(
                email=application.email,
                full_name=application.full_name,
                administration_id=application.administration.id,
                position=application.position,
                reason=application.reason,
                language=application.language,
                status=AccessStatus.EMAIL_PENDING,
                user_id=user.id,
            )
            secret = await _new_email_token(
                TokenPurpose.CONFIRM_EMAIL, request, CONFIRMATION_LIFETIME, user
            )
            return _confirm_mail(
                settings, request, secret, "access_confirm", application.administration
            )

        pending = await _unconfirmed_request(user)
        if pending is None:
            return Outgoing(
                to=user.email,
                subject=N_("You already have an account on the Smart Customs Forum"),
                template="access_account_exists",
                context={
                    "display_name": user.display_name,
                    "login_link": f"{settings.base_url}/login",
                },
            )

        live = await EmailToken.filter(
            access_request_id=pending.id,
            purpose=TokenPurpose.CONFIRM_EMAIL,
            used_at=None,
            expires_at__gt=_now(),
        ).exists()
        if live:
            # The first application stands; its owner gets a fresh link to it.
            secret = await _new_email_token(
                TokenPurpose.CONFIRM_EMAIL, pending, CONFIRMATION_LIFETIME, user
            )
            administration = await Administration.get_or_none(id=pending.administration_id)
            return _confirm_mail(settings, pending, secret, "access_pending_again", administration)

        # Its link expired unused: this application replaces it.
        await User.filter(id=user.id).update(
            password_hash=password_hash,
            display_name=application.full_name,
            administration_id=application.administration.id,
            position=application.position,
            preferred_language=_language_setting(application.language),
            seen_language=_first_seen_language(application.language),
        )
        await AccessRequest.filter(id=pending.id).update(
            full_name=application.full_name,
            administration_id=application.administration.id,
            position=application.position,
            reason=application.reason,
            language=application.language,
            created_at=_now(),
        )
        await pending.refresh_from_db()
        secret = await _new_email_token(
            TokenPurpose.CONFIRM_EMAIL, pending, CONFIRMATION_LIFETIME, user
        )
        return _confirm_mail(
            settings, pending, secret, "access_confirm", application.administration
        )


async def do_apply(settings: Settings, application: Application) -> None:
    """Record an application (or not) and send the one email this address should get."""
    password_hash = hash_password(application.password)  # in every case: equal timing
    try:
        await _apply_once(settings, application, password_hash)
    except IntegrityError:
        # A concurrent application for the same address won the race: take the known path.
        await _apply_once(settings, application, password_hash)


async def do_confirm_email(settings: Settings, secret: str) -> AccessRequest:
    """The email is confirmed: the request joins the administrators' queue (each administrator
    is mailed) and the account can log in (still unverified: it sees only the public area
    until approved)."""
    async with atomic():
        token = await access_email_token(secret, TokenPurpose.CONFIRM_EMAIL)
        await _claim(token)
        request = await AccessRequest.get_or_none(id=token.access_request_id)
        if request is None or request.status != AccessStatus.EMAIL_PENDING:
            raise BadLink(_(BAD_LINK))
        now = _now()
        await AccessRequest.filter(id=request.id).update(
            status=AccessStatus.PENDING, email_confirmed_at=now
        )
        await EmailToken.filter(access_request_id=request.id, used_at=None).update(used_at=now)
        if request.user_id is not None:
            await User.filter(id=request.user_id).update(is_active=True)
        request.status = AccessStatus.PENDING
        request.email_confirmed_at = now
        await _tell_administrators(settings, request)
    return request


async def do_discard_application(secret: str) -> None:
    """The owner of the address says an unconfirmed application is not theirs (or is wrong):
    it goes, with the never-used account it created."""
    async with atomic():
        token = await access_email_token(secret, TokenPurpose.CONFIRM_EMAIL)
        await _claim(token)
        request = await AccessRequest.get_or_none(id=token.access_request_id)
        if request is None or request.status != AccessStatus.EMAIL_PENDING:
            raise BadLink(_(BAD_LINK))
        user = await User.get_or_none(id=request.user_id) if request.user_id else None
        await AccessRequest.filter(id=request.id).delete()
        others = await AccessRequest.filter(user_id=request.user_id).exists()
        if user is not None and _fresh_applicant(user) and not others:
            await User.filter(id=user.id).delete()


# --- invitations -------------------------------------------------------------------------


async def do_invite(
    actor: User,
    settings: Settings,
    email: str,
    *,
    full_name: str = "",
    administration_id: int | None = None,
    note: str = "",
) -> AccessRequest:
    """Invite someone to apply: they get a link to the application form for that address.
    Their request still waits in the queue for an administrator's approval."""
    email = check_email(email)
    full_name = " ".join(full_name.split())[:120]
    note = note.strip()[:2000]
    administration = (
        await Administration.get_or_none(id=administration_id) if administration_id else None
    )
    if await User.filter(email=email).exists():
        raise Conflict(_("An account with this email already exists."))
    async with atomic():
        request = (
            await AccessRequest.filter(email=email, status=AccessStatus.EMAIL_PENDING, user_id=None)
            .exclude(invited_by_id=None)
            .first()
        )
        if request is None:
            request = await AccessRequest.create(
                email=email,
                full_name=full_name,
                administration_id=administration.id if administration else None,
                status=AccessStatus.EMAIL_PENDING,
                invited_by_id=actor.id,
            )
        else:
            await AccessRequest.filter(id=request.id).update(
                invited_by_id=actor.id,
                full_name=full_name or request.full_name,
                administration_id=administration.id
                if administration
                else request.administration_id,
            )
            await request.refresh_from_db()
            await EmailToken.filter(
                access_request_id=request.id, purpose=TokenPurpose.INVITATION, used_at=None
            ).update(used_at=_now())
        secret = await _new_email_token(TokenPurpose.INVITATION, request, INVITATION_LIFETIME)
        await record_audit(
            actor, "access.invite", "access_request", request.id, reason=note, data={"email": email}
        )
        await _queue(
            Outgoing(
                to=email,
                subject=N_("An invitation to the Smart Customs Forum"),
                template="access_invitation",
                context={
                    "inviter": actor.display_name,
                    "note": note,
                    "link": f"{settings.base_url}/request-access/invitation/{secret}",
                    "days": INVITATION_LIFETIME.days,
                },
            )
        )
    return request


async def do_accept_invitation(
    settings: Settings, secret: str, application: Application
) -> AccessRequest:
    """The invited person filled in the form. The link came to their mailbox, so the address
    is confirmed; the request joins the queue (each administrator is mailed), unverified like
    any other."""
    password_hash = hash_password(application.password)
    async with atomic():
        token = await access_email_token(secret, TokenPurpose.INVITATION)
        request = await AccessRequest.get_or_none(id=token.access_request_id)
        if request is None or request.status != AccessStatus.EMAIL_PENDING:
            raise BadLink(_(BAD_LINK))
        if request.email != application.email:
            raise Invalid(_("This invitation is for another address."), field="email")
        user = await User.get_or_none(email=request.email)
        if user is None:
            user = await _new_applicant(application, password_hash, active=True)
        elif _fresh_applicant(user):
            # An unconfirmed application for the same address: the invitation supersedes it.
            await User.filter(id=user.id).update(
                password_hash=password_hash,
                display_name=application.full_name,
                administration_id=application.administration.id,
                position=application.position,
                preferred_language=_language_setting(application.language),
                seen_language=_first_seen_language(application.language),
                is_active=True,
            )
            await (
                AccessRequest.filter(user_id=user.id, status=AccessStatus.EMAIL_PENDING)
                .exclude(id=request.id)
                .delete()
            )
        else:
            raise Conflict(_("You already have an account. Log in instead."))
        await _claim(token)
        now = _now()
        await AccessRequest.filter(id=request.id).update(
            user_id=user.id,
            full_name=application.full_name,
            administration_id=application.administration.id,
            position=application.position,
            reason=application.reason,
            language=application.language,
            status=AccessStatus.PENDING,
            email_confirmed_at=now,
        )
        await request.refresh_from_db()
        await _tell_administrators(settings, request)
    return request


async def do_ask_again(
    settings: Settings, user: User, administration_id: int | None, position: str, reason: str
) -> AccessRequest:
    """A signed-in account outside the restricted area (its request rejected, its yearly
    verification lapsed) asks again: the request goes straight to the queue, since the account
    already proved its address, and each administrator is mailed. One waits at a time."""
    if policy.is_member(user) or not user.is_active:
        raise Conflict(_("You are already a verified member."))
    administration = await check_administration_id(administration_id)
    position = check_position(position)
    reason = check_reason(reason)
    async with atomic():
        waiting = AccessRequest.filter(user_id=user.id, status=AccessStatus.PENDING)
        if await waiting.exists():
            raise Conflict(_("Your request is already waiting for review."))
        request = await AccessRequest.create(
            email=user.email,
            full_name=user.display_name,
            administration_id=administration.id,
            position=position,
            reason=reason,
            language=user.mail_language,
            status=AccessStatus.PENDING,
            email_confirmed_at=_now(),
            user_id=user.id,
        )
        await User.filter(id=user.id).update(administration_id=administration.id, position=position)
        await _tell_administrators(settings, request)
    return request


async def _tell_administrators(settings: Settings, request: AccessRequest) -> int:
    """Queue a mail to every active administrator that a request waits in their queue (inside
    the caller's `atomic()`); returns how many. The subject is fixed: the applicant's name, user
    text, goes only in the body."""
    administration = None
    if request.administration_id is not None:
        administration = await Administration.get_or_none(id=request.administration_id)
    context = {
        **_request_context(request, administration),
        "email": request.email,
        "reason": request.reason,
        "invited": request.invited_by_id is not None,
        "queue_link": f"{settings.base_url}/admin/access-requests",
    }
    subject = _("An access request is waiting for review")
    told = 0
    for admin in await User.filter(role=Role.ADMIN, is_active=True).order_by("id"):
        await _queue(Outgoing(admin.email, subject, "access_request_waiting", context), admin)
        told += 1
    return told


# --- decisions ---------------------------------------------------------------------------


async def _decide(
    actor: User, request_id: int, status: AccessStatus, note: str
) -> tuple[AccessRequest, User]:
    request = await AccessRequest.get_or_none(id=request_id)
    if request is None:
        raise NotFound(_("No such request."))
    if request.status != AccessStatus.PENDING or request.user_id is None:
        raise Conflict(_("This request was already decided or its email is not confirmed."))
    decided = await AccessRequest.filter(id=request.id, status=AccessStatus.PENDING).update(
        status=status, decided_at=_now(), decided_by_id=actor.id, decision_note=note
    )
    if not decided:
        raise Conflict(_("This request was already decided or its email is not confirmed."))
    await request.refresh_from_db()
    return request, await User.get(id=request.user_id)


def _decision_mail(settings: Settings, request: AccessRequest, template: str, subject: str,
                   **context: Any) -> Outgoing:  # fmt: skip
    return Outgoing(
        to=request.email,
        subject=subject,
        template=template,
        context={
            "full_name": request.full_name,
            "note": request.decision_note,
            "base_url": settings.base_url,
            **context,
        },
    )


async def do_approve_request(
    actor: User, settings: Settings, request_id: int, note: str = ""
) -> AccessRequest:
    """Approve a confirmed request: the account becomes a verified member for one year."""
    note = note.strip()[:2000]
    async with atomic():
        request, user = await _decide(actor, request_id, AccessStatus.APPROVED, note)
        until = _now() + VERIFICATION_PERIOD
        await User.filter(id=user.id).update(is_verified=True, verified_until=until)
        await search_index.index_member(user.id)
        await record_audit(
            actor,
            "access.approve",
            "user",
            user.id,
            reason=note,
            data={"access_request_id": request.id, "verified_until": until.isoformat()},
        )
        await record_event("user.access_granted", f"user:{user.id}", {"user_id": user.id},
                           user_id=user.id)  # fmt: skip
        await notify.on_access_decided(user, True, actor)
        await _queue(
            _decision_mail(
                settings,
                request,
                "access_approved",
                N_("Your access to the Smart Customs Forum is approved"),
                login_link=f"{settings.base_url}/login",
                verified_until=until.strftime("%Y-%m-%d"),
            ),
            user,
        )
    return request


async def do_reject_request(
    actor: User, settings: Settings, request_id: int, note: str
) -> AccessRequest:
    note = note.strip()[:2000]
    if not note:
        raise Invalid(_("Say why the request is rejected; the applicant reads it."), field="note")
    async with atomic():
        request, user = await _decide(actor, request_id, AccessStatus.REJECTED, note)
        await record_audit(
            actor,
            "access.reject",
            "access_request",
            request.id,
            reason=note,
            data={"user_id": user.id, "email": request.email},
        )
        await notify.on_access_decided(user, False, actor)
        await _queue(
            _decision_mail(
                settings,
                request,
                "access_rejected",
                N_("Your request for access to the Smart Customs Forum"),
            ),
            user,
        )
    return request


async def access_member(user_id: int) -> User:
    user = await User.get_or_none(id=user_id)
    if user is None:
        raise NotFound(_("No such member."))
    return user


async def do_revoke_membership(actor: User, user_id: int, reason: str) -> User:
    """Take a member's verification away: restricted pages, the API, live updates and the
    directory close at once (every request reads the account afresh; open sockets close on
    the `user.access_revoked` event)."""
    reason = reason.strip()[:2000]
    if not reason:
        raise Invalid(_("Give the reason for revoking this membership."), field="reason")
    user = await access_member(user_id)
    if user.is_staff:
        raise Conflict(_("Staff have access through their role: change the role first."))
    if not user.is_verified:
        raise Conflict(_("This account is not a verified member."))
    async with atomic():
        await User.filter(id=user.id).update(is_verified=False, verified_until=None)
        await record_audit(actor, "membership.revoke", "user", user.id, reason=reason)
        await record_event(
            "user.access_revoked", f"user:{user.id}", {"user_id": user.id}, user_id=user.id
        )
    user.is_verified = False
    user.verified_until = None
    return user


async def do_reverify_member(actor: User, user_id: int, reason: str = "") -> User:
    """Confirm for another year that a member is still their administration's contact point
    (from today, or from the current end date when that is later)."""
    reason = reason.strip()[:2000]
    user = await access_member(user_id)
    if not user.is_verified:
        raise Conflict(_("Only verified members can be re-verified; approve a new request."))
    now = _now()
    previous = user.verified_until
    until = max(now, previous or now) + VERIFICATION_PERIOD
    async with atomic():
        await User.filter(id=user.id).update(verified_until=until)
        await record_audit(
            actor,
            "membership.reverify",
            "user",
            user.id,
            reason=reason,
            data={
                "previous": previous.isoformat() if previous else None,
                "verified_until": until.isoformat(),
            },
        )
        await record_event(
            "user.reverified",
            f"user:{user.id}",
            {"user_id": user.id, "verified_until": until.isoformat()},
            user_id=user.id,
        )
    user.verified_until = until
    return user


# --- re-verification reminders -----------------------------------------------------------

REMINDER_ACTION = "membership.reminder"


def _period(until: datetime) -> int:
    """One reminder period per verification end date (whole seconds: every database agrees)."""
    return int(until.timestamp())


async def members_due_for_reminder(now: datetime | None = None) -> list[User]:
    """Members whose verification ends within 30 days and who were not yet reminded of it."""
    now = now or _now()
    users = await User.filter(
        is_active=True,
        is_verified=True,
        role=Role.MEMBER,
        verified_until__gt=now,
        verified_until__lte=now + REMINDER_WINDOW,
    ).order_by("verified_until", "id")
    if not users:
        return []
    ids = [user.id for user in users]
    claimed = await ReminderClaim.filter(user_id__in=ids).values_list("user_id", "period")
    reminded = {(user_id, str(period)) for user_id, period in claimed}
    # Reminders sent before claims had their own table are known by their audit rows.
    sent = await AuditLog.filter(action=REMINDER_ACTION, target_id__in=ids).values_list(
        "target_id", "data"
    )
    reminded |= {
        (target, str(data.get("period"))) for target, data in sent if isinstance(data, dict)
    }
    return [
        user
        for user in users
        if user.verified_until is not None
        and (user.id, str(_period(user.verified_until))) not in reminded
    ]


@dataclass
class ReminderRun:
    due: int = 0
    sent: int = 0
    failed: int = 0
    elsewhere: int = 0  # sent by another run started at the same time


async def send_reverification_reminders(
    settings: Settings,
    *,
    now: datetime | None = None,
    progress: Callable[[int, int, User, bool], None] | None = None,
) -> ReminderRun:
    """Email each member whose verification lapses within 30 days, once per period.

    A claim (`ReminderClaim`) is written before the email is queued and taken back if queueing
    fails, so a rerun retries failures and never repeats a success; the email and its audit
    row are written in one transaction, and the outbox delivers it (retrying the mail server).
    Two runs at the same instant both write a claim: the earlier claim sends, the later is taken
    back (written first, then compared, as in `forum.ratelimit.take`). Only a reminder queued is
    written to the audit log, which nothing deletes from.
    """
    due = await members_due_for_reminder(now)
    run = ReminderRun(due=len(due))
    for number, user in enumerate(due, start=1):
        assert user.verified_until is not None
        period = _period(user.verified_until)
        claim = await ReminderClaim.create(user_id=user.id, period=str(period))
        earlier = ReminderClaim.filter(user_id=user.id, period=str(period), id__lt=claim.id)
        if await earlier.exists():
            await ReminderClaim.filter(id=claim.id).delete()  # another run is sending this one
            run.elsewhere += 1
            continue
        mail = Outgoing(
            to=user.email,
            subject=N_("Your Smart Customs Forum membership needs renewing"),
            template="reverification_reminder",
            context={
                "display_name": user.display_name,
                "verified_until": user.verified_until.strftime("%Y-%m-%d"),
                "profile_link": f"{settings.base_url}/account/profile",
            },
        )
        try:
            async with atomic():  # the reminder is queued exactly when it is recorded
                await _queue(mail, user)
                await record_audit(
                    None,
                    REMINDER_ACTION,
                    "user",
                    user.id,
                    reason="verification lapses soon",
                    data={"period": period},
                )
        except Exception:
            await ReminderClaim.filter(id=claim.id).delete()  # a rerun tries again
            run.failed += 1
            log.exception("reminder to user %s not queued", user.id)
            ok = False
        else:
            run.sent += 1
            ok = True
        if progress is not None:
            progress(number, run.due, user, ok)
    return run
