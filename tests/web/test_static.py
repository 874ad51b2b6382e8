"""Styles and scripts are served minified, built once at start-up from the readable sources in
templates/static/, and keep answering conditional requests (forum/web/static.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx
from starlette.applications import Starlette

from forum.app import TEMPLATES_DIR, create_app
from forum.settings import Settings
from forum.web.static import build_static

SOURCES = TEMPLATES_DIR / "static"
PLAIN = {"Accept-Encoding": "identity"}


async def test_styles_and_scripts_are_served_minified_and_the_rest_as_it_is(
    client: httpx.AsyncClient,
) -> None:
    for name in ("forum.css", "live.js", "composer.js", "attach.js", "search.js"):
        source = (SOURCES / name).read_bytes()
        answer = await client.get(f"/static/{name}", headers=PLAIN)
        assert answer.status_code == 200, name
        assert len(answer.content) < 0.8 * len(source), name
        assert b"/*" not in answer.content and b"\n  " not in answer.content, name
    assert b"\n  " in (SOURCES / "live.js").read_bytes()  # the sources stay readable
    svg = await client.get("/static/link.svg", headers=PLAIN)
    assert svg.content == (SOURCES / "link.svg").read_bytes()


async def test_a_static_file_answers_304_to_its_etag_in_every_worker(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    first = await client.get("/static/live.js")
    etag = first.headers["etag"]
    again = await client.get("/static/live.js", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""

    other = create_app(settings, manage_db=False)  # another worker, which builds them again
    transport = httpx.ASGITransport(app=other)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as worker:
        assert (await worker.get("/static/live.js")).headers["etag"] == etag
        cached = await worker.get("/static/live.js", headers={"If-None-Match": etag})
        assert cached.status_code == 304


def test_a_changed_source_changes_the_etag_and_a_removed_one_is_no_longer_served(
    tmp_path: Path,
) -> None:
    source, target = tmp_path / "src", tmp_path / "built"
    source.mkdir()
    (source / "a.js").write_text("/* a comment */\nfunction  f ( x ) {\n  return x ;\n}\n")
    (source / "gone.css").write_text("p { color: red; }\n")
    build_static(source, target)
    assert (target / "a.js").read_text() == "function f(x){return x;}"
    assert (target / "a.js").stat().st_mtime_ns == (source / "a.js").stat().st_mtime_ns

    (source / "gone.css").unlink()
    later = (source / "a.js").stat().st_mtime_ns + 1_000_000_000
    (source / "a.js").write_text("function g(){}\n")
    os.utime(source / "a.js", ns=(later, later))
    build_static(source, target)
    assert (target / "a.js").read_text() == "function g(){}"
    assert (target / "a.js").stat().st_mtime_ns == later
    assert not (target / "gone.css").exists()


def test_every_minified_script_still_parses(tmp_path: Path) -> None:
    """rjsmin reads JavaScript by its own rules (a regular expression right after `=>` once
    came out broken): every built script must still be JavaScript. Node.js parses them;
    `make test` installs it when missing, so this fails rather than skips without it."""
    assert shutil.which("node"), "Node.js is needed to parse the scripts: run `make test`"
    for script in sorted(build_static(SOURCES, tmp_path).glob("*.js")):
        check = subprocess.run(
            ["node", "--check", str(script)], capture_output=True, text=True, check=False
        )
        assert check.returncode == 0, f"{script.name}: {check.stderr}"
