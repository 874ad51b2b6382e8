"""Questionnaires are data: one JSON file per version, `questionnaires/<id>/v<N>.json`,
shipped with the package and validated when the app starts (a bad file stops start-up with
a message naming the file and what is wrong in it).

Every version ever shipped stays in the folder: a submission names the id and version it
answered, and is scored and shown with that version, whatever was edited since. A new
version of a questionnaire is a new file; the newest is the one members take.

Scoring (`score`), stated on every result page:
- a question's answer is the maturity level (1-5) of the option chosen;
- a dimension's level is the median of its answers, rounded down;
- the overall level is the median of the dimensions' levels, rounded down.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forum.i18n import N_
from forum.settings import SettingsError

DATA_DIR = Path(__file__).resolve().parent / "questionnaires"

LEVELS = (1, 2, 3, 4, 5)
LEVEL_NAMES = {
    1: N_("Initial"),
    2: N_("Experimental"),
    3: N_("Operational"),
    4: N_("Advanced"),
    5: N_("Transformational"),
}
SCORING_RULE = N_(
    "Each answer counts as the maturity level of the option chosen. A dimension's level is "
    "the median of its answers, rounded down; the overall level is the median of the "
    "dimensions' levels, rounded down."
)
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_FILE = re.compile(r"^v([1-9][0-9]{0,3})\.json$")


class QuestionnaireError(SettingsError):
    """A questionnaire file is malformed: start-up stops with this message."""


@dataclass(frozen=True)
class Option:
    level: int
    text: str


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    help: str
    options: tuple[Option, ...]


@dataclass(frozen=True)
class Dimension:
    id: str
    title: str
    questions: tuple[Question, ...]
    next_level: dict[int, str]  # level reached -> what the next level needs
    keywords: tuple[str, ...]  # to find knowledge entries that help


@dataclass(frozen=True)
class Questionnaire:
    id: str
    version: int
    technology: str  # a category slug: knowledge entries and documents are matched by it
    title: str
    description: str
    dimensions: tuple[Dimension, ...]

    def questions(self) -> list[tuple[Dimension, Question]]:
        return [(d, q) for d in self.dimensions for q in d.questions]

    def dimension(self, dimension_id: str) -> Dimension | None:
        return next((d for d in self.dimensions if d.id == dimension_id), None)


@dataclass(frozen=True)
class Catalogue:
    """Every version of every questionnaire, by id; the newest version is taken."""

    versions: dict[str, dict[int, Questionnaire]]

    def current(self, questionnaire_id: str) -> Questionnaire | None:
        found = self.versions.get(questionnaire_id)
        return found[max(found)] if found else None

    def get(self, questionnaire_id: str, version: int) -> Questionnaire | None:
        return self.versions.get(questionnaire_id, {}).get(version)

    def all_current(self) -> list[Questionnaire]:
        found = [self.current(q) for q in sorted(self.versions)]
        return [q for q in found if q is not None]


def _text(data: dict[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = data.get(key, "" if not required else None)
    if not isinstance(value, str) or (required and not value.strip()):
        raise ValueError(f"{where}: '{key}' must be a non-empty string")
    return value.strip()


def _list(data: dict[str, Any], key: str, where: str) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list) or not value:
        raise ValueError(f"{where}: '{key}' must be a non-empty list")
    return value


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{where}: must be an object")
    return value


def parse_questionnaire(data: Any) -> Questionnaire:
    """A questionnaire from its decoded JSON, or ValueError saying what is wrong and where."""
    data = _object(data, "the file")
    qid = _text(data, "id", "the file")
    if not _ID.match(qid):
        raise ValueError(f"'id' {qid!r} must be lowercase letters, digits and hyphens")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError("'version' must be a positive integer")
    dimensions: list[Dimension] = []
    seen_questions: set[str] = set()
    for d_index, raw_dim in enumerate(_list(data, "dimensions", "the file"), start=1):
        where = f"dimension {d_index}"
        raw_dim = _object(raw_dim, where)
        did = _text(raw_dim, "id", where)
        if not _ID.match(did):
            raise ValueError(f"{where}: 'id' {did!r} must be lowercase letters, digits, hyphens")
        where = f"dimension {did!r}"
        if any(d.id == did for d in dimensions):
            raise ValueError(f"{where}: the id is used twice")
        questions: list[Question] = []
        for q_index, raw_q in enumerate(_list(raw_dim, "questions", where), start=1):
            q_where = f"{where}, question {q_index}"
            raw_q = _object(raw_q, q_where)
            question_id = _text(raw_q, "id", q_where)
            if not _ID.match(question_id):
                raise ValueError(f"{q_where}: 'id' {question_id!r} is not a valid id")
            q_where = f"{where}, question {question_id!r}"
            if question_id in seen_questions:
                raise ValueError(f"{q_where}: the id is used twice")
            seen_questions.add(question_id)
            options: list[Option] = []
            for o_index, raw_o in enumerate(_list(raw_q, "options", q_where), start=1):
                o_where = f"{q_where}, option {o_index}"
                raw_o = _object(raw_o, o_where)
                level = raw_o.get("level")
                if level not in LEVELS or isinstance(level, bool):
                    raise ValueError(f"{o_where}: 'level' must be one of 1, 2, 3, 4, 5")
                if any(o.level == level for o in options):
                    raise ValueError(f"{o_where}: level {level} is used by two options")
                options.append(Option(level=level, text=_text(raw_o, "text", o_where)))
            if len(options) < 2:
                raise ValueError(f"{q_where}: needs at least two options")
            questions.append(
                Question(
                    id=question_id,
                    text=_text(raw_q, "text", q_where),
                    help=_text(raw_q, "help", q_where, required=False),
                    options=tuple(options),
                )
            )
        raw_next = _object(raw_dim.get("next_level"), f"{where}: 'next_level'")
        next_level: dict[int, str] = {}
        for level in LEVELS[:-1]:
            text = raw_next.get(str(level))
            if not isinstance(text, str) or not text.strip():
                raise ValueError(
                    f"{where}: 'next_level' needs a text for level {level} (what level "
                    f"{level + 1} needs)"
                )
            next_level[level] = text.strip()
        keywords = raw_dim.get("keywords", [])
        if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
            raise ValueError(f"{where}: 'keywords' must be a list of strings")
        dimensions.append(
            Dimension(
                id=did,
                title=_text(raw_dim, "title", where),
                questions=tuple(questions),
                next_level=next_level,
                keywords=tuple(k.strip() for k in keywords if k.strip()),
            )
        )
    return Questionnaire(
        id=qid,
        version=version,
        technology=_text(data, "technology", "the file"),
        title=_text(data, "title", "the file"),
        description=_text(data, "description", "the file", required=False),
        dimensions=tuple(dimensions),
    )


def load_catalogue(directory: Path | None = None) -> Catalogue:
    """Every questionnaire file under `directory`, validated; QuestionnaireError otherwise."""
    root = directory or DATA_DIR
    versions: dict[str, dict[int, Questionnaire]] = {}
    if not root.is_dir():
        raise QuestionnaireError(f"questionnaires: {root} is not a folder")
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "__pycache__"):
        for path in sorted(folder.iterdir()):
            name = f"{folder.name}/{path.name}"
            match = _FILE.match(path.name)
            if not match:
                raise QuestionnaireError(
                    f"questionnaire {name}: the file must be named v<version>.json"
                )
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise QuestionnaireError(f"questionnaire {name}: not valid JSON: {exc}") from exc
            try:
                questionnaire = parse_questionnaire(data)
            except ValueError as exc:
                raise QuestionnaireError(f"questionnaire {name}: {exc}") from exc
            if questionnaire.id != folder.name or questionnaire.version != int(match.group(1)):
                raise QuestionnaireError(
                    f"questionnaire {name}: its id and version ({questionnaire.id!r}, "
                    f"{questionnaire.version}) do not match its folder and file name"
                )
            versions.setdefault(questionnaire.id, {})[questionnaire.version] = questionnaire
    if not versions:
        raise QuestionnaireError(f"questionnaires: no questionnaire file under {root}")
    return Catalogue(versions=versions)


def median_down(values: list[int]) -> int:
    """The median, rounded down (of an even count: the mean of the two middle values,
    rounded down)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) // 2


@dataclass(frozen=True)
class Scored:
    levels: dict[str, int]  # dimension id -> level
    overall: int


def score(questionnaire: Questionnaire, answers: dict[str, int]) -> Scored:
    """The levels of a complete set of answers (see the module's docstring)."""
    levels = {
        d.id: median_down([answers[q.id] for q in d.questions]) for d in questionnaire.dimensions
    }
    return Scored(levels=levels, overall=median_down(list(levels.values())))


def check_answers(
    questionnaire: Questionnaire, form: dict[str, str], *, complete: bool
) -> tuple[dict[str, int], dict[str, str]]:
    """The answers in a form (`q-<question id>` = level) and the errors by question id. A
    draft may leave questions out; a submission must answer every one."""
    answers: dict[str, int] = {}
    errors: dict[str, str] = {}
    for _dimension, question in questionnaire.questions():
        raw = form.get(f"q-{question.id}", "").strip()
        if not raw:
            if complete:
                errors[question.id] = N_("Choose an answer to submit.")
            continue
        allowed = {str(o.level): o.level for o in question.options}
        if raw not in allowed:
            errors[question.id] = N_("That is not one of the answers offered.")
            continue
        answers[question.id] = allowed[raw]
    return answers, errors
