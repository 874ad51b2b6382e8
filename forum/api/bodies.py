"""The JSON request bodies the API accepts: every field with its type and limits.

The limits repeat the actions' own checks (which stay the authority) so that a client learns
them from the OpenAPI document and a schema-valid request is refused only for business reasons.
"""

from __future__ import annotations

from forum import i18n, policy
from forum.actions.posts import MAX_BODY
from forum.actions.topics import MAX_TAGS
from forum.api.parsing import ID_MAX, BodySpec, Flag, Integer, Text, TextList
from forum.i18n import N_

# Whole-value patterns: no NUL anywhere (no database stores it); a body needs a visible character.
NO_NUL = r"[^\x00]*"
NOT_BLANK = r"[^\x00]*[^\s\x00][^\x00]*"

TITLE = Text(
    "title",
    min_length=5,
    max_length=200,
    pattern=NO_NUL,
    description="5 to 200 characters once runs of whitespace are collapsed.",
)
POST_BODY = Text(
    "body",
    min_length=1,
    max_length=MAX_BODY,
    pattern=NOT_BLANK,
    pattern_message=N_("Write something first."),
    description="Markdown, up to 50,000 characters.",
)
TAGS = TextList(
    "tags",
    Text(
        "tags",
        max_length=30,
        pattern="[A-Za-z0-9][A-Za-z0-9-]{0,29}",
        pattern_message=N_("A tag has up to 30 lowercase letters, digits and dashes."),
    ),
    max_items=MAX_TAGS,
    description="Up to 5 tags of lowercase letters, digits and dashes (stored in lowercase).",
)
LANG = Text(
    "lang",
    max_length=8,
    choices=i18n.LANGUAGES,
    description="The language the post (and a new topic's title) is written in; by default"
    " the language of your requests (your setting, the lang cookie or Accept-Language).",
)
CATEGORY = Text(
    "category", min_length=1, max_length=64, pattern=NO_NUL, description="The category's slug."
)
CLOSED = Flag("closed", description="Moderators only.")
PINNED = Flag("pinned", description="Moderators only.")
REPLY_TO = Integer(
    "reply_to",
    minimum=1,
    maximum=ID_MAX,
    nullable=True,
    description="The id of the post, in the same topic, that this post answers.",
)
POST_NUMBER = Integer(
    "post_number", minimum=1, maximum=ID_MAX, description="The last post number read."
)
KIND = Text("kind", max_length=20, choices=policy.REACTION_KINDS)
EMAIL = Text("email", min_length=1, max_length=254, pattern=NO_NUL)
PASSWORD = Text("password", min_length=1, max_length=1024, pattern=NO_NUL)
TWO_FACTOR_CODE = Text(
    "code",
    max_length=40,
    pattern=NO_NUL,
    description=(
        "Accounts with two-factor authentication only: the 6-digit code from the"
        " authenticator app, or an unused backup code. Each code works once."
    ),
)
TOKEN_NAME = Text(
    "name", max_length=100, pattern=NO_NUL, description="A label to recognise the token by."
)

NEW_TOPIC = BodySpec("NewTopic", required=(CATEGORY, TITLE, POST_BODY), optional=(TAGS, LANG))
TOPIC_CHANGES = BodySpec("TopicChanges", optional=(TITLE, TAGS, CLOSED, PINNED), at_least_one=True)
NEW_POST = BodySpec("NewPost", required=(POST_BODY,), optional=(REPLY_TO, LANG))
POST_EDIT = BodySpec("PostEdit", required=(POST_BODY,), optional=(LANG,))
READ_POSITION = BodySpec("ReadPosition", required=(POST_NUMBER,))
NEW_REACTION = BodySpec("NewReaction", required=(KIND,))
CREDENTIALS = BodySpec("Credentials", required=(EMAIL, PASSWORD), optional=(TWO_FACTOR_CODE,))
NEW_TOKEN = BodySpec("NewToken", required=(EMAIL, PASSWORD), optional=(TWO_FACTOR_CODE, TOKEN_NAME))
