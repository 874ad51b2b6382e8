"""Every API response a test receives is checked against the OpenAPI document; `world` is
a small forum to act in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from forum.actions.posts import do_create_post
from forum.actions.topics import do_create_topic
from forum.api.openapi import build_document
from forum.api.routes import routes
from forum.models import Role
from tests.api.schema import response_problems
from tests.helpers import bearer, categories, make_user

DOCUMENT = build_document(routes)


async def check_response(response: httpx.Response) -> None:
    await response.aread()
    request = response.request
    if request.method == "HEAD":
        return
    body: Any = None
    if response.content:
        try:
            body = json.loads(response.content)
        except ValueError:
            body = response.text
    found = response_problems(
        DOCUMENT,
        request.method,
        request.url.path,
        response.status_code,
        response.headers.get("content-type", ""),
        body,
    )
    assert not found, "\n".join(found)


@pytest.fixture(autouse=True)
def _responses_follow_the_document(request: pytest.FixtureRequest) -> Iterator[None]:
    if "client" not in request.fixturenames:
        yield
        return
    client: httpx.AsyncClient = request.getfixturevalue("client")
    client.event_hooks["response"].append(check_response)
    yield
    client.event_hooks["response"].remove(check_response)


@dataclass
class World:
    """Categories, a member, a second member, a moderator and an administrator (with 2FA), an
    unverified newcomer, and one topic (with a reply) in the members-only `iot` category, each
    user with an API token."""

    alice: dict[str, str]
    bob: dict[str, str]
    mod: dict[str, str]
    newcomer: dict[str, str]
    topic_id: int
    first_post_id: int
    reply_id: int
    public_topic_id: int
    admin: dict[str, str]  # an administrator with 2FA
    alice_id: int


@pytest.fixture
async def world(db: str) -> World:
    cats = await categories()
    alice, bob = await make_user("alice"), await make_user("bob")
    mod = await make_user("mod", role=Role.MODERATOR, two_factor=True)
    newcomer = await make_user("newcomer", verified=False)
    topic, first = await do_create_topic(alice, cats["iot"], "Electronic seals", "first", ["iot"])
    reply = await do_create_post(bob, topic, cats["iot"], "a reply")
    public, _post = await do_create_topic(mod, cats["welcome"], "Welcome all", "hello")
    return World(
        alice=await bearer(alice),
        bob=await bearer(bob),
        mod=await bearer(mod),
        newcomer=await bearer(newcomer),
        topic_id=topic.id,
        first_post_id=first.id,
        reply_id=reply.id,
        public_topic_id=public.id,
        admin=await bearer(await make_user("secretariat", role=Role.ADMIN)),
        alice_id=alice.id,
    )
