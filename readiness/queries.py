"""What the self-assessment pages read: an administration's submissions (through the policy:
404 when not visible), its progress, regional benchmarks (SQL aggregates with a threshold)
and knowledge that helps."""

from __future__ import annotations

from dataclasses import dataclass, field

from forum import policy
from forum.errors import NotFound
from forum.i18n import _
from forum.models import Administration, Category, Region, User
from forum.queries.sql import fetch
from readiness.models import Score, Submission, SubmissionStatus
from readiness.questionnaires import LEVELS, Catalogue, Questionnaire

THRESHOLD = 5  # administrations a group needs before any figure about it is shown
LINKS_PER_DIMENSION = 3
LINKS_PER_TECHNOLOGY = 5


async def access_submission(user: User | None, submission_id: int) -> Submission:
    """A submission its viewer may see, or NotFound (it may exist: that is not said)."""
    found = await Submission.get_or_none(id=submission_id)
    if found is None or not policy.can_see_readiness(user, found.administration_id):
        raise NotFound(_("Nothing here."))
    return found


async def levels_of(submission_ids: list[int]) -> dict[int, dict[str, int]]:
    rows = await Score.filter(submission_id__in=submission_ids).values_list(
        "submission_id", "dimension", "level"
    )
    levels: dict[int, dict[str, int]] = {}
    for sid, dimension, level in rows:
        levels.setdefault(sid, {})[dimension] = level
    return levels


async def submissions_of(administration_id: int) -> list[Submission]:
    """Drafts first, then submissions, newest first."""
    return await Submission.filter(administration_id=administration_id).order_by(
        "status", "-submitted_at", "-id"
    )


async def recent_submissions(limit: int = 50) -> list[tuple[Submission, Administration]]:
    """For administrators: the latest submissions of every administration."""
    found = (
        await Submission.filter(status=SubmissionStatus.SUBMITTED)
        .order_by("-submitted_at", "-id")
        .limit(limit)
        .select_related("administration")
    )
    return [(s, s.administration) for s in found]


@dataclass(frozen=True)
class ProgressPoint:
    submission: Submission
    levels: dict[str, int]


async def progress(administration_id: int, questionnaire_id: str) -> list[ProgressPoint]:
    """The administration's submitted assessments of one questionnaire, oldest first."""
    found = await Submission.filter(
        administration_id=administration_id,
        questionnaire=questionnaire_id,
        status=SubmissionStatus.SUBMITTED,
    ).order_by("submitted_at", "id")
    levels = await levels_of([s.id for s in found])
    return [ProgressPoint(s, levels.get(s.id, {})) for s in found]


# --- benchmarks ------------------------------------------------------------------------------

# The latest submission of each administration for one questionnaire.
_LATEST = (
    "FROM readiness_submissions s JOIN administrations a ON a.id = s.administration_id {join}"
    "WHERE s.questionnaire = ? AND s.status = 'submitted' AND NOT EXISTS ("
    "SELECT 1 FROM readiness_submissions l WHERE l.administration_id = s.administration_id "
    "AND l.questionnaire = s.questionnaire AND l.status = 'submitted' "
    "AND (l.submitted_at > s.submitted_at OR (l.submitted_at = s.submitted_at AND l.id > s.id)))"
)


@dataclass
class Group:
    """One region (or every region together) and its distribution of levels, when shown."""

    key: str  # a Region value, or "all"
    label: str
    shown: bool
    administrations: int = 0  # only meaningful when shown
    # dimension id -> counts of administrations at levels 1..5 (index 0 is level 1)
    distribution: dict[str, list[int]] = field(default_factory=dict)
    overall: list[int] = field(default_factory=lambda: [0] * len(LEVELS))


@dataclass(frozen=True)
class Benchmarks:
    questionnaire: Questionnaire
    dimensions: list[tuple[str, str]]  # (id, title) in the questionnaire's order
    groups: list[Group]  # "all" first, then every region


async def benchmarks(questionnaire: Questionnaire) -> Benchmarks:
    """The distribution of levels per dimension, by region and overall, from each
    administration's latest submission. A group is shown only with at least THRESHOLD
    administrations; "all regions" also only when the regions not shown hold none or at least
    THRESHOLD administrations (otherwise subtracting the shown regions from it would reveal
    the others). A group not shown carries no figure at all."""
    qid = questionnaire.id
    counts = await fetch(
        "SELECT a.region AS region, COUNT(*) AS n "
        + _LATEST.format(join="")
        + " GROUP BY a.region",
        qid,
    )
    by_region = {str(r["region"]): int(r["n"]) for r in counts}
    shown = {r for r, n in by_region.items() if n >= THRESHOLD}
    total = sum(by_region.values())
    hidden_total = total - sum(by_region[r] for r in shown)
    all_shown = total >= THRESHOLD and (hidden_total == 0 or hidden_total >= THRESHOLD)
    levels = await fetch(
        "SELECT a.region AS region, sc.dimension AS dimension, sc.level AS level, "
        "COUNT(*) AS n "
        + _LATEST.format(join="JOIN readiness_scores sc ON sc.submission_id = s.id ")
        + " GROUP BY a.region, sc.dimension, sc.level",
        qid,
    )
    overall = await fetch(
        "SELECT a.region AS region, s.overall AS level, COUNT(*) AS n "
        + _LATEST.format(join="")
        + " GROUP BY a.region, s.overall",
        qid,
    )
    dimensions = [(d.id, d.title) for d in questionnaire.dimensions]
    known = {d for d, _t in dimensions}
    for row in levels:
        if row["dimension"] not in known:  # a dimension of an older version
            known.add(str(row["dimension"]))
            dimensions.append((str(row["dimension"]), str(row["dimension"])))
    groups = [Group("all", _("All regions"), all_shown)]
    groups += [Group(r.value, r.value, r.value in shown) for r in Region]
    index = {g.key: g for g in groups}
    for g in groups:
        if g.shown:
            g.administrations = total if g.key == "all" else by_region[g.key]
            g.distribution = {d: [0] * len(LEVELS) for d, _t in dimensions}
    for row in levels:
        level = int(row["level"])
        for key in (str(row["region"]), "all"):
            group = index.get(key)
            if group is not None and group.shown and 1 <= level <= 5:
                group.distribution[str(row["dimension"])][level - 1] += int(row["n"])
    for row in overall:
        if row["level"] is None:
            continue
        level = int(row["level"])
        for key in (str(row["region"]), "all"):
            group = index.get(key)
            if group is not None and group.shown and 1 <= level <= 5:
                group.overall[level - 1] += int(row["n"])
    return Benchmarks(questionnaire, dimensions, groups)


# --- knowledge that helps --------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    title: str
    url: str
    summary: str


@dataclass(frozen=True)
class Helpful:
    by_dimension: dict[str, list[Link]]
    entries: list[Link]
    documents: list[Link]


async def helpful_links(questionnaire: Questionnaire) -> Helpful:
    """Published knowledge entries and documents about the questionnaire's technology; per
    dimension, the entries whose title or summary names one of its keywords."""
    category = await Category.get_or_none(slug=questionnaire.technology)
    if category is None:
        return Helpful({}, [], [])
    base = (
        "SELECT id, title, summary FROM knowledge_entries "
        "WHERE status = 'published' AND technology_id = ?"
    )
    entries = await fetch(
        f"{base} ORDER BY helpful_count DESC, id DESC LIMIT {LINKS_PER_TECHNOLOGY}", category.id
    )
    by_dimension: dict[str, list[Link]] = {}
    for dimension in questionnaire.dimensions:
        words = [w.lower() for w in dimension.keywords][:6]
        if not words:
            continue
        match = " OR ".join("LOWER(title) LIKE ? OR LOWER(summary) LIKE ?" for _w in words)
        args = [p for w in words for p in (f"%{w}%", f"%{w}%")]
        rows = await fetch(
            f"{base} AND ({match}) ORDER BY helpful_count DESC, id DESC "
            f"LIMIT {LINKS_PER_DIMENSION}",
            category.id,
            *args,
        )
        if rows:
            by_dimension[dimension.id] = [_entry(r) for r in rows]
    documents = await fetch(
        "SELECT d.id AS id, d.title AS title FROM knowledge_documents d "
        "JOIN knowledge_document_technologies t ON t.document_id = d.id "
        "WHERE t.technology_id = ? AND d.is_deleted = ? "
        f"ORDER BY d.created_at DESC, d.id DESC LIMIT {LINKS_PER_TECHNOLOGY}",
        category.id,
        False,
    )
    return Helpful(
        by_dimension,
        [_entry(r) for r in entries],
        [Link(str(r["title"]), f"/knowledge/documents/{r['id']}", "") for r in documents],
    )


def _entry(row: dict[str, object]) -> Link:
    return Link(str(row["title"]), f"/knowledge/entries/{row['id']}", str(row["summary"] or ""))


def version_of(catalogue: Catalogue, submission: Submission) -> Questionnaire:
    """The questionnaire version a submission answered (NotFound if no longer shipped)."""
    found = catalogue.get(submission.questionnaire, submission.version)
    if found is None:
        raise NotFound(_("The questionnaire this assessment answered is no longer available."))
    return found
