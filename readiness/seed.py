"""Demo self-assessments for `forum seed-demo`: six European administrations submitted the
AI/ML questionnaire (so the EUR benchmark shows), France twice, half a year apart (so its
progress chart has two points). The demo member answers for France. Idempotent: nothing is
added once any assessment exists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from forum.events import atomic
from forum.models import Administration, User
from readiness.models import Score, Submission, SubmissionStatus
from readiness.questionnaires import Questionnaire, load_catalogue, score

# country code -> level per dimension (strategy, data, infrastructure, skills, processes, legal)
DEMO_LEVELS = {
    "FR": (3, 3, 2, 2, 3, 4),
    "DE": (4, 3, 3, 3, 3, 4),
    "IT": (2, 2, 2, 1, 2, 3),
    "ES": (3, 2, 3, 2, 2, 3),
    "NL": (4, 4, 4, 3, 4, 4),
    "BE": (2, 3, 2, 2, 1, 2),
}
FRANCE_EARLIER = (2, 2, 1, 1, 2, 3)


def _answers(questionnaire: Questionnaire, levels: tuple[int, ...]) -> dict[str, int]:
    return {
        q.id: levels[index]
        for index, dimension in enumerate(questionnaire.dimensions)
        for q in dimension.questions
    }


async def _submit(
    questionnaire: Questionnaire, administration: Administration, levels: tuple[int, ...],
    by: User | None, when: datetime,
) -> None:  # fmt: skip
    answers = _answers(questionnaire, levels)
    scored = score(questionnaire, answers)
    submission = await Submission.create(
        administration_id=administration.id,
        questionnaire=questionnaire.id,
        version=questionnaire.version,
        status=SubmissionStatus.SUBMITTED,
        answers=answers,
        overall=scored.overall,
        created_by_id=by.id if by else None,
        submitted_by_id=by.id if by else None,
        submitted_at=when,
    )
    await Score.bulk_create(
        [Score(submission_id=submission.id, dimension=d, level=v) for d, v in scored.levels.items()]
    )


async def seed_demo_assessments(member: User | None) -> int:
    """The demo assessments; returns how many were created (0 when some already exist)."""
    if await Submission.exists():
        return 0
    questionnaire = load_catalogue().current("ai-ml")
    places = {
        a.country_code: a for a in await Administration.filter(country_code__in=list(DEMO_LEVELS))
    }
    if questionnaire is None or len(places) < len(DEMO_LEVELS):
        return 0
    now = datetime.now(UTC)
    created = 0
    async with atomic():
        france = places["FR"]
        if member is not None and member.administration_id is None:
            member.administration_id = france.id
            await member.save(update_fields=["administration_id"])
        await _submit(questionnaire, france, FRANCE_EARLIER, member, now - timedelta(days=180))
        created += 1
        for offset, (code, levels) in enumerate(DEMO_LEVELS.items()):
            by = member if code == "FR" else None
            await _submit(questionnaire, places[code], levels, by, now - timedelta(days=offset))
            created += 1
    return created
