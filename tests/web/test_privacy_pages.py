"""Data protection over HTTP: a member downloads their data; the manager erases with a
reason and the erased member can no longer sign in; the API says the same."""

from __future__ import annotations

import json

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import World, bearer
from tests.web.support import Client, error_of, main_of, manager, post, sign_in
from timebank.db import transaction
from timebank.models import Member


async def test_a_member_reads_and_downloads_their_data(client: Client) -> None:
    await sign_in(client, "volker@example.org")
    shown = await client.get("/me/data")
    assert shown.status_code == 200 and "volker@example.org" in main_of(shown.text)
    file = await client.get("/me/data.json")
    assert file.headers["content-disposition"].startswith("attachment")
    assert json.loads(file.content)["profile"]["name"] == "Volker Vogel"


async def test_the_manager_erases_with_a_reason_and_the_member_cannot_sign_in(
    client: Client, world: World, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await manager(client)
    url = f"/manage/members/{world.volunteer.id}/erase"
    refused = await post(client, url, {"reason": ""})
    assert refused.status_code == 400 and error_of(refused.text, "reason")
    erased = await post(client, url, {"reason": "asked for it on the phone"})
    assert erased.status_code == 303
    async with transaction(sessions) as s:
        member = await s.get(Member, world.volunteer.id)
        assert member is not None and member.email is None and member.erased_at is not None
    await post(client, "/logout")
    answer = await post(client, "/login", {"email": "volker@example.org", "password": "x" * 12})
    assert answer.status_code != 303


async def test_the_api_hands_out_and_erases(
    api: httpx.AsyncClient, world: World, tokens: dict[str, str]
) -> None:
    mine = await api.get("/api/v1/me/export", headers=bearer(tokens["volunteer"]))
    assert mine.status_code == 200 and mine.json()["profile"]["id"] == world.volunteer.id
    theirs = f"/api/v1/members/{world.senior.id}/export"
    assert (await api.get(theirs, headers=bearer(tokens["volunteer"]))).status_code == 403
    assert (await api.get(theirs, headers=bearer(tokens["manager"]))).status_code == 200
    erase = f"/api/v1/members/{world.senior.id}/erase"
    body = {"reason": "moved away"}
    assert (
        await api.post(erase, json=body, headers=bearer(tokens["volunteer"]))
    ).status_code == 403
    done = await api.post(erase, json=body, headers=bearer(tokens["manager"]))
    assert done.status_code == 200 and done.json()["name"].startswith("ehemaliges Mitglied")
    assert (await api.post(erase, json=body, headers=bearer(tokens["manager"]))).status_code == 409
