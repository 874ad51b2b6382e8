"""The OpenAPI 3.1 document, built from the routes themselves and served at /api/openapi.json.

Paths, methods, request bodies and auth come from each endpoint's `Operation` and `BodySpec`,
so the document cannot list a route that does not exist or miss one that does. The response
schemas below mirror forum/api/serializers.py; a test checks every response against them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from forum import policy
from forum.api.operation import ApiEndpoint, ApiRoute, operation
from forum.api.parsing import ID_MAX
from forum.models import PostingRight, Region, Role, Visibility

JSON = dict[str, Any]
OPENAPI_VERSION = "3.1.0"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

STRING: JSON = {"type": "string"}
INTEGER: JSON = {"type": "integer"}
BOOLEAN: JSON = {"type": "boolean"}
DATETIME: JSON = {"type": "string", "format": "date-time"}
ID: JSON = {"type": "integer", "minimum": 1, "maximum": ID_MAX}


def ref(name: str) -> JSON:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: JSON) -> JSON:
    return {"anyOf": [schema, {"type": "null"}]}


def array(items: JSON) -> JSON:
    return {"type": "array", "items": items}


def obj(properties: JSON, *, optional: tuple[str, ...] = ()) -> JSON:
    """A response object: every property listed, none unannounced."""
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
        "additionalProperties": False,
    }


def enum(values: Iterable[str]) -> JSON:
    return {"type": "string", "enum": [str(value) for value in values]}


USER: JSON = {"id": ID, "username": STRING, "display_name": STRING}
TOPIC_FIELDS: JSON = {
    "id": ID,
    "title": STRING,
    "category": {**STRING, "description": "The category's slug."},
    "tags": array(STRING),
    "pinned": BOOLEAN,
    "closed": BOOLEAN,
    "reply_count": INTEGER,
    "views": INTEGER,
    "created_at": DATETIME,
    "last_posted_at": DATETIME,
    "author": ref("User"),
    "unread": {**INTEGER, "description": "Posts after your read position (0 if never opened)."},
    "is_new": {**BOOLEAN, "description": "You have never opened this topic."},
}
TOPIC: JSON = {
    **TOPIC_FIELDS,
    "highest_post_number": INTEGER,
    "last_read_post_number": nullable(INTEGER),
    "can_reply": BOOLEAN,
    "can_moderate": BOOLEAN,
}
REACTION_COUNTS: JSON = {
    "type": "object",
    "propertyNames": enum(policy.REACTION_KINDS),
    "additionalProperties": INTEGER,
}
MY_REACTIONS: JSON = array(enum(policy.REACTION_KINDS))
CURSOR_OUT: JSON = nullable(STRING)

SCHEMAS: dict[str, JSON] = {
    "Error": obj({"error": obj({"code": STRING, "message": STRING})}),
    "User": obj(USER),
    "Me": obj(
        {
            **USER,
            "email": STRING,
            "role": enum(Role),
            "is_verified": BOOLEAN,
            "is_staff": BOOLEAN,
        }
    ),
    "Category": obj(
        {
            "id": ID,
            "slug": STRING,
            "name": STRING,
            "description": STRING,
            "visibility": enum(Visibility),
            "posting_right": enum(PostingRight),
            "topic_count": INTEGER,
            "post_count": INTEGER,
            "can_create_topic": BOOLEAN,
        }
    ),
    "CategoryList": obj({"categories": array(ref("Category"))}),
    "TopicSummary": obj({**TOPIC_FIELDS, "last_poster": nullable(ref("User"))}),
    "TopicList": obj({"topics": array(ref("TopicSummary")), "next_cursor": CURSOR_OUT}),
    "Topic": obj(TOPIC),
    "TopicPage": obj(
        {
            **TOPIC,
            "posts": array(ref("Post")),
            "next_cursor": CURSOR_OUT,
            "prev_cursor": CURSOR_OUT,
        }
    ),
    "CreatedTopic": obj({**TOPIC, "post": ref("Post")}),
    "Post": obj(
        {
            "id": ID,
            "topic_id": ID,
            "number": INTEGER,
            "author": ref("User"),
            "html": {**STRING, "description": "Sanitised HTML; empty when you may not read it."},
            "source": {**STRING, "description": "Markdown; absent when you may not read it."},
            "reply_to": {**nullable(INTEGER), "description": "The number of the post answered."},
            "reply_to_username": nullable(STRING),
            "created_at": DATETIME,
            "edited_at": nullable(DATETIME),
            "version": INTEGER,
            "deleted": BOOLEAN,
            "hidden": BOOLEAN,
            "reactions": REACTION_COUNTS,
            "my_reactions": MY_REACTIONS,
            "bookmarked": BOOLEAN,
            "can_edit": BOOLEAN,
            "can_delete": BOOLEAN,
            "can_react": BOOLEAN,
        },
        optional=("source",),
    ),
    "Revision": obj(
        {
            "version": INTEGER,
            "html": STRING,
            "source": STRING,
            "editor": ref("User"),
            "created_at": DATETIME,
        }
    ),
    "RevisionList": obj({"post_id": ID, "revisions": array(ref("Revision"))}),
    "Reactions": obj({"post_id": ID, "reactions": REACTION_COUNTS, "my_reactions": MY_REACTIONS}),
    "Bookmark": obj({"post_id": ID, "bookmarked": BOOLEAN}),
    "Token": obj({"id": ID, "name": STRING, "token": STRING}),
    "Login": obj({"user": ref("Me"), "csrf_token": STRING}),
    "OpenAPI": {"type": "object", "description": "An OpenAPI 3.1 document."},
    "DirectoryEntry": obj(
        {
            "id": ID,
            "username": STRING,
            "display_name": STRING,
            "administration": nullable(STRING),
            "country_code": nullable(STRING),
            "region": nullable(enum(Region)),
            "position": STRING,
            "languages": STRING,
            "expertise": {**array(STRING), "description": "Category slugs."},
            "email": {**nullable(STRING), "description": "Null unless the member shows it."},
            "phone": {**nullable(STRING), "description": "Null unless the member shows it."},
            "avatar_url": nullable(STRING),
        }
    ),
    "Directory": obj({"members": array(ref("DirectoryEntry"))}),
}

PATH_PARAMETERS: dict[str, JSON] = {
    "topic_id": ID,
    "post_id": ID,
    "slug": {"type": "string", "minLength": 1, "maxLength": 64},
    "kind": enum(policy.REACTION_KINDS),
}
QUERY_PARAMETERS: dict[str, JSON] = {
    "cursor": {
        "type": "string",
        "maxLength": 200,
        "pattern": "^[A-Za-z0-9_-]*$",
        "description": "The next_cursor or prev_cursor of an earlier page.",
    },
    "near": {**ID, "description": "Start the page at this post number."},
    "region": {**enum(Region), "description": "A WCO region."},
    "administration": {
        "type": "string",
        "pattern": "^[A-Za-z]{2}$",
        "description": "An administration's ISO 3166-1 alpha-2 country code.",
    },
    "expertise": {"type": "string", "maxLength": 64, "description": "A category slug."},
    "q": {"type": "string", "maxLength": 100, "description": "Part of a member's name."},
}
ERRORS: dict[int, str] = {
    301: "The topic was merged into another: `Location` is the same address under it.",
    400: "Malformed request: not JSON, not an object, or a bad cursor or query parameter.",
    401: "Not logged in, or wrong credentials.",
    403: "Not allowed, or a cookie-authenticated write without a valid X-CSRF-Token header.",
    404: "No such resource, or you may not see it.",
    409: "The resource changed meanwhile (moved or merged already): reload it.",
    413: "The request body is larger than 1 MiB.",
    422: "A field has the wrong type or value; the message says which.",
    429: "Too many failed attempts for this account (five within 30 minutes): wait.",
}
TAGS = ["categories", "topics", "posts", "reactions", "bookmarks", "auth", "directory", "meta"]
DESCRIPTION = """\
The JSON API of the Smart Customs Forum.

Scripts authenticate with an API token from `POST /api/v1/auth/tokens`, sent as
`Authorization: Bearer <token>`. Browsers may instead log in with `POST /api/v1/auth/login`,
which sets a session cookie; each cookie-authenticated write must then carry the returned
`csrf_token` in the `X-CSRF-Token` header. Anonymous callers read the public categories.

Every error has the body `{"error": {"code": ..., "message": ...}}`. Lists are paginated with
opaque cursors: pass `next_cursor` back as `?cursor=` until it is null.
"""


def _responses(method: str, endpoint: ApiEndpoint) -> JSON:
    op = endpoint.operation
    responses: JSON = {}
    if op.response is None:
        responses[str(op.status)] = {"description": "Done; no content."}
    else:
        responses[str(op.status)] = {
            "description": op.summary,
            "content": {"application/json": {"schema": ref(op.response)}},
        }
    statuses = set(op.errors)
    if op.auth == "required":
        statuses.add(401)
    if method in UNSAFE:
        statuses.add(403)
    if op.body is not None:
        statuses.update((400, 413, 422))
    error = {"content": {"application/json": {"schema": ref("Error")}}}
    for status in sorted(statuses):
        responses[str(status)] = {"description": ERRORS[status], **error}
    responses["default"] = {"description": "Any other error.", **error}
    return responses


def _security(endpoint: ApiEndpoint) -> list[JSON]:
    auth = endpoint.operation.auth
    if auth == "required":
        return [{"bearerAuth": []}]
    if auth == "optional":
        return [{}, {"bearerAuth": []}]
    return []


def _parameters(path: str, endpoint: ApiEndpoint) -> list[JSON]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": PATH_PARAMETERS[name]}
        for name in re.findall(r"{(\w+)}", path)
    ]
    parameters += [
        {"name": name, "in": "query", "required": False, "schema": QUERY_PARAMETERS[name]}
        for name in endpoint.operation.query
    ]
    return parameters


def _operation(path: str, method: str, endpoint: ApiEndpoint) -> JSON:
    op = endpoint.operation
    described: JSON = {
        "operationId": endpoint.name,
        "summary": op.summary,
        "tags": [op.tag],
        "security": _security(endpoint),
        "responses": _responses(method, endpoint),
    }
    if op.description:
        described["description"] = op.description
    parameters = _parameters(path, endpoint)
    if parameters:
        described["parameters"] = parameters
    if op.body is not None:
        described["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref(op.body.name)}},
        }
    return described


def build_document(routes: Iterable[BaseRoute]) -> JSON:
    paths: JSON = {}
    schemas = dict(SCHEMAS)
    for route in routes:
        if not isinstance(route, ApiRoute):
            continue
        item = paths.setdefault(route.path, {})
        for method, endpoint in route.endpoints.items():
            item[method.lower()] = _operation(route.path, method, endpoint)
            body = endpoint.operation.body
            if body is not None:
                schemas[body.name] = body.schema()
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "Smart Customs Forum API", "version": "1", "description": DESCRIPTION},
        "tags": [{"name": name} for name in TAGS],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from POST /api/v1/auth/tokens.",
                }
            },
        },
    }


@operation("This OpenAPI document", tag="meta", response="OpenAPI", auth="none")
async def openapi_document(request: Request) -> Response:
    document = getattr(request.app.state, "openapi_document", None)
    if document is None:
        document = build_document(request.app.routes)
        request.app.state.openapi_document = document
    return JSONResponse(document)
