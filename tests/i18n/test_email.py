"""Email is written in the recipient's language, whoever's request caused it: subject, body
and the moderators' words in it."""

from __future__ import annotations

import httpx

from forum import i18n
from forum.models import Notification, Role, User
from moderation import review
from moderation.sanctions import do_sanction
from tests.helpers import categories, make_user
from tests.knowledge.entries_support import pending_item, place, submitted
from tests.mail import Inbox, SMTPServer
from tests.security.support import ask_for_reset


async def test_a_french_member_gets_the_password_reset_email_in_french(
    client: httpx.AsyncClient, smtp: SMTPServer
) -> None:
    amelie = await make_user("amelie")
    await User.filter(id=amelie.id).update(preferred_language="fr")
    bob = await make_user("bob")  # English, the default
    # Asked from an English page: the mail follows the member, not the page.
    for address in ("amelie@example.org", "bob@example.org"):
        asked = await ask_for_reset(client, address)
        assert asked.status_code == 200 and "Check your email" in asked.text

    french = await smtp.inbox.wait_for("amelie@example.org")
    assert french["Subject"] == "Réinitialisez votre mot de passe du Forum Smart Customs"
    text = Inbox.text(french)
    assert text.startswith("Bonjour Amelie,")
    assert "ouvrez ce lien dans les 60 minutes" in text
    assert "Le lien ne fonctionne qu'une fois." in text
    html = french.get_body(preferencelist=("html",))
    assert html is not None and "Bonjour Amelie," in str(html.get_content())
    assert "Hello" not in text and "password" not in text.lower().replace("/password/", "")

    english = await smtp.inbox.wait_for("bob@example.org")
    assert english["Subject"] == "Reset your Smart Customs Forum password"
    assert Inbox.text(english).startswith("Hello Bob,")
    assert bob.preferred_language == "auto" and bob.mail_language == "en"  # the default


async def test_an_english_moderators_sanction_reaches_a_french_member_in_french(
    client: httpx.AsyncClient, smtp: SMTPServer
) -> None:
    moderator = await make_user("moderator", role=Role.MODERATOR)
    amelie = await make_user("amelie")
    await User.filter(id=amelie.id).update(preferred_language="fr")
    with i18n.using("en"):  # the moderator's page speaks English
        await do_sanction(moderator, amelie.id, "warn", "Merci de rester dans le sujet.")
    await smtp.inbox.deliver()
    message = await smtp.inbox.wait_for("amelie@example.org")
    assert message["Subject"] == "Décision d'un modérateur concernant votre compte"
    text = Inbox.text(message)
    assert text.startswith("Bonjour Amelie,")
    assert "Un modérateur vous a adressé un avertissement : Merci de rester dans le sujet." in text
    assert "Si vous pensez qu'il s'agit d'une erreur" in text


async def test_a_french_authors_decisions_are_worded_in_french(
    client: httpx.AsyncClient, smtp: SMTPServer
) -> None:
    await categories()
    moderator = await make_user("moderator", role=Role.MODERATOR)
    amelie = await place(await make_user("amelie"), "FR")
    await User.filter(id=amelie.id).update(preferred_language="fr")
    entry = await submitted(amelie, title="Scellés électroniques")
    with i18n.using("en"):  # an English moderator's decision
        await review.do_decide(moderator, (await pending_item(entry)).id, "reject", "Trop court.")
    await smtp.inbox.deliver()
    message = await smtp.inbox.wait_for("amelie@example.org")
    assert message["Subject"] == "Décision d'un modérateur concernant votre fiche de connaissances"
    told = (
        "Votre fiche de connaissances « Scellés électroniques » n'a pas été approuvée : Trop court."
    )
    assert told in Inbox.text(message)
    note = await Notification.get(user_id=amelie.id)
    assert told in str(note.data)
