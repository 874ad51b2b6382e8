"""The self-assessment's pages (server-rendered, no JavaScript needed):

    /readiness                          choose a questionnaire; your administration's assessments
    /readiness/{questionnaire}/take     the form: save a draft or submit (errors beside fields)
    /readiness/results/{id}             one result: levels, the rule, what the next level needs
    /readiness/progress                 levels per dimension across your submissions (SVG)
    /readiness/benchmarks(.csv)         anonymised distributions by WCO region

Visitors are sent to log in; accounts outside the restricted area get 404, like the directory.
"""

from __future__ import annotations

import csv
import io

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from forum import policy
from forum.auth import require_member
from forum.errors import BadRequest, NotFound
from forum.i18n import _
from forum.models import Administration, User
from forum.web.exports import csv_cell
from forum.web.forms import parse_id, path_id, read_form, redirect
from forum.web.templating import render
from readiness import charts
from readiness.actions import InvalidAnswers, current_draft, do_save_assessment
from readiness.models import Submission, SubmissionStatus
from readiness.queries import (
    THRESHOLD,
    Benchmarks,
    access_submission,
    benchmarks,
    helpful_links,
    levels_of,
    progress,
    recent_submissions,
    submissions_of,
    version_of,
)
from readiness.questionnaires import (
    LEVEL_NAMES,
    LEVELS,
    SCORING_RULE,
    Catalogue,
    Questionnaire,
    load_catalogue,
)


def catalogue(request: Request) -> Catalogue:
    found = getattr(request.app.state, "questionnaires", None)
    if found is None:
        found = request.app.state.questionnaires = load_catalogue()
    assert isinstance(found, Catalogue)
    return found


def _pick(request: Request, cat: Catalogue) -> Questionnaire:
    wanted = request.query_params.get("questionnaire", "ai-ml")
    found = cat.current(wanted)
    if found is None:
        raise NotFound(_("There is no such questionnaire."))
    return found


def level_label(level: int | None) -> str:
    if level is None:
        return ""
    return f"{level} {_(LEVEL_NAMES[level])}"


async def index(request: Request) -> Response:
    user = require_member(request)
    cat = catalogue(request)
    own: list[Submission] = []
    administration = None
    if user.administration_id is not None:
        administration = await Administration.get_or_none(id=user.administration_id)
        own = await submissions_of(user.administration_id)
    recent = await recent_submissions() if policy.is_admin(user) else []
    return render(
        request,
        "readiness/index.html",
        {
            "questionnaires": cat.all_current(),
            "catalogue": cat,
            "administration": administration,
            "submissions": own,
            "recent": recent,
            "can_take": policy.can_take_readiness(user),
            "level_label": level_label,
        },
    )


async def take(request: Request) -> Response:
    user = require_member(request)
    cat = catalogue(request)
    questionnaire = cat.current(request.path_params["questionnaire"])
    if questionnaire is None:
        raise NotFound(_("There is no such questionnaire."))
    if request.method == "POST":
        form = await read_form(request)
        action = form.get("action", "draft")
        if action not in ("draft", "submit"):
            raise BadRequest(_("Choose to save a draft or to submit."))
        try:
            saved = await do_save_assessment(
                user, cat, questionnaire.id, form, submit=action == "submit"
            )
        except InvalidAnswers as exc:
            return _form(request, questionnaire, user, exc.answers, exc.errors, exc.message, 422)
        if saved.status == SubmissionStatus.SUBMITTED:
            return redirect(f"/readiness/results/{saved.id}")
        return redirect(f"/readiness/{questionnaire.id}/take?saved=1")
    answers: dict[str, int] = {}
    if policy.can_take_readiness(user):
        assert user.administration_id is not None
        draft = await current_draft(user.administration_id, questionnaire.id)
        if draft is not None:
            answers = dict(draft.answers)
        else:  # a re-take starts from the last submission's answers
            last = (
                await Submission.filter(
                    administration_id=user.administration_id,
                    questionnaire=questionnaire.id,
                    status=SubmissionStatus.SUBMITTED,
                )
                .order_by("-submitted_at", "-id")
                .first()
            )
            if last is not None:
                answers = dict(last.answers)
    return _form(request, questionnaire, user, answers, {}, "", 200)


def _form(
    request: Request,
    questionnaire: Questionnaire,
    user: User,
    answers: dict[str, int],
    errors: dict[str, str],
    message: str,
    status: int,
) -> Response:
    return render(
        request,
        "readiness/take.html",
        {
            "questionnaire": questionnaire,
            "answers": answers,
            "errors": {k: _(v) for k, v in errors.items()},
            "error": {"message": message} if message else None,
            "saved": request.query_params.get("saved") == "1" and status == 200,
            "can_take": policy.can_take_readiness(user),
            "level_names": LEVEL_NAMES,
        },
        status=status,
    )


async def result(request: Request) -> Response:
    user = require_member(request)
    submission = await access_submission(user, path_id(request))
    cat = catalogue(request)
    questionnaire = version_of(cat, submission)
    administration = await Administration.get(id=submission.administration_id)
    levels = (await levels_of([submission.id])).get(submission.id, {})
    rows = []
    for dimension in questionnaire.dimensions:
        level = levels.get(dimension.id)
        rows.append(
            {
                "dimension": dimension,
                "level": level,
                "next": dimension.next_level.get(level) if level else None,
            }
        )
    chart = None
    if submission.status == SubmissionStatus.SUBMITTED:
        chart = charts.bar_chart(
            _("Levels per dimension"),
            _("Maturity level (1 to 5) reached in each dimension by this assessment."),
            [d.title for d in questionnaire.dimensions],
            [
                charts.Series(
                    _("Level"), tuple(float(levels.get(d.id, 0)) for d in questionnaire.dimensions)
                )
            ],
            max_value=5,
            ticks=[0, 1, 2, 3, 4, 5],
        )
    current = cat.current(questionnaire.id)
    return render(
        request,
        "readiness/result.html",
        {
            "submission": submission,
            "questionnaire": questionnaire,
            "newer_version": current is not None and current.version > questionnaire.version,
            "administration": administration,
            "rows": rows,
            "chart": chart,
            "rule": _(SCORING_RULE),
            "helpful": await helpful_links(questionnaire),
            "level_label": level_label,
            "answer_text": {
                q.id: next(
                    (o.text for o in q.options if o.level == submission.answers.get(q.id)), ""
                )
                for _d, q in questionnaire.questions()
            },
        },
    )


async def progress_page(request: Request) -> Response:
    user = require_member(request)
    cat = catalogue(request)
    questionnaire = _pick(request, cat)
    wanted = parse_id(request.query_params.get("administration"))
    administration_id = wanted if wanted is not None else user.administration_id
    if administration_id is None or not policy.can_see_readiness(user, administration_id):
        if wanted is not None:
            raise NotFound(_("Nothing here."))
        administration = None
        points = []
    else:
        administration = await Administration.get_or_none(id=administration_id)
        if administration is None:
            raise NotFound(_("Nothing here."))
        points = await progress(administration_id, questionnaire.id)
    dimensions = [(d.id, d.title) for d in questionnaire.dimensions]
    labels = [
        p.submission.submitted_at.strftime("%Y-%m-%d") if p.submission.submitted_at else ""
        for p in points
    ]
    series = [
        charts.Series(title, tuple(float(p.levels.get(did, 0)) for p in points))
        for did, title in dimensions
    ]
    chart = None
    if points:
        chart = charts.bar_chart(
            _("Levels per dimension over time"),
            _(
                "For each submitted assessment (by date), the maturity level from 1 to 5 "
                "reached in each dimension."
            ),
            labels,
            series,
            max_value=5,
            ticks=[0, 1, 2, 3, 4, 5],
            height=300,
        )
    return render(
        request,
        "readiness/progress.html",
        {
            "questionnaire": questionnaire,
            "questionnaires": cat.all_current(),
            "administration": administration,
            "points": points,
            "labels": labels,
            "dimensions": dimensions,
            "chart": chart,
            "level_label": level_label,
        },
    )


def _benchmark_charts(data: Benchmarks) -> dict[str, object]:
    segments = [level_label(level) for level in LEVELS]
    found: dict[str, object] = {}
    for group in data.groups:
        if not group.shown:
            continue
        rows = [title for _d, title in data.dimensions] + [_("Overall")]
        values = [group.distribution[d] for d, _t in data.dimensions] + [group.overall]
        found[group.key] = charts.stacked_bars(
            _("Distribution of levels: %(group)s") % {"group": group.label},
            _(
                "For each dimension, how many of the %(n)d administrations reached each "
                "maturity level (latest submission of each)."
            )
            % {"n": group.administrations},
            rows,
            segments,
            values,
        )
    return found


async def benchmarks_page(request: Request) -> Response:
    require_member(request)
    cat = catalogue(request)
    questionnaire = _pick(request, cat)
    data = await benchmarks(questionnaire)
    return render(
        request,
        "readiness/benchmarks.html",
        {
            "questionnaire": questionnaire,
            "questionnaires": cat.all_current(),
            "data": data,
            "charts": _benchmark_charts(data),
            "threshold": THRESHOLD,
            "levels": LEVELS,
            "level_label": level_label,
        },
    )


async def benchmarks_csv(request: Request) -> Response:
    require_member(request)
    cat = catalogue(request)
    questionnaire = _pick(request, cat)
    data = await benchmarks(questionnaire)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["questionnaire", "version", "group", "administrations", "dimension",
                     *[f"level_{level}" for level in LEVELS]])  # fmt: skip
    for group in data.groups:
        if not group.shown:
            continue
        for did, _title in [*data.dimensions, ("overall", "")]:
            counts = group.overall if did == "overall" else group.distribution[did]
            writer.writerow(
                [csv_cell(str(v)) for v in (questionnaire.id, questionnaire.version, group.key,
                                             group.administrations, did, *counts)]
            )  # fmt: skip
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="readiness-{questionnaire.id}.csv"'},
    )


routes: list[BaseRoute] = [
    Route("/readiness", index, methods=["GET"]),
    Route("/readiness/progress", progress_page, methods=["GET"]),
    Route("/readiness/benchmarks", benchmarks_page, methods=["GET"]),
    Route("/readiness/benchmarks.csv", benchmarks_csv, methods=["GET"]),
    Route("/readiness/results/{id:int}", result, methods=["GET"]),
    Route("/readiness/{questionnaire}/take", take, methods=["GET", "POST"]),
]
