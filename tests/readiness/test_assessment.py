"""Taking the self-assessment through the pages: drafts, submissions, results scored with
the version they answered, privacy across administrations, progress over time."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from starlette.applications import Starlette

from forum.models import Region, Role
from readiness.models import Score, Submission, SubmissionStatus
from readiness.questionnaires import load_catalogue
from tests.helpers import log_in, make_user
from tests.readiness.support import (
    administration,
    all_at,
    copy_questionnaires,
    ncp,
    parse_svg,
    submit,
)

SVG = "{http://www.w3.org/2000/svg}"


def svg_bars(html: str, index: int = 0) -> list[ET.Element]:
    svgs = re.findall(r'<svg [^>]*class="chart .*?</svg>', html, re.S)  # charts, not icons
    root = parse_svg(svgs[index])
    return root.findall(f"{SVG}rect[@class='bar']")


async def test_draft_then_submit_with_errors_next_to_fields(
    db: str, client: httpx.AsyncClient
) -> None:
    france = await administration("FR")
    alice = await ncp("alice", france)
    csrf = await log_in(client, alice)
    ai = load_catalogue().current("ai-ml")
    assert ai is not None

    page = await client.get("/readiness")
    assert page.status_code == 200
    assert 'href="/readiness/ai-ml/take"' in page.text and "Blockchain readiness" in page.text

    form = await client.get("/readiness/ai-ml/take")
    assert form.status_code == 200
    assert 'name="q-strategy-vision"' in form.text

    # A draft may be partial, and is shown again.
    draft = await client.post(
        "/readiness/ai-ml/take",
        data={"csrf_token": csrf, "action": "draft", "q-strategy-vision": "3"},
    )
    assert draft.status_code == 303
    saved = await Submission.get(administration_id=france.id)
    assert saved.status == SubmissionStatus.DRAFT and saved.answers == {"strategy-vision": 3}
    again = await client.get("/readiness/ai-ml/take?saved=1")
    assert "Draft saved." in again.text
    assert re.search(r'name="q-strategy-vision" value="3" checked', again.text)

    # Submitting needs every answer; the errors stand beside their questions.
    incomplete = await client.post(
        "/readiness/ai-ml/take",
        data={"csrf_token": csrf, "action": "submit", "q-strategy-vision": "3",
              "q-data-quality": "7"},
    )  # fmt: skip
    assert incomplete.status_code == 422
    assert 'id="error-data-quality">That is not one of the answers offered.' in incomplete.text
    assert 'id="error-legal-ethics">Choose an answer to submit.' in incomplete.text
    assert re.search(r'name="q-strategy-vision" value="3" checked', incomplete.text)
    assert (await Submission.get(id=saved.id)).status == SubmissionStatus.DRAFT

    answers = all_at(ai, 3)
    answers["q-data-availability"] = "1"
    answers["q-data-quality"] = "2"
    answers["q-data-labels"] = "2"
    done = await client.post(
        "/readiness/ai-ml/take", data={"csrf_token": csrf, "action": "submit", **answers}
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/readiness/results/{saved.id}"  # the draft, submitted
    result = await client.get(done.headers["location"])
    assert result.status_code == 200
    assert "Overall level: <strong>3 Operational</strong>" in result.text
    assert "the median of its answers, rounded down" in result.text
    # Data is at 2: what level 3 needs is the questionnaire's text for level 2.
    data_dimension = ai.dimension("data")
    assert data_dimension is not None
    assert data_dimension.next_level[2] in result.text
    bars = svg_bars(result.text)
    assert [(b.get("data-label"), b.get("data-value")) for b in bars] == [
        ("Strategy and governance", "3"), ("Data", "2"), ("Infrastructure", "3"),
        ("Skills and capacity building", "3"), ("Processes", "3"), ("Legal and ethics", "3"),
    ]  # fmt: skip
    # Knowledge tables are empty: the page says so and links nothing.
    assert "No knowledge entries or documents about this technology yet." in result.text
    assert "/knowledge/" not in result.text


async def test_a_questionnaire_edited_between_two_submissions(
    db: str, app: Starlette, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    france = await administration("FR")
    alice = await ncp("alice", france)
    csrf = await log_in(client, alice)
    v1 = load_catalogue(copy_questionnaires(tmp_path / "one"))
    app.state.questionnaires = v1
    ai1 = v1.current("ai-ml")
    assert ai1 is not None
    first = await client.post(
        "/readiness/ai-ml/take", data={"csrf_token": csrf, "action": "submit", **all_at(ai1, 4)}
    )
    first_url = first.headers["location"]

    # Version 2 keeps one dimension only, and its answers mean other levels: option texts are
    # the same but the first is now level 5.
    data = ai1.dimensions[0]
    edited = {
        "title": "AI and machine learning readiness (2027)",
        "dimensions": [
            {
                "id": data.id,
                "title": data.title,
                "keywords": [],
                "next_level": {str(k): v for k, v in data.next_level.items()},
                "questions": [
                    {"id": "strategy-2027", "text": "One question in 2027.",
                     "options": [{"level": 5, "text": "All in."}, {"level": 1, "text": "No."}]},
                ],
            }
        ],
    }  # fmt: skip
    v2 = load_catalogue(copy_questionnaires(tmp_path / "two", edited))
    app.state.questionnaires = v2
    second = await client.post(
        "/readiness/ai-ml/take",
        data={"csrf_token": csrf, "action": "submit", "q-strategy-2027": "1"},
    )
    assert second.status_code == 303

    old, new = await Submission.filter(administration_id=france.id).order_by("id")
    assert (old.version, old.overall) == (1, 4)
    assert (new.version, new.overall) == (2, 1)
    assert await Score.filter(submission_id=old.id).count() == 6
    assert await Score.filter(submission_id=new.id).count() == 1
    page = await client.get(first_url)
    assert "questionnaire version 1" in page.text
    assert "AI and machine learning readiness:" in page.text  # v1's title
    assert "scored with that version" in page.text
    assert "Overall level: <strong>4 Advanced</strong>" in page.text
    assert [b.get("data-value") for b in svg_bars(page.text)] == ["4"] * 6
    newer = await client.get(second.headers["location"])
    assert "AI and machine learning readiness (2027)" in newer.text
    assert "Overall level: <strong>1 Initial</strong>" in newer.text


async def test_results_are_private_to_the_administration_and_administrators(
    db: str, client: httpx.AsyncClient
) -> None:
    france, kenya = await administration("FR"), await administration("KE", Region.ESA)
    alice = await ncp("alice", france)
    bob = await ncp("bob", kenya)
    carol = await ncp("carol", france)
    mine = await submit(alice, 3)
    url = f"/readiness/results/{mine.id}"

    assert (await client.get(url)).status_code in (302, 303)  # visitors: log in
    await log_in(client, bob)
    assert (await client.get(url)).status_code == 404
    assert (await client.get(f"/readiness/results/{mine.id + 1000}")).status_code == 404
    other = await client.get(f"/readiness/progress?administration={france.id}")
    assert other.status_code == 404
    assert "Customs of FR" not in (await client.get("/readiness")).text

    await log_in(client, carol)  # another NCP of the same administration
    assert (await client.get(url)).status_code == 200

    moderator = await ncp("mod", kenya, role=Role.MODERATOR)
    await log_in(client, moderator)
    assert (await client.get(url)).status_code == 404  # moderators are not the Secretariat

    admin_no_2fa = await make_user("lax", role=Role.ADMIN, two_factor=False)
    await log_in(client, admin_no_2fa)
    assert (await client.get(url)).status_code == 404

    admin = await make_user("root", role=Role.ADMIN)
    await log_in(client, admin)
    assert (await client.get(url)).status_code == 200
    index = await client.get("/readiness")
    assert f'href="/readiness/results/{mine.id}"' in index.text  # the latest submissions list
    assert (await client.get(f"/readiness/progress?administration={france.id}")).status_code == 200

    unverified = await make_user("eve", verified=False)
    await log_in(client, unverified)
    assert (await client.get(url)).status_code == 404
    assert (await client.get("/readiness")).status_code == 404


async def test_progress_over_time(db: str, client: httpx.AsyncClient) -> None:
    france = await administration("FR")
    alice = await ncp("alice", france)
    start = datetime(2026, 3, 2, 10, tzinfo=UTC)
    await submit(alice, {"strategy": 1, "data": 2, "infrastructure": 1, "skills": 1,
                         "processes": 2, "legal": 1}, when=start)  # fmt: skip
    await submit(alice, {"strategy": 3, "data": 2, "infrastructure": 4, "skills": 2,
                         "processes": 3, "legal": 5}, when=start + timedelta(days=180))  # fmt: skip
    await log_in(client, alice)
    page = await client.get("/readiness/progress")
    assert page.status_code == 200
    bars = svg_bars(page.text)
    drawn = {(b.get("data-label"), b.get("data-series")): b for b in bars}
    assert len(drawn) == 12
    assert drawn[("2026-03-02", "Strategy and governance")].get("data-value") == "1"
    assert drawn[("2026-08-29", "Strategy and governance")].get("data-value") == "3"
    assert drawn[("2026-08-29", "Legal and ethics")].get("data-value") == "5"
    # Heights are proportional to the level on a 0-5 scale.
    full = float(drawn[("2026-08-29", "Legal and ethics")].get("height") or 0)
    four = float(drawn[("2026-08-29", "Infrastructure")].get("height") or 0)
    one = float(drawn[("2026-03-02", "Strategy and governance")].get("height") or 0)
    assert full > 0 and abs(four / full - 0.8) < 0.01 and abs(one / full - 0.2) < 0.01
    # The same figures as a table beside the chart.
    table = page.text.split('id="progress-table"')[1].split("</table>")[0]
    assert re.search(r"Legal and ethics</th><td>1</td><td>5</td>", table)
    assert re.search(r"Overall</th><td>1</td><td>3</td>", table)
    svg = re.findall(r'<svg [^>]*class="chart .*?</svg>', page.text, re.S)[0]
    assert 'role="img"' in svg and "<title id=" in svg and "<desc id=" in svg
    tid, did = re.search(r'aria-labelledby="([^" ]+) ([^"]+)"', svg).groups()  # type: ignore[union-attr]
    assert f'<title id="{tid}">Levels per dimension over time</title>' in svg
    assert f'<desc id="{did}">' in svg


async def test_members_without_administration_cannot_take_it(
    db: str, client: httpx.AsyncClient
) -> None:
    loner = await ncp("loner", None)
    csrf = await log_in(client, loner)
    page = await client.get("/readiness")
    assert "set it on your profile first" in page.text
    answer = await client.post(
        "/readiness/ai-ml/take", data={"csrf_token": csrf, "action": "submit"}
    )
    assert answer.status_code == 403
    assert await Submission.all().count() == 0
    assert (await client.get("/readiness/nothing/take")).status_code == 404
    bad = await client.post("/readiness/ai-ml/take", data={"csrf_token": csrf, "action": "x"})
    assert bad.status_code == 400


async def test_results_link_knowledge_about_the_technology(
    db: str, client: httpx.AsyncClient
) -> None:
    from knowledge.models import (
        AdoptionStage,
        Document,
        DocumentTechnology,
        DocumentType,
        EntryKind,
        EntryStatus,
        KnowledgeEntry,
    )
    from tests.helpers import categories

    cats = await categories()
    france = await administration("FR")
    alice = await ncp("alice", france)

    async def entry(title: str, status: EntryStatus, slug: str = "ai-ml") -> KnowledgeEntry:
        return await KnowledgeEntry.create(
            kind=EntryKind.LESSON_LEARNED, status=status, author_id=alice.id,
            technology_id=cats[slug].id, stage=AdoptionStage.PILOT, maturity=2, title=title,
            summary="What we learnt.",
        )  # fmt: skip

    quality = await entry("Data quality before training", EntryStatus.PUBLISHED)
    general = await entry("Our first model in production", EntryStatus.PUBLISHED)
    draft = await entry("Unpublished data notes", EntryStatus.DRAFT)
    other = await entry("Ledger data pilot", EntryStatus.PUBLISHED, "blockchain")
    document = await Document.create(
        title="WCO study on AI", doc_type=DocumentType.STUDY, uploaded_by_id=alice.id
    )
    await DocumentTechnology.create(document_id=document.id, technology_id=cats["ai-ml"].id)
    removed = await Document.create(
        title="Withdrawn study", doc_type=DocumentType.STUDY, uploaded_by_id=alice.id,
        is_deleted=True,
    )  # fmt: skip
    await DocumentTechnology.create(document_id=removed.id, technology_id=cats["ai-ml"].id)

    mine = await submit(alice, 2)
    await log_in(client, alice)
    page = await client.get(f"/readiness/results/{mine.id}")
    assert page.status_code == 200
    helps = page.text.split("Knowledge that helps")[1].split("<h2>Answers")[0]
    data_part = helps.split("<h3>Data</h3>")[1].split("</ul>")[0]
    assert f'href="/knowledge/entries/{quality.id}"' in data_part
    assert f'href="/knowledge/entries/{general.id}"' not in data_part
    assert f'href="/knowledge/entries/{general.id}"' in helps
    assert f'href="/knowledge/entries/{draft.id}"' not in helps
    assert f'href="/knowledge/entries/{other.id}"' not in helps
    assert f'href="/knowledge/documents/{document.id}"' in helps
    assert f'href="/knowledge/documents/{removed.id}"' not in helps
    assert 'href="/readiness">Readiness</a>' in page.text  # in the restricted area's navigation


async def test_a_second_questionnaire_and_a_retake_prefilled_from_the_last(
    db: str, client: httpx.AsyncClient
) -> None:
    france = await administration("FR")
    alice = await ncp("alice", france)
    csrf = await log_in(client, alice)
    blockchain = load_catalogue().current("blockchain")
    assert blockchain is not None
    answers = all_at(blockchain, 2)
    answers["q-bc-legal"] = "5"
    done = await client.post(
        "/readiness/blockchain/take", data={"csrf_token": csrf, "action": "submit", **answers}
    )
    assert done.status_code == 303
    result = await client.get(done.headers["location"])
    assert "Blockchain readiness: Customs of FR" in result.text
    assert "Overall level: <strong>2 Experimental</strong>" in result.text
    assert [b.get("data-value") for b in svg_bars(result.text)] == ["2"] * 5 + ["5"]
    # Taking it again starts from the last answers; a new submission leaves the first alone.
    again = await client.get("/readiness/blockchain/take")
    assert re.search(r'name="q-bc-legal" value="5" checked', again.text)
    answers["q-bc-legal"] = "3"
    await client.post(
        "/readiness/blockchain/take", data={"csrf_token": csrf, "action": "submit", **answers}
    )
    first, second = await Submission.filter(questionnaire="blockchain").order_by("id")
    assert first.answers["bc-legal"] == 5 and second.answers["bc-legal"] == 3
    index = await client.get("/readiness")
    assert index.text.count('href="/readiness/results/') == 2


async def test_a_draft_begun_on_an_older_version_is_finished_on_the_newest(
    db: str, app: Starlette, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    france = await administration("FR")
    alice = await ncp("alice", france)
    csrf = await log_in(client, alice)
    app.state.questionnaires = load_catalogue(copy_questionnaires(tmp_path / "one"))
    await client.post(
        "/readiness/ai-ml/take",
        data={"csrf_token": csrf, "action": "draft", "q-strategy-vision": "4"},
    )
    v2 = load_catalogue(copy_questionnaires(tmp_path / "two", {"title": "AI readiness v2"}))
    app.state.questionnaires = v2
    form = await client.get("/readiness/ai-ml/take")
    assert "AI readiness v2" in form.text and "Version 2." in form.text
    assert re.search(r'name="q-strategy-vision" value="4" checked', form.text)
    ai2 = v2.current("ai-ml")
    assert ai2 is not None
    await client.post(
        "/readiness/ai-ml/take", data={"csrf_token": csrf, "action": "submit", **all_at(ai2, 3)}
    )
    only = await Submission.get(administration_id=france.id)
    assert (only.version, only.status, only.overall) == (2, SubmissionStatus.SUBMITTED, 3)
