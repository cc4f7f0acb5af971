"""The manager's flag and job-run pages through the test client (both databases)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import select

from tests.test_manage import SECRET, client, main_of, manager, post, sign_in  # noqa: F401
from timebank import ledger, scheduler
from timebank.config import Settings
from timebank.db import transaction
from timebank.models import Flag, FlagEvent, utcnow


async def karl_owes(sessions, world) -> None:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as s:
        karl = await ledger.account_of_member(s, world.client.id)
        paula = await ledger.account_of_member(s, world.professional.id)
        await ledger.post_transfer(
            s,
            from_account_id=karl.id,  # type: ignore[arg-type]
            to_account_id=paula.id,  # type: ignore[arg-type]
            minutes=700,
            kind="adjustment",
            actor=world.manager,
        )
    settings = Settings(database_url="unused", secret_key=SECRET, run_scheduler=False)
    await scheduler.run_job(sessions, settings, "review", scheduled_for=utcnow())


@pytest.mark.parametrize("path", ["/manage/flags", "/manage/jobs", "/manage/flags/members/{id}"])
@pytest.mark.parametrize("email", ["vera@example.org", "paula@example.org"])
async def test_only_the_manager_sees_the_flag_pages(client, world, path, email):  # noqa: F811
    await sign_in(client, email)
    answer = await client.get(path.format(id=world.client.id))
    assert answer.status_code == 403


async def test_open_flags_show_the_figures_and_filter(client, world, sessions):  # noqa: F811
    await karl_owes(sessions, world)
    await manager(client)
    page = main_of((await client.get("/manage/flags")).text)
    assert "Karl Klient" in page and "takes without giving" in page
    filtered = main_of((await client.get(f"/manage/flags?district={world.south.id}")).text)
    assert "Karl Klient" not in filtered and "No open flags." in filtered
    by_org = main_of((await client.get(f"/manage/flags?organization={world.org.id}")).text)
    assert "Karl Klient" in by_org


async def test_the_manager_acts_on_a_flag_from_the_members_page(client, world, sessions):  # noqa: F811
    await karl_owes(sessions, world)
    await manager(client)
    async with transaction(sessions) as s:
        flag = await s.scalar(select(Flag).where(Flag.member_id == world.client.id))
    page = main_of((await client.get(f"/manage/flags/members/{world.client.id}")).text)
    assert "Balance over time" in page and "by the review" in page
    member = str(world.client.id)
    answer = await post(client, f"/manage/flags/{flag.id}/resolve", {"member": member, "note": ""})  # type: ignore[union-attr]
    assert answer.status_code == 422
    until = (date.today() + timedelta(days=7)).isoformat()
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


async def test_job_runs_show_their_errors(client, world, sessions, monkeypatch):  # noqa: F811
    async def broken(session, ctx):  # type: ignore[no-untyped-def]
        raise RuntimeError("mail server melted")

    monkeypatch.setitem(
        scheduler.JOBS, "digest", scheduler.Job("digest", "broken", "digest_cron", broken)
    )
    settings = Settings(database_url="unused", secret_key=SECRET, run_scheduler=False)
    await scheduler.run_job(sessions, settings, "digest", scheduled_for=utcnow())
    await manager(client)
    page = main_of((await client.get("/manage/jobs")).text)
    assert "digest" in page and "failed" in page and "mail server melted" in page
