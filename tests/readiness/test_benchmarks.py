"""Regional benchmarks: anonymised distributions from each administration's latest
submission, shown only for groups of at least five administrations (page and CSV)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import httpx

from forum.models import Region, User
from tests.helpers import log_in
from tests.readiness.support import administration, ncp, submit
from tests.readiness.test_assessment import svg_bars

LEVELS = {"strategy": 2, "data": 3, "infrastructure": 2, "skills": 1, "processes": 2, "legal": 4}


async def _eur_members(count: int) -> list[User]:
    codes = ["FR", "DE", "IT", "ES", "PT", "NL", "BE"]
    return [await ncp(f"ncp{i}", await administration(codes[i])) for i in range(count)]


def _section(html: str, key: str) -> str:
    return html.split(f'id="group-{key}"')[1].split("</section>")[0]


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_four_administrations_show_nothing_five_show_the_distribution(
    db: str, client: httpx.AsyncClient
) -> None:
    members = await _eur_members(5)
    for member in members[:4]:
        await submit(member, LEVELS)
    await log_in(client, members[0])

    page = await client.get("/readiness/benchmarks")
    assert page.status_code == 200
    eur = _section(page.text, "EUR")
    assert "fewer than 5 administrations of this region have submitted" in eur
    assert "<table" not in eur and 'class="chart' not in eur and "4 administrations" not in eur
    assert 'class="chart' not in page.text  # no chart about anyone, all regions included
    rows = _csv((await client.get("/readiness/benchmarks.csv")).text)
    assert rows == []

    # The fifth: EUR and all regions are shown, with exact counts.
    await submit(members[4], {**LEVELS, "data": 5})
    page = await client.get("/readiness/benchmarks")
    eur = _section(page.text, "EUR")
    assert "5 administrations" in eur
    assert re.search(r"Data</th><td>0</td><td>0</td><td>4</td><td>0</td><td>1</td>", eur)
    assert re.search(r"Skills and capacity building</th><td>5</td>(<td>0</td>){4}", eur)
    bars = {(b.get("data-label"), b.get("data-series")): b for b in svg_bars(eur)}
    assert bars[("Data", "3 Operational")].get("data-value") == "4"
    assert bars[("Data", "5 Transformational")].get("data-value") == "1"
    # A distribution: widths in proportion to the counts within the row.
    w3 = float(bars[("Data", "3 Operational")].get("width") or 0)
    w5 = float(bars[("Data", "5 Transformational")].get("width") or 0)
    assert abs(w3 / w5 - 4) < 0.01
    assert "5 administrations" in _section(page.text, "all")
    assert "fewer than 5" in _section(page.text, "AMS")

    rows = _csv((await client.get("/readiness/benchmarks.csv")).text)
    by_group = {(r["group"], r["dimension"]): r for r in rows}
    assert {g for g, _d in by_group} == {"all", "EUR"}
    data = by_group[("EUR", "data")]
    assert (data["administrations"], data["level_3"], data["level_5"]) == ("5", "4", "1")
    assert by_group[("EUR", "overall")]["level_2"] == "5"


async def test_only_the_latest_submission_counts_and_small_remainders_hide_the_total(
    db: str, client: httpx.AsyncClient
) -> None:
    members = await _eur_members(5)
    earlier = datetime.now(UTC) - timedelta(days=200)
    for member in members:
        await submit(member, 1, when=earlier)
        await submit(member, 4)  # each re-took it: only this one counts
    kenya = await ncp("kenyan", await administration("KE", Region.ESA))
    await submit(kenya, 5)
    await log_in(client, members[0])
    page = await client.get("/readiness/benchmarks")
    eur = _section(page.text, "EUR")
    assert re.search(r"Strategy and governance</th>(<td>0</td>){3}<td>5</td><td>0</td>", eur)
    # All regions minus EUR would be the Kenyan administration alone: the total is hidden.
    assert "<table" not in _section(page.text, "all")
    assert "fewer than 5" in _section(page.text, "ESA")
    rows = _csv((await client.get("/readiness/benchmarks.csv")).text)
    assert {r["group"] for r in rows} == {"EUR"}


async def test_benchmarks_belong_to_the_restricted_area(db: str, client: httpx.AsyncClient) -> None:
    assert (await client.get("/readiness/benchmarks")).status_code in (302, 303)
    assert (await client.get("/readiness/benchmarks.csv")).status_code in (302, 303)
    member = await ncp("someone", None)
    await log_in(client, member)
    assert (await client.get("/readiness/benchmarks?questionnaire=nope")).status_code == 404
    blockchain = await client.get("/readiness/benchmarks?questionnaire=blockchain")
    assert blockchain.status_code == 200 and "Blockchain readiness" in blockchain.text
