"""A small, valid PDF written by hand: one A4 page per paragraph of plain text (Helvetica).

For the demo seed and tests; real documents come from their authors.
"""

from __future__ import annotations

import textwrap


def _escape(text: str) -> str:
    latin = text.encode("latin-1", "replace").decode("latin-1")
    return latin.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _page_stream(title: str, paragraph: str) -> bytes:
    lines = [f"BT /F1 18 Tf 56 780 Td ({_escape(title)}) Tj ET"]
    y = 740
    for line in textwrap.wrap(paragraph, 85) or [""]:
        lines.append(f"BT /F1 11 Tf 56 {y} Td ({_escape(line)}) Tj ET")
        y -= 16
    return "\n".join(lines).encode("latin-1")


def make_pdf(title: str, paragraphs: list[str]) -> bytes:
    """A PDF with a title and its paragraphs, one per page, with a correct cross-reference
    table (every object's byte offset) and trailer."""
    pages = paragraphs or [""]
    count = len(pages)
    # 1 catalog, 2 pages, 3 font, then for each page: its page object and its content stream.
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(count))
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for i, paragraph in enumerate(pages):
        stream = _page_stream(title, paragraph)
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {5 + 2 * i} 0 R"
            " /Resources << /Font << /F1 3 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
