"""The manager's flag and job-run pages through the test client (both databases)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import select

from tests.support import set_balance, town_today
from tests.web.support import SECRET, error_of, main_of, manager, post, sign_in
from timebank import ledger
from timebank.config import Settings
from timebank.db import transaction
from timebank.jobs import registry, runs
from timebank.models import Flag, FlagEvent, LimitDefault, NetworkSettings, utcnow


async def karl_owes(sessions, world) -> None:  # type: ignore[no-untyped-def]
    await set_balance(sessions, world, world.client, -700)
    settings = Settings(database_url="unused", secret_key=SECRET, run_scheduler=False)
    await runs.run_job(sessions, settings, "review", scheduled_for=utcnow())


@pytest.mark.parametrize("path", ["/manage/flags", "/manage/jobs", "/manage/flags/members/{id}"])
@pytest.mark.parametrize("email", ["vera@example.org", "paula@example.org"])
async def test_only_the_manager_sees_the_flag_pages(client, world, path, email):
    await sign_in(client, email)
    answer = await client.get(path.format(id=world.client.id))
    assert answer.status_code == 403


async def test_open_flags_show_the_figures_and_filter(client, world, sessions):
    await karl_owes(sessions, world)
    await manager(client)
    page = main_of((await client.get("/manage/flags")).text)
    assert "Karl Klient" in page and "takes without giving" in page
    filtered = main_of((await client.get(f"/manage/flags?district={world.south.id}")).text)
    assert "Karl Klient" not in filtered and "No open flags." in filtered
    by_org = main_of((await client.get(f"/manage/flags?organization={world.org.id}")).text)
    assert "Karl Klient" in by_org


async def test_the_manager_acts_on_a_flag_from_the_members_page(client, world, sessions):
    await karl_owes(sessions, world)
    await manager(client)
    async with transaction(sessions) as s:
        flag = await s.scalar(select(Flag).where(Flag.member_id == world.client.id))
    page = main_of((await client.get(f"/manage/flags/members/{world.client.id}")).text)
    assert "Balance over time" in page and "by the review" in page
    member = str(world.client.id)
    answer = await post(client, f"/manage/flags/{flag.id}/resolve", {"member": member, "note": ""})  # type: ignore[union-attr]
    assert answer.status_code == 422
    until = (town_today() + timedelta(days=7)).isoformat()
    answer = await post(
        client,
        f"/manage/flags/{flag.id}/snooze",  # type: ignore[union-attr]
        {"member": member, "note": "Urlaub", "until": until},
    )
    assert answer.status_code == 303
    answer = await post(
        client,
        f"/manage/flags/{flag.id}/resolve",  # type: ignore[union-attr]
        {"member": member, "note": "Gespräch geführt"},
    )
    assert answer.status_code == 303
    async with transaction(sessions) as s:
        events = (await s.exec(select(FlagEvent).where(FlagEvent.flag_id == flag.id))).all()  # type: ignore[union-attr]
        done = await s.get(Flag, flag.id)  # type: ignore[union-attr]
    assert [e.action for e in events] == ["open", "snooze", "resolve"]
    assert (done.status, done.resolution) == ("resolved", "manager")  # type: ignore[union-attr]
    page = main_of((await client.get(f"/manage/flags/members/{world.client.id}")).text)
    assert "Gespräch geführt" in page


async def test_job_runs_show_their_errors(client, world, sessions, monkeypatch):
    async def broken(session, ctx):  # type: ignore[no-untyped-def]
        raise RuntimeError("mail server melted")

    monkeypatch.setitem(
        registry.JOBS, "digest", registry.Job("digest", "broken", "digest_cron", broken)
    )
    settings = Settings(database_url="unused", secret_key=SECRET, run_scheduler=False)
    await runs.run_job(sessions, settings, "digest", scheduled_for=utcnow())
    await manager(client)
    page = main_of((await client.get("/manage/jobs")).text)
    assert "digest" in page and "failed" in page and "mail server melted" in page


# --- The settings page ------------------------------------------------------------------------


async def _settings_form(browser) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The settings form as the page fills it in (text fields, checked boxes and radios)."""
    html = (await browser.get("/manage/flags/settings")).text
    form: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name is None or name.group(1) == "_csrf_token":
            continue
        if ('type="checkbox"' in tag or 'type="radio"' in tag) and " checked" not in tag:
            continue
        form[name.group(1)] = value.group(1) if value else ""
    # A browser sends each list's chosen entry (its first when none is marked).
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', options) or re.search(
            r'<option value="([^"]*)"', options
        )
        form[name] = chosen.group(1) if chosen else ""
    return form


async def test_the_flag_list_links_to_the_settings(client, world):
    await manager(client)
    page = main_of((await client.get("/manage/flags")).text)
    assert 'href="/manage/flags/settings"' in page


async def test_a_threshold_changed_on_the_page_is_used_by_the_next_review(
    client,
    world,
    sessions,
):
    await manager(client)
    form = await _settings_form(client)
    assert form["takes_balance_below"] == "-10" and form["review_cron"] == "30 2 * * *"
    assert form["unconfirmed_action"] == "flag" and form["reviewed_volunteer"] == "1"
    # Karl owes 700 minutes: over the default -10 h, so flagged; at -15 h he is not.
    answer = await post(client, "/manage/flags/settings", {**form, "takes_balance_below": "-15"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/manage/flags/settings?done=saved"
    await karl_owes(sessions, world)
    async with transaction(sessions) as s:
        assert (await s.get(NetworkSettings, 1)).takes_balance_below == -900  # type: ignore[union-attr]
        assert (await s.scalar(select(Flag).where(Flag.member_id == world.client.id))) is None
    answer = await post(client, "/manage/flags/settings", {**form, "takes_balance_below": "-11"})
    assert answer.status_code == 303
    settings = Settings(database_url="unused", secret_key=SECRET, run_scheduler=False)
    await runs.run_job(sessions, settings, "review", scheduled_for=utcnow())
    page = main_of((await client.get("/manage/flags")).text)
    assert "Karl Klient" in page and "takes without giving" in page
    assert (await _settings_form(client))["takes_balance_below"] == "-11"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("review_cron", "30 25 * * *", "not a schedule we can read"),
        ("near_limit_percent", "80", "outside the range shown"),
        ("inactive_days", "viele", "please enter a whole number"),
    ],
)
async def test_a_bad_setting_is_shown_next_to_its_field_and_nothing_is_saved(
    client,
    world,
    sessions,
    field,
    value,
    message,
):
    await manager(client)
    form = await _settings_form(client)
    sent = {**form, "gives_ratio": "7", field: value}
    if field.endswith("_cron"):  # a cron expression is read when the expert choice is made
        sent[f"{field}_every"] = "cron"
    answer = await post(client, "/manage/flags/settings", sent)
    assert answer.status_code == 400
    assert message in error_of(answer.text, field)
    assert f'value="{value}"' in answer.text and 'value="7"' in answer.text  # kept as entered
    async with transaction(sessions) as s:
        stored = await s.get(NetworkSettings, 1)
    assert (stored.gives_ratio, stored.review_cron) == (4, "30 2 * * *")  # type: ignore[union-attr]
    assert await _settings_form(client) == form


@pytest.mark.parametrize("email", ["vera@example.org", "paula@example.org"])
async def test_only_the_manager_sees_and_changes_the_settings(client, world, sessions, email):
    await sign_in(client, email)
    assert (await client.get("/manage/flags/settings")).status_code == 403
    answer = await post(client, "/manage/flags/settings", {"takes_balance_below": "-1"})
    assert answer.status_code == 403
    async with transaction(sessions) as s:
        assert (await s.get(NetworkSettings, 1)).takes_balance_below == -600  # type: ignore[union-attr]


async def test_schedules_are_chosen_in_words_and_cron_stays_for_experts(client, world, sessions):
    await manager(client)
    form = await _settings_form(client)
    # The defaults read as words: the review daily at 02:30, the digest on Mondays at 07:00.
    assert (form["review_cron_every"], form["review_cron_at"]) == ("daily", "02:30")
    assert (form["digest_cron_every"], form["digest_cron_day"], form["digest_cron_at"]) == (
        "weekly",
        "0",
        "07:00",
    )
    chosen = {
        **form,
        "review_cron_every": "weekly",
        "review_cron_day": "6",  # Sunday
        "review_cron_at": "23:15",
        "unanswered_cron_every": "cron",
        "unanswered_cron": "*/30 8-18 * * 1-5",
    }
    answer = await post(client, "/manage/flags/settings", chosen)
    assert answer.status_code == 303
    async with transaction(sessions) as s:
        saved = await s.get(NetworkSettings, 1)
        assert saved is not None
        assert saved.review_cron == "15 23 * * 0"
        assert saved.unanswered_cron == "*/30 8-18 * * 1-5"
    refused = await post(client, "/manage/flags/settings", {**form, "review_cron_at": "25:00"})
    assert refused.status_code == 400 and error_of(refused.text, "review_cron_at")


async def test_limits_per_role_are_set_on_the_settings_page_and_hold_in_the_ledger(
    client, world, sessions
):
    await manager(client)
    form = await _settings_form(client)
    answer = await post(
        client,
        "/manage/flags/settings",
        {**form, "limit_min_senior": "-3", "limit_max_volunteer": "50"},
    )
    assert answer.status_code == 303
    async with transaction(sessions) as s:
        senior = await s.get(LimitDefault, "senior")
        assert senior is not None and senior.min_minutes == -180
        account = await ledger.account_of_member(s, world.senior.id)
        limits = await ledger.limits_for(s, [account])
        assert limits[account.id].min_minutes == -180
    shown = await _settings_form(client)
    assert (shown["limit_min_senior"], shown["limit_max_volunteer"]) == ("-3", "50")
    refused = await post(client, "/manage/flags/settings", {**form, "limit_min_senior": "5"})
    assert refused.status_code == 400 and error_of(refused.text, "limit_min_senior")
