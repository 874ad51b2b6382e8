"""What the end-to-end tests do to the database behind the server's back (it may be down):
`python -m tests.e2e.tasks member USERNAME` adds a verified member (password: the demo one),
`python -m tests.e2e.tasks reply TOPIC_ID USERNAME BODY` posts through the real action and
prints the post's id. The database comes from FORUM_DATABASE_URL, as for `forum`."""

from __future__ import annotations

import argparse
import asyncio
import os

from forum.actions.posts import do_create_post
from forum.actions.users import do_create_user
from forum.db import close_db, init_db
from forum.models import Topic, User
from forum.settings import Settings
from tests.helpers import relax_moderation


async def add_member(username: str) -> None:
    await do_create_user(
        email=f"{username}@example.org",
        username=username,
        password=os.environ["FORUM_DEMO_PASSWORD"],
        display_name=username.title(),
        is_verified=True,
    )


async def reply(topic_id: int, username: str, body: str) -> None:
    topic = await Topic.get(id=topic_id).select_related("category")
    author = await User.get(username=username)
    post = await do_create_post(author, topic, topic.category, body)
    print(post.id)


async def relax() -> None:
    """The browser tests post as brand-new members, many times: the queue's first-post
    approval off and posting limits far away, as an administrator may set them."""
    await relax_moderation()


async def run(args: argparse.Namespace) -> None:
    await init_db(Settings.from_env().database_url)
    try:
        if args.task == "member":
            await add_member(args.username)
        elif args.task == "relax":
            await relax()
        else:
            await reply(args.topic_id, args.username, args.body)
    finally:
        await close_db()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.tasks")
    tasks = parser.add_subparsers(dest="task", required=True)
    tasks.add_parser("member").add_argument("username")
    tasks.add_parser("relax")
    replying = tasks.add_parser("reply")
    replying.add_argument("topic_id", type=int)
    replying.add_argument("username")
    replying.add_argument("body")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
