"""Every template compiles in every language's environment (constant strings are translated
while compiling: forum/web/inline_i18n.py), and the page environments are one per language."""

from __future__ import annotations

import pytest

from forum import i18n
from forum.web.templating import TEMPLATES_DIR, environment
from notifications.mailer import _environment as mail_environment


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_template_compiles_in_each_language(language: str) -> None:
    env = environment(language)
    assert env is environment(language) and env.language == language  # type: ignore[attr-defined]
    names = [
        str(path.relative_to(TEMPLATES_DIR))
        for path in TEMPLATES_DIR.rglob("*")
        if path.suffix in (".html", ".txt") and "static" not in path.parts
    ]
    assert len(names) > 100
    for name in names:
        if not name.startswith("email/"):
            env.get_template(name)
        else:
            mail_environment(language).get_template(name.removeprefix("email/"))


def test_constant_strings_are_compiled_into_each_languages_templates() -> None:
    english = environment("en").from_string('{{ _("Log out") }}|{{ _("Hello %(name)s,", name=n) }}')
    french = environment("fr").from_string('{{ _("Log out") }}|{{ _("Hello %(name)s,", name=n) }}')
    assert english.render(n="<Ana>") == "Log out|Hello &lt;Ana&gt;,"
    assert french.render(n="<Ana>") == "Se déconnecter|Bonjour &lt;Ana&gt;,"
    with i18n.using("fr"):  # the environment decides, not the task's language
        assert english.render(n="Ana") == "Log out|Hello Ana,"
    counted = '{{ ngettext("%(num)d topic", "%(num)d topics", n) }}'
    assert environment("fr").from_string(counted).render(n=1) == "1 sujet"
    assert environment("fr").from_string(counted).render(n=2500) == "2\u202f500 sujets"
    assert environment("en").from_string(counted).render(n=2500) == "2,500 topics"
    # Email too (no autoescape for the plain-text part).
    assert mail_environment("fr").from_string(counted).render(n=2500) == "2\u202f500 sujets"
