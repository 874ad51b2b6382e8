"""Member administrations: the default list, the CSV import (line by line, all or nothing),
administrators' edits, and the administration page members see."""

from __future__ import annotations

import asyncio
import csv
import os
import sys
from pathlib import Path

import httpx
import pytest

from forum.actions.administrations import (
    DEFAULT_CSV,
    MalformedFile,
    do_import_administrations,
    seed_administrations,
)
from forum.actions.posts import do_create_post, do_delete_post
from forum.actions.topics import do_create_topic
from forum.iso3166 import COUNTRY_CODES
from forum.models import Administration, AuditLog, Category, Region, User, Visibility
from forum.settings import Settings
from tests.helpers import categories, log_in, make_user
from tests.membership.support import post_form

ROOT = Path(__file__).resolve().parents[2]


def test_the_default_list_holds_every_wco_member_once_with_a_valid_code_and_region() -> None:
    with DEFAULT_CSV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    # 186 Members as of 2024 (Palau), and Saint Vincent and the Grenadines since 2025.
    assert len(rows) == 187
    assert len({r["country_code"] for r in rows}) == len({r["name"] for r in rows}) == 187
    assert all(r["country_code"] in COUNTRY_CODES for r in rows)
    by_region = {region.value: 0 for region in Region}
    for row in rows:
        by_region[row["region"]] += 1
    assert by_region == {"AMS": 34, "A/P": 35, "ESA": 24, "EUR": 52, "MENA": 18, "WCA": 24}
    named = {r["country_code"]: (r["name"], r["region"]) for r in rows}
    assert named["KE"] == ("Kenya", "ESA")
    assert named["HK"] == ("Hong Kong, China", "A/P")
    assert named["XK"] == ("Kosovo", "EUR")
    assert named["PS"] == ("Palestine", "MENA")


async def test_seeding_is_idempotent_and_keeps_an_administrators_edit(db: str) -> None:
    assert await seed_administrations() == 187
    await Administration.filter(country_code="TR").update(name="Türkiye (Ministry of Trade)")
    assert await seed_administrations() == 0
    assert await Administration.all().count() == 187
    assert (await Administration.get(country_code="TR")).name == "Türkiye (Ministry of Trade)"


GOOD = (
    "name,country_code,region\n"
    "Kenya,KE,ESA\n"  # unchanged
    "Republic of Korea,KR,A/P\n"  # renamed
    "Atlantis Customs,AQ,EUR\n"  # added
)


async def test_an_import_reports_each_line_and_applies_a_clean_file(db: str) -> None:
    await seed_administrations()
    report = await do_import_administrations(None, GOOD.encode(), source="test.csv")

    assert [(line.number, line.outcome) for line in report.lines] == [
        (2, "unchanged"),
        (3, "changed"),
        (4, "added"),
    ]
    assert "“Korea” → “Republic of Korea”" in report.lines[1].message
    assert report.applied
    assert (await Administration.get(country_code="KR")).name == "Republic of Korea"
    assert (await Administration.get(country_code="AQ")).region == Region.EUR
    audit = await AuditLog.get(action="administration.import")
    assert audit.reason == "test.csv" and audit.data == {"added": ["AQ"], "changed": ["KR"]}


BAD_LINES = (
    "name,country_code,region\n"
    "Atlantis Customs,AQ,EUR\n"  # would be added
    "Korea,KR,ASIA\n"  # unknown region
    "Utopia,UT,EUR\n"  # not an ISO code
    "Too,Many,Columns,Here\n"  # wrong column count
    "Second Atlantis,AQ,EUR\n"  # the same code twice
    "Kenya,FR,EUR\n"  # a name another administration has
)


async def test_any_rejected_line_refuses_the_whole_import_and_says_why(db: str) -> None:
    await seed_administrations()
    report = await do_import_administrations(None, BAD_LINES.encode())

    assert not report.applied and report.refused
    outcomes = {line.number: (line.outcome, line.message) for line in report.lines}
    assert outcomes[2][0] == "added"
    assert outcomes[3] == (
        "rejected",
        "Unknown WCO region “ASIA” (use one of AMS, A/P, ESA, EUR, MENA, WCA).",
    )
    assert outcomes[4] == ("rejected", "“UT” is not an ISO 3166-1 alpha-2 country code.")
    assert outcomes[5] == ("rejected", "expected 3 columns, found 4")
    assert outcomes[6] == ("rejected", "AQ already appears on line 2")
    assert outcomes[7] == ("rejected", "the name “Kenya” belongs to KE")
    assert not await Administration.exists(country_code="AQ")
    assert not await AuditLog.exists()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "The file is empty."),
        (b"\xff\xfe\x00n\x00a", "not UTF-8"),
        (b"country,code\nKenya,KE\n", "the header must be exactly"),
        (b'name,country_code,region\n"Unclosed,KE,ESA\n', "not valid CSV"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8"),
    ],
)
async def test_a_malformed_file_changes_nothing(db: str, content: bytes, problem: str) -> None:
    await seed_administrations()
    before = sorted(await Administration.all().values_list("country_code", "name", "region"))

    with pytest.raises(MalformedFile) as raised:
        await do_import_administrations(None, content)

    assert problem in raised.value.message
    after = sorted(await Administration.all().values_list("country_code", "name", "region"))
    assert after == before
    assert not await AuditLog.exists()


async def _cli(database_url: str, var_dir: Path, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORUM_")}
    env.update(FORUM_DATABASE_URL=database_url, FORUM_VAR_DIR=str(var_dir))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "forum.cli",
        *args,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_import_command_prints_the_report_and_its_exit_code_says_what_happened(
    database_url: str, settings: Settings, tmp_path: Path
) -> None:
    await seed_administrations()
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD_LINES, encoding="utf-8")
    good = tmp_path / "good.csv"
    good.write_text(GOOD, encoding="utf-8")
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(b"\x00\x01\x02 not a csv \xff")

    code, out, err = await _cli(database_url, settings.var_dir, "import-administrations", str(bad))
    assert code == 2
    assert "line 2: added: AQ Atlantis Customs (EUR)" in out
    assert "line 4: rejected: “UT” is not an ISO 3166-1 alpha-2 country code." in out
    assert "1 added, 0 changed, 0 unchanged, 5 rejected" in out
    assert "5 line(s) rejected; nothing was changed" in err
    assert not await Administration.exists(country_code="AQ")

    code, out, err = await _cli(
        database_url, settings.var_dir, "import-administrations", str(garbage)
    )
    assert code == 2 and out == ""
    assert "not UTF-8" in err and "Nothing was changed." in err

    code, out, _err = await _cli(
        database_url, settings.var_dir, "import-administrations", "--dry-run", str(good)
    )
    assert code == 0 and "dry run: nothing was changed" in out
    assert not await Administration.exists(country_code="AQ")

    code, out, _err = await _cli(
        database_url, settings.var_dir, "import-administrations", str(good)
    )
    assert code == 0
    assert out.splitlines() == [
        "line 2: unchanged: KE Kenya",
        "line 3: changed: KR: name “Korea” → “Republic of Korea”",
        "line 4: added: AQ Atlantis Customs (EUR)",
        f"{good}: 1 added, 1 changed, 1 unchanged, 0 rejected",
        "import applied",
    ]
    assert await Administration.exists(country_code="AQ")


async def test_administrators_add_and_edit_administrations_and_each_edit_is_audited(
    client: httpx.AsyncClient, world: dict[str, Administration], admin: User
) -> None:
    await log_in(client, admin)
    form = "/admin/administrations/new"
    created = await post_form(
        client, form, form, {"name": "Atlantis Customs", "country_code": "aq", "region": "EUR"}
    )
    assert created.status_code == 303
    atlantis = await Administration.get(country_code="AQ")

    bad_code = await post_form(
        client, form, form, {"name": "Nowhere", "country_code": "QQ", "region": "EUR"}
    )
    assert bad_code.status_code == 422 and "not an ISO 3166-1" in bad_code.text
    taken = await post_form(
        client, form, form, {"name": "Kenya", "country_code": "BV", "region": "ESA"}
    )
    assert taken.status_code == 409

    edit = f"/admin/administrations/{atlantis.id}/edit"
    edited = await post_form(
        client, edit, edit, {"name": "Atlantis Revenue", "country_code": "AQ", "region": "WCA"}
    )
    assert edited.status_code == 303
    await atlantis.refresh_from_db()
    assert (atlantis.name, atlantis.region) == ("Atlantis Revenue", Region.WCA)
    audits = await AuditLog.filter(target_type="administration").order_by("id")
    assert [a.action for a in audits] == ["administration.create", "administration.update"]
    assert all(a.actor_id == admin.id and a.target_id == atlantis.id for a in audits)
    assert audits[1].data["before"]["name"] == "Atlantis Customs"
    assert not await Administration.exists(country_code="QQ")


async def test_an_administration_page_lists_its_verified_ncps_and_what_they_wrote(
    client: httpx.AsyncClient, world: dict[str, Administration]
) -> None:
    cats = await categories()
    kenya = world["KE"]
    ncp = await make_user("wanjiru")
    newcomer = await make_user("pending", verified=False)
    outsider = await make_user("pierre")
    for user, administration in ((ncp, kenya), (newcomer, kenya), (outsider, world["FR"])):
        await User.filter(id=user.id).update(administration_id=administration.id)
    ncp = await User.get(id=ncp.id)
    topic, _post = await do_create_topic(ncp, cats["iot"], "Seals at Mombasa", "Our pilot")
    await do_create_post(ncp, topic, cats["iot"], "An update on the pilot")
    gone = await do_create_post(ncp, topic, cats["iot"], "A post I deleted")
    await do_delete_post(ncp, gone, topic, cats["iot"])
    hidden_topic, _ = await do_create_topic(ncp, cats["drones"], "Staff only talk", "secret")
    await Category.filter(slug="drones").update(visibility=Visibility.STAFF)
    await do_create_topic(outsider, cats["iot"], "French topic", "bonjour")
    await log_in(client, await make_user("reader"))

    page = await client.get("/a/ke")

    assert page.status_code == 200
    assert "<h1>Kenya</h1>" in page.text
    assert "Wanjiru" in page.text and "Pending" not in page.text and "Pierre" not in page.text
    assert "Seals at Mombasa" in page.text and "An update on the pilot" in page.text
    assert "A post I deleted" not in page.text and "Staff only talk" not in page.text
    assert "French topic" not in page.text
    assert hidden_topic.id
    assert (await client.get("/a/ZZ")).status_code == 404
    index = await client.get("/a")
    assert index.status_code == 200 and 'href="/a/KE"' in index.text
