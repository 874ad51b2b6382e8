"""The field parsers: exact types, bounds and clean text, and the schemas they publish."""

from __future__ import annotations

from typing import Any

import pytest

from forum.api.parsing import ID_MAX, BodySpec, Flag, Integer, Text, TextList
from forum.errors import Invalid

NAME = Text("name", min_length=2, max_length=5)
COUNT = Integer("count", minimum=1, maximum=ID_MAX, nullable=True)
FLAG = Flag("flag")
WORDS = TextList("words", Text("words", max_length=3, pattern="[a-z]+"), max_items=2)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        (NAME, "ab", "ab"),
        (NAME, "abcde", "abcde"),
        (COUNT, 1, 1),
        (COUNT, ID_MAX, ID_MAX),
        (COUNT, 7.0, 7),
        (FLAG, False, False),
        (WORDS, [], []),
        (WORDS, ["ab", "c"], ["ab", "c"]),
    ],
)
def test_values_of_the_declared_type_and_bounds_pass(field: Any, value: Any, expected: Any) -> None:
    assert field.parse(value) == expected


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (NAME, "a", "name needs at least 2 characters."),
        (NAME, "abcdef", "name has at most 5 characters."),
        (NAME, 12, "name must be a string."),
        (NAME, "a\x00", "name must not contain NUL characters."),
        (NAME, "a\ud800", "name is not valid Unicode text."),
        (COUNT, 0, "count must be between 1 and 2147483647."),
        (COUNT, ID_MAX + 1, "count must be between 1 and 2147483647."),
        (COUNT, True, "count must be an integer."),
        (COUNT, 1.5, "count must be an integer."),
        (COUNT, float("inf"), "count must be an integer."),
        (COUNT, "1", "count must be an integer."),
        (FLAG, 1, "flag must be true or false."),
        (FLAG, "true", "flag must be true or false."),
        (WORDS, "ab", "words must be a list of strings."),
        (WORDS, ["a", "b", "c"], "words has at most 2 items."),
        (WORDS, ["ab\n"], "words has characters that are not allowed here."),
        (WORDS, ["AB"], "words has characters that are not allowed here."),
        (WORDS, [3], "words must be a string."),
    ],
)
def test_anything_else_is_invalid_with_a_message_naming_the_field(
    field: Any, value: Any, message: str
) -> None:
    with pytest.raises(Invalid) as caught:
        field.parse(value)
    assert caught.value.message == message and caught.value.field == field.name


def test_a_body_spec_checks_presence_nulls_and_the_need_for_one_change() -> None:
    spec = BodySpec("Thing", required=(NAME,), optional=(COUNT, FLAG))
    body = spec.parse({"name": "abc", "count": None, "extra": object()})
    assert body.get(NAME) == "abc" and body.get_optional(COUNT) is None
    assert body.get_optional(FLAG) is None
    with pytest.raises(Invalid, match="name is required"):
        spec.parse({"count": 3})
    with pytest.raises(Invalid, match="flag must be true or false"):
        spec.parse({"name": "abc", "flag": None})
    change = BodySpec("Change", optional=(NAME, FLAG), at_least_one=True)
    with pytest.raises(Invalid, match="Send at least one of: name, flag"):
        change.parse({"other": 1})
    assert change.parse({"flag": True}).get_optional(FLAG) is True


def test_the_published_schema_matches_the_parser() -> None:
    spec = BodySpec("Thing", required=(NAME,), optional=(COUNT, WORDS))
    assert spec.schema() == {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 5, "minLength": 2},
            "count": {"type": ["integer", "null"], "minimum": 1, "maximum": ID_MAX},
            "words": {
                "type": "array",
                "items": {"type": "string", "maxLength": 3, "pattern": "^(?:[a-z]+)$"},
                "maxItems": 2,
            },
        },
        "required": ["name"],
    }
