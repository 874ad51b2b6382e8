"""Pages of the document repository: the list with its filters, the upload form, a document
with its versions, its edit page, downloads, and the public section's publications."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from forum import policy
from forum.auth import current_user, require_user
from forum.errors import ForumError, NotFound
from forum.i18n import _
from forum.models import Administration, User
from forum.queries.administrations import all_administrations
from forum.queries.categories import visible_categories
from forum.queries.pages import menu_pages
from forum.settings import Settings
from forum.web.forms import path_id, read_form, redirect
from forum.web.templating import render
from knowledge.document_queries import (
    access_document,
    access_version,
    document_detail,
    list_documents,
    parse_filter,
)
from knowledge.documents import (
    LANGUAGES,
    TYPE_LABELS,
    check_document_fields,
    do_add_version,
    do_create_document,
    do_delete_document,
    do_update_document,
    quota_used,
)
from knowledge.downloads import file_response
from knowledge.models import Document, DocumentType, DocumentVisibility
from knowledge.storage import ACCEPTED, human_size
from knowledge.uploads import Upload, receive_upload

GET, POST, FORM = ["GET"], ["POST"], ["GET", "POST"]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _require_contributor(request: Request) -> User:
    """Visitors log in first; accounts that may not share documents get a 404."""
    user = require_user(request)
    if not policy.can_upload_document(user):
        raise NotFound(_("Not found."))
    return user


def _labels() -> dict[str, Any]:
    return {
        "types": [(t.value, _(label)) for t, label in TYPE_LABELS.items()],
        "type_labels": {t.value: _(label) for t, label in TYPE_LABELS.items()},
        "languages": LANGUAGES,
        "human_size": human_size,
    }


async def documents(request: Request) -> Response:
    user = current_user(request)
    wanted = parse_filter(request.query_params)
    page = await list_documents(user, wanted, cursor=request.query_params.get("cursor") or None)
    context = {
        "page": page,
        "wanted": wanted,
        "technologies": await visible_categories(user),
        "can_upload": policy.can_upload_document(user),
        "is_admin": policy.is_admin(user),
        **_labels(),
    }
    return render(request, "knowledge/documents.html", context)


async def publications(request: Request) -> Response:
    """The public section's list: public documents only, whoever asks."""
    user = current_user(request)
    wanted = parse_filter(request.query_params)
    page = await list_documents(
        user, wanted, cursor=request.query_params.get("cursor") or None, public_only=True
    )
    context = {"page": page, "wanted": wanted, "pages": await menu_pages()}
    return render(request, "knowledge/publications.html", {**context, **_labels()})


# --- the form -------------------------------------------------------------------------------


def _blank(user: User) -> dict[str, Any]:
    return {
        "title": "",
        "abstract": "",
        "authors": user.display_name,
        "administration": "",
        "doc_type": DocumentType.RESEARCH.value,
        "language": "en",
        "published_on": "",
        "visibility": DocumentVisibility.MEMBERS.value,
        "is_deliverable": False,
        "technologies": [],
        "note": "",
    }


def _document_values(document: Document, administration: Administration | None) -> dict[str, Any]:
    return {
        "title": document.title,
        "abstract": document.abstract,
        "authors": document.authors,
        "administration": administration.country_code if administration else "",
        "doc_type": str(document.doc_type),
        "language": document.language,
        "published_on": document.published_on.isoformat() if document.published_on else "",
        "visibility": str(document.visibility),
        "is_deliverable": document.is_deliverable,
        "technologies": [],
        "note": "",
    }


def _posted(fields: dict[str, list[str]]) -> dict[str, Any]:
    def last(name: str) -> str:
        values = fields.get(name)
        return values[-1] if values else ""

    return {
        "title": last("title"),
        "abstract": last("abstract"),
        "authors": last("authors"),
        "administration": last("administration"),
        "doc_type": last("doc_type"),
        "language": last("language"),
        "published_on": last("published_on"),
        "visibility": last("visibility") or DocumentVisibility.MEMBERS.value,
        "is_deliverable": last("is_deliverable") == "1",
        "technologies": list(fields.get("technologies", [])),
        "note": last("note"),
    }


async def _form_context(
    request: Request, user: User, values: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    settings = _settings(request)
    if policy.is_admin(user):
        administrations = await all_administrations()
    else:
        administrations = await Administration.filter(id=user.administration_id or 0)
    return {
        "values": values,
        "administrations": administrations,
        "technologies": await visible_categories(user),
        "can_publish": policy.can_publish_documents(user),
        "max_size": human_size(settings.document_max_bytes),
        "quota": human_size(settings.document_quota_bytes),
        "used": human_size(await quota_used(user.id)),
        "accepted": _(ACCEPTED),
        **_labels(),
        **extra,
    }


async def _check(user: User, values: dict[str, Any], existing: Document | None = None) -> Any:
    return await check_document_fields(
        user,
        title=values["title"],
        abstract=values["abstract"],
        authors=values["authors"],
        administration=values["administration"],
        doc_type=values["doc_type"],
        language=values["language"],
        published_on=values["published_on"],
        visibility=values["visibility"],
        is_deliverable=values["is_deliverable"],
        technologies=values["technologies"],
        existing=existing,
    )


def _refused(exc: ForumError) -> bool:
    """A refusal the form shows next to a field (anything else is an error page)."""
    return exc.field is not None and exc.code != "two_factor_setup_required"


async def new_document(request: Request) -> Response:
    user = _require_contributor(request)
    if request.method == "GET":
        values = _blank(user)
        if user.administration_id:
            found = await Administration.get_or_none(id=user.administration_id)
            values["administration"] = found.country_code if found else ""
        context = await _form_context(request, user, values)
        return render(request, "knowledge/document_new.html", context)
    settings = _settings(request)
    upload = Upload()
    try:
        await receive_upload(request, settings, max_bytes=settings.document_max_bytes, into=upload)
        values = _posted(upload.fields)
        fields = await _check(user, values)
        document = await do_create_document(
            settings, user, fields, upload.spool, upload.file_name, note=values["note"]
        )
    except ForumError as exc:
        upload.discard()
        if not _refused(exc):
            raise
        context = await _form_context(request, user, _posted(upload.fields), error=exc)
        return render(request, "knowledge/document_new.html", context, status=exc.status)
    except BaseException:
        upload.discard()
        raise
    return redirect(f"/knowledge/documents/{document.id}?saved=created")


async def _detail_context(
    request: Request, user: User | None, document_id: int, **extra: Any
) -> dict[str, Any]:
    row = await document_detail(user, document_id)
    settings = _settings(request)
    return {
        "row": row,
        "can_change": policy.can_change_document(user, row.document),
        "max_size": human_size(settings.document_max_bytes),
        "accepted": _(ACCEPTED),
        "saved": request.query_params.get("saved", ""),
        **_labels(),
        **extra,
    }


async def show_document(request: Request) -> Response:
    user = current_user(request)
    context = await _detail_context(request, user, path_id(request))
    return render(request, "knowledge/document.html", context)


async def new_version(request: Request) -> Response:
    user = require_user(request)
    document = await access_document(user, path_id(request))
    if not policy.can_change_document(user, document):
        raise NotFound(_("Not found."))
    settings = _settings(request)
    upload = Upload()
    try:
        await receive_upload(request, settings, max_bytes=settings.document_max_bytes, into=upload)
        await do_add_version(
            settings, user, document, upload.spool, upload.file_name, note=upload.get("note")
        )
    except ForumError as exc:
        upload.discard()
        if not _refused(exc):
            raise
        context = await _detail_context(
            request, user, document.id, version_error=exc, note=upload.get("note")
        )
        return render(request, "knowledge/document.html", context, status=exc.status)
    except BaseException:
        upload.discard()
        raise
    return redirect(f"/knowledge/documents/{document.id}?saved=version#versions")


async def edit_document(request: Request) -> Response:
    user = require_user(request)
    row = await document_detail(user, path_id(request))
    document = row.document
    if not policy.can_change_document(user, document) or document.is_deleted:
        raise NotFound(_("Not found."))
    if request.method == "GET":
        values = _document_values(document, row.administration)
        values["technologies"] = [t.slug for t in row.technologies]
        context = await _form_context(request, user, values, row=row)
        return render(request, "knowledge/document_edit.html", context)
    async with request.form() as data:
        posted = {key: [v for v in data.getlist(key) if isinstance(v, str)] for key in data}
    values = _posted(posted)
    try:
        fields = await _check(user, values, existing=document)
        await do_update_document(user, document, fields)
    except ForumError as exc:
        if not _refused(exc):
            raise
        context = await _form_context(request, user, values, row=row, error=exc)
        return render(request, "knowledge/document_edit.html", context, status=exc.status)
    return redirect(f"/knowledge/documents/{document.id}?saved=edited")


async def delete_document(request: Request) -> Response:
    user = require_user(request)
    document = await access_document(user, path_id(request))
    if not policy.can_change_document(user, document):
        raise NotFound(_("Not found."))
    form = await read_form(request)
    await do_delete_document(user, document, reason=form.get("reason", ""))
    return redirect("/knowledge/documents?deleted_one=1")


async def download(request: Request) -> Response:
    number = request.path_params.get("number")
    found = path_id(request, "number") if number is not None else None
    _document, version = await access_version(current_user(request), path_id(request), found)
    return file_response(_settings(request), version)


routes: list[BaseRoute] = [
    Route("/knowledge/documents", documents, methods=GET),
    Route("/knowledge/documents/new", new_document, methods=FORM),
    Route("/knowledge/documents/{id:int}", show_document, methods=GET),
    Route("/knowledge/documents/{id:int}/edit", edit_document, methods=FORM),
    Route("/knowledge/documents/{id:int}/versions", new_version, methods=POST),
    Route("/knowledge/documents/{id:int}/delete", delete_document, methods=POST),
    Route("/knowledge/documents/{id:int}/download", download, methods=GET),
    Route("/knowledge/documents/{id:int}/versions/{number:int}/download", download, methods=GET),
    Route("/publications", publications, methods=GET),
]
