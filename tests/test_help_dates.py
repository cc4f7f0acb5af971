"""A date of help lies in the window the network sets (issue 9, point 8): not in the future,
not more than ``help_days_back`` days back (90 unless the manager changes it on the settings
page), not before the giver or the receiver joined; refused at the date's field in words,
and the window moves with the setting (both databases)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.support import Sessions, World, town_today
from timebank import exchanges, i18n, network
from timebank.db import transaction
from timebank.errors import Invalid
from timebank.models import Member, NetworkSettings

DEFAULT_DAYS = NetworkSettings().help_days_back


async def log(sessions: Sessions, world: World, day: date) -> None:
    async with transaction(sessions) as s:
        await exchanges.record_exchange(
            s,
            world.volunteer,
            giver_id=world.volunteer.id,  # type: ignore[arg-type]
            receiver_id=world.senior.id,  # type: ignore[arg-type]
            minutes=60,
            performed_on=day,
            category="shopping",
        )


async def refusal(sessions: Sessions, world: World, day: date) -> Invalid:
    with pytest.raises(Invalid) as refused:
        await log(sessions, world, day)
    assert refused.value.field == "performed_on"
    return refused.value


def test_the_default_window_is_ninety_days() -> None:
    assert DEFAULT_DAYS == 90
    assert network.earliest_help_day(NetworkSettings(), date(2026, 3, 31)) == date(2025, 12, 31)


@pytest.mark.parametrize("days_back", [0, 1, DEFAULT_DAYS])
async def test_help_within_the_window_is_logged(sessions: Sessions, world: World, days_back: int):
    await log(sessions, world, town_today() - timedelta(days=days_back))


async def test_a_day_in_the_future_or_beyond_the_window_is_refused_in_words(
    sessions: Sessions, world: World
):
    today = town_today()
    await refusal(sessions, world, today + timedelta(days=1))
    too_old = await refusal(sessions, world, today - timedelta(days=DEFAULT_DAYS + 1))
    earliest = i18n.long_date(today - timedelta(days=DEFAULT_DAYS), "de")
    shown = i18n.render("de", too_old.detail, too_old.params)
    assert shown.startswith("Dieses Datum liegt zu weit zurück.")
    assert f"bis zu {DEFAULT_DAYS} Tage" in shown and earliest in shown


async def test_help_before_the_giver_or_the_receiver_joined_is_refused(
    sessions: Sessions, world: World
):
    today = town_today()
    for member in (world.senior, world.volunteer):
        async with transaction(sessions) as s:
            joined = await s.get(Member, member.id)
            assert joined is not None
            joined.joined_on = today - timedelta(days=10)
            s.add(joined)
        refused = await refusal(sessions, world, today - timedelta(days=11))
        assert refused.params["name"] == member.name
        assert "Die Hilfe kann nicht vorher gewesen sein." in i18n.render(
            "de", refused.detail, refused.params
        )
        await log(sessions, world, today - timedelta(days=10))  # the day they joined is fine
        async with transaction(sessions) as s:
            joined = await s.get(Member, member.id)
            assert joined is not None
            joined.joined_on = today - timedelta(days=400)
            s.add(joined)


async def test_the_managers_setting_moves_the_window(sessions: Sessions, world: World):
    today = town_today()
    async with transaction(sessions) as s:
        form = (await network.settings_view(s, world.manager)).form()
    assert form["help_days_back"] == str(DEFAULT_DAYS)
    async with transaction(sessions) as s:
        change = network.settings_change_from_form({**form, "help_days_back": "30"})
        await network.update_settings(s, world.manager, change)
    await log(sessions, world, today - timedelta(days=30))
    await refusal(sessions, world, today - timedelta(days=31))
    with pytest.raises(Invalid) as refused:
        async with transaction(sessions) as s:
            change = network.settings_change_from_form({**form, "help_days_back": "0"})
            await network.update_settings(s, world.manager, change)
    assert refused.value.field == "help_days_back"
