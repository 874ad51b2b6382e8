"""Server-rendered pages (work without JavaScript): every URL a browser visits."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from forum.web import accounts, bookmarks, categories, posts, topics, users
from forum.web.templating import render

GET, POST, FORM = ["GET"], ["POST"], ["GET", "POST"]


def error_page(request: Request, status: int, message: str) -> Response:
    return render(request, "error.html", {"status": status, "message": message}, status=status)


routes: list[BaseRoute] = [
    Route("/", categories.home, methods=GET),
    Route("/c/{slug}", categories.show_category, methods=GET),
    Route("/c/{slug}/new", categories.new_topic, methods=FORM),
    Route("/t/{id:int}", topics.show_topic, methods=GET),
    Route("/t/{id:int}/unread", topics.first_unread, methods=GET),
    Route("/t/{id:int}/reply", topics.reply, methods=FORM),
    Route("/t/{id:int}/status", topics.update_status, methods=POST),
    Route("/p/{id:int}", posts.permalink, methods=GET),
    Route("/p/{id:int}/edit", posts.edit, methods=FORM),
    Route("/p/{id:int}/revisions", posts.revisions, methods=GET),
    Route("/p/{id:int}/delete", posts.delete, methods=POST),
    Route("/p/{id:int}/react", posts.react, methods=POST),
    Route("/p/{id:int}/bookmark", posts.bookmark, methods=POST),
    Route("/u/{username}", users.show_profile, methods=GET),
    Route("/bookmarks", bookmarks.show_bookmarks, methods=GET),
    Route("/login", accounts.login, methods=FORM),
    Route("/logout", accounts.logout, methods=POST),
]
