"""Dates that cannot go wrong quietly (issue 9, point 8), on the pages and the API: a date of
help in the future, beyond the network's window or before a member joined is refused at the
date's field (the API names ``performed_on``), nothing written; the forms show the window;
the manager's settings page moves it; a request's day too far ahead is marked at its field;
"1,5" typed in German still books 1:30 (checked in tests/test_i18n_formats.py and
tests/web/test_forms.py, not repeated here)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from sqlmodel import select

from tests.support import Sessions, World, bearer, town_today
from tests.web.support import Client, error_of, main_of, manager, post, sign_in
from timebank.db import transaction
from timebank.members import category_by_slug
from timebank.models import Exchange, HelpRequest, Member, NetworkSettings

DAYS = NetworkSettings().help_days_back


async def joined_ten_days_ago(sessions: Sessions, member: Member) -> date:
    day = town_today() - timedelta(days=10)
    async with transaction(sessions) as s:
        row = await s.get(Member, member.id)
        assert row is not None
        row.joined_on = day
        s.add(row)
    return day


async def entries(sessions: Sessions) -> int:
    async with transaction(sessions) as s:
        return len((await s.exec(select(Exchange))).all())


def days_ago(n: int) -> str:
    return (town_today() - timedelta(days=n)).isoformat()


def log_hours(world: World, day: str) -> dict[str, str]:
    return {
        "receiver_number": str(world.senior.id),
        "performed_on": day,
        "hours": "1",
        "minutes": "0",
        "category": "shopping",
    }


async def test_the_log_hours_form_shows_the_window_and_refuses_dates_outside_it(
    client: Client, world: World, sessions: Sessions
) -> None:
    await sign_in(client, "volker@example.org")
    form = main_of((await client.get("/exchanges/new")).text)
    assert f'min="{days_ago(DAYS)}" max="{days_ago(0)}"' in form
    assert f"You can enter help from the last {DAYS} days" in form
    for day, says in [
        (days_ago(-1), "the date lies in the future"),
        (days_ago(DAYS + 1), f"help can be logged up to {DAYS} days after it happened"),
    ]:
        answer = await post(client, "/exchanges/new", log_hours(world, day))
        assert answer.status_code == 400
        assert says in error_of(answer.text, "performed_on")
    await joined_ten_days_ago(sessions, world.senior)
    answer = await post(client, "/exchanges/new", log_hours(world, days_ago(11)))
    assert answer.status_code == 400
    assert "Sieglinde Sommer joined the network on" in error_of(answer.text, "performed_on")
    assert await entries(sessions) == 0
    answer = await post(client, "/exchanges/new", log_hours(world, days_ago(10)))
    assert answer.status_code == 303
    assert await entries(sessions) == 1


@pytest.mark.parametrize(
    ("email", "path", "who"),
    [
        ("paula@example.org", "/exchanges/assisted", {"receiver_id": "client"}),
        ("manager@example.org", "/manage/assisted", {"receiver_id": "senior"}),
    ],
)
async def test_an_assisted_entry_refuses_a_date_outside_the_window(
    client: Client, world: World, sessions: Sessions, email: str, path: str, who: dict[str, str]
) -> None:
    await sign_in(client, email)
    assert f'min="{days_ago(DAYS)}"' in main_of((await client.get(path)).text)
    form = {
        "giver_id": str(world.volunteer.id),
        "receiver_id": str(getattr(world, who["receiver_id"]).id),
        "performed_on": days_ago(DAYS + 1),
        "hours": "1",
        "minutes": "0",
        "category": "shopping",
    }
    answer = await post(client, path, form)
    assert answer.status_code == 400
    assert "too far back" in error_of(answer.text, "performed_on")
    assert await entries(sessions) == 0


async def test_the_settings_page_moves_the_window(
    client: Client, world: World, sessions: Sessions
) -> None:
    await manager(client)
    html = (await client.get("/manage/flags/settings")).text
    form: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name and name.group(1) != "_csrf_token":
            if ('type="checkbox"' in tag or 'type="radio"' in tag) and " checked" not in tag:
                continue
            form[name.group(1)] = value.group(1) if value else ""
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', options)
        form[name] = chosen.group(1) if chosen else ""
    assert form["help_days_back"] == str(DAYS)
    answer = await post(client, "/manage/flags/settings", {**form, "help_days_back": "30"})
    assert answer.status_code == 303, re.findall(r"-error\"[^>]*>(.*?)</p>", answer.text, re.S)
    await sign_in(client, "volker@example.org")
    refused = await post(client, "/exchanges/new", log_hours(world, days_ago(31)))
    assert "up to 30 days" in error_of(refused.text, "performed_on")
    assert (await post(client, "/exchanges/new", log_hours(world, days_ago(30)))).status_code == 303


@pytest.mark.parametrize(
    ("change", "joined"), [({"performed_on": days_ago(-1)}, False), ({}, True)]
)
async def test_the_api_names_the_date_field(
    api: AsyncClient,
    world: World,
    tokens: dict[str, str],
    sessions: Sessions,
    change: dict[str, Any],
    joined: bool,
) -> None:
    if joined:
        await joined_ten_days_ago(sessions, world.volunteer)
        change = {"performed_on": days_ago(11)}
    body = {
        "giver_id": world.volunteer.id,
        "receiver_id": world.senior.id,
        "minutes": 60,
        "performed_on": days_ago(0),
        "category": "shopping",
        **change,
    }
    answer = await api.post("/api/v1/exchanges", headers=bearer(tokens["volunteer"]), json=body)
    assert answer.status_code == 422, answer.text
    assert (answer.json()["code"], answer.json()["field"]) == ("validation", "performed_on")
    assert await entries(sessions) == 0


async def test_a_request_day_too_far_ahead_is_marked_at_its_field(
    client: Client, world: World, sessions: Sessions
) -> None:
    async with transaction(sessions) as s:
        shopping = await category_by_slug(s, "shopping")
    await sign_in(client, "sieglinde@example.org")
    answer = await post(
        client,
        "/requests/new",
        {
            "member_id": str(world.senior.id),
            "title": "Einkauf",
            "category_id": str(shopping.id),
            "needed_on": (town_today() + timedelta(days=400)).isoformat(),
            "urgency": "normal",
        },
    )
    assert answer.status_code == 400
    assert "more than a year away" in error_of(answer.text, "needed_on")
    async with transaction(sessions) as s:
        assert (await s.exec(select(HelpRequest))).all() == []
