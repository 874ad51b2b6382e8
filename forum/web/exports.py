"""The directory as files: CSV for spreadsheets, vCard 3.0 for address books.

Each holds exactly what the page shows: contact details only where the member chose to show
them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from forum.queries.directory import DirectoryEntry

CSV_COLUMNS = (
    "name",
    "administration",
    "country_code",
    "region",
    "position",
    "languages",
    "expertise",
    "email",
    "phone",
)


def csv_cell(value: str) -> str:
    """A spreadsheet must not run a cell as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def directory_csv(entries: Iterable[DirectoryEntry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        row = (
            entry.display_name,
            entry.administration,
            entry.country_code,
            entry.region,
            entry.position,
            entry.languages,
            "; ".join(entry.expertise),
            entry.email,
            entry.phone,
        )
        writer.writerow([csv_cell(value) for value in row])
    return out.getvalue()


def _escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace("\r\n", "\n")
        .replace("\n", "\\n")
        .replace(",", "\\,")
        .replace(";", "\\;")
    )


def _fold(line: str) -> str:
    """RFC 6350 line folding: at most 75 octets per line, continuation lines start with a space."""
    encoded = line.encode("utf-8")
    if len(encoded) <= 75:
        return line
    parts: list[str] = []
    current, size = "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > (75 if not parts else 74):
            parts.append(current)
            current, size = "", 0
        current += char
        size += width
    parts.append(current)
    return "\r\n ".join(parts)


def vcard(entry: DirectoryEntry) -> str:
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        f"FN:{_escape(entry.display_name)}",
        f"N:{_escape(entry.display_name)};;;;",
    ]
    if entry.administration:
        lines.append(f"ORG:{_escape(entry.administration)}")
    if entry.position:
        lines.append(f"TITLE:{_escape(entry.position)}")
    if entry.email:
        lines.append(f"EMAIL;TYPE=INTERNET,WORK:{_escape(entry.email)}")
    if entry.phone:
        lines.append(f"TEL;TYPE=WORK,VOICE:{_escape(entry.phone)}")
    if entry.country_code:
        lines.append(f"ADR;TYPE=WORK:;;;;;;{_escape(entry.country_code)}")
    note = []
    if entry.languages:
        note.append(f"Languages: {entry.languages}")
    if entry.expertise:
        note.append("Expertise: " + ", ".join(entry.expertise))
    if note:
        lines.append("NOTE:" + _escape("\n".join(note)))
    lines.append("END:VCARD")
    return "".join(_fold(line) + "\r\n" for line in lines)


def directory_vcards(entries: Iterable[DirectoryEntry]) -> str:
    return "".join(vcard(entry) for entry in entries)
