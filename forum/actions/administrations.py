"""WCO member administrations: checks, administrators' edits, the CSV import and the default list.

The CSV import is all or nothing. A malformed *file* (not UTF-8, not CSV, wrong header) raises
`MalformedFile`; a well-formed file with any rejected *line* (wrong column count, unknown region,
bad country code, a duplicate) is refused as a whole: the report still says, line by line, what
would have been added or changed and why each rejected line was rejected, and nothing is written.
Administrations absent from the file are left as they are (an import never deletes).
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tortoise.exceptions import IntegrityError

from forum.actions.audit import record_audit
from forum.errors import Conflict, Invalid
from forum.events import atomic
from forum.i18n import _
from forum.iso3166 import is_country_code
from forum.models import Administration, Region, User

HEADER = ("name", "country_code", "region")
DEFAULT_CSV = Path(__file__).resolve().parent.parent / "data" / "administrations.csv"
MAX_IMPORT_BYTES = 1024 * 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

Outcome = Literal["added", "changed", "unchanged", "rejected"]


class MalformedFile(Invalid):
    """The file as a whole cannot be read as the administrations CSV."""


@dataclass(frozen=True)
class AdministrationData:
    name: str
    country_code: str
    region: Region


def check_name(name: str) -> str:
    name = " ".join(name.split())
    if not 2 <= len(name) <= 200 or _CONTROL.search(name):
        raise Invalid(_("A name has 2 to 200 characters."), field="name")
    return name


def check_country_code(code: str) -> str:
    code = code.strip().upper()
    if not is_country_code(code):
        raise Invalid(
            _("“{code}” is not an ISO 3166-1 alpha-2 country code.").format(code=code[:10]),
            field="country_code",
        )
    return code


def check_region(value: str) -> Region:
    try:
        return Region(value.strip().upper())
    except ValueError:
        known = ", ".join(region.value for region in Region)
        raise Invalid(
            _("Unknown WCO region “{region}” (use one of {known}).").format(
                region=value.strip()[:20], known=known
            ),
            field="region",
        ) from None


def check_administration(name: str, country_code: str, region: str) -> AdministrationData:
    return AdministrationData(
        check_name(name), check_country_code(country_code), check_region(region)
    )


@dataclass(frozen=True)
class ImportLine:
    number: int
    outcome: Outcome
    message: str
    data: AdministrationData | None = None


@dataclass
class ImportReport:
    lines: list[ImportLine] = field(default_factory=list)
    applied: bool = False

    def having(self, outcome: Outcome) -> list[ImportLine]:
        return [line for line in self.lines if line.outcome == outcome]

    @property
    def refused(self) -> bool:
        return bool(self.having("rejected"))

    def summary(self) -> str:
        counts = ", ".join(
            f"{len(self.having(outcome))} {outcome}"
            for outcome in ("added", "changed", "unchanged", "rejected")
        )
        return counts


def read_rows(content: bytes) -> list[tuple[int, list[str]]]:
    """The data rows of an administrations CSV with their line numbers, or MalformedFile."""
    if len(content) > MAX_IMPORT_BYTES:
        raise MalformedFile(_("The file is larger than 1 MiB."))
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedFile(
            _("The file is not UTF-8 text (byte {offset}).").format(offset=exc.start)
        ) from None
    if "\x00" in text:
        raise MalformedFile(_("The file is not a CSV text file (it contains NUL bytes)."))
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    try:
        for row in reader:
            if not row or all(not cell.strip() for cell in row):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in row]
                if tuple(header) != HEADER:
                    raise MalformedFile(
                        _("Line {n}: the header must be exactly “{header}”.").format(
                            n=reader.line_num, header=",".join(HEADER)
                        )
                    )
                continue
            rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise MalformedFile(
            _("Line {n}: not valid CSV ({problem}).").format(n=reader.line_num, problem=exc)
        ) from None
    if header is None:
        raise MalformedFile(_("The file is empty."))
    return rows


async def plan_import(content: bytes) -> ImportReport:
    """What importing this file would do, line by line, without writing anything."""
    rows = read_rows(content)
    existing = {a.country_code: a for a in await Administration.all()}
    names = {a.name.casefold(): a.country_code for a in existing.values()}
    seen_codes: dict[str, int] = {}
    seen_names: dict[str, int] = {}
    report = ImportReport()

    def reject(number: int, message: str) -> None:
        report.lines.append(ImportLine(number, "rejected", message))

    for number, row in rows:
        if len(row) != len(HEADER):
            reject(number, _("expected 3 columns, found {n}").format(n=len(row)))
            continue
        try:
            data = check_administration(*row)
        except Invalid as exc:
            reject(number, exc.message)
            continue
        folded = data.name.casefold()
        if data.country_code in seen_codes:
            reject(
                number,
                _("{code} already appears on line {line}").format(
                    code=data.country_code, line=seen_codes[data.country_code]
                ),
            )
            continue
        if folded in seen_names:
            reject(
                number,
                _("“{name}” already appears on line {line}").format(
                    name=data.name, line=seen_names[folded]
                ),
            )
            continue
        seen_codes[data.country_code] = number
        seen_names[folded] = number
        owner = names.get(folded)
        if owner is not None and owner != data.country_code:
            reject(
                number,
                _("the name “{name}” belongs to {code}").format(name=data.name, code=owner),
            )
            continue
        current = existing.get(data.country_code)
        if current is None:
            message = f"{data.country_code} {data.name} ({data.region.value})"
            report.lines.append(ImportLine(number, "added", message, data))
            continue
        differences = []
        if current.name != data.name:
            differences.append(f"name “{current.name}” → “{data.name}”")
        if current.region != data.region:
            differences.append(f"region {current.region.value} → {data.region.value}")
        if differences:
            message = f"{data.country_code}: " + ", ".join(differences)
            report.lines.append(ImportLine(number, "changed", message, data))
        else:
            message = f"{data.country_code} {data.name}"
            report.lines.append(ImportLine(number, "unchanged", message, data))
    return report


async def do_import_administrations(
    actor: User | None, content: bytes, *, source: str = "", dry_run: bool = False
) -> ImportReport:
    """Apply a CSV of administrations in one transaction, unless any line is rejected."""
    report = await plan_import(content)
    if report.refused or dry_run:
        return report
    added = [line.data for line in report.having("added") if line.data]
    changed = [line.data for line in report.having("changed") if line.data]
    if not added and not changed:
        return report
    async with atomic():
        for data in changed:
            await Administration.filter(country_code=data.country_code).update(
                name=data.name, region=data.region
            )
        for data in added:
            await Administration.create(
                name=data.name, country_code=data.country_code, region=data.region
            )
        await record_audit(
            actor,
            "administration.import",
            "administration",
            None,
            reason=source,
            data={
                "added": [data.country_code for data in added],
                "changed": [data.country_code for data in changed],
            },
        )
    report.applied = True
    return report


async def _check_unique(data: AdministrationData, *, except_id: int | None = None) -> None:
    clashes = Administration.filter(country_code=data.country_code)
    named = Administration.filter(name=data.name)
    if except_id is not None:
        clashes = clashes.exclude(id=except_id)
        named = named.exclude(id=except_id)
    if await clashes.exists():
        raise Conflict(_("Another administration has that country code."))
    if await named.exists():
        raise Conflict(_("Another administration has that name."))


async def do_create_administration(actor: User, data: AdministrationData) -> Administration:
    await _check_unique(data)
    try:
        async with atomic():
            administration = await Administration.create(
                name=data.name, country_code=data.country_code, region=data.region
            )
            await record_audit(
                actor,
                "administration.create",
                "administration",
                administration.id,
                data={"name": data.name, "country_code": data.country_code,
                      "region": data.region.value},
            )  # fmt: skip
    except IntegrityError as exc:
        raise Conflict(_("Another administration has that name or country code.")) from exc
    return administration


async def do_update_administration(
    actor: User, administration: Administration, data: AdministrationData
) -> Administration:
    await _check_unique(data, except_id=administration.id)
    before = {
        "name": administration.name,
        "country_code": administration.country_code,
        "region": administration.region.value,
    }
    after = {"name": data.name, "country_code": data.country_code, "region": data.region.value}
    if before == after:
        return administration
    try:
        async with atomic():
            await Administration.filter(id=administration.id).update(
                name=data.name, country_code=data.country_code, region=data.region
            )
            await record_audit(
                actor,
                "administration.update",
                "administration",
                administration.id,
                data={"before": before, "after": after},
            )
    except IntegrityError as exc:
        raise Conflict(_("Another administration has that name or country code.")) from exc
    administration.name = data.name
    administration.country_code = data.country_code
    administration.region = data.region
    return administration


async def seed_administrations(path: Path = DEFAULT_CSV) -> int:
    """Create the default administrations that are missing; never overwrites an edited one."""
    rows = read_rows(await asyncio.to_thread(path.read_bytes))
    existing = await Administration.all().values_list("country_code", "name")
    codes = {code for code, _name in existing}
    names = {name.casefold() for _code, name in existing}
    missing = []
    for _number, row in rows:
        data = check_administration(*row)
        if data.country_code in codes or data.name.casefold() in names:
            continue
        codes.add(data.country_code)
        names.add(data.name.casefold())
        missing.append(
            Administration(name=data.name, country_code=data.country_code, region=data.region)
        )
    if missing:
        async with atomic():
            await Administration.bulk_create(missing)
    return len(missing)
