"""Fixtures of the knowledge space's tests. Documents' limits are small here, so that a test
of the size limit or the quota need not write 25 MiB."""

from __future__ import annotations

from dataclasses import replace

import pytest

from forum.settings import Settings
from tests.knowledge.documents_helpers import TEST_MAX_BYTES, TEST_QUOTA_BYTES


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(
        settings, document_max_bytes=TEST_MAX_BYTES, document_quota_bytes=TEST_QUOTA_BYTES
    )
