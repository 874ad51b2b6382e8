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


# Lower-case words that belong to the family name that follows them ("Ludwig van Beethoven").
_PARTICLES = frozenset(
    {"al", "bin", "binti", "da", "das", "de", "del", "della", "den", "der", "des", "di", "do",
     "dos", "du", "el", "ibn", "la", "le", "op", "st", "ten", "ter", "van", "von", "zu"}
)  # fmt: skip


def name_parts(display_name: str) -> tuple[str, str]:
    """(family name, given names) of a display name, for vCard's `N:`. The forum stores one
    name, so: "Family, Given" as written; else a family name in capitals ("DUPONT Jean",
    the WCO's convention) wherever it stands; else the last word with the particles before
    it ("Ana María Example" -> Example / Ana María, "Ludwig van Beethoven" -> van Beethoven)."""
    name = " ".join(display_name.split())
    if "," in name:
        family, _comma, given = name.partition(",")
        return family.strip(), given.strip()
    words = name.split(" ")
    if len(words) < 2:
        return name, ""
    capitals = [w.isupper() and sum(c.isalpha() for c in w) > 1 for w in words]
    if any(capitals) and not all(capitals):
        family = " ".join(w for w, cap in zip(words, capitals, strict=True) if cap)
        given = " ".join(w for w, cap in zip(words, capitals, strict=True) if not cap)
        return family, given
    start = len(words) - 1
    while start > 1 and words[start - 1] in _PARTICLES:
        start -= 1
    return " ".join(words[start:]), " ".join(words[:start])


def vcard(entry: DirectoryEntry) -> str:
    family, given = name_parts(entry.display_name)
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        f"FN:{_escape(entry.display_name)}",
        f"N:{_escape(family)};{_escape(given)};;;",
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
