"""API tokens: members list and revoke their own, and turning on two-factor authentication
revokes the ones made before."""

from __future__ import annotations

import httpx

from forum.actions.users import do_create_api_token
from tests.helpers import enable_two_factor, log_in, make_user


async def test_a_member_lists_and_revokes_their_own_tokens_through_the_api(
    client: httpx.AsyncClient, db: str
) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    _laptop, laptop_token = await do_create_api_token(alice, "laptop script")
    kept, kept_token = await do_create_api_token(alice, "server script")
    bobs, _bobs_token = await do_create_api_token(bob, "bob's")
    auth = {"Authorization": f"Bearer {kept_token}"}

    listed = await client.get("/api/v1/auth/tokens", headers=auth)
    assert listed.status_code == 200
    assert [t["name"] for t in listed.json()["tokens"]] == ["server script", "laptop script"]
    assert laptop_token not in listed.text and kept_token not in listed.text  # never shown again

    laptop_id = listed.json()["tokens"][1]["id"]
    assert (
        await client.delete(f"/api/v1/auth/tokens/{laptop_id}", headers=auth)
    ).status_code == 204
    gone = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {laptop_token}"})
    assert gone.status_code == 401
    assert (await client.get("/api/v1/me", headers=auth)).json()["username"] == "alice"
    # Someone else's token, or one already revoked, is not found.
    for token_id in (bobs.id, laptop_id):
        answer = await client.delete(f"/api/v1/auth/tokens/{token_id}", headers=auth)
        assert answer.status_code == 404
    assert (await client.get("/api/v1/auth/tokens")).status_code == 401
    assert kept.id in [
        t["id"] for t in (await client.get("/api/v1/auth/tokens", headers=auth)).json()["tokens"]
    ]


async def test_the_security_page_lists_tokens_and_revokes_one(
    client: httpx.AsyncClient, db: str
) -> None:
    alice = await make_user("alice")
    record, token = await do_create_api_token(alice, "nightly export")
    csrf = await log_in(client, alice)
    page = await client.get("/account/security")
    assert "nightly export" in page.text and token not in page.text
    done = await client.post(f"/account/tokens/{record.id}/revoke", data={"csrf_token": csrf})
    assert done.status_code == 303
    assert "no longer works" in (await client.get(done.headers["location"])).text
    client.cookies.clear()
    answer = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401


async def test_turning_on_two_factor_revokes_the_tokens_made_before(
    client: httpx.AsyncClient, db: str
) -> None:
    alice = await make_user("alice")
    _record, before = await do_create_api_token(alice, "old")
    await enable_two_factor(alice)
    answer = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {before}"})
    assert answer.status_code == 401
    _record, after = await do_create_api_token(alice, "new")
    answer = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {after}"})
    assert answer.status_code == 200
