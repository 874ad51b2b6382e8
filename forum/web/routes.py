"""Server-rendered pages (work without JavaScript): every URL a browser visits."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from forum.auth import identity
from forum.i18n import _
from forum.web import (
    accounts,
    admin,
    attachments,
    bookmarks,
    categories,
    composer,
    directory,
    language,
    membership,
    passwords,
    posts,
    public,
    security,
    topics,
    users,
)
from forum.web.forms import safe_next
from forum.web.templating import render
from knowledge import web as knowledge_web
from knowledge import web_documents
from moderation import web_audit, web_categories, web_sanctions, web_topics, web_words
from moderation.web_review import routes as review_routes
from notifications import web as notifications_web
from notifications import web_digest, web_outbox
from readiness import web as readiness_web
from readiness import web_analytics
from search import web as search_web

GET, POST, FORM = ["GET"], ["POST"], ["GET", "POST"]


def error_page(
    request: Request, status: int, message: str, *, for_visitor: bool = False
) -> Response:
    """The error page; a visitor's 404 offers to log in (one answer whether the thing is
    missing or for members only), unless the message is meant for them (`for_visitor`: a
    link from an email that does not work)."""
    context: dict[str, object] = {"status": status, "message": message}
    if status == 404 and identity(request).user is None and not for_visitor:
        # A visitor: perhaps a member's link. One answer whether the thing is missing or only
        # for members (the message too: some say "no such ..."), with the way to log in.
        back = request.url.path if request.method == "GET" else "/"
        if request.method == "GET" and request.url.query:
            back += "?" + request.url.query
        context["message"] = _(
            "There is nothing to show here: this page does not exist, or it is for members of"
            " the forum. If you are a member, log in to see it."
        )
        context["login_url"] = "/login?next=" + quote(safe_next(back), safe="/")
    return render(request, "error.html", context, status=status)


# Issue 3: the public section, asking for access, the directory and administrators' pages.
membership_routes: list[BaseRoute] = [
    Route("/pages/{slug}", public.page, methods=GET),
    Route("/request-access", membership.request_access, methods=FORM),
    Route("/request-access/sent", membership.request_sent, methods=GET),
    Route("/request-access/confirm/{token}", membership.confirm, methods=FORM),
    Route("/request-access/invitation/{token}", membership.invitation, methods=FORM),
    Route("/directory", directory.directory, methods=GET),
    Route("/directory.csv", directory.directory_csv_export, methods=GET),
    Route("/directory.vcf", directory.directory_vcard_export, methods=GET),
    Route("/a", directory.administrations, methods=GET),
    Route("/a/{code}", directory.administration, methods=GET),
    Route("/avatars/{name}", directory.avatar, methods=GET),
    Route("/account/profile", directory.profile, methods=FORM),
    Route("/account/avatar", directory.upload_avatar, methods=POST),
    Route("/account/avatar/remove", directory.remove_avatar, methods=POST),
    Route("/admin", admin.index, methods=GET),
    Route("/admin/access-requests", admin.access_requests, methods=GET),
    Route("/admin/access-requests/{id:int}/approve", admin.approve, methods=POST),
    Route("/admin/access-requests/{id:int}/reject", admin.reject, methods=POST),
    Route("/admin/invitations", admin.invitations, methods=FORM),
    Route("/admin/members", admin.members, methods=GET),
    Route("/admin/members/{id:int}/revoke", admin.revoke, methods=POST),
    Route("/admin/members/{id:int}/reverify", admin.reverify, methods=POST),
    Route("/admin/administrations", admin.administrations, methods=GET),
    Route("/admin/administrations/new", admin.administration_form, methods=FORM),
    Route("/admin/administrations/{id:int}/edit", admin.administration_form, methods=FORM),
    Route("/admin/pages", admin.pages, methods=GET),
    Route("/admin/pages/new", admin.page_form, methods=FORM),
    Route("/admin/pages/{id:int}/edit", admin.page_form, methods=FORM),
    Route("/admin/pages/{id:int}/move", admin.move_page, methods=POST),
]

routes: list[BaseRoute] = [
    Route("/t/{id:int}", topics.show_topic, methods=GET),  # the busiest first: tried in order
    Route("/", public.home, methods=GET),
    Route("/c/{slug}", categories.show_category, methods=GET),
    Route("/c/{slug}/new", categories.new_topic, methods=FORM),
    Route("/t/{id:int}/unread", topics.first_unread, methods=GET),
    Route("/t/{id:int}/reply", topics.reply, methods=FORM),
    Route("/p/{id:int}", posts.permalink, methods=GET),
    Route("/p/{id:int}/fragment", posts.fragment, methods=GET),
    Route("/p/{id:int}/edit", posts.edit, methods=FORM),
    Route("/p/{id:int}/revisions", posts.revisions, methods=GET),
    Route("/p/{id:int}/delete", posts.delete, methods=POST),
    Route("/p/{id:int}/react", posts.react, methods=POST),
    Route("/p/{id:int}/bookmark", posts.bookmark, methods=POST),
    Route("/u/{username}", users.show_profile, methods=GET),
    Route("/bookmarks", bookmarks.show_bookmarks, methods=GET),
    Route("/login", accounts.login, methods=FORM),
    Route("/login/2fa", accounts.login_code, methods=FORM),
    Route("/logout", accounts.logout, methods=POST),
    Route("/language", language.switch_language, methods=POST),
    Route("/password/reset", passwords.forgot_password, methods=FORM),
    Route("/password/reset/{token}", passwords.reset_password, methods=FORM),
    Route("/account/security", security.security_page, methods=GET),
    Route("/account/password", security.change_password, methods=POST),
    Route("/account/sessions/{id:int}/revoke", security.revoke_session, methods=POST),
    Route("/account/tokens/{id:int}/revoke", security.revoke_token, methods=POST),
    Route("/account/2fa/setup", security.start_two_factor, methods=POST),
    Route("/account/2fa/enable", security.enable_two_factor, methods=POST),
    Route("/account/2fa/disable", security.disable_two_factor, methods=POST),
    Route("/account/2fa/backup-codes", security.new_backup_codes, methods=POST),
    *membership_routes,
    *review_routes,  # issue 9: the review queue, pending posts, flags
    *web_words.routes,
    *web_categories.routes,
    *web_audit.routes,
    *web_sanctions.routes,
    *web_topics.routes,
    *web_digest.routes,  # issue 10: the email digest
    *notifications_web.routes,  # issue 10: notifications, levels, their settings
    *web_outbox.routes,  # issue 10: the administrators' outbox page
    *knowledge_web.routes,  # issue 11: knowledge entries (knowledge/web.py)
    *web_documents.routes,  # issue 11: documents, their versions and downloads; publications
    *readiness_web.routes,  # issue 12: the readiness self-assessment
    *web_analytics.routes,  # issue 12: the administrators' participation analytics
    *search_web.routes,  # issue 13: search
    # issue 14: the composer's preview and drafts (forum/web/composer.py)
    Route("/composer/preview", composer.preview, methods=POST),
    Route("/composer/drafts/{key}", composer.draft, methods=FORM),
    Route("/composer/drafts/{key}/delete", composer.discard_draft, methods=POST),
    # issue 14: images and files in posts (forum/web/attachments.py)
    Route("/composer/attachments", attachments.upload, methods=POST),
    Route("/attachments/{id:int}/{name}", attachments.download, methods=GET),
]
