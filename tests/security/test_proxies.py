"""X-Forwarded-For is believed only from the proxies named in FORUM_TRUSTED_PROXIES: a local
process cannot claim another address for per-address limits or the session list."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from forum.models import Session, User
from tests.helpers import PASSWORD, make_user
from tests.served import forum_serve, healthy


async def _login_ip(address: str, claimed: str) -> str:
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"http://{address}/api/v1/auth/login",
            content=json.dumps({"email": "alice@example.org", "password": PASSWORD}),
            headers={"content-type": "application/json", "x-forwarded-for": claimed},
        )
    assert answer.status_code == 200, answer.text
    alice = await User.get(username="alice")
    newest = await Session.filter(user_id=alice.id).order_by("-id").first()
    assert newest is not None
    return newest.ip


async def test_forwarded_addresses_count_only_from_trusted_proxies(
    database_url: str, db: str, tmp_path: Path
) -> None:
    await make_user("alice")
    with forum_serve(tmp_path, "plain", database_url, "memory://") as (address, process):
        await healthy(address, process)
        assert await _login_ip(address, "203.0.113.9") == "127.0.0.1"
    trusted = {"FORUM_TRUSTED_PROXIES": "127.0.0.1"}
    with forum_serve(tmp_path, "proxied", database_url, "memory://", env_extra=trusted) as (
        address,
        process,
    ):
        await healthy(address, process)
        assert await _login_ip(address, "203.0.113.9") == "203.0.113.9"
