"""The restricted directory: NCPs, administrations, exports, avatars; and your own profile."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from forum import policy
from forum.actions.membership import LANGUAGES
from forum.actions.profiles import (
    AVATAR_MAX_BYTES,
    avatar_path,
    check_profile,
    do_remove_avatar,
    do_set_avatar,
    do_update_profile,
)
from forum.auth import current_user, require_user
from forum.errors import BadRequest, Invalid, NotAuthenticated, NotFound, TooLarge
from forum.i18n import _
from forum.models import Region, User
from forum.queries.administrations import (
    administration_page,
    administrations_by_region,
    all_administrations,
)
from forum.queries.directory import expertise_categories, list_directory, parse_filter
from forum.settings import Settings
from forum.web.exports import directory_csv, directory_vcards
from forum.web.forms import parse_id, redirect
from forum.web.templating import render
from knowledge.document_queries import documents_of_administration
from knowledge.entries import template_labels
from knowledge.entry_queries import published_by


def require_member(request: Request) -> User:
    """Anonymous visitors are sent to log in; accounts that are not verified members get the
    same 404 as a page that does not exist."""
    user = current_user(request)
    if user is None:
        raise NotAuthenticated(_("Log in first."))
    if not policy.can_see_directory(user):
        raise NotFound(_("Not found."))
    return user


async def directory(request: Request) -> Response:
    user = require_member(request)
    wanted = parse_filter(request.query_params)
    entries = await list_directory(user, wanted)
    context = {
        "entries": entries,
        "wanted": wanted,
        "regions": list(Region),
        "administrations": await all_administrations(),
        "categories": await expertise_categories(),
    }
    return render(request, "directory.html", context)


def _download(body: str, media_type: str, filename: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def directory_csv_export(request: Request) -> Response:
    user = require_member(request)
    entries = await list_directory(user, parse_filter(request.query_params))
    return _download(directory_csv(entries), "text/csv; charset=utf-8", "directory.csv")


async def directory_vcard_export(request: Request) -> Response:
    user = require_member(request)
    entries = await list_directory(user, parse_filter(request.query_params))
    return _download(directory_vcards(entries), "text/vcard; charset=utf-8", "directory.vcf")


async def administrations(request: Request) -> Response:
    user = require_member(request)
    groups = await administrations_by_region(user)
    return render(request, "administrations.html", {"groups": groups})


async def administration(request: Request) -> Response:
    user = require_member(request)
    page = await administration_page(user, request.path_params["code"])
    context = {
        "page": page,
        "knowledge_entries": await published_by(user, administration_id=page.administration.id),
        "knowledge_labels": template_labels(),
        "documents": await documents_of_administration(user, page.administration),
    }
    return render(request, "administration.html", context)


# --- your own profile --------------------------------------------------------------------


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _profile_context(user: User, values: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "values": values,
        "administrations": await all_administrations(),
        "categories": await expertise_categories(),
        "languages": LANGUAGES,
        "avatar_max_mb": AVATAR_MAX_BYTES // (1024 * 1024),
        **extra,
    }


def _current_values(user: User) -> dict[str, Any]:
    return {
        "display_name": user.display_name,
        "position": user.position,
        "languages": user.languages,
        "expertise": list(user.expertise) if isinstance(user.expertise, list) else [],
        "phone": user.phone,
        "show_email": user.show_email,
        "show_phone": user.show_phone,
        "administration": str(user.administration_id or ""),
        "preferred_language": user.preferred_language,
    }


async def profile(request: Request) -> Response:
    user = require_user(request)
    if request.method == "GET":
        context = await _profile_context(user, _current_values(user))
        saved = request.query_params.get("saved")
        return render(request, "account_profile.html", {**context, "saved": saved})
    async with request.form() as form:
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        expertise = [v for v in form.getlist("expertise") if isinstance(v, str)]
    values: dict[str, Any] = {
        "display_name": fields.get("display_name", ""),
        "position": fields.get("position", ""),
        "languages": fields.get("languages", ""),
        "expertise": expertise,
        "phone": fields.get("phone", ""),
        "show_email": fields.get("show_email") == "1",
        "show_phone": fields.get("show_phone") == "1",
        "administration": fields.get("administration", ""),
        "preferred_language": fields.get("preferred_language", ""),
    }
    try:
        try:
            administration_id = parse_id(values["administration"])
        except BadRequest:
            raise Invalid(
                _("Choose your administration from the list."), field="administration"
            ) from None
        changes = await check_profile(
            display_name=values["display_name"],
            position=values["position"],
            languages=values["languages"],
            expertise=expertise,
            phone=values["phone"],
            show_email=values["show_email"],
            show_phone=values["show_phone"],
            administration_id=administration_id,
            preferred_language=values["preferred_language"],
        )
    except Invalid as exc:
        context = await _profile_context(user, values, error=exc)
        return render(request, "account_profile.html", context, status=422)
    await do_update_profile(user, changes)
    return redirect("/account/profile?saved=profile")


async def upload_avatar(request: Request) -> Response:
    """A multipart form (CSRF token in the query string); the image is decoded and re-encoded."""
    user = require_user(request)
    async with request.form(max_files=1, max_fields=5) as form:
        upload = form.get("avatar")
        data = await upload.read(AVATAR_MAX_BYTES + 1) if isinstance(upload, UploadFile) else b""
    try:
        if not data:
            raise Invalid(_("Choose an image file to upload."), field="avatar")
        await do_set_avatar(_settings(request), user, data)
    except (Invalid, TooLarge) as exc:
        context = await _profile_context(user, _current_values(user), avatar_error=exc)
        return render(request, "account_profile.html", context, status=exc.status)
    return redirect("/account/profile?saved=avatar")


async def remove_avatar(request: Request) -> Response:
    user = require_user(request)
    await do_remove_avatar(_settings(request), user)
    return redirect("/account/profile?saved=avatar")


async def avatar(request: Request) -> Response:
    """Avatars are part of the restricted area: members see them, and so does their owner."""
    viewer = current_user(request)
    name = request.path_params["name"]
    path = avatar_path(_settings(request), name)
    allowed = policy.can_see_directory(viewer) or (viewer is not None and viewer.avatar == name)
    if path is None or not allowed or not await User.exists(avatar=name) or not path.exists():
        raise NotFound(_("Not found."))
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "private"})
