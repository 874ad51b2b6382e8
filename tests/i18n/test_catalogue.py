"""The French catalogue is complete and in step with the sources: a new user-facing string
that nobody translated fails here, naming it."""

from __future__ import annotations

import re

from babel.messages.catalog import Catalog, Message

from forum import catalogues, i18n

# %(name)s / %(n)d / %% (gettext's) and {name} (str.replace / format placeholders).
_PERCENT = re.compile(r"%(?:\((\w+)\))?[#0 +-]*\d*(?:\.\d+)?[sdifr%]")
_BRACES = re.compile(r"\{(\w+)\}")


def _ids(catalog: Catalog) -> set[str | tuple[str, ...]]:
    return {m.id for m in catalog if m.id}


def _forms(message: Message) -> tuple[str, ...]:
    return tuple(message.id) if isinstance(message.id, tuple) else (message.id,)


def _translations(message: Message) -> tuple[str, ...]:
    return tuple(message.string) if isinstance(message.string, tuple) else (message.string,)


def _placeholders(text: str) -> tuple[list[str], set[str]]:
    percent = sorted(
        m.group(0) if m.group(1) is None else m.group(1) for m in _PERCENT.finditer(text)
    )
    return percent, set(_BRACES.findall(text))


def test_the_french_catalogue_has_every_string_of_the_sources_and_no_other() -> None:
    extracted = _ids(catalogues.extract())
    french = _ids(catalogues.read("fr"))
    missing = sorted(map(str, extracted - french))
    stale = sorted(map(str, french - extracted))
    assert not missing, f"not in forum.po (run `make messages`, then translate): {missing}"
    assert not stale, f"in forum.po but no longer in the sources (`make messages`): {stale}"
    assert _ids(_read_pot()) == extracted, "forum.pot is out of date: run `make messages`"


def test_every_french_string_is_translated_and_not_fuzzy() -> None:
    french = catalogues.read("fr")
    assert french.num_plurals == 2 and french.plural_expr == "(n > 1)"
    untranslated = [m.id for m in french if m.id and (not all(_translations(m)) or m.fuzzy)]
    assert not untranslated, f"untranslated or fuzzy in forum.po: {untranslated}"


def test_placeholders_match_between_each_string_and_its_translation() -> None:
    wrong = []
    for message in catalogues.read("fr"):
        if not message.id:
            continue
        source = _placeholders(_forms(message)[-1])
        for translation in _translations(message):
            percent, braces = _placeholders(translation)
            # A plural's translations may leave out the count (French "un" for 1) only
            # where the source's singular does too.
            if (percent, braces) != source and (percent, braces) != _placeholders(
                _forms(message)[0]
            ):
                wrong.append((message.id, translation))
    assert not wrong, f"placeholders differ: {wrong}"


def test_the_compiled_catalogue_is_the_po_and_is_read() -> None:
    mo = i18n.compile_catalogue("fr")
    assert mo is not None and mo.exists()
    i18n.translations.cache_clear()
    assert i18n.gettext("Log out", "fr") == "Se déconnecter"
    assert i18n.ngettext("%(num)d reply", "%(num)d replies", 1, "fr") == "%(num)d réponse"
    assert i18n.ngettext("%(num)d reply", "%(num)d replies", 2, "fr") == "%(num)d réponses"
    assert i18n.gettext("Log out", "en") == "Log out"


def _read_pot() -> Catalog:
    from babel.messages.pofile import read_po

    with catalogues.POT.open("rb") as f:
        return read_po(f)
