"""Time-based one-time passwords (RFC 6238 over RFC 4226): HMAC-SHA-1, 6 digits, 30 s steps.

Pure functions: which step a code belongs to is decided here; that a step is accepted only once
is decided by the caller against `User.totp_last_step` (forum/actions/twofactor.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from urllib.parse import quote, urlencode

DIGITS = 6
PERIOD = 30
SECRET_BYTES = 20  # 160 bits, the size RFC 4226 recommends for HMAC-SHA-1
DRIFT_STEPS = 1  # accept the previous and the next step too: clocks drift, people type slowly


def new_secret() -> str:
    """A fresh shared secret, base32 without padding (what authenticator apps expect)."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode().rstrip("=")


def _key(secret: str) -> bytes:
    cleaned = "".join(secret.split()).upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def hotp(secret: str, counter: int) -> str:
    """RFC 4226: the code for one counter value."""
    digest = hmac.new(_key(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**DIGITS).zfill(DIGITS)


def step_at(when: float | None = None) -> int:
    """The time step (T in RFC 6238) at a Unix time, now by default."""
    return int((time.time() if when is None else when) // PERIOD)


def code_at(secret: str, when: float | None = None) -> str:
    return hotp(secret, step_at(when))


def matching_step(secret: str, code: str, when: float | None = None) -> int | None:
    """The step within the drift window whose code this is, or None. Spaces are ignored."""
    code = "".join(code.split())
    if len(code) != DIGITS or not code.isascii() or not code.isdigit() or not secret:
        return None
    now = step_at(when)
    found = None
    # Compare against every step in the window so the time taken does not depend on which one.
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if hmac.compare_digest(hotp(secret, step), code) and found is None:
            found = step
    return found


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app reads (usually from a QR code)."""
    label = quote(f"{issuer}:{account}", safe="@:")
    query = urlencode(
        {
            "secret": secret,
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": PERIOD,
        },
        quote_via=quote,
    )
    return f"otpauth://totp/{label}?{query}"
