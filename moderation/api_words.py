"""The API of watched words and the moderation settings (administrators with 2FA only)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from forum.api.bodies import NO_NUL
from forum.api.operation import ApiRoute, operation
from forum.api.parsing import BodySpec, Integer, Text, path_id, read_body
from forum.api.serializers import iso, user_json
from forum.auth import require_user
from forum.i18n import _
from forum.models import WatchedWord
from moderation import settings
from moderation.configure import do_update_moderation_settings, setting_fields
from moderation.gate import require_administrator
from moderation.watched import (
    ACTIONS,
    MAX_WORD,
    do_add_watched_word,
    do_remove_watched_word,
    watched_words,
)

V1 = "/api/v1"

WORD = Text(
    "word",
    min_length=1,
    max_length=MAX_WORD,
    pattern=NO_NUL,
    description=(
        "A word or phrase of letters, digits, spaces, hyphens and apostrophes; `*` stands for"
        " any run of letters or digits. Matched on whole words, ignoring case and accents."
    ),
)
ACTION = Text(
    "action",
    max_length=20,
    choices=[str(action) for action in ACTIONS],
    description="block: the post is refused; require_approval: it waits for a moderator;"
    " flag: it is flagged for review.",
)
NEW_WATCHED_WORD = BodySpec("NewWatchedWord", required=(WORD, ACTION))
SETTING_CHANGES = BodySpec(
    "ModerationSettingsChanges",
    optional=tuple(
        Integer(f.name, minimum=f.low, maximum=f.high, description=f.help) for f in setting_fields()
    ),
    at_least_one=True,
)


def watched_word_json(word: WatchedWord) -> dict[str, Any]:
    creator = word.created_by if word.created_by_id is not None else None
    return {
        "id": word.id,
        "word": word.word,
        "action": str(word.action),
        "created_at": iso(word.created_at),
        "created_by": user_json(creator) if creator is not None else None,
    }


@operation(
    "Every watched word",
    tag="moderation",
    response="WatchedWordList",
    auth="required",
    errors=(401, 403),
)
async def list_watched_words(request: Request) -> Response:
    require_administrator(require_user(request))
    lists = await watched_words()
    words = [watched_word_json(word) for action in ACTIONS for word in lists[action]]
    return JSONResponse({"words": words})


@operation(
    "Watch a word",
    tag="moderation",
    response="WatchedWord",
    status=201,
    body=NEW_WATCHED_WORD,
    auth="required",
    errors=(401, 403, 409, 422),
    description="The same word (ignoring case and accents) twice in one list is a 409.",
)
async def add_watched_word(request: Request) -> Response:
    actor = require_administrator(require_user(request))
    body = await read_body(request, NEW_WATCHED_WORD)
    word = await do_add_watched_word(actor, body.get(WORD), body.get(ACTION))
    await word.fetch_related("created_by")
    return JSONResponse(watched_word_json(word), status_code=201)


@operation(
    "Stop watching a word",
    tag="moderation",
    response=None,
    status=204,
    auth="required",
    errors=(401, 403, 404),
)
async def remove_watched_word(request: Request) -> Response:
    actor = require_administrator(require_user(request))
    await do_remove_watched_word(actor, path_id(request, "word_id", _("No such watched word.")))
    return Response(status_code=204)


@operation(
    "The moderation settings",
    tag="moderation",
    response="ModerationSettings",
    auth="required",
    errors=(401, 403),
)
async def get_moderation_settings(request: Request) -> Response:
    require_administrator(require_user(request))
    return JSONResponse(asdict(await settings.load()))


@operation(
    "Change moderation settings",
    tag="moderation",
    response="ModerationSettings",
    body=SETTING_CHANGES,
    auth="required",
    errors=(401, 403, 422),
    description="Send only the settings to change; the answer has them all.",
)
async def update_moderation_settings(request: Request) -> Response:
    actor = require_administrator(require_user(request))
    body = await read_body(request, SETTING_CHANGES)
    changes = {
        f.name: value
        for f in SETTING_CHANGES.optional
        if (value := body.get_optional(f)) is not None
    }
    return JSONResponse(asdict(await do_update_moderation_settings(actor, changes)))


routes: list[BaseRoute] = [
    ApiRoute(f"{V1}/admin/watched-words", GET=list_watched_words, POST=add_watched_word),
    ApiRoute(f"{V1}/admin/watched-words/{{word_id}}", DELETE=remove_watched_word),
    ApiRoute(
        f"{V1}/admin/moderation-settings",
        GET=get_moderation_settings,
        PATCH=update_moderation_settings,
    ),
]
