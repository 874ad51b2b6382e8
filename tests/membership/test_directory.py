"""The directory: verified members only, filters and search, and exports (CSV, vCard, JSON)
that carry exactly the contact details each member chose to show."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import httpx

from forum.api.openapi import build_document
from forum.api.routes import routes
from forum.models import Administration, User
from tests.api.schema import response_problems
from tests.helpers import bearer, log_in, make_user

DOCUMENT = build_document(routes)


async def _people(world: dict[str, Administration]) -> dict[str, User]:
    specs = {
        # username: (administration, position, expertise, phone, show_email, show_phone)
        "amina": ("KE", "Risk analyst", ["ai-ml", "big-data"], "+254 20 000 0001", True, False),
        "bruno": ("FR", "Head of IT", ["blockchain"], "+33 1 00 00 00 02", False, True),
        "chen": ("CN", "Data scientist", ["ai-ml"], "+86 10 0000 0003", True, True),
        "dana": ("KE", "Legal adviser", [], "", False, False),
    }
    people = {}
    for username, (code, position, expertise, phone, show_email, show_phone) in specs.items():
        user = await make_user(username)
        await User.filter(id=user.id).update(
            administration_id=world[code].id,
            position=position,
            expertise=expertise,
            phone=phone,
            show_email=show_email,
            show_phone=show_phone,
            languages="English, French" if username == "bruno" else "English",
        )
        people[username] = await User.get(id=user.id)
    hidden = {
        "newcomer": await make_user("newcomer", verified=False),
        "lapsed": await make_user("lapsed"),
    }
    await User.filter(id=hidden["lapsed"].id).update(
        verified_until=datetime.now(UTC) - timedelta(days=1), administration_id=world["KE"].id
    )
    await User.filter(id=hidden["newcomer"].id).update(administration_id=world["KE"].id)
    return people


def _names(page: str) -> list[str]:
    import re

    return re.findall(r'<a class="member-name" href="/u/[^"]+">([^<]+)</a>', page)


async def test_members_filter_by_region_administration_and_expertise_and_search_by_name(
    client: httpx.AsyncClient, world: dict[str, Administration]
) -> None:
    await _people(world)
    await log_in(client, await User.get(username="amina"))

    everyone = await client.get("/directory")
    assert everyone.status_code == 200
    assert _names(everyone.text) == ["Chen", "Bruno", "Amina", "Dana"]  # by administration
    assert "Newcomer" not in everyone.text and "Lapsed" not in everyone.text
    assert _names((await client.get("/directory?region=ESA")).text) == ["Amina", "Dana"]
    assert _names((await client.get("/directory?region=a/p")).text) == ["Chen"]
    assert _names((await client.get("/directory?administration=fr")).text) == ["Bruno"]
    assert _names((await client.get("/directory?expertise=ai-ml")).text) == ["Chen", "Amina"]
    assert _names((await client.get("/directory?q=AN")).text) == ["Dana"]
    combined = await client.get("/directory?region=ESA&expertise=big-data&q=ami")
    assert _names(combined.text) == ["Amina"]
    assert 'href="/directory.csv?region=ESA&amp;expertise=big-data&amp;q=ami"' in combined.text
    assert (await client.get("/directory?region=MARS")).status_code == 400
    assert (await client.get("/directory?administration=KEN")).status_code == 400


async def test_contact_details_appear_only_where_members_chose_to_show_them(
    client: httpx.AsyncClient, world: dict[str, Administration]
) -> None:
    people = await _people(world)
    await log_in(client, people["dana"])

    page = (await client.get("/directory")).text
    assert "amina@example.org" in page and "+254 20 000 0001" not in page
    assert "bruno@example.org" not in page and "+33 1 00 00 00 02" in page
    assert "chen@example.org" in page and "+86 10 0000 0003" in page
    assert "dana@example.org" not in page


async def test_the_csv_export_is_the_current_view_with_only_shown_details(
    client: httpx.AsyncClient, world: dict[str, Administration]
) -> None:
    await _people(world)
    await log_in(client, await User.get(username="dana"))

    response = await client.get("/directory.csv")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="directory.csv"'
    assert response.headers["cache-control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["name"] for r in rows] == ["Chen", "Bruno", "Amina", "Dana"]
    by_name = {r["name"]: r for r in rows}
    assert (by_name["Amina"]["email"], by_name["Amina"]["phone"]) == ("amina@example.org", "")
    assert (by_name["Bruno"]["email"], by_name["Bruno"]["phone"]) == ("", "'+33 1 00 00 00 02")
    assert (by_name["Dana"]["email"], by_name["Dana"]["phone"]) == ("", "")
    assert (
        by_name["Amina"]["expertise"]
        == "Artificial intelligence & machine learning; Big data & data analytics"
    )
    assert by_name["Bruno"]["administration"] == "France" and by_name["Bruno"]["region"] == "EUR"
    assert "newcomer" not in response.text.lower() and "lapsed" not in response.text.lower()

    filtered = await client.get("/directory.csv?region=ESA&q=ami")
    assert [r["name"] for r in csv.DictReader(io.StringIO(filtered.text))] == ["Amina"]


async def test_the_vcard_export_has_one_card_per_member_and_only_shown_details(
    client: httpx.AsyncClient, world: dict[str, Administration]
) -> None:
    await _people(world)
    await User.filter(username="chen").update(display_name="Chen, Wei; Jr.")
    await log_in(client, await User.get(username="dana"))

    response = await client.get("/directory.vcf?expertise=ai-ml")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/vcard; charset=utf-8"
    cards = response.text.split("END:VCARD\r\n")
    assert cards[-1] == "" and len(cards) == 3
    chen, amina = cards[0], cards[1]
    assert "FN:Chen\\, Wei\\; Jr.\r\n" in chen
    assert "EMAIL;TYPE=INTERNET,WORK:chen@example.org" in chen
    assert "TEL;TYPE=WORK,VOICE:+86 10 0000 0003" in chen
    assert "ORG:China" in chen and "TITLE:Data scientist" in chen
    assert "EMAIL;TYPE=INTERNET,WORK:amina@example.org" in amina and "TEL" not in amina
    assert "Bruno" not in response.text and "Dana" not in response.text
    assert all(len(line.encode()) <= 75 for line in response.text.split("\r\n"))


async def test_the_directory_api_has_the_same_filters_and_follows_its_document(
    client: httpx.AsyncClient, world: dict[str, Administration]
) -> None:
    people = await _people(world)
    headers = await bearer(people["dana"])

    response = await client.get("/api/v1/directory?region=ESA", headers=headers)

    assert response.status_code == 200
    body = response.json()
    problems = response_problems(
        DOCUMENT, "GET", "/api/v1/directory", 200, response.headers["content-type"], body
    )
    assert not problems, problems
    members = {m["username"]: m for m in body["members"]}
    assert list(members) == ["amina", "dana"]
    assert members["amina"]["email"] == "amina@example.org" and members["amina"]["phone"] is None
    assert members["amina"]["expertise"] == ["ai-ml", "big-data"]
    assert members["dana"]["email"] is None and members["dana"]["country_code"] == "KE"
    bad = await client.get("/api/v1/directory?region=MARS", headers=headers)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_request"
    unverified = await client.get(
        "/api/v1/directory", headers=await bearer(await User.get(username="newcomer"))
    )
    assert unverified.status_code == 404
    for status, answer in ((404, unverified), (400, bad)):
        assert not response_problems(
            DOCUMENT,
            "GET",
            "/api/v1/directory",
            status,
            answer.headers["content-type"],
            answer.json(),
        )
