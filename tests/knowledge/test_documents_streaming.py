"""An upload reaches the store as it arrives: the body is never gathered in memory first, and
a file past the limit is refused while it streams, without reading the rest."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from forum.settings import Settings
from knowledge.models import Document
from knowledge.storage import store_dir
from tests.helpers import log_in, make_user
from tests.knowledge.documents_helpers import (
    TEST_MAX_BYTES,
    nothing_left,
    pdf,
    small_limits,  # noqa: F401 (the settings fixture)
)

BOUNDARY = "streamed-boundary"
CHUNK = 8 * 1024


def _head(name: str) -> bytes:
    fields = {"title": "Streamed study", "doc_type": "study", "language": "en"}
    head = b"".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    )
    return (
        head
        + (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
    )


def _spooled(settings: Settings) -> int:
    root = store_dir(settings)
    if not root.exists():
        return 0
    return sum(p.stat().st_size for p in root.iterdir() if p.name.startswith("incoming-"))


async def test_the_file_is_on_disk_before_the_body_ends(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = await log_in(client, await make_user("alice"))
    content = pdf(size=40_000)
    seen: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        yield _head("streamed.pdf")
        for start in range(0, len(content), CHUNK):
            seen.append(_spooled(settings))  # what the server wrote before this chunk
            yield content[start : start + CHUNK]
        yield f"\r\n--{BOUNDARY}--\r\n".encode()

    response = await client.post(
        f"/knowledge/documents/new?csrf_token={token}",
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        content=body(),
    )
    assert response.status_code == 303, response.text
    assert seen[0] == 0 and seen[3] >= 2 * CHUNK  # chunks were written as they came
    assert await Document.all().count() == 1 and _spooled(settings) == 0


async def test_an_oversized_stream_is_cut_off_and_removed(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = await log_in(client, await make_user("alice"))
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        yield _head("huge.pdf") + b"%PDF-1.4\n"
        for _ in range(400):  # 3.2 MiB, far over the test limit
            sent += 1
            yield b"x" * CHUNK

    response = await client.post(
        f"/knowledge/documents/new?csrf_token={token}",
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        content=body(),
    )
    assert response.status_code == 413
    assert "larger than the limit" in response.text
    assert sent <= TEST_MAX_BYTES // CHUNK + 2  # the rest was never read
    assert await nothing_left(settings)
