"""Shared by the test_entries_* files: entries written, submitted and decided through the real
actions, and every API response checked against the OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from forum.models import Administration, Region, ReviewItem, ReviewKind, ReviewStatus, User
from knowledge.entries import EntryInput, do_create_entry, do_submit_entry
from knowledge.models import KnowledgeEntry
from moderation import review
from tests.api.conftest import check_response

FULL: dict[str, str] = {
    "kind": "best_practice",
    "technology": "ai-ml",
    "stage": "pilot",
    "maturity": "3",
    "language": "en",
    "title": "Explainable risk scores for front-line officers",
    "summary": "Officers trusted the model once each flag came with its three main reasons.",
    "context": "Our targeting unit screened **40,000** declarations a day by hand-written rules.",
    "what_was_done": "We trained a gradient-boosted model and showed SHAP reasons per flag.",
    "outcome": "Seizure rate per inspection rose from 4% to 9% in the pilot ports.",
    "lessons": "Label quality mattered more than the algorithm.",
    "costs_risks": "Two data scientists for a year; drift must be watched quarterly.",
    "links": "https://example.org/report Pilot report",
}


@pytest.fixture(autouse=True)
def _api_follows_the_document(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every response of the `client` fixture is checked against the OpenAPI document."""
    if "client" not in request.fixturenames:
        yield
        return
    client: httpx.AsyncClient = request.getfixturevalue("client")
    client.event_hooks["response"].append(check_response)
    yield
    client.event_hooks["response"].remove(check_response)


async def administration(code: str = "KE") -> Administration:
    names = {
        "KE": ("Kenya Revenue Authority", Region.ESA),
        "FR": ("French Customs", Region.EUR),
        "SG": ("Singapore Customs", Region.AP),
        "BR": ("Receita Federal", Region.AMS),
    }
    name, region = names[code]
    found, _created = await Administration.get_or_create(
        country_code=code, defaults={"name": name, "region": region}
    )
    return found


async def place(user: User, code: str = "KE") -> User:
    """Give the member an administration (entries take theirs and its region)."""
    found = await administration(code)
    await User.filter(id=user.id).update(administration_id=found.id)
    user.administration_id = found.id
    return user


def typed(**changes: Any) -> EntryInput:
    return EntryInput(**{**FULL, **{k: str(v) for k, v in changes.items()}})


async def draft(author: User, **changes: Any) -> KnowledgeEntry:
    return await do_create_entry(author, typed(**changes))


async def pending_item(entry: KnowledgeEntry) -> ReviewItem:
    item = await ReviewItem.get(
        entry_id=entry.id, kind=ReviewKind.KNOWLEDGE_ENTRY, status=ReviewStatus.PENDING
    )
    return item


async def submitted(author: User, **changes: Any) -> KnowledgeEntry:
    entry = await draft(author, **changes)
    await do_submit_entry(author, entry)
    return entry


async def published(author: User, moderator: User, **changes: Any) -> KnowledgeEntry:
    entry = await submitted(author, **changes)
    await review.do_decide(moderator, (await pending_item(entry)).id, "approve")
    return await KnowledgeEntry.get(id=entry.id)
