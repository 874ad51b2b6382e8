"""Member profiles and what a viewer may see of their activity, in a constant number of queries."""

from __future__ import annotations

from dataclasses import dataclass

from forum import policy
from forum.errors import NotFound
from forum.i18n import _
from forum.models import Category, Post, Topic, User
from forum.queries.categories import visible_categories
from forum.rendering import plain_text

RECENT_POSTS = 20


@dataclass
class ProfilePost:
    post: Post
    topic: Topic
    category: Category
    excerpt: str


@dataclass
class Profile:
    user: User
    posts: list[ProfilePost]


async def access_profile(viewer: User | None, username: str) -> User:
    """The user, or NotFound when missing or when the viewer may not see profiles."""
    user = await User.get_or_none(username=username[:40])
    if user is None or not policy.can_see_profile(viewer, user):
        raise NotFound(_("No such user."))
    return user


async def profile(viewer: User | None, username: str, *, limit: int = RECENT_POSTS) -> Profile:
    """A profile and its author's latest posts that the viewer may read."""
    user = await access_profile(viewer, username)
    categories = {c.id: c for c in await visible_categories(viewer)}
    if not categories:
        return Profile(user, [])
    query = Post.filter(
        author_id=user.id,
        deleted_at=None,
        hidden=False,
        topic__category_id__in=list(categories),
    )
    if not policy.is_staff(viewer):
        query = query.filter(topic__deleted_at=None)
    posts = await query.select_related("topic").order_by("-created_at", "-id").limit(limit)
    rows = []
    for post in posts:
        topic, category = post.topic, categories[post.topic.category_id]
        # The query already filters; the policy has the last word.
        if policy.can_see_topic(viewer, topic, category) and policy.can_see_post_body(
            viewer, post, category
        ):
            rows.append(ProfilePost(post, topic, category, plain_text(post.html, 200)))
    return Profile(user, rows)
