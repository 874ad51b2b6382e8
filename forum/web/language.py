"""The header's language switcher: a form (CSRF-checked like every other) that remembers the
choice in the `lang` cookie, with the time it was made, and in a member's setting, then
returns to the page it was sent from (a path of this site only).

The choice made last wins: a member's setting is automatic (follow the cookie, else the
browser) or a language chosen at `User.language_chosen_at`; at login a cookie chosen later
than the saved language replaces it (`keep_switcher_choice`)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response

from forum import i18n
from forum.actions.profiles import do_set_preferred_language
from forum.auth import LANGUAGE_COOKIE, identity
from forum.errors import Invalid
from forum.i18n import _
from forum.models import User
from forum.web.forms import redirect, safe_next

COOKIE_AGE = 365 * 86400


async def switch_language(request: Request) -> Response:
    form = await request.form()
    language = str(form.get("language", ""))
    if language not in i18n.LANGUAGES:
        raise Invalid(_("Choose a language from the list."), field="language")
    now = int(time.time())
    user = identity(request).user
    if user is not None:
        await do_set_preferred_language(user, language, chosen_at=datetime.fromtimestamp(now, UTC))
    response = redirect(safe_next(str(form.get("next", "")) or None))
    value = i18n.switcher_cookie(language, now)
    cookie = f"{LANGUAGE_COOKIE}={value}; Path=/; Max-Age={COOKIE_AGE}; SameSite=Lax"
    if request.app.state.settings.secure_cookies:
        cookie += "; Secure"
    response.headers.append("set-cookie", cookie)
    return response


async def keep_switcher_choice(request: Request, user: User) -> str:
    """At login: the language chosen with the switcher before (the `lang` cookie) is kept. An
    automatic setting follows it anyway; a saved language chosen before it (or at a time not
    known) gives way to it. Returns the language the member's pages will be in."""
    language, when = i18n.read_switcher_cookie(request.cookies.get(LANGUAGE_COOKIE))
    saved = user.preferred_language
    if language is not None and when is not None and saved in i18n.LANGUAGES and saved != language:
        chosen = datetime.fromtimestamp(min(when, int(time.time())), UTC)
        if user.language_chosen_at is None or user.language_chosen_at < chosen:
            await do_set_preferred_language(user, language, chosen_at=chosen)
    return i18n.choose(
        user.preferred_language, language, request.headers.get("accept-language", "")
    )
