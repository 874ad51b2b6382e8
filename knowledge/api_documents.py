"""The documents API: lists with the pages' filters, one document with its versions, uploads
(multipart/form-data, streamed like the pages') and downloads, all through the same policy."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from forum import policy
from forum.api.operation import ApiRoute, operation
from forum.api.parsing import path_id, query_cursor
from forum.auth import current_user, require_user
from forum.errors import Forbidden
from forum.i18n import N_, _
from forum.models import Administration, User
from forum.settings import Settings
from knowledge.document_queries import (
    DocumentRow,
    access_document,
    access_version,
    document_detail,
    list_documents,
    parse_filter,
)
from knowledge.documents import (
    check_document_fields,
    do_add_version,
    do_create_document,
)
from knowledge.downloads import file_response
from knowledge.models import DocumentVersion
from knowledge.storage import CONTENT_TYPES
from knowledge.uploads import Upload, receive_upload

JSON = dict[str, object]
V1 = "/api/v1"
NOT_FOUND = N_("No such document.")
LIMITS = (
    "The file is a PDF, DOCX, XLSX or PPTX file of at most 25 MiB (its type is read from its"
    " content); a member's files add up to at most their quota (200 MiB by default): 413"
    " `too_large` past either. A file whose content is not one of these, is empty or"
    " truncated, or whose name's extension says another type: 422 on the field `file`."
)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def version_json(document_id: int, version: DocumentVersion) -> JSON:
    return {
        "number": version.number,
        "file_name": version.file_name,
        "content_type": version.content_type,
        "size": version.size,
        "sha256": version.sha256,
        "note": version.note,
        "created_at": version.created_at.isoformat(),
        "download_url": f"{V1}/documents/{document_id}/versions/{version.number}/download",
    }


def document_json(viewer: User | None, row: DocumentRow, *, versions: bool = False) -> JSON:
    d = row.document
    found: JSON = {
        "id": d.id,
        "title": d.title,
        "abstract": d.abstract,
        "abstract_html": d.abstract_html,
        "authors": d.authors,
        "administration": row.administration.country_code if row.administration else None,
        "technologies": [t.slug for t in row.technologies],
        "doc_type": str(d.doc_type),
        "language": d.language,
        "published_on": d.published_on.isoformat() if d.published_on else None,
        "visibility": str(d.visibility),
        "is_deliverable": d.is_deliverable,
        "deleted": d.is_deleted,
        "current_version": d.current_version,
        # Members are named to members only (profiles belong to the restricted area).
        "uploaded_by": {
            "id": row.uploader.id,
            "username": row.uploader.username,
            "display_name": row.uploader.display_name,
        }
        if policy.can_see_profile(viewer, row.uploader)
        else None,
        "created_at": d.created_at.isoformat(),
        "latest": version_json(d.id, row.latest) if row.latest else None,
        "can_change": policy.can_change_document(viewer, d),
    }
    if versions:
        found["versions"] = [version_json(d.id, v) for v in row.versions]
    return found


@operation(
    "Documents: member contributions and project deliverables, newest first",
    tag="documents",
    response="DocumentList",
    query=("type", "technology", "lang", "deliverable", "cursor"),
    errors=(400,),
    description="Visitors and unverified accounts get the public documents only.",
)
async def get_documents(request: Request) -> Response:
    viewer = current_user(request)
    page = await list_documents(
        viewer, parse_filter(request.query_params), cursor=query_cursor(request)
    )
    return JSONResponse(
        {
            "documents": [document_json(viewer, row) for row in page.rows],
            "next_cursor": page.next_cursor,
        }
    )


@operation("A document with all its versions", tag="documents", response="Document", errors=(404,))
async def get_document(request: Request) -> Response:
    viewer = current_user(request)
    row = await document_detail(viewer, path_id(request, "document_id", _(NOT_FOUND)))
    return JSONResponse(document_json(viewer, row, versions=True))


async def _upload(request: Request, upload: Upload) -> Upload:
    settings = _settings(request)
    return await receive_upload(
        request, settings, max_bytes=settings.document_max_bytes, into=upload
    )


@operation(
    "Share a document (multipart/form-data: its file and details)",
    tag="documents",
    response="Document",
    status=201,
    auth="required",
    upload="DocumentUpload",
    errors=(403,),
    description=LIMITS + " Public visibility and deliverables: administrators with 2FA only.",
)
async def create_document(request: Request) -> Response:
    user = require_user(request)
    if not policy.can_upload_document(user):
        raise Forbidden(_("Only verified members may share documents."))
    upload = Upload()
    try:
        await _upload(request, upload)
        administration = upload.get("administration")
        if "administration" not in upload.fields and user.administration_id:
            own = await Administration.get_or_none(id=user.administration_id)
            administration = own.country_code if own else ""
        fields = await check_document_fields(
            user,
            title=upload.get("title"),
            abstract=upload.get("abstract"),
            authors=upload.get("authors"),
            administration=administration,
            doc_type=upload.get("doc_type"),
            language=upload.get("language") or "en",
            published_on=upload.get("published_on"),
            visibility=upload.get("visibility") or "members",
            is_deliverable=upload.get("is_deliverable") == "1",
            technologies=upload.getlist("technologies"),
        )
        document = await do_create_document(
            _settings(request),
            user,
            fields,
            upload.spool,
            upload.file_name,
            note=upload.get("note"),
        )
    except BaseException:
        upload.discard()
        raise
    row = await document_detail(user, document.id)
    return JSONResponse(document_json(user, row, versions=True), status_code=201)


@operation(
    "Upload a new version of a document (its uploader or an administrator)",
    tag="documents",
    response="Document",
    status=201,
    auth="required",
    upload="VersionUpload",
    errors=(404, 409),
    description=LIMITS + " The older versions stay listed and downloadable.",
)
async def create_version(request: Request) -> Response:
    user = require_user(request)
    document = await access_document(user, path_id(request, "document_id", _(NOT_FOUND)))
    if not policy.can_change_document(user, document) and not policy.has_staff_role(user):
        raise Forbidden(_("Only its uploader or an administrator may add a version."))
    upload = Upload()
    try:
        await _upload(request, upload)
        await do_add_version(
            _settings(request),
            user,
            document,
            upload.spool,
            upload.file_name,
            note=upload.get("note"),
        )
    except BaseException:
        upload.discard()
        raise
    row = await document_detail(user, document.id)
    return JSONResponse(document_json(user, row, versions=True), status_code=201)


@operation(
    "Download one version of a document (an attachment)",
    tag="documents",
    response=None,
    errors=(404,),
    download=tuple(sorted(CONTENT_TYPES)),
    description="Served with its sniffed type, `Content-Disposition: attachment` and"
    " `X-Content-Type-Options: nosniff`; the policy is asked on every download.",
)
async def download_version(request: Request) -> Response:
    document_id = path_id(request, "document_id", _(NOT_FOUND))
    number = path_id(request, "version", _("No such version."))
    _document, version = await access_version(current_user(request), document_id, number)
    return file_response(_settings(request), version)


routes: list[BaseRoute] = [
    ApiRoute(f"{V1}/documents", GET=get_documents, POST=create_document),
    ApiRoute(f"{V1}/documents/{{document_id}}", GET=get_document),
    ApiRoute(f"{V1}/documents/{{document_id}}/versions", POST=create_version),
    ApiRoute(f"{V1}/documents/{{document_id}}/versions/{{version}}/download", GET=download_version),
]
