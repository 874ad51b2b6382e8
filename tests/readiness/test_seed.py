"""`forum seed-demo` leaves enough assessments for the EUR benchmark, once."""

from __future__ import annotations

import re

import httpx

from forum.models import User
from forum.seed import seed_demo
from readiness.models import Submission
from tests.helpers import log_in


async def test_demo_assessments_show_the_eur_benchmark_and_are_seeded_once(
    db: str, client: httpx.AsyncClient
) -> None:
    first = await seed_demo("a demo password for tests")
    assert first.created_assessments == 7
    again = await seed_demo("a demo password for tests")
    assert again.created_assessments == 0
    assert await Submission.all().count() == 7

    member = await User.get(username="member")
    assert member.administration_id is not None
    await log_in(client, member)
    page = await client.get("/readiness/benchmarks")
    eur = page.text.split('id="group-EUR"')[1].split("</section>")[0]
    assert "6 administrations" in eur and 'class="chart' in eur
    progress = await client.get("/readiness/progress")
    table = progress.text.split('id="progress-table"')[1].split("</table>")[0]
    assert re.search(r"Overall</th><td>2</td><td>3</td>", table)  # France, twice
