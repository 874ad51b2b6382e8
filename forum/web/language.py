"""The header's language switcher: a form (CSRF-checked like every other) that remembers the
choice in the `lang` cookie, and in a member's setting, then returns to the page it was sent
from (a path of this site only)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum import i18n
from forum.actions.profiles import do_set_preferred_language
from forum.auth import LANGUAGE_COOKIE, identity
from forum.errors import Invalid
from forum.i18n import _
from forum.web.forms import redirect, safe_next

COOKIE_AGE = 365 * 86400


async def switch_language(request: Request) -> Response:
    form = await request.form()
    language = str(form.get("language", ""))
    if language not in i18n.LANGUAGES:
        raise Invalid(_("Choose a language from the list."), field="language")
    user = identity(request).user
    if user is not None:
        await do_set_preferred_language(user, language)
    response = redirect(safe_next(str(form.get("next", "")) or None))
    cookie = f"{LANGUAGE_COOKIE}={language}; Path=/; Max-Age={COOKIE_AGE}; SameSite=Lax"
    if request.app.state.settings.secure_cookies:
        cookie += "; Secure"
    response.headers.append("set-cookie", cookie)
    return response
