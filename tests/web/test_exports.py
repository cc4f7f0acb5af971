"""Exports and the audit log over HTTP (issue 11, points 3 and 6): the API streams each
export to the manager only (401 without a token, 403 for others), a bad period is a 400
naming its field in the caller's language; the manager's pages offer the downloads and
list the audit log, where an export and a printed sign-in sheet each leave one entry."""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlmodel import select

from tests.support import bearer
from tests.web.support import main_of, manager
from timebank.db import transaction
from timebank.models import AuditEntry

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def audit_entries(sessions) -> list[AuditEntry]:
    async with transaction(sessions) as s:
        return list((await s.exec(select(AuditEntry).order_by(AuditEntry.id))).all())


# --- The API ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["members.csv", "transfers.xlsx"])
async def test_the_manager_downloads_an_export(api, world, tokens, sessions, name):
    answer = await api.get(
        f"/api/v1/exports/{name}",
        params={"from": "2026-01-01", "to": "2026-12-31"},
        headers=bearer(tokens["manager"]),
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-disposition"].startswith("attachment; filename=")
    if name.endswith(".csv"):
        assert answer.headers["content-type"].startswith("text/csv")
        assert answer.content.startswith(b"\xef\xbb\xbf")
        assert answer.content.count(b"\r\n") == 1 + len(world.all())
    else:
        assert answer.headers["content-type"] == XLSX
        assert zipfile.is_zipfile(io.BytesIO(answer.content))
    [entry] = await audit_entries(sessions)
    assert (entry.action, entry.actor_id) == ("export", world.manager.id)


async def test_exports_are_for_the_manager_only(api, world, tokens, sessions):
    assert (await api.get("/api/v1/exports/members.csv")).status_code == 401
    for role in ("volunteer", "professional"):
        answer = await api.get("/api/v1/exports/members.csv", headers=bearer(tokens[role]))
        assert answer.status_code == 403
    assert await audit_entries(sessions) == []


@pytest.mark.parametrize(
    ("query", "field", "says"),
    [
        ({"from": "2026-02-30"}, "from", "Im Feld „from“"),
        ({"to": "31.12.2026"}, "to", "Im Feld „to“"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "to", "endet, bevor er beginnt"),
    ],
)
async def test_a_bad_period_is_a_400_naming_its_field(api, tokens, sessions, query, field, says):
    answer = await api.get(
        "/api/v1/exports/transfers.csv",
        params=query,
        headers={**bearer(tokens["manager"]), "Accept-Language": "de"},
    )
    assert answer.status_code == 400
    body = answer.json()
    assert body["field"] == field and says in body["detail"]
    assert await audit_entries(sessions) == []  # refused: not exported, not recorded


async def test_an_unknown_export_is_a_400(api, tokens):
    answer = await api.get("/api/v1/exports/secrets.csv", headers=bearer(tokens["manager"]))
    assert answer.status_code == 400 and answer.json()["field"] == "file"


# --- The pages -------------------------------------------------------------------------------


async def test_the_export_page_links_each_export_for_the_period(client, sessions):
    await manager(client)
    page = await client.get("/manage/exports", params={"from": "2026-01-01", "to": "2026-06-30"})
    assert page.status_code == 200
    for name in ("members.csv", "transfers.xlsx", "exchanges.csv", "requests.xlsx"):
        assert f"/manage/exports/{name}?from=2026-01-01&amp;to=2026-06-30" in page.text
    download = await client.get("/manage/exports/exchanges.csv?from=2026-01-01&to=2026-06-30")
    assert download.status_code == 200 and download.content.startswith(b"\xef\xbb\xbf")
    [entry] = await audit_entries(sessions)
    assert entry.details == {"export": "exchanges.csv", "from": "2026-01-01", "to": "2026-06-30"}


async def test_a_bad_period_on_the_page_is_shown_at_its_field(client):
    await manager(client)
    page = await client.get("/manage/exports", params={"from": "2026-05-01", "to": "2026-04-01"})
    assert page.status_code == 400
    assert "the period ends before it starts" in page.text
    assert "/manage/exports/members.csv" not in page.text


async def test_a_login_sheet_and_an_export_each_write_one_audit_entry(client, world, sessions):
    await manager(client)
    sheet = await client.get(f"/manage/members/{world.senior.id}/login-sheet")
    assert sheet.status_code == 200
    await client.get("/manage/exports/members.xlsx")
    entries = await audit_entries(sessions)
    assert [(e.action, e.member_id) for e in entries] == [
        ("login_sheet", world.senior.id),
        ("export", None),
    ]
    log = main_of((await client.get("/manage/audit")).text)
    # Newest first: the export, then the sheet about the senior.
    assert log.index("Members as XLSX") < log.index("Sign-in sheet printed")
    assert world.senior.name in log and world.manager.name in log
