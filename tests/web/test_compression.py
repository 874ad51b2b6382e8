"""Text answers travel gzipped when the client accepts it; downloads, small answers and the
WebSocket are left as they are (forum/compression.py)."""

from __future__ import annotations

import gzip

import httpx

from forum.models import Role
from forum.settings import Settings
from tests.helpers import categories, log_in, make_user
from tests.knowledge.documents_helpers import (
    make_document,
    pdf,
    small_limits,  # noqa: F401 (the settings fixture)
)
from tests.realtime.support import ORIGIN, client, cookie_for, serving

GZIP = {"accept-encoding": "gzip, deflate"}
PLAIN = {"accept-encoding": "identity"}


async def raw(http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> httpx.Response:
    """The answer as sent: its bytes before httpx would decode them."""
    async with http.stream("GET", url, headers=headers) as response:
        response._content = b"".join([chunk async for chunk in response.aiter_raw()])
    return response


async def test_pages_styles_and_json_are_gzipped_for_clients_that_accept_it(
    client: httpx.AsyncClient,
) -> None:
    await categories()
    await log_in(client, await make_user("alice"))
    for url in ("/", "/c/iot", "/static/forum.css", "/static/live.js", "/api/v1/categories"):
        packed = await raw(client, url, GZIP)
        assert packed.status_code == 200, url
        assert packed.headers["content-encoding"] == "gzip", url
        assert "accept-encoding" in packed.headers["vary"].lower(), url
        assert packed.content[:2] == b"\x1f\x8b", url
        assert int(packed.headers["content-length"]) == len(packed.content), url
        plain = await raw(client, url, PLAIN)
        assert "content-encoding" not in plain.headers, url
        assert len(packed.content) < len(plain.content) / 2, url  # text shrinks a lot
        if url.startswith("/static/"):
            assert gzip.decompress(packed.content) == plain.content, url


async def test_small_answers_and_downloads_are_sent_as_they_are(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await categories()
    alice = await make_user("alice")
    content = pdf(size=20_000)
    document = await make_document(settings, alice, data=content, file_name="study.pdf")
    await log_in(client, alice)

    download = await raw(client, f"/knowledge/documents/{document.id}/versions/1/download", GZIP)
    assert download.status_code == 200
    assert "content-encoding" not in download.headers
    assert download.content == content  # byte for byte, with its length
    assert download.headers["content-length"] == str(len(content))

    health = await raw(client, "/healthz", GZIP)  # a few bytes of JSON
    assert "content-encoding" not in health.headers and health.json()["database"] == "ok"


async def test_a_streamed_export_is_still_streamed_and_readable_gzipped(
    client: httpx.AsyncClient,
) -> None:
    admin = await make_user("admin", role=Role.ADMIN)
    for n in range(30):
        await make_user(f"member{n}")
    await log_in(client, admin)
    async with client.stream("GET", "/admin/audit.csv", headers=GZIP) as response:
        assert response.status_code == 200
        assert response.headers["content-encoding"] == "gzip"
        assert "content-length" not in response.headers  # streamed, chunk by chunk
        text = "".join([chunk async for chunk in response.aiter_text()])
    lines = text.splitlines()
    assert lines[0].startswith("id,time,actor") and len(lines) > 1


async def test_the_live_socket_works_for_a_browser_that_accepts_gzip(
    settings: Settings,
) -> None:
    alice = await make_user("alice")
    headers = {**await cookie_for(alice), **GZIP}
    async with serving(settings) as served, client(served, headers=headers, origin=ORIGIN) as ws:
        _before, answer = await ws.subscribe("user")
        assert answer["channels"] == ["user"]
