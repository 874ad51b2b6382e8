"""Questionnaires are data files validated at start-up; scoring is the rounded-down median."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from forum.app import create_app
from forum.cli import main
from forum.settings import Settings
from readiness import questionnaires
from readiness.questionnaires import (
    QuestionnaireError,
    load_catalogue,
    median_down,
    parse_questionnaire,
    score,
)
from tests.readiness.support import copy_questionnaires


def test_shipped_questionnaires_are_valid_and_cover_the_six_dimensions() -> None:
    catalogue = load_catalogue()
    ai = catalogue.current("ai-ml")
    blockchain = catalogue.current("blockchain")
    assert ai is not None and blockchain is not None
    expected = ["strategy", "data", "infrastructure", "skills", "processes", "legal"]
    assert [d.id for d in ai.dimensions] == expected
    assert [d.id for d in blockchain.dimensions] == expected
    for q in (ai, blockchain):
        for dimension, question in q.questions():
            assert sorted(o.level for o in question.options) == [1, 2, 3, 4, 5]
            assert sorted(dimension.next_level) == [1, 2, 3, 4]


def test_median_rounded_down() -> None:
    assert median_down([3]) == 3
    assert median_down([1, 5, 2]) == 2
    assert median_down([2, 3]) == 2  # 2.5 rounded down
    assert median_down([1, 4]) == 2  # 2.5 rounded down
    assert median_down([4, 4, 5, 5]) == 4
    assert median_down([1, 2, 4, 5]) == 3


def test_score_per_dimension_and_overall() -> None:
    ai = load_catalogue().current("ai-ml")
    assert ai is not None
    answers = {}
    per_dimension = {"strategy": [4, 5], "data": [1, 2, 5], "infrastructure": [3, 3],
                     "skills": [2, 2], "processes": [5, 5], "legal": [1, 2]}  # fmt: skip
    for dimension in ai.dimensions:
        for question, level in zip(dimension.questions, per_dimension[dimension.id], strict=True):
            answers[question.id] = level
    scored = score(ai, answers)
    assert scored.levels == {"strategy": 4, "data": 2, "infrastructure": 3, "skills": 2,
                             "processes": 5, "legal": 1}  # fmt: skip
    # dimensions sorted: 1 2 2 3 4 5 -> the middle two are 2 and 3 -> 2.5 -> 2
    assert scored.overall == 2


SHIPPED = questionnaires.DATA_DIR


def _valid() -> dict[str, object]:
    return json.loads((SHIPPED / "blockchain" / "v1.json").read_text())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("title"), "'title' must be a non-empty string"),
        (lambda d: d.update(version=0), "'version' must be a positive integer"),
        (lambda d: d["dimensions"][0]["questions"][0]["options"][0].update(level=6),
         "option 1: 'level' must be one of 1, 2, 3, 4, 5"),
        (lambda d: d["dimensions"][0]["questions"][0]["options"][1].update(level=1),
         "level 1 is used by two options"),
        (lambda d: d["dimensions"][1]["next_level"].pop("3"),
         "dimension 'data': 'next_level' needs a text for level 3"),
        (lambda d: d["dimensions"][1]["questions"][0].update(id="bc-strategy"),
         "question 'bc-strategy': the id is used twice"),
        (lambda d: d.update(dimensions=[]), "'dimensions' must be a non-empty list"),
    ],
)  # fmt: skip
def test_validation_says_what_is_wrong_and_where(change: object, message: str) -> None:
    data = _valid()
    change(data)  # type: ignore[operator]
    with pytest.raises(ValueError) as caught:
        parse_questionnaire(data)
    assert message in str(caught.value)


def test_a_bad_file_stops_start_up_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = copy_questionnaires(tmp_path)
    bad = root / "blockchain" / "v1.json"
    data = json.loads(bad.read_text())
    data["dimensions"][2]["questions"][0]["options"][0]["level"] = 9
    bad.write_text(json.dumps(data))
    monkeypatch.setattr(questionnaires, "DATA_DIR", root)
    with pytest.raises(QuestionnaireError) as caught:
        create_app(Settings(database_url="sqlite://:memory:", secret_key="x"), manage_db=False)
    assert "questionnaire blockchain/v1.json: dimension 'infrastructure'" in str(caught.value)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "forum: error: questionnaire blockchain/v1.json" in err
    assert "'level' must be one of 1, 2, 3, 4, 5" in err

    bad.write_text("{not json")
    with pytest.raises(QuestionnaireError, match="blockchain/v1.json: not valid JSON"):
        load_catalogue(root)
    bad.write_text(json.dumps({**_valid(), "version": 3}))
    with pytest.raises(QuestionnaireError, match="do not match its folder and file name"):
        load_catalogue(root)
