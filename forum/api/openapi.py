"""The OpenAPI 3.1 document, built from the routes themselves and served at /api/openapi.json.

Paths, methods, request bodies and auth come from each endpoint's `Operation` and `BodySpec`,
so the document cannot list a route that does not exist or miss one that does. The response
schemas below mirror forum/api/serializers.py; a test checks every response against them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import fields
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from forum import policy
from forum.api.operation import ApiEndpoint, ApiRoute, operation
from forum.api.parsing import ID_MAX
from forum.i18n import LANGUAGES
from forum.models import (
    FlagReason,
    PostingRight,
    Region,
    ReviewKind,
    ReviewStatus,
    Role,
    SanctionKind,
    Visibility,
    WatchedAction,
)
from knowledge.models import (
    AdoptionStage,
    DocumentType,
    DocumentVisibility,
    EntryKind,
    EntryStatus,
    VersionStatus,
)
from moderation.settings import ModerationSettings

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
    "lang": {**enum(LANGUAGES), "description": "The title's language: its first post's."},
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

REVIEW_USER: JSON = nullable(ref("User"))
REVIEW_SCHEMAS: dict[str, JSON] = {
    "ReviewItem": obj(
        {
            "id": ID,
            "kind": enum(ReviewKind),
            "status": enum(ReviewStatus),
            "reason": STRING,
            "reason_label": STRING,
            "score": INTEGER,
            "category": {**STRING, "description": "The category's slug."},
            "topic_id": nullable(ID),
            "post_id": nullable(ID),
            "entry_id": {**nullable(ID), "description": "A knowledge entry under review."},
            "title": STRING,
            "html": {**STRING, "description": "The content under review, sanitised HTML."},
            "source": {**STRING, "description": "Markdown of content awaiting approval."},
            "tags": array(STRING),
            "post_hidden": BOOLEAN,
            "author": ref("User"),
            "author_history": obj(
                {
                    "posts": INTEGER,
                    "decisions": {"type": "object", "additionalProperties": INTEGER},
                    "sanctions": array(
                        obj(
                            {
                                "kind": STRING,
                                "reason": STRING,
                                "until": nullable(DATETIME),
                                "lifted": BOOLEAN,
                            }
                        )
                    ),
                }
            ),
            "flags": array(
                obj(
                    {
                        "user": ref("User"),
                        "reason": enum(FlagReason),
                        "note": STRING,
                        "created_at": DATETIME,
                    }
                )
            ),
            "claimed_by": REVIEW_USER,
            "looking": array(ref("User")),
            "created_at": DATETIME,
            "decided_by": REVIEW_USER,
            "decided_at": nullable(DATETIME),
            "decision": STRING,
            "decision_reason": STRING,
        }
    ),
    "ReviewList": obj({"items": array(ref("ReviewItem")), "next_cursor": CURSOR_OUT}),
    "AwaitingApproval": obj(
        {"status": enum(["awaiting_approval"]), "message": STRING, "review_item": ID}
    ),
    "FlagResult": obj({"post_id": ID, "review_item": ID, "post_hidden": BOOLEAN}),
}

KNOWLEDGE_SUMMARY: JSON = {
    "id": ID,
    "url": {**STRING, "description": "The entry's page."},
    "kind": enum(EntryKind),
    "status": enum(EntryStatus),
    "title": STRING,
    "summary": STRING,
    "technology": {**STRING, "description": "The technology's category slug."},
    "administration": nullable(STRING),
    "country_code": nullable(STRING),
    "region": nullable(enum(Region)),
    "stage": enum(AdoptionStage),
    "maturity": {"type": "integer", "minimum": 1, "maximum": 5},
    "language": enum(["en", "fr"]),
    "helpful_count": INTEGER,
    "author": ref("User"),
    "published_at": nullable(DATETIME),
}
KNOWLEDGE_SCHEMAS: dict[str, JSON] = {
    "KnowledgeEntrySummary": obj(KNOWLEDGE_SUMMARY),
    "KnowledgeEntryList": obj(
        {"entries": array(ref("KnowledgeEntrySummary")), "next_cursor": CURSOR_OUT}
    ),
    "KnowledgeEntry": obj(
        {
            **KNOWLEDGE_SUMMARY,
            "context": STRING,
            "what_was_done": STRING,
            "outcome": STRING,
            "lessons": STRING,
            "costs_risks": STRING,
            "html": {
                "type": "object",
                "additionalProperties": STRING,
                "description": "Each markdown field rendered, sanitised HTML.",
            },
            "links": array(obj({"url": STRING, "title": STRING})),
            "version": {**INTEGER, "description": "The published version shown (0: never)."},
            "pending_version": {
                **nullable(INTEGER),
                "description": "A version awaiting review (its author and moderators see it).",
            },
            "versions": array(
                obj({"number": INTEGER, "status": enum(VersionStatus), "created_at": DATETIME})
            ),
            "review_note": {**STRING, "description": "The reviewer's note (author and staff)."},
            "topic_id": {**nullable(ID), "description": "Its discussion topic."},
            "supersedes": nullable(ID),
            "superseded_by": nullable(ID),
            "marked_helpful": BOOLEAN,
            "attachments": array(obj({"id": ID, "title": STRING})),
            "created_at": DATETIME,
            "submitted_at": nullable(DATETIME),
        }
    ),
    "HelpfulMark": obj({"entry_id": ID, "helpful_count": INTEGER, "marked": BOOLEAN}),
}

# Issue 11: documents (knowledge/api_documents.py).
DOCUMENT_FIELDS: JSON = {
    "id": ID,
    "title": STRING,
    "abstract": {**STRING, "description": "Markdown."},
    "abstract_html": {**STRING, "description": "The abstract as sanitised HTML."},
    "authors": STRING,
    "administration": {**nullable(STRING), "description": "Its country code."},
    "technologies": {**array(STRING), "description": "Category slugs."},
    "doc_type": enum(DocumentType),
    "language": enum(["en", "fr"]),
    "published_on": {**nullable(STRING), "description": "YYYY-MM-DD."},
    "visibility": enum(DocumentVisibility),
    "is_deliverable": BOOLEAN,
    "deleted": {**BOOLEAN, "description": "Deleted (only administrators see these)."},
    "current_version": INTEGER,
    "uploaded_by": {**nullable(ref("User")), "description": "Null for visitors."},
    "created_at": DATETIME,
    "latest": nullable(ref("DocumentVersion")),
    "can_change": BOOLEAN,
}
UPLOAD_FIELDS: JSON = {
    "file": {"type": "string", "format": "binary", "description": "PDF, DOCX, XLSX or PPTX."},
    "note": {"type": "string", "maxLength": 1000, "description": "What this version changes."},
}
DOCUMENT_SCHEMAS: dict[str, JSON] = {
    "DocumentVersion": obj(
        {
            "number": INTEGER,
            "file_name": STRING,
            "content_type": STRING,
            "size": INTEGER,
            "sha256": STRING,
            "note": STRING,
            "created_at": DATETIME,
            "download_url": STRING,
        }
    ),
    "DocumentSummary": obj(DOCUMENT_FIELDS),
    "Document": obj({**DOCUMENT_FIELDS, "versions": array(ref("DocumentVersion"))}),
    "DocumentList": obj({"documents": array(ref("DocumentSummary")), "next_cursor": CURSOR_OUT}),
    "DocumentUpload": {
        "type": "object",
        "required": ["file", "title", "doc_type"],
        "properties": {
            **UPLOAD_FIELDS,
            "title": {"type": "string", "minLength": 3, "maxLength": 200},
            "abstract": {"type": "string", "maxLength": 20_000, "description": "Markdown."},
            "authors": {"type": "string", "maxLength": 500},
            "administration": {
                "type": "string",
                "description": "A country code (members: their own); default: the uploader's.",
            },
            "technologies": {**array(STRING), "description": "Category slugs, one per part."},
            "doc_type": enum(DocumentType),
            "language": enum(["en", "fr"]),
            "published_on": {"type": "string", "description": "YYYY-MM-DD."},
            "visibility": {
                **enum(DocumentVisibility),
                "description": "public: administrators only.",
            },
            "is_deliverable": {
                **enum(["0", "1"]),
                "description": "1: a project deliverable (administrators only).",
            },
        },
    },
    "VersionUpload": {"type": "object", "required": ["file"], "properties": UPLOAD_FIELDS},
}

SCHEMAS: dict[str, JSON] = {
    "Error": obj(
        {
            "error": obj(
                {
                    "code": STRING,
                    "message": STRING,
                    "detail": {"type": "object", "description": "More, for some errors."},
                },
                optional=("detail",),
            )
        }
    ),
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
            "requires_approval": {**BOOLEAN, "description": "Every new post waits for review."},
            "archived": {**BOOLEAN, "description": "Read-only: no new topics or replies."},
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
            "lang": {**enum(LANGUAGES), "description": "The language it is written in."},
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
    "Notification": obj(
        {
            "id": ID,
            "kind": {
                "type": "string",
                "description": "mention, reply, quote, watching, new_topic, reaction, access"
                " or moderation.",
            },
            "text": STRING,
            "topic_id": nullable(INTEGER),
            "topic_title": nullable(STRING),
            "post_id": nullable(INTEGER),
            "url": STRING,
            "count": {**INTEGER, "description": "Reactions: how many members reacted."},
            "created_at": DATETIME,
            "read_at": nullable(DATETIME),
        }
    ),
    "NotificationList": obj(
        {
            "notifications": array(ref("Notification")),
            "unread": INTEGER,
            "next_cursor": CURSOR_OUT,
        }
    ),
    "NotificationsMarked": obj({"marked": INTEGER, "unread": INTEGER}),
    "Token": obj({"id": ID, "name": STRING, "token": STRING}),
    "TokenInfo": obj(
        {
            "id": ID,
            "name": STRING,
            "created_at": DATETIME,
            "last_used_at": nullable(DATETIME),
        }
    ),
    "TokenList": obj({"tokens": {"type": "array", "items": ref("TokenInfo")}}),
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
    "SearchResult": obj(
        {
            "kind": enum(("topic", "post", "entry", "document", "member")),
            "id": ID,
            "title": STRING,
            "title_html": {**STRING, "description": "Escaped; only <mark> tags."},
            "snippet_html": {**STRING, "description": "Escaped; only <mark> tags."},
            "url": STRING,
            "created_at": DATETIME,
            "topic_id": nullable(ID),
            "category": nullable(STRING),
            "author": nullable(STRING),
        }
    ),
    "SearchResults": obj(
        {
            "results": array(ref("SearchResult")),
            "count": INTEGER,
            "more_than": BOOLEAN,
            "next_cursor": CURSOR_OUT,
        }
    ),
    "SearchSuggestions": obj(
        {
            "suggestions": array(
                obj({"kind": enum(("topic", "member")), "label": STRING, "url": STRING})
            )
        }
    ),
    **REVIEW_SCHEMAS,
    **KNOWLEDGE_SCHEMAS,
    "WatchedWord": obj(
        {
            "id": ID,
            "word": STRING,
            "action": enum(WatchedAction),
            "created_at": DATETIME,
            "created_by": nullable(ref("User")),
        }
    ),
    "WatchedWordList": obj({"words": array(ref("WatchedWord"))}),
    "ModerationSettings": obj({f.name: INTEGER for f in fields(ModerationSettings)}),
    "Moderator": obj(
        {
            **USER,
            "role": enum(Role),
            "categories": {
                **array(STRING),
                "description": "The slugs of the categories moderated; empty: every category.",
            },
        }
    ),
    "Sanction": obj(
        {
            "id": ID,
            "user_id": ID,
            "kind": enum(SanctionKind),
            "reason": STRING,
            "until": {**nullable(DATETIME), "description": "Null: until lifted (or a warning)."},
            "created_at": DATETIME,
            "created_by": nullable(ref("User")),
            "lifted_at": nullable(DATETIME),
            "lifted_by": nullable(ref("User")),
            "lift_reason": nullable(STRING),
            "seen_at": {**nullable(DATETIME), "description": "A warning: when it was shown."},
            "in_force": {
                **BOOLEAN,
                "description": "Not lifted and not ended (a warning: not yet shown).",
            },
        }
    ),
    "SanctionList": obj({"user_id": ID, "sanctions": array(ref("Sanction"))}),
    **DOCUMENT_SCHEMAS,
}

PATH_PARAMETERS: dict[str, JSON] = {
    "topic_id": ID,
    "post_id": ID,
    "user_id": ID,
    "slug": {"type": "string", "minLength": 1, "maxLength": 64},
    "kind": enum(policy.REACTION_KINDS),
    "item_id": ID,
    "word_id": ID,
    "sanction_id": ID,
    "token_id": ID,
    "entry_id": ID,
    "document_id": ID,
    "version": ID,
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
    "q": {
        "type": "string",
        "maxLength": 500,
        "description": "Search text; the directory takes part of a name (100 characters).",
    },
    # issue 13: search
    # One name, two lists: search's kinds of result, and the knowledge list's kinds of entry.
    "kind": {
        **enum(("topic", "post", "entry", "document", "member", *[k.value for k in EntryKind])),
        "description": "Search: only this kind of result (topic, post, entry, document,"
        " member). Knowledge: only this kind of entry.",
    },
    "author": {"type": "string", "maxLength": 40, "description": "An author's username."},
    "tag": {
        "type": "string",
        "maxLength": 30,
        "description": "Topics (and their posts) with this tag.",
    },
    "from": {
        "type": "string",
        "format": "date",
        "description": "Created on or after this day (UTC).",
    },
    "to": {
        "type": "string",
        "format": "date",
        "description": "Created on or before this day (UTC).",
    },
    "topic": {**ID, "description": "Only in this topic."},
    "sort": {
        **enum(("relevance", "date", "newest", "helpful")),
        "description": "Search: relevance (default) or date. Knowledge: newest (default) or"
        " most helpful.",
    },
    "status": {**enum(ReviewStatus), "description": "Review items with this status."},
    "category": {"type": "string", "maxLength": 64, "description": "A category's slug."},
    # knowledge entries
    "technology": {"type": "string", "maxLength": 64, "description": "A technology's slug."},
    "stage": {**enum(AdoptionStage), "description": "An adoption stage."},
    "maturity": {**enum(["1", "2", "3", "4", "5"]), "description": "A maturity level."},
    "lang": {**enum(["en", "fr"]), "description": "Entries or documents in this language."},
    "type": {**enum(DocumentType), "description": "Documents of this type."},
    "deliverable": {
        **enum(["0", "1"]),
        "description": "1: project deliverables; 0: member contributions.",
    },
}
ERRORS: dict[int, str] = {
    301: "The topic was merged into another: `Location` is the same address under it.",
    308: "The topic was merged into another: repeat the request at `Location`.",
    400: "Malformed request: not JSON, not an object, or a bad cursor or query parameter.",
    401: "Not logged in, or wrong credentials.",
    403: "Not allowed, or a cookie-authenticated write without a valid X-CSRF-Token header.",
    404: "No such resource, or you may not see it.",
    409: "It conflicts with what exists or changed meanwhile (a duplicate, a decision already"
    " taken, a topic moved or merged already): the message says why.",
    413: "The request body is larger than 1 MiB.",
    422: "A field has the wrong type or value; the message says which.",
    429: "Too many attempts (failed logins, or posting too fast): wait Retry-After seconds.",
}
TAGS = [
    "categories",
    "topics",
    "posts",
    "reactions",
    "bookmarks",
    "notifications",
    "auth",
    "directory",
    "documents",
    "search",
    "review",
    "moderation",
    "knowledge",
    "meta",
]
DESCRIPTION = """\
The JSON API of the Smart Customs Forum.

Scripts authenticate with an API token from `POST /api/v1/auth/tokens`, sent as
`Authorization: Bearer <token>`. Browsers may instead log in with `POST /api/v1/auth/login`,
which sets a session cookie; each cookie-authenticated write must then carry the returned
`csrf_token` in the `X-CSRF-Token` header. Anonymous callers read the public categories.

Every error has the body `{"error": {"code": ..., "message": ...}}`. Lists are paginated with
opaque cursors: pass `next_cursor` back as `?cursor=` until it is null.
"""


def _responses(path: str, method: str, endpoint: ApiEndpoint) -> JSON:
    op = endpoint.operation
    responses: JSON = {}
    if op.download:
        binary = {"schema": {"type": "string", "format": "binary"}}
        responses[str(op.status)] = {
            "description": op.summary,
            "content": {media: binary for media in op.download},
        }
    elif op.response is None:
        responses[str(op.status)] = {"description": "Done; no content."}
    else:
        responses[str(op.status)] = {
            "description": op.summary,
            "content": {"application/json": {"schema": ref(op.response)}},
        }
    if op.may_hold:
        responses["202"] = {
            "description": "Kept for a moderator's approval; it appears once approved.",
            "content": {"application/json": {"schema": ref("AwaitingApproval")}},
        }
    statuses = set(op.errors)
    if path.startswith("/api/v1/topics/{topic_id}"):  # a merged topic's addresses redirect
        statuses.add(301 if method == "GET" else 308)
    if op.auth == "required":
        statuses.add(401)
    if method in UNSAFE:
        statuses.add(403)
    if op.body is not None or op.upload is not None:
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
        "responses": _responses(path, method, endpoint),
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
    if op.upload is not None:
        described["requestBody"] = {
            "required": True,
            "content": {"multipart/form-data": {"schema": ref(op.upload)}},
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
