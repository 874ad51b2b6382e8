"""Every write of the self-assessment: saving a draft and submitting it (scored then, with the
version answered). Pages and the demo seed call these."""

from __future__ import annotations

from datetime import UTC, datetime

from forum import policy
from forum.errors import Forbidden, Invalid, NotFound
from forum.events import atomic
from forum.i18n import _
from forum.models import User
from readiness.models import Score, Submission, SubmissionStatus
from readiness.questionnaires import Catalogue, Questionnaire, check_answers, score


class InvalidAnswers(Invalid):
    """Some answers are missing or not offered: `errors` maps question ids to messages."""

    def __init__(self, errors: dict[str, str], answers: dict[str, int]) -> None:
        super().__init__(_("Some answers need your attention."))
        self.errors = errors
        self.answers = answers


def current_questionnaire(catalogue: Catalogue, questionnaire_id: str) -> Questionnaire:
    questionnaire = catalogue.current(questionnaire_id)
    if questionnaire is None:
        raise NotFound(_("There is no such questionnaire."))
    return questionnaire


async def current_draft(administration_id: int, questionnaire_id: str) -> Submission | None:
    return (
        await Submission.filter(
            administration_id=administration_id,
            questionnaire=questionnaire_id,
            status=SubmissionStatus.DRAFT,
        )
        .order_by("-id")
        .first()
    )


async def do_save_assessment(
    user: User | None,
    catalogue: Catalogue,
    questionnaire_id: str,
    form: dict[str, str],
    *,
    submit: bool,
    now: datetime | None = None,
) -> Submission:
    """Save the answers in `form` (`q-<question id>` = level) as the administration's draft of
    the current version, and with `submit` score and submit it. A submission must answer
    every question (InvalidAnswers otherwise, nothing changes); a draft may be partial."""
    if not policy.can_take_readiness(user):
        raise Forbidden(
            _("Set your administration on your profile to answer for it.")
            if policy.is_member(user)
            else _("Only verified members may take the self-assessment.")
        )
    assert user is not None and user.administration_id is not None
    questionnaire = current_questionnaire(catalogue, questionnaire_id)
    answers, errors = check_answers(questionnaire, form, complete=submit)
    if errors:
        raise InvalidAnswers(errors, answers)
    when = now or datetime.now(UTC)
    async with atomic():
        draft = await current_draft(user.administration_id, questionnaire.id)
        if draft is None:
            draft = await Submission.create(
                administration_id=user.administration_id,
                questionnaire=questionnaire.id,
                version=questionnaire.version,
                answers=answers,
                created_by_id=user.id,
            )
        else:
            # A draft begun on an older version is carried over to the current one.
            draft.version = questionnaire.version
            draft.answers = answers
        if submit:
            scored = score(questionnaire, answers)
            draft.status = SubmissionStatus.SUBMITTED
            draft.overall = scored.overall
            draft.submitted_at = when
            draft.submitted_by_id = user.id
            await Score.bulk_create(
                [
                    Score(submission_id=draft.id, dimension=dimension, level=level)
                    for dimension, level in scored.levels.items()
                ]
            )
        await draft.save()
    return draft
