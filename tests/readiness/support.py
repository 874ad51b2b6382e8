"""Administrations, members of them, and submissions made through the real action."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from forum.models import Administration, Region, Role, User
from readiness.actions import do_save_assessment
from readiness.models import Submission
from readiness.questionnaires import DATA_DIR, Catalogue, Questionnaire, load_catalogue
from tests.helpers import make_user


async def administration(code: str, region: Region = Region.EUR) -> Administration:
    return await Administration.create(name=f"Customs of {code}", country_code=code, region=region)


async def ncp(username: str, admin: Administration | None, *, role: Role = Role.MEMBER) -> User:
    user = await make_user(username, role=role)
    user.administration_id = admin.id if admin is not None else None
    await user.save()
    return user


def all_at(questionnaire: Questionnaire, level: int) -> dict[str, str]:
    """A form answering every question at `level` (or the nearest level offered)."""
    form = {}
    for _d, q in questionnaire.questions():
        levels = sorted(o.level for o in q.options)
        form[f"q-{q.id}"] = str(min(levels, key=lambda x: abs(x - level)))
    return form


async def submit(
    user: User,
    levels: dict[str, int] | int,
    *,
    catalogue: Catalogue | None = None,
    qid: str = "ai-ml",
    when: datetime | None = None,
) -> Submission:
    """Submit with every question of a dimension at that dimension's level."""
    cat = catalogue or load_catalogue()
    questionnaire = cat.current(qid)
    assert questionnaire is not None
    form = {}
    for dimension, q in questionnaire.questions():
        level = levels if isinstance(levels, int) else levels[dimension.id]
        form[f"q-{q.id}"] = str(level)
    return await do_save_assessment(
        user, cat, qid, form, submit=True, now=when or datetime.now(UTC)
    )


def copy_questionnaires(tmp: Path, edit: dict[str, Any] | None = None) -> Path:
    """The shipped questionnaires in `tmp`, plus (with `edit`) an ai-ml v2 made by applying
    `edit` to v1's data."""
    root = tmp / "questionnaires"
    for folder in DATA_DIR.iterdir():
        if folder.is_dir() and folder.name != "__pycache__":
            (root / folder.name).mkdir(parents=True)
            for path in folder.glob("*.json"):
                (root / folder.name / path.name).write_text(path.read_text())
    if edit is not None:
        data = json.loads((root / "ai-ml" / "v1.json").read_text())
        data.update(edit)
        data["version"] = 2
        (root / "ai-ml" / "v2.json").write_text(json.dumps(data))
    return root


def parse_svg(markup: str) -> ET.Element:
    """One of our own charts, as XML (the markup is the app's, not a stranger's)."""
    return ET.fromstring(markup)  # noqa: S314
