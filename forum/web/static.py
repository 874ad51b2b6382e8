"""The files under /static/, as served: styles and scripts minified once, at start-up.

`templates/static/` keeps the readable sources. `build_static` writes what is served into a
folder of its own (under the var folder): each `.css` through rcssmin and each `.js` through
rjsmin, anything else copied. Every built file takes its source's modification time, so the
ETag and Last-Modified that StaticFiles derives from size and time stay the same across
restarts and workers, and change when a source changes. Each file is written beside its place
and renamed over it, so a worker starting while another serves never shows half a file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import rcssmin
import rjsmin

_MINIFIERS: dict[str, Callable[[str], str]] = {
    ".css": rcssmin.cssmin,
    ".js": rjsmin.jsmin,
}


def served(source: Path) -> bytes:
    """The bytes served for one static file."""
    minify = _MINIFIERS.get(source.suffix)
    if minify is None:
        return source.read_bytes()
    return minify(source.read_text(encoding="utf-8")).encode()


def build_static(source: Path, target: Path) -> Path:
    """Writes every file of `source` (one level: the static folder has no subfolders) into
    `target` as it is served; returns `target`."""
    target.mkdir(parents=True, exist_ok=True)
    sources = [path for path in sorted(source.iterdir()) if path.is_file()]
    for gone in {p.name for p in target.iterdir()} - {p.name for p in sources}:
        if not gone.startswith("."):  # another worker's file being written
            (target / gone).unlink(missing_ok=True)
    for path in sources:
        body = served(path)
        stat = path.stat()
        fd, temporary = tempfile.mkstemp(dir=target, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(body)
            os.utime(temporary, ns=(stat.st_atime_ns, stat.st_mtime_ns))
            os.chmod(temporary, 0o644)
            os.replace(temporary, target / path.name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    return target
