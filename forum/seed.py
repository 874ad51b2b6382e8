"""Demo and default data. Everything here is idempotent: running it twice changes nothing."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

from forum import totp
from forum.actions.administrations import seed_administrations
from forum.actions.pages import seed_pages
from forum.actions.posts import insert_post
from forum.actions.topics import insert_topic
from forum.actions.twofactor import do_enable_two_factor, do_start_two_factor
from forum.actions.users import do_create_user
from forum.events import atomic
from forum.models import Category, Post, PostingRight, Role, Topic, User, Visibility
from knowledge.seed_entries import seed_entries
from moderation.review import do_flag, hold_reply

# (slug, name, description, visibility, posting right)
CATEGORIES: list[tuple[str, str, str, Visibility, PostingRight]] = [
    ("welcome", "Welcome", "About the Smart Customs Project and this forum; open to everyone.",
     Visibility.PUBLIC, PostingRight.MEMBERS),
    ("announcements", "Announcements", "News from the WCO Secretariat.",
     Visibility.MEMBERS, PostingRight.STAFF),
    ("ai-ml", "Artificial intelligence & machine learning",
     "Risk targeting, image analysis of scans, classification, language models.",
     Visibility.MEMBERS, PostingRight.MEMBERS),
    ("big-data", "Big data & data analytics", "Data lakes, analytics and data quality.",
     Visibility.MEMBERS, PostingRight.MEMBERS),
    ("blockchain", "Blockchain", "Distributed ledgers for certificates, origin and supply chains.",
     Visibility.MEMBERS, PostingRight.MEMBERS),
    ("cloud-computing", "Cloud computing", "Hosting customs systems in public or private clouds.",
     Visibility.MEMBERS, PostingRight.MEMBERS),
    ("iot", "Internet of Things", "Electronic seals, sensors and tracking devices.",
     Visibility.MEMBERS, PostingRight.MEMBERS),
    ("biometrics", "Biometrics", "Identity checks for travellers and staff.",
     Visibility.MEMBERS, PostingRight.MEMBERS),
    ("drones", "Drones", "Unmanned aircraft for border surveillance and inspection.",
     Visibility.MEMBERS, PostingRight.MEMBERS),
    ("extended-reality", "Extended reality", "Virtual and augmented reality for training.",
     Visibility.MEMBERS, PostingRight.MEMBERS),
    ("3d-printing", "3D printing", "What additive manufacturing changes for customs control.",
     Visibility.MEMBERS, PostingRight.MEMBERS),
    ("geospatial-mapping", "Geospatial mapping", "Satellite imagery, GIS and border mapping.",
     Visibility.MEMBERS, PostingRight.MEMBERS),
    ("robotics", "Robotics", "Robots and automation in inspection and logistics.",
     Visibility.MEMBERS, PostingRight.MEMBERS),
    ("legal-frameworks", "Legal frameworks", "The law that technology adoption needs or changes.",
     Visibility.MEMBERS, PostingRight.MEMBERS),
    ("cybersecurity", "Cybersecurity", "Protecting customs systems and data.",
     Visibility.MEMBERS, PostingRight.MEMBERS),
    ("green-technologies", "Green technologies", "Technology for sustainable, low-carbon customs.",
     Visibility.MEMBERS, PostingRight.MEMBERS),
]  # fmt: skip

# Created by `forum seed-demo` only (not by the default categories tests and fresh sites get).
STAFF_ROOM = ("staff-room", "Staff room", "Moderators and administrators only: cases, rules, rota.",
              Visibility.STAFF, PostingRight.STAFF)  # fmt: skip

DEMO_ACCOUNTS = [
    ("admin@example.org", "admin", "Demo Administrator", Role.ADMIN, True),
    ("moderator@example.org", "moderator", "Demo Moderator", Role.MODERATOR, True),
    ("member@example.org", "member", "Demo Member", Role.MEMBER, True),
    ("newcomer@example.org", "newcomer", "Demo Newcomer", Role.MEMBER, True),
]

DEMO_TOPICS = [
    ("welcome", "admin", "Welcome to the Smart Customs Forum",
     "This forum is where the **National Contact Points** of the Smart Customs Project "
     "share practice, pitfalls and research on disruptive technologies.\n\n"
     "Verified members can read and write in every technology category."),
    ("announcements", "admin", "Third NCP meeting: save the date",
     "The next meeting of National Contact Points will be announced here first."),
    ("ai-ml", "member", "Using machine learning for risk targeting: lessons learned",
     "We trained a model on five years of seizure data. Three lessons:\n\n"
     "1. Label quality matters more than the algorithm.\n"
     "2. Keep officers in the loop.\n3. Monitor drift every quarter.\n\n"
     "Has anyone tried explainability tools in production?"),
    ("blockchain", "moderator", "Blockchain for certificates of origin: pilots so far",
     "Several administrations have piloted ledgers for certificates of origin. "
     "Please share what worked, what did not, and the legal questions you met."),
    ("cybersecurity", "member", "Phishing exercises for customs staff",
     "How often do you run phishing simulations, and how do you measure the results?"),
]  # fmt: skip
# Demo content written in French (marked `fr`, whatever the reader's pages are in).
DEMO_FRENCH_TOPICS = [
    ("iot", "member", "Scellés électroniques : retours d'expérience",
     "Nous testons des scellés électroniques sur les conteneurs en transit depuis six mois.\n\n"
     "Les alertes d'ouverture arrivent en moins d'une minute, mais la couverture réseau reste "
     "le point faible aux frontières. Qui a une solution pour les zones blanches ?",
     "Nous enregistrons les alertes dans le scellé et les envoyons dès que le réseau revient : "
     "la preuve d'intégrité est gardée."),
]  # fmt: skip


@dataclass
class SeedReport:
    password: str | None
    generated_password: bool
    created_accounts: list[str]
    created_categories: int
    created_topics: int
    created_administrations: int = 0
    created_pages: int = 0
    created_entries: int = 0  # knowledge entries (knowledge/seed_entries.py)
    created_assessments: int = 0  # readiness self-assessments (issue 12)
    # Demo staff get two-factor authentication (staff powers need it): username -> secret,
    # for an authenticator app; filled only when the account was created by this run.
    two_factor_secrets: dict[str, str] = field(default_factory=dict)


async def seed_categories() -> int:
    created = 0
    for position, (slug, name, description, visibility, right) in enumerate(CATEGORIES):
        _category, was_created = await Category.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "description": description,
                "visibility": visibility,
                "posting_right": right,
                "position": position,
            },
        )
        created += int(was_created)
    return created


async def _seed_demo_topics(users: dict[str, User]) -> int:
    """The demo topics, published as they are (demo content skips the review queue)."""
    now = datetime.now(UTC)
    async with atomic():
        for slug, author, title, body in DEMO_TOPICS:
            category = await Category.get(slug=slug)
            topic, _post = await insert_topic(
                users[author], category, title, body, ["demo"], now=now
            )
            if slug == "ai-ml":
                await insert_post(
                    users["moderator"],
                    topic,
                    category,
                    "We use SHAP values to show officers why a declaration was flagged. "
                    "It helped adoption a lot. @member, happy to share our notes.",
                    reply_to=None,
                    now=now,
                )
        for slug, author, title, body, reply in DEMO_FRENCH_TOPICS:
            category = await Category.get(slug=slug)
            topic, _post = await insert_topic(
                users[author], category, title, body, ["demo"], now=now, language="fr"
            )
            await insert_post(
                users["moderator"], topic, category, reply, reply_to=None, now=now, language="fr"
            )
    return len(DEMO_TOPICS) + len(DEMO_FRENCH_TOPICS)


async def _seed_demo_queue(users: dict[str, User]) -> None:
    """Something for the demo moderator's queue: a newcomer's first reply awaiting approval
    and a flagged post."""
    newcomer = users["newcomer"]
    topic = await Topic.filter(category__slug="ai-ml").select_related("category").first()
    flagged = await Post.filter(topic__category__slug="cybersecurity", number=1).first()
    if topic is None or flagged is None:
        return
    async with atomic():
        await hold_reply(
            newcomer,
            topic,
            topic.category,
            "Hello from a new NCP! Could someone share the risk-targeting rules you use?",
            None,
            "first_post",
        )
    flagged_topic = await Topic.get(id=flagged.topic_id).select_related("category")
    await do_flag(
        newcomer,
        flagged,
        flagged_topic,
        flagged_topic.category,
        "sensitive",
        "It names the training provider; is that public?",
    )


async def seed_demo(password: str | None) -> SeedReport:
    generated = False
    if not password:
        password = secrets.token_urlsafe(12)
        generated = True
    categories = await seed_categories()
    administrations = await seed_administrations()
    pages = await seed_pages()
    created_accounts: list[str] = []
    two_factor: dict[str, str] = {}
    users: dict[str, User] = {}
    for email, username, name, role, verified in DEMO_ACCOUNTS:
        user = await User.get_or_none(email=email)
        if user is None:
            user = await do_create_user(
                email=email,
                username=username,
                password=password,
                display_name=name,
                role=role,
                is_verified=verified,
            )
            created_accounts.append(email)
            if user.is_staff:
                secret = await do_start_two_factor(user)
                await do_enable_two_factor(user, totp.code_at(secret))
                two_factor[username] = secret
        users[username] = user
    slug, name, description, visibility, posting = STAFF_ROOM
    _room, room_created = await Category.get_or_create(
        slug=slug,
        defaults={
            "name": name,
            "description": description,
            "visibility": visibility,
            "posting_right": posting,
            "position": len(CATEGORIES),
        },
    )
    categories += int(room_created)
    from readiness.seed import seed_demo_assessments

    assessments = await seed_demo_assessments(users.get("member"))
    topics = 0
    if not await Topic.exists():
        topics = await _seed_demo_topics(users)
        await _seed_demo_queue(users)
    knowledge_entries = await seed_entries(users)
    return SeedReport(
        password=password if created_accounts else None,
        generated_password=generated and bool(created_accounts),
        created_accounts=created_accounts,
        created_categories=categories,
        created_topics=topics,
        created_administrations=administrations,
        created_pages=pages,
        created_entries=knowledge_entries,
        created_assessments=assessments,
        two_factor_secrets=two_factor,
    )
