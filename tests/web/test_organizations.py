"""Member organisations over HTTP (issue 11, point 4): the manager's pages list, add, edit
and deactivate them; the API reads them for every member and writes them for the manager,
refusing bad input at its field."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from tests.support import bearer
from tests.web.support import error_of, main_of, manager, post, sign_in
from timebank.db import transaction
from timebank.models import Organization


async def organization_named(sessions, name: str) -> Organization | None:
    async with transaction(sessions) as s:
        return await s.scalar(select(Organization).where(Organization.name == name))


# --- The pages -------------------------------------------------------------------------------


async def test_the_manager_adds_and_edits_an_organisation(client, sessions):
    await manager(client)
    form = await client.get("/manage/organizations/new")
    assert form.status_code == 200
    added = await post(
        client,
        "/manage/organizations/new",
        {"name": "Seniorenbüro", "kind": "city", "contact_person": "Frau Wagner", "phone": "0621"},
    )
    assert added.status_code == 303
    made = await organization_named(sessions, "Seniorenbüro")
    assert made is not None and made.contact_person == "Frau Wagner"
    assert re.search(rf"/manage/organizations/{made.id}\?done=saved$", added.headers["location"])
    edited = await post(
        client,
        f"/manage/organizations/{made.id}",
        {"name": "Seniorenbüro der Stadt", "kind": "city", "address": "Rathausplatz 1"},
    )
    assert edited.status_code == 303
    page = main_of((await client.get(f"/manage/organizations/{made.id}")).text)
    assert "Seniorenbüro der Stadt" in page and "Rathausplatz 1" in page
    listing = main_of((await client.get("/manage/organizations")).text)
    assert "Seniorenbüro der Stadt" in listing and "Caritas Nord" in listing


async def test_a_bad_field_is_shown_next_to_it_and_nothing_is_saved(client, sessions):
    await manager(client)
    answer = await post(
        client, "/manage/organizations/new", {"name": "Neu", "kind": "club", "email": "x"}
    )
    assert answer.status_code == 400
    assert error_of(answer.text, "kind") == "Error: choose a kind of organisation from the list"
    assert await organization_named(sessions, "Neu") is None


async def test_the_organisation_page_shows_its_staff_and_clients(client, world):
    await manager(client)
    page = main_of((await client.get(f"/manage/organizations/{world.org.id}")).text)
    assert world.professional.name in page and world.client.name in page
    assert world.outside_professional.name not in page


async def test_deactivating_with_active_staff_is_refused_with_the_reason(client, world, sessions):
    await manager(client)
    answer = await post(client, f"/manage/organizations/{world.org.id}/deactivate")
    assert answer.status_code == 409
    assert "still has 1 active staff" in answer.text
    org = await organization_named(sessions, "Caritas Nord")
    assert org is not None and org.active


async def test_an_organisation_without_staff_is_deactivated_and_activated(client, sessions):
    await manager(client)
    await post(client, "/manage/organizations/new", {"name": "Leer e.V.", "kind": "other"})
    made = await organization_named(sessions, "Leer e.V.")
    assert made is not None
    answer = await post(client, f"/manage/organizations/{made.id}/deactivate")
    assert answer.status_code == 303
    assert not (await organization_named(sessions, "Leer e.V.")).active  # type: ignore[union-attr]
    await post(client, f"/manage/organizations/{made.id}/activate")
    assert (await organization_named(sessions, "Leer e.V.")).active  # type: ignore[union-attr]


async def test_the_pages_are_for_the_manager_only(client, world):
    await sign_in(client, "paula@example.org")  # a professional of the organisation
    for url in ("/manage/organizations", f"/manage/organizations/{world.org.id}"):
        assert (await client.get(url, follow_redirects=False)).status_code == 403


# --- The API ---------------------------------------------------------------------------------


async def test_the_api_creates_reads_lists_and_changes_organisations(api, tokens, world):
    created = await api.post(
        "/api/v1/organizations",
        json={"name": "Pflegedienst Sonnenhof", "kind": "care", "email": "Info@Sonnenhof.example"},
        headers=bearer(tokens["manager"]),
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["email"] == "info@sonnenhof.example" and body["active"] is True
    number = body["id"]
    read = await api.get(f"/api/v1/organizations/{number}", headers=bearer(tokens["volunteer"]))
    assert read.status_code == 200 and read.json()["account_id"] == body["account_id"]
    names = [
        o["name"]
        for o in (await api.get("/api/v1/organizations", headers=bearer(tokens["senior"]))).json()
    ]
    assert names == ["Caritas Nord", "Diakonie Süd", "Pflegedienst Sonnenhof"]
    changed = await api.patch(
        f"/api/v1/organizations/{number}",
        json={"phone": "0621 5", "active": False},
        headers=bearer(tokens["manager"]),
    )
    assert changed.status_code == 200 and changed.json()["phone"] == "0621 5"
    assert changed.json()["active"] is False


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": "X", "kind": "club"}, 422, "kind"),
        ({"name": "Caritas Nord"}, 409, "name"),
        ({"name": "X", "email": "nope"}, 422, "email"),
        ({"name": "X", "fax": "1"}, 400, "fax"),
        ({"name": "X" * 201}, 400, "name"),
        ({}, 400, "name"),
    ],
)
async def test_the_api_refuses_bad_input_at_its_field(api, tokens, body, status, field):
    answer = await api.post("/api/v1/organizations", json=body, headers=bearer(tokens["manager"]))
    assert answer.status_code == status, answer.text
    assert answer.json()["field"] == field


async def test_the_api_writes_for_the_manager_only(api, tokens, world):
    for role in ("volunteer", "professional"):
        headers = bearer(tokens[role])
        assert (
            await api.post("/api/v1/organizations", json={"name": "X"}, headers=headers)
        ).status_code == 403
        assert (
            await api.patch(f"/api/v1/organizations/{world.org.id}", json={}, headers=headers)
        ).status_code == 403
    assert (await api.get("/api/v1/organizations")).status_code == 401


async def test_the_api_refuses_to_deactivate_an_organisation_with_active_staff(api, tokens, world):
    answer = await api.patch(
        f"/api/v1/organizations/{world.org.id}",
        json={"active": False},
        headers={**bearer(tokens["manager"]), "Accept-Language": "de"},
    )
    assert answer.status_code == 409
    assert answer.json()["field"] == "active"
    assert "noch 1 aktive Fachkräfte" in answer.json()["detail"]
