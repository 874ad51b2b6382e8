"""Opaque keyset cursors: the sort key of the last row seen, base64url-encoded JSON."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from forum.errors import BadRequest
from forum.i18n import _


@lru_cache(maxsize=4096)  # the same pages' cursors are asked for on every view
def encode_cursor(*key: Any) -> str:
    raw = json.dumps(list(key), separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *types: Callable[[Any], Any]) -> tuple[Any, ...]:
    """Decode a cursor whose parts have the given types, or raise BadRequest (HTTP 400)."""
    try:
        if len(cursor) > 200:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parts = json.loads(raw)
        if not isinstance(parts, list) or len(parts) != len(types):
            raise ValueError("wrong shape")
        values: list[Any] = []
        for part, kind in zip(parts, types, strict=True):
            if kind is bool:
                if not isinstance(part, bool):
                    raise ValueError("not a bool")
                values.append(part)
            elif kind is int:
                # Every paginated key is a 32-bit column; a larger one would fail in the driver.
                if isinstance(part, bool) or not isinstance(part, int) or abs(part) > 2**31 - 1:
                    raise ValueError("not an int")
                values.append(part)
            else:
                value = kind(part)
                if isinstance(value, datetime):  # in UTC, or OverflowError when unrepresentable
                    value = value.replace(tzinfo=value.tzinfo or UTC).astimezone(UTC)
                values.append(value)
        return tuple(values)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, OverflowError) as exc:
        raise BadRequest(_("That page cursor is not valid.")) from exc
