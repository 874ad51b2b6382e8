"""Jinja2 rendering for pages: autoescaped, every string translatable, CSRF token at hand.

One environment per language (`environment(language)`, the request's by default): constant
`_("...")` calls are translated once, when the environment compiles a template
(forum/web/inline_i18n.py), and the rest through that language's catalogue. Dates, times and
numbers are written the language's way by Babel (the `date`, `datetime`, `number` and
`timeago` filters).
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import HTMLResponse

import forum.cache
from forum import i18n, policy
from forum.auth import Identity, identity
from forum.clock import SYSTEM, Clock
from forum.formats import format_day, format_moment, format_number, template_ngettext
from forum.web.inline_i18n import InlineTranslations
from moderation.sanctions import do_mark_warnings_seen

TEMPLATES_DIR = Path(__file__).resolve().parent.parent.parent / "templates"


_AGO: dict[tuple[datetime, str], str] = {}
_AGO_MINUTE = [0]
# The clock the "time ago" words are told by (a test moves it: forum.clock).
CLOCK: Clock = SYSTEM


def current_minute() -> int:
    """The minute (since the epoch) of `CLOCK`: "time ago" words hold for one."""
    return int(CLOCK.time() // 60)


def timeago(value: datetime | None, language: str | None = None) -> str:
    """How long ago, in words ("3 minutes ago"), in the request's language (or `language`),
    as of the start of the current minute's first asking: a page shows many times, and the
    words change at most once a minute. Cached renderings (posts, list rows) carry a mark
    where the words go, put in once a minute (forum/web/fragments.py), so they never expire
    with the clock."""
    if value is None:
        return ""
    language = language or i18n.current_language()
    minute = current_minute()
    if minute != _AGO_MINUTE[0]:
        _AGO.clear()
        _AGO_MINUTE[0] = minute
    key = (value, language)
    found = _AGO.get(key)
    if found is None:
        if len(_AGO) > 50_000:
            _AGO.clear()
        found = _AGO[key] = _timeago(value, language)
    return found


def _timeago(value: datetime, language: str) -> str:
    seconds = int(CLOCK.time() - value.timestamp())
    if seconds < 60:
        return i18n.gettext("just now", language)
    # Each unit written out, so that extraction finds every string.
    if seconds >= 86400 * 365:
        n = seconds // (86400 * 365)
        text = i18n.ngettext("%(n)d year ago", "%(n)d years ago", n, language)
    elif seconds >= 86400 * 30:
        n = seconds // (86400 * 30)
        text = i18n.ngettext("%(n)d month ago", "%(n)d months ago", n, language)
    elif seconds >= 86400:
        n = seconds // 86400
        text = i18n.ngettext("%(n)d day ago", "%(n)d days ago", n, language)
    elif seconds >= 3600:
        n = seconds // 3600
        text = i18n.ngettext("%(n)d hour ago", "%(n)d hours ago", n, language)
    else:
        n = seconds // 60
        text = i18n.ngettext("%(n)d minute ago", "%(n)d minutes ago", n, language)
    return text % {"n": n}


def environment(language: str | None = None) -> Environment:
    """The page environment of `language`, by default the request's."""
    return _environment(language or i18n.current_language())


@lru_cache(maxsize=len(i18n.LANGUAGES))
def _environment(language: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        extensions=["jinja2.ext.i18n", InlineTranslations],
        auto_reload=False,
        enable_async=False,
        trim_blocks=True,  # no line of its own for a block tag, nor its indentation:
        lstrip_blocks=True,  # (a topic page of 20 posts: 105 KB -> 99.6 KB)
    )
    env.language = language  # type: ignore[attr-defined]  # read by InlineTranslations
    env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda message: i18n.gettext(message, language),
        lambda singular, plural, n: i18n.ngettext(singular, plural, n, language),
        newstyle=True,
    )
    env.globals["ngettext"] = template_ngettext(language)
    env.globals["LANGUAGE_NAMES"] = i18n.LANGUAGE_NAMES
    env.globals["lang"] = language  # pages pass it too; macros see only globals
    env.filters["timeago"] = lambda d: timeago(d, language)
    env.filters["date"] = lambda d: format_day(d, language)
    env.filters["datetime"] = lambda d, seconds=False: format_moment(d, language, seconds)
    env.filters["number"] = lambda n: format_number(n, language)
    env.filters["isodate"] = lambda d: d.isoformat() if d else ""
    env.globals["REACTION_KINDS"] = policy.REACTION_KINDS
    env.globals["cached_macro"] = cached_macro
    env.filters["ascii_html"] = ascii_html
    from forum.web.fragments import category_cards  # it imports this module

    env.globals["category_cards"] = category_cards
    from moderation.review import flag_reason_label, reason_label

    env.globals["reason_label"] = reason_label
    env.globals["flag_reason_label"] = flag_reason_label
    return env


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    ident = identity(request)
    values = {
        "request": request,
        "user": ident.user,
        "is_staff": policy.is_staff(ident.user),
        "review_pending": ident.review_pending,
        "unread_notifications": ident.unread_notifications,
        "warnings": ident.warnings,
        **_frame(request, ident),
        **_viewer_frame(request, ident),
        **(context or {}),
    }
    html = environment(ident.language).get_template(template).render(values)
    return _response(ident, html, status)


def _frame(request: Request, ident: Identity) -> dict[str, Any]:
    """What base.html shows that is the same for every viewer of a page with the same key."""
    member = policy.is_member(ident.user)
    return {
        "site": request.app.state.settings,
        "lang": ident.language,
        "is_member": member,
        "awaiting": ident.user is not None and not member,
    }


def _viewer_frame(request: Request, ident: Identity) -> dict[str, Any]:
    """What base.html shows that is the viewer's own or this request's: the CSRF token, the
    body's `data-user` and the site header (a cached macro of its arguments)."""
    user = ident.user
    # The page's own address, as `request.url` writes it (a `?`, `#` or `\` in the path
    # escaped), without building and parsing a whole URL on every request.
    scope = request.scope
    path = scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    query = scope.get("query_string", b"").decode("utf-8", "replace")
    here = path + ("?" + query if query else "")
    is_staff = policy.is_staff(user)
    header = cached_macro(
        "partials/site_header.html",
        "site_header",
        user.username if user else "",
        user.display_name if user else "",
        policy.is_member(user),
        is_staff,
        is_staff and user is not None and user.is_admin,
        ident.review_pending or 0,
        ident.unread_notifications or 0,
        path.startswith("/request-access"),
        path == "/login",
        csrf_token=ident.csrf_token,
        here=here,
        here_query=quote(here, safe="/"),
    )
    return {
        "csrf_token": ident.csrf_token,
        "site_header": header,
        "data_user": Markup(' data-user="%s"') % user.username if user else "",
    }


def _response(ident: Identity, html: str, status: int) -> HTMLResponse:
    background = None
    if ident.warnings and ident.user is not None:
        # Shown once: this page carried them (base.html), so later pages do not.
        shown = [w.id for w in ident.warnings]
        background = BackgroundTask(do_mark_warnings_seen, ident.user.id, shown)
        ident.warnings = []
    return HTMLResponse(
        html,
        status_code=status,
        headers={"content-language": ident.language},
        background=background,
    )


class _NotShared:
    """`request` and `user` in a shared rendering: it must not read them (what it shows is
    keyed by its key alone), so any use is an error, not a silent blank."""

    def __init__(self, name: str) -> None:
        self._name = name

    def _refuse(self, *_args: Any) -> Any:
        raise TypeError(f"a shared page may not read `{self._name}`: pass what it needs, keyed")

    __getattr__ = __bool__ = __str__ = __iter__ = __getitem__ = _refuse  # type: ignore[assignment]


_NOT_SHARED = {"request": _NotShared("request"), "user": _NotShared("user")}


def render_shared(
    request: Request,
    template: str,
    key: Hashable,
    context: dict[str, Any],
    slots: dict[str, Any],
) -> HTMLResponse:
    """A page that every viewer with the same `key` sees alike but for its `slots`: rendered
    once per language, template and key from `context` alone (no `request`, no `user`: the
    template sees only what it is given, and `key` must hold everything `context` does), kept
    cut at the slots' marks, and filled per request with `slots` and the viewer's own frame
    (CSRF token, site header). A slot's value is escaped unless it is `Markup`.

    A page carrying the viewer's one-time warnings is rendered whole (`render`)."""
    ident = identity(request)
    if ident.warnings:
        return render(request, template, {**context, **slots})
    own = {**_viewer_frame(request, ident), **slots}
    frame = _frame(request, ident)
    names = tuple(own)
    cache_key = (ident.language, template, key, frame["is_member"], frame["awaiting"], names)
    store = forum.cache.current().shared_pages
    cut = store.get(cache_key)
    if cut is None:
        marks = {name: Markup(_mark(name)) for name in names}  # noqa: S704 - constant marks
        values = {**_NOT_SHARED, "warnings": (), **frame, **context, **marks}
        cut = _cut(environment(ident.language).get_template(template).render(values), names)
        store.put(cache_key, cut)
    pieces, order = cut
    parts = [pieces[0]]
    for name, piece in zip(order, pieces[1:], strict=True):
        parts += (_html(own[name]), piece)
    return _response(ident, "".join(parts), 200)


def _html(value: Any) -> str:
    """A slot's value as it goes into a page: `Markup` as it is (a join takes it whole, where
    `escape` and `str` would copy a page of posts twice), anything else escaped."""
    return value if isinstance(value, Markup) else escape(value)


def _cut(html: str, names: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`html` cut at the marks of `names`, and the name at each cut, in order."""
    if not names:
        return (html,), ()
    cut = re.compile("|".join(re.escape(_mark(name)) for name in names))
    pieces = cut.split(html)
    found = [match.group()[len("<slot-") : -len("/>")] for match in cut.finditer(html)]
    return tuple(pieces), tuple(found)


def _mark(name: str) -> str:
    return f"<slot-{name}/>"  # no argument can hold it: autoescape writes `<` as `&lt;`


def cached_macro(
    template: str, name: str, *args: Hashable, csrf_token: str = "", **slots: str
) -> Markup:
    """`name` of `template`, a macro whose markup depends on its arguments only, rendered once
    per language and arguments (a page calls a few on every request). The values that differ
    on every request are put in afterwards, escaped (a `Markup` value goes in as it is): the
    CSRF token, and each of `slots` (the macro's last parameters, in order, after the token).
    The rendering is kept cut at its marks, so filling them is one join."""
    if csrf_token:
        slots = {"csrf": csrf_token, **slots}
    pieces, names = _macro(i18n.current_language(), template, name, args, tuple(slots))
    if not names:
        return Markup(pieces[0])  # noqa: S704 - rendered by an autoescaping template
    parts = [pieces[0]]
    for slot, piece in zip(names, pieces[1:], strict=True):
        parts += (_html(slots[slot]), piece)
    return Markup("".join(parts))  # noqa: S704 - rendered by an autoescaping template


@lru_cache(maxsize=4096)
def _macro(
    language: str, template: str, name: str, args: tuple[Hashable, ...], slots: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The macro's markup cut at its slots' marks, and the slot at each cut, in order."""
    macro = getattr(environment(language).get_template(template).module, name)
    marks = [Markup(_mark(slot)) for slot in slots]  # noqa: S704 - constant marks
    return _cut(str(macro(*args, *marks)), slots)


def ascii_html(value: str) -> Markup:
    """`value` escaped, with every character beyond ASCII as a character reference: for the
    few constant non-ASCII words of the hot pages ("Fran&#231;ais" in the header). A page
    that is all ASCII is encoded as a plain copy; one character beyond makes the encoder look
    at every character of a 100 KB page (and one beyond U+00FF doubles its size in memory)."""
    text = str(escape(value))
    return Markup(text if text.isascii() else text.encode("ascii", "xmlcharrefreplace").decode())  # noqa: S704
