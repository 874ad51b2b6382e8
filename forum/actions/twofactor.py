"""Two-factor authentication: TOTP enrolment, backup codes, and spending a second factor.

A TOTP code is accepted once: its time step must be above `User.totp_last_step`, which moves
forward in the same conditional UPDATE that accepts it, so two requests racing with one code
cannot both win. Backup codes are stored as SHA-256 (they are random, so a fast hash is enough)
and spent the same way, by a conditional UPDATE of `used_at`.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from forum import totp
from forum.actions.audit import record_audit
from forum.actions.users import revoke_api_tokens
from forum.errors import Conflict, Invalid, TwoFactorSetupRequired
from forum.events import atomic, record_event
from forum.i18n import _
from forum.models import BackupCode, User

ISSUER = "Smart Customs Forum"
BACKUP_CODE_COUNT = 10
BACKUP_CODE_LENGTH = 10
# No 0/o, 1/l/i: codes are read off paper. 31 symbols x 10 is about 50 bits each.
_BACKUP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def check_staff_two_factor(user: User) -> None:
    """Staff powers need two-factor authentication; raise TwoFactorSetupRequired without it."""
    if user.is_staff and not user.totp_enabled:
        raise TwoFactorSetupRequired(
            _(
                "Moderators and administrators must turn on two-factor authentication"
                " before using staff pages. Set it up on your security page."
            )
        )


def provisioning_uri(user: User) -> str:
    return totp.provisioning_uri(user.totp_secret, user.email, ISSUER)


def normalize_backup_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def backup_code_hash(code: str) -> str:
    return hashlib.sha256(normalize_backup_code(code).encode()).hexdigest()


def _new_backup_codes() -> list[str]:
    codes = []
    for _i in range(BACKUP_CODE_COUNT):
        raw = "".join(secrets.choice(_BACKUP_ALPHABET) for _j in range(BACKUP_CODE_LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


async def _store_backup_codes(user: User) -> list[str]:
    """Replace the user's backup codes with ten new ones (inside the caller's transaction)."""
    codes = _new_backup_codes()
    await BackupCode.filter(user_id=user.id).delete()
    await BackupCode.bulk_create(
        [BackupCode(user_id=user.id, code_hash=backup_code_hash(code)) for code in codes]
    )
    return codes


async def _log(user: User, action: str) -> None:
    await record_audit(user, action, "user", user.id)
    await record_event(action, f"user:{user.id}", {"user_id": user.id}, user_id=user.id)


async def do_start_two_factor(user: User) -> str:
    """Give the user a new secret to enter in their app; nothing is required until confirmed."""
    if user.totp_enabled:
        raise Conflict(_("Two-factor authentication is already on."))
    secret = totp.new_secret()
    await User.filter(id=user.id, totp_enabled=False).update(totp_secret=secret)
    user.totp_secret = secret
    return secret


async def do_enable_two_factor(user: User, code: str) -> list[str]:
    """Turn two-factor authentication on once the user proves their app has the secret.

    Returns the ten backup codes, to be shown once: only their hashes are kept.
    """
    if user.totp_enabled:
        raise Conflict(_("Two-factor authentication is already on."))
    if not user.totp_secret:
        raise Invalid(_("Start the setup first."), field="code")
    step = totp.matching_step(user.totp_secret, code)
    if step is None:
        raise Invalid(
            _("That code is not right. Check that your device's clock is correct and retry."),
            field="code",
        )
    async with atomic():
        enabled = await User.filter(
            id=user.id, totp_enabled=False, totp_secret=user.totp_secret
        ).update(totp_enabled=True, totp_last_step=step)
        if not enabled:
            raise Conflict(_("Two-factor authentication changed meanwhile. Reload the page."))
        codes = await _store_backup_codes(user)
        # A token made before could be someone else's copy: scripts get a new one, now that
        # making one needs the second factor too.
        await revoke_api_tokens(user.id)
        await _log(user, "two_factor.enabled")
    user.totp_enabled = True
    user.totp_last_step = step
    return codes


async def do_verify_second_factor(user: User, code: str) -> bool:
    """Spend a TOTP code (each time step once) or an unused backup code; True if accepted.

    Callers that face the outside world go through forum.actions.logins, which counts the
    failures against the account's limit.
    """
    if not user.totp_enabled or not user.totp_secret:
        return False
    digits = "".join(code.split())
    if len(digits) == totp.DIGITS and digits.isascii() and digits.isdigit():
        step = totp.matching_step(user.totp_secret, digits)
        if step is None or step <= user.totp_last_step:
            return False
        accepted = await User.filter(id=user.id, totp_enabled=True, totp_last_step__lt=step).update(
            totp_last_step=step
        )
        if accepted:
            user.totp_last_step = step
        return bool(accepted)
    if len(normalize_backup_code(code)) != BACKUP_CODE_LENGTH:
        return False
    spent = await BackupCode.filter(
        user_id=user.id, code_hash=backup_code_hash(code), used_at=None
    ).update(used_at=datetime.now(UTC))
    return bool(spent)


async def do_disable_two_factor(user: User) -> None:
    """Turn two-factor authentication off (the caller has checked a second factor)."""
    async with atomic():
        await User.filter(id=user.id).update(totp_enabled=False, totp_secret="")
        await BackupCode.filter(user_id=user.id).delete()
        await _log(user, "two_factor.disabled")
    user.totp_enabled = False
    user.totp_secret = ""


async def do_regenerate_backup_codes(user: User) -> list[str]:
    """Ten new backup codes; the old ones stop working (the caller has checked a factor)."""
    if not user.totp_enabled:
        raise Conflict(_("Two-factor authentication is off."))
    async with atomic():
        codes = await _store_backup_codes(user)
        await _log(user, "two_factor.backup_codes_replaced")
    return codes
