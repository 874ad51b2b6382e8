"""The OpenAPI document lists exactly the routes there are, with the limits the server enforces."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from forum.api.openapi import build_document
from forum.api.operation import ApiRoute
from forum.api.parsing import ID_MAX
from forum.api.routes import routes
from tests.api.conftest import DOCUMENT, World

METHODS = {"get", "post", "patch", "put", "delete"}


def documented() -> set[tuple[str, str]]:
    return {(path, method.upper()) for path, item in DOCUMENT["paths"].items() for method in item}


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


async def test_the_document_is_served_as_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    served = response.json()
    assert served == json.loads(json.dumps(build_document(routes)))
    assert served["openapi"] == "3.1.0"
    assert served["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_every_route_is_documented_and_every_documented_operation_is_routed() -> None:
    assert all(isinstance(route, ApiRoute) for route in routes)
    routed = {
        (route.path, method)
        for route in routes
        if isinstance(route, ApiRoute)
        for method in route.methods or ()
        if method != "HEAD"
    }
    assert routed == documented()
    assert len(routed) == 60
    assert all(set(item) <= METHODS for item in DOCUMENT["paths"].values())


def test_operations_have_unique_ids_declared_path_parameters_and_resolvable_refs() -> None:
    ids = [op["operationId"] for item in DOCUMENT["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    for path, item in DOCUMENT["paths"].items():
        for operation in item.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert {f"{{{name}}}" for name in declared} == {
                part for part in path.split("/") if part.startswith("{")
            }, path
            assert "default" in operation["responses"]
    schemas = DOCUMENT["components"]["schemas"]
    refs = [node["$ref"] for node in walk(DOCUMENT) if "$ref" in node]
    assert refs and all(ref.removeprefix("#/components/schemas/") in schemas for ref in refs)


def staff_only(path: str) -> bool:
    """Staff with 2FA only: 401 and 403 for everyone else, on reads too."""
    return path.startswith(("/api/v1/admin/", "/api/v1/review")) or path.endswith("/sanctions")


def test_writes_require_a_bearer_token_and_reads_accept_one() -> None:
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            security = operation["security"]
            own_tokens = path.startswith("/api/v1/auth/tokens") and method in ("get", "delete")
            if own_tokens:  # a member's own tokens: listing and revoking need them logged in
                assert security == [{"bearerAuth": []}], (method, path)
                assert "401" in operation["responses"]
            elif path.startswith(("/api/v1/auth/login", "/api/v1/auth/tokens", "/api/openapi")):
                assert security == [], path
            elif staff_only(path):  # staff with 2FA only: reads too need a token, and refuse
                assert security == [{"bearerAuth": []}], (method, path)
                assert {"401", "403"} <= set(operation["responses"]), (method, path)
            elif method == "get" and path not in (
                "/api/v1/me",
                "/api/v1/directory",
                "/api/v1/notifications",
                "/api/v1/knowledge",
                "/api/v1/knowledge/{entry_id}",
            ):
                assert security == [{}, {"bearerAuth": []}], path
            else:
                assert security == [{"bearerAuth": []}], (method, path)
                assert "401" in operation["responses"]
                assert ("403" in operation["responses"]) == (method != "get")


def test_request_bodies_state_the_limits_the_server_enforces() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    topic = schemas["NewTopic"]
    assert topic["required"] == ["category", "title", "body"]
    title, body, tags = (topic["properties"][k] for k in ("title", "body", "tags"))
    assert (title["minLength"], title["maxLength"]) == (5, 200)
    assert (body["minLength"], body["maxLength"]) == (1, 50_000)
    assert tags["maxItems"] == 5 and tags["items"]["maxLength"] == 30
    reply_to = schemas["NewPost"]["properties"]["reply_to"]
    assert reply_to["type"] == ["integer", "null"] and reply_to["maximum"] == ID_MAX
    assert schemas["NewReaction"]["properties"]["kind"]["enum"][0] == "like"
    assert len(schemas["TopicChanges"]["anyOf"]) == 4
    parameters = DOCUMENT["paths"]["/api/v1/topics/{topic_id}"]["get"]["parameters"]
    assert parameters[0]["schema"] == {"type": "integer", "minimum": 1, "maximum": ID_MAX}


async def test_the_largest_values_the_document_allows_are_accepted(
    client: httpx.AsyncClient, world: World
) -> None:
    body = {
        "category": "iot",
        "title": "t" * 200,
        "body": "b" * 50_000,
        "tags": ["a" * 30, "B", "c-1", "d", "e"],
    }
    response = await client.post("/api/v1/topics", headers=world.alice, json=body)
    assert response.status_code == 201, response.text
    assert response.json()["tags"] == ["a" * 30, "b", "c-1", "d", "e"]
    assert len(response.json()["post"]["source"]) == 50_000
    shortest = {**body, "title": "t" * 5, "body": "b", "tags": []}
    assert (
        await client.post("/api/v1/topics", headers=world.alice, json=shortest)
    ).status_code == 201
