"""The analyser and the snippets: our own terms from whatever was typed, and snippets whose
only markup is our <mark>."""

from __future__ import annotations

import re

from forum.rendering import render_markdown
from search.query import fts5_expression, tsquery_expression
from search.text import fold, parse_query, plain_text, snippet, stem

FTS_SAFE = re.compile(r'^("[^"*]+"\*?)( AND "[^"*]+"\*?)*$')
_LEXEME = r"'[^\W_]+'"
_GROUP = rf"(?:{_LEXEME}|\({_LEXEME}(?: <-> {_LEXEME})+\))"
TSQUERY_SAFE = re.compile(rf"^{_GROUP}(?: & {_GROUP})*$")


def test_word_forms_of_both_languages_meet_on_one_stem() -> None:
    same = [
        ("douane", "douanes"), ("données", "donnees"), ("donnée", "DONNÉES"),
        ("customs", "custom"), ("contrôles", "controle"), ("déclarations", "declaration"),
        ("exportées", "exporter"), ("risques", "risque"), ("risks", "risk"),
        ("inspections", "inspection"), ("containers", "container"), ("Œuvre", "oeuvre"),
    ]  # fmt: skip
    for a, b in same:
        assert stem(a) == stem(b), (a, b)
    assert stem("customs") != stem("costume")
    assert fold("Élève à Noël") == "eleve a noel"


def test_any_typed_text_becomes_quoted_terms_and_never_engine_syntax() -> None:
    nasty = [
        '"unbalanced', 'NEAR(a b, 2)', "a* OR b*", "title:x", "{col}", "^start", "a AND",
        "-excluded", "a & b | !c", "a <-> b", "'quoted'", "\\", "\x00", "x" * 10_000,
        '"" "" ""', "😀 emoji", "ＡＢＣ", "e\u0301te",
    ]  # fmt: skip
    for raw in nasty:
        query = parse_query(raw)
        if query.empty:
            continue
        assert FTS_SAFE.match(fts5_expression(query)), raw
        assert FTS_SAFE.match(fts5_expression(query, prefix_last=True)), raw
        for group in query.groups:
            for term in group:
                assert re.fullmatch(r"[^\W_]+", term), (raw, term)
        assert TSQUERY_SAFE.match(tsquery_expression(query)), raw
    assert parse_query("*").empty and parse_query('"').empty and parse_query("  ").empty
    assert len(parse_query(" ".join(f"w{i}" for i in range(100))).groups) == 12


def test_quotes_make_phrases_and_stop_words_are_dropped_beside_other_words() -> None:
    assert parse_query('"electronic seals" risk').groups == (("electron", "seal"), ("risk",))
    assert parse_query("risk and the customs").groups == (("risk",), ("custom",))
    assert parse_query("AND OR NOT").groups == (("and",), ("or",), ("not",))


def test_snippets_escape_everything_but_our_marks() -> None:
    source = (
        "risk <script>alert(1)</script> <img src=x onerror=alert(1)> "
        '<a href="javascript:alert(2)">x</a> **bold** `<b>code</b>` &amp; risk'
    )
    text = plain_text(render_markdown(source))
    out = snippet(text + " \x02 \x03", parse_query("risk alert"))
    assert set(re.findall(r"<[^>]*>", out)) == {"<mark>", "</mark>"}
    assert "&lt;script&gt;" in out and "&lt;img" in out and "**" not in out
    assert out.count("<mark>risk</mark>") == 2
    long = "word " * 500 + "needle " + "word " * 500
    cut = snippet(long, parse_query("needle"))
    assert cut.startswith("… ") and cut.endswith(" …") and "<mark>needle</mark>" in cut
    assert len(cut) < 400


def test_plain_text_keeps_words_apart_across_blocks() -> None:
    assert plain_text("<p>one</p><p>two</p><ul><li>three</li></ul>") == "one two three"
    assert plain_text("<p>a &lt;b&gt; c</p>") == "a <b> c"  # text, escaped again in snippets
