"""The gettext catalogues, built from the sources with Babel (babel.cfg says where to look).

`forum extract-messages` writes forum/locale/forum.pot and brings each language's .po in line
with it (new strings empty, gone ones dropped, the translations kept); `forum
compile-messages` writes the .mo files the server reads. tests/test_i18n_catalogue.py extracts
again and fails on any string missing from the French catalogue or left untranslated.
"""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from forum import i18n

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "babel.cfg"
POT = i18n.LOCALE_DIR / f"{i18n.DOMAIN}.pot"
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}


def extract() -> Catalog:
    """Every translatable string of the sources, as a template catalogue (no locations, so
    that moving code does not churn the files)."""
    with CONFIG.open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)  # type: ignore[no-untyped-call]
    catalog = Catalog(project="Smart Customs Forum", domain=i18n.DOMAIN, charset="utf-8")
    for filename, _lineno, message, comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    ):
        del filename
        catalog.add(message, None, [], auto_comments=comments, context=context)
    return catalog


def read(language: str) -> Catalog:
    po, _mo = i18n.catalogue_paths(language)
    with po.open("rb") as f:
        return read_po(f, locale=language, domain=i18n.DOMAIN)


def po_text(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, omit_header=False, no_location=True, sort_output=True, width=100)
    return out.getvalue()


def _dated(text: bytes) -> bytes:
    return b"\n".join(line for line in text.split(b"\n") if b"POT-Creation-Date" not in line)


def write_pot() -> Path:
    """Write forum.pot, unless only its date would change."""
    POT.parent.mkdir(parents=True, exist_ok=True)
    text = po_text(extract())
    if not POT.exists() or _dated(POT.read_bytes()) != _dated(text):
        POT.write_bytes(text)
    return POT


def update(language: str) -> tuple[int, int]:
    """Bring a language's .po in line with the sources: (strings added, strings dropped)."""
    template = extract()
    po, _mo = i18n.catalogue_paths(language)
    if po.exists():
        catalog = read(language)
    else:
        po.parent.mkdir(parents=True, exist_ok=True)
        catalog = Catalog(locale=language, domain=i18n.DOMAIN, project="Smart Customs Forum")
    before = {m.id for m in catalog if m.id}
    catalog.update(template, no_fuzzy_matching=True)
    after = {m.id for m in catalog if m.id}
    catalog.obsolete.clear()
    text = po_text(catalog)
    if not po.exists() or _dated(po.read_bytes()) != _dated(text):
        po.write_bytes(text)
    return len(after - before), len(before - after)
