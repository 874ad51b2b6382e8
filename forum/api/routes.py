"""The JSON API under /api/v1 and its OpenAPI document: one route per path, one endpoint per
method. Handlers live in modules named for their noun; this list is the whole API."""

from __future__ import annotations

from starlette.routing import BaseRoute

from forum.api import auth, bookmarks, categories, directory, posts, reactions, topics
from forum.api.openapi import openapi_document
from forum.api.operation import ApiRoute
from knowledge import api_documents
from knowledge.api import routes as knowledge_routes
from moderation import api_categories, api_sanctions, api_topics, api_words
from moderation.api_review import routes as review_routes
from notifications import api as notifications_api
from search import api as search_api

V1 = "/api/v1"

routes: list[BaseRoute] = [
    ApiRoute("/api/openapi.json", GET=openapi_document),
    ApiRoute(
        f"{V1}/categories",
        GET=categories.list_categories,
        POST=api_categories.create_category,
    ),
    ApiRoute(f"{V1}/categories/order", POST=api_categories.order_categories),  # before {slug}
    ApiRoute(
        f"{V1}/categories/{{slug}}",
        GET=categories.get_category,
        PATCH=api_categories.update_category,
    ),
    ApiRoute(f"{V1}/categories/{{slug}}/topics", GET=categories.category_topics),
    ApiRoute(f"{V1}/latest", GET=topics.latest_topics),
    ApiRoute(f"{V1}/topics", POST=topics.create_topic),
    ApiRoute(f"{V1}/topics/{{topic_id}}", GET=topics.get_topic, PATCH=topics.update_topic),
    ApiRoute(f"{V1}/topics/{{topic_id}}/posts", POST=posts.create_post),
    ApiRoute(f"{V1}/topics/{{topic_id}}/read", POST=topics.mark_read),
    ApiRoute(
        f"{V1}/posts/{{post_id}}",
        GET=posts.get_post,
        PATCH=posts.edit_post,
        DELETE=posts.delete_post,
    ),
    ApiRoute(f"{V1}/posts/{{post_id}}/revisions", GET=posts.list_revisions),
    ApiRoute(f"{V1}/posts/{{post_id}}/reactions", POST=reactions.add_reaction),
    ApiRoute(f"{V1}/posts/{{post_id}}/reactions/{{kind}}", DELETE=reactions.remove_reaction),
    ApiRoute(
        f"{V1}/posts/{{post_id}}/bookmark",
        POST=bookmarks.add_bookmark,
        DELETE=bookmarks.remove_bookmark,
    ),
    ApiRoute(f"{V1}/auth/login", POST=auth.login),
    ApiRoute(f"{V1}/auth/logout", POST=auth.logout),
    ApiRoute(f"{V1}/auth/tokens", POST=auth.create_token, GET=auth.list_tokens),
    ApiRoute(f"{V1}/auth/tokens/{{token_id}}", DELETE=auth.revoke_token),
    ApiRoute(f"{V1}/me", GET=auth.me),
    ApiRoute(f"{V1}/directory", GET=directory.get_directory),
    *review_routes,  # issue 9: the review queue and flags (moderation/api_review.py)
    *api_words.routes,
    ApiRoute(f"{V1}/users/{{user_id}}/moderation", PUT=api_categories.set_moderation),
    *api_sanctions.routes,
    *api_topics.routes,
    *notifications_api.routes,  # issue 10
    *knowledge_routes,  # issue 11: knowledge entries (knowledge/api.py)
    *api_documents.routes,  # issue 11: documents
    *search_api.routes,  # issue 13
]
