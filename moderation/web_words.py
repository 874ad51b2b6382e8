"""Administrators' pages for watched words and the moderation settings. Each handler opens
with `require_admin` (an administrator with two-factor authentication) and calls the same
actions as the API."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from forum.actions.posts import MAX_BODY
from forum.errors import Conflict, Invalid
from forum.web.forms import path_id, read_form, redirect
from forum.web.staff import require_admin
from forum.web.templating import render
from moderation import settings
from moderation.configure import do_update_moderation_settings, setting_fields
from moderation.watched import (
    ACTIONS,
    do_add_watched_word,
    do_remove_watched_word,
    screen,
    watched_words,
)

WORDS = "/admin/watched-words"
SETTINGS = "/admin/moderation-settings"


async def _words_page(request: Request, status: int = 200, **extra: Any) -> Response:
    context = {
        "lists": await watched_words(),
        "actions": ACTIONS,
        "values": {"word": "", "action": "block"},
        "test_text": "",
        "screening": None,
        "done": request.query_params.get("done", ""),
        **extra,
    }
    return render(request, "admin/watched_words.html", context, status=status)


async def words(request: Request) -> Response:
    """The three lists; a POST adds a word (and re-shows it with the reason when refused)."""
    actor = require_admin(request)
    if request.method == "GET":
        return await _words_page(request)
    form = await read_form(request)
    values = {"word": form.get("word", "")[:1000], "action": form.get("action", "")[:40]}
    try:
        await do_add_watched_word(actor, values["word"], values["action"])
    except (Invalid, Conflict) as exc:
        return await _words_page(request, exc.status, values=values, error=exc)
    return redirect(f"{WORDS}?done=added")


async def remove_word(request: Request) -> Response:
    actor = require_admin(request)
    word_id = path_id(request)
    await do_remove_watched_word(actor, word_id)
    return redirect(f"{WORDS}?done=removed")


async def try_text(request: Request) -> Response:
    """What the lists would do to a pasted text: nothing is stored."""
    require_admin(request)
    form = await read_form(request)
    text = form.get("text", "")[:MAX_BODY]
    return await _words_page(request, test_text=text, screening=await screen(text))


async def moderation_settings(request: Request) -> Response:
    actor = require_admin(request)
    current = asdict(await settings.load())
    context: dict[str, Any] = {
        "fields": setting_fields(),
        "values": {name: str(value) for name, value in current.items()},
        "done": request.query_params.get("done", ""),
    }
    if request.method == "GET":
        return render(request, "admin/moderation_settings.html", context)
    form = await read_form(request)
    typed = {f.name: form[f.name][:20] for f in context["fields"] if f.name in form}
    try:
        await do_update_moderation_settings(actor, typed)
    except Invalid as exc:
        context.update(values={**context["values"], **typed}, error=exc)
        return render(request, "admin/moderation_settings.html", context, status=exc.status)
    return redirect(f"{SETTINGS}?done=saved")


routes: list[BaseRoute] = [
    Route(WORDS, words, methods=["GET", "POST"]),
    Route(f"{WORDS}/{{id:int}}/remove", remove_word, methods=["POST"]),
    Route(f"{WORDS}/test", try_text, methods=["POST"]),
    Route(SETTINGS, moderation_settings, methods=["GET", "POST"]),
]
