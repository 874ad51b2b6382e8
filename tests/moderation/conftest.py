"""API responses in the moderation tests are checked against the OpenAPI document too."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.api.conftest import check_response


@pytest.fixture(autouse=True)
def _responses_follow_the_document(request: pytest.FixtureRequest) -> Iterator[None]:
    if "client" not in request.fixturenames:
        yield
        return
    client: httpx.AsyncClient = request.getfixturevalue("client")
    client.event_hooks["response"].append(check_response)
    yield
    client.event_hooks["response"].remove(check_response)
