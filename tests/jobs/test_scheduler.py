"""The scheduler: schedules, claiming ticks, catch-up, and one leader among processes."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import (
    administer,
    open_flags,
    run_review,
    set_balance,
    until_a_connection_waits_for_a_lock,
    with_database,
)
from timebank import network, review, schedules
from timebank.config import Settings
from timebank.db import make_engine, make_sessionmaker, transaction
from timebank.errors import Forbidden, Invalid
from timebank.jobs import registry, runs, scheduler
from timebank.models import Flag, JobRun, NetworkSettings, ReviewPolicy, utcnow

Sessions = async_sessionmaker[AsyncSession]
BERLIN = ZoneInfo("Europe/Berlin")
ROOT = Path(__file__).resolve().parent.parent.parent


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN).astimezone(UTC)  # type: ignore[misc]


def settings_for(url: str) -> Settings:
    return Settings(database_url=url, env="development", secret_key="x" * 32, run_scheduler=False)


async def recorded_runs(sessions: Sessions, job: str | None = None) -> list[JobRun]:
    async with transaction(sessions) as s:
        query = select(JobRun).order_by(JobRun.scheduled_for)  # type: ignore[arg-type]
        if job is not None:
            query = query.where(JobRun.job == job)
        return list((await s.exec(query)).all())


async def set_crons(sessions: Sessions, **crons: str) -> None:
    async with transaction(sessions) as s:
        network = await s.get(NetworkSettings, 1)
        for name, value in crons.items():
            setattr(network, name, value)
        s.add(network)


# --- Schedules --------------------------------------------------------------------------------


def test_weekdays_are_counted_as_crontab_counts_them():
    monday_digest = schedules.cron_trigger("0 7 * * 1", "Europe/Berlin")
    fire = monday_digest.get_next_fire_time(None, berlin(2026, 11, 25, 12, 0))  # a Wednesday
    assert fire == datetime(2026, 11, 30, 7, 0, tzinfo=BERLIN)  # the next Monday
    sunday = schedules.cron_trigger("0 7 * * 0", "Europe/Berlin")
    assert sunday.get_next_fire_time(None, berlin(2026, 11, 25, 12, 0)).weekday() == 6  # type: ignore[union-attr]


@pytest.mark.parametrize("bad", ["", "* * *", "61 * * * *", "0 7 * * 9", "a b c d e"])
def test_a_malformed_schedule_is_refused_clearly(bad):
    with pytest.raises(Invalid):
        schedules.cron_trigger(bad, "Europe/Berlin")


def test_the_latest_tick_is_the_last_firing_at_or_before_now():
    nightly = schedules.cron_trigger("30 2 * * *", "Europe/Berlin")
    assert schedules.latest_tick(nightly, berlin(2026, 11, 25, 2, 30)) == berlin(
        2026, 11, 25, 2, 30
    )
    assert schedules.latest_tick(nightly, berlin(2026, 11, 25, 2, 29, 59)) == berlin(
        2026, 11, 24, 2, 30
    )
    weekly = schedules.cron_trigger("0 7 * * mon", "Europe/Berlin")
    assert schedules.latest_tick(weekly, berlin(2026, 11, 29, 23, 0)) == berlin(2026, 11, 23, 7, 0)


# --- Claiming a tick --------------------------------------------------------------------------


async def test_two_runs_of_one_tick_run_it_once(db_url, sessions, world):
    tick = berlin(2026, 11, 25, 2, 30)
    settings = settings_for(db_url)
    other_engine = make_engine(db_url)
    try:
        outcomes = await asyncio.gather(
            runs.run_job(sessions, settings, "review", scheduled_for=tick, runner="a"),
            runs.run_job(
                make_sessionmaker(other_engine), settings, "review", scheduled_for=tick, runner="b"
            ),
        )
    finally:
        await other_engine.dispose()
    assert sorted(o.ran for o in outcomes) == [False, True]
    recorded = await recorded_runs(sessions)
    assert [(r.job, r.scheduled_for, r.outcome) for r in recorded] == [("review", tick, "ok")]
    assert recorded[0].finished_at is not None


async def test_a_manual_review_run_while_another_review_runs_waits_and_succeeds(
    db_url, sessions, world
):
    """`timebank jobs run review` twice at once: each run is its own tick (now), so both run
    the review; the second must wait for the first, not fail on the one-open-flag index."""
    await set_balance(sessions, world, world.client, -700)
    async with transaction(sessions) as s:
        await review.run_review(s)
        second = asyncio.create_task(
            runs.run_job(
                sessions, settings_for(db_url), "review", scheduled_for=utcnow(), trigger="manual"
            )
        )
        await until_a_connection_waits_for_a_lock(sessions)
    outcome = await second
    assert (outcome.ran, outcome.outcome, outcome.error) == (True, "ok", None)
    assert outcome.counts["opened"] == 0 and outcome.counts["open_takes_without_giving"] == 1
    assert list(await open_flags(sessions, world.client)) == ["takes_without_giving"]


async def test_a_failing_job_is_recorded_with_its_error_and_leaves_nothing_behind(
    db_url, sessions, world, monkeypatch
):
    async def breaks_half_way(session, ctx):  # type: ignore[no-untyped-def]
        session.add(Flag(member_id=world.volunteer.id, kind="inactive"))
        await session.flush()
        raise RuntimeError("the disk is on fire")

    monkeypatch.setitem(
        registry.JOBS, "review", registry.Job("review", "broken", "review_cron", breaks_half_way)
    )
    tick = berlin(2026, 11, 25, 2, 30)
    outcome = await runs.run_job(sessions, settings_for(db_url), "review", scheduled_for=tick)
    assert (outcome.ran, outcome.outcome) == (True, "failed")
    [run] = await recorded_runs(sessions)
    assert run.outcome == "failed"
    assert "the disk is on fire" in (run.error or "")
    async with transaction(sessions) as s:
        assert (await s.exec(select(Flag))).all() == []
    # The tick is taken: running it again does not repeat it.
    again = await runs.run_job(sessions, settings_for(db_url), "review", scheduled_for=tick)
    assert again.ran is False


# --- Catching up ------------------------------------------------------------------------------


async def test_missed_nights_are_caught_up_once_at_start(db_url, sessions, world):
    settings = settings_for(db_url)
    monday = berlin(2026, 11, 23, 2, 30)
    await runs.run_job(sessions, settings, "review", scheduled_for=monday)
    # Down from Monday morning until Thursday 10:00: three nights missed, one run made up.
    with time_machine.travel(berlin(2026, 11, 26, 10, 0), tick=False):
        caught = await runs.catch_up(sessions, settings)
        again = await runs.catch_up(sessions, settings)
    assert [(o.job, o.scheduled_for, o.ran) for o in caught] == [
        ("review", berlin(2026, 11, 26, 2, 30), True)
    ]
    assert again == []
    assert [(r.scheduled_for, r.trigger) for r in await recorded_runs(sessions, "review")] == [
        (monday, "schedule"),
        (berlin(2026, 11, 26, 2, 30), "catch_up"),
    ]


async def test_a_fresh_network_has_nothing_to_catch_up(db_url, sessions, world):
    with time_machine.travel(berlin(2026, 11, 26, 10, 0), tick=False):
        assert await runs.catch_up(sessions, settings_for(db_url)) == []
    assert await recorded_runs(sessions) == []


async def _wait_for(predicate, seconds: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.2)
    raise AssertionError("the condition did not come true in time")


async def test_the_scheduler_fires_the_nightly_review_at_its_time(db_url, sessions, world):
    jobs = scheduler.JobScheduler(settings_for(db_url), poll_seconds=0.2)
    # Two seconds before 02:30 in Berlin, with the clock running.
    with time_machine.travel(berlin(2026, 11, 25, 2, 29, 58), tick=True):
        await jobs.start()
        try:

            async def ran() -> bool:
                return len(await recorded_runs(sessions, "review")) > 0

            await _wait_for(ran)
            assert jobs.is_leader
        finally:
            await jobs.stop()
    [run] = await recorded_runs(sessions)
    assert (run.job, run.scheduled_for, run.trigger, run.outcome) == (
        "review",
        berlin(2026, 11, 25, 2, 30),
        "schedule",
        "ok",
    )


# --- Three processes, one PostgreSQL ---------------------------------------------------------


def _start_scheduler(url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TIMEBANK_DATABASE_URL": url,
        "TIMEBANK_ENV": "development",
        "TIMEBANK_SMTP_HOST": "",
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "timebank", "scheduler", "--poll", "0.3"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def test_three_processes_run_each_tick_exactly_once_and_take_over(
    postgres_url, pg_template, tmp_path
):
    name = f"tb_{uuid.uuid4().hex[:12]}"
    await administer(postgres_url, f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    url = with_database(postgres_url, name)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    never = "0 0 1 1 *"
    await set_crons(
        sessions,
        review_cron="*/2 * * * * *",
        unconfirmed_cron=never,
        unanswered_cron=never,
        expiry_cron=never,
        digest_cron=never,
    )
    logs = [tmp_path / f"scheduler{i}.log" for i in range(3)]
    processes = [_start_scheduler(url, log) for log in logs]
    try:

        async def ticks(at_least: int, runner: str | None = None) -> bool:
            found = [
                r for r in await recorded_runs(sessions) if runner is None or r.runner == runner
            ]
            return len(found) >= at_least

        await _wait_for(lambda: ticks(3), 90)
        leader = (await recorded_runs(sessions))[0].runner
        assert leader is not None
        leader_pid = int(leader.rsplit(":", 1)[1])
        assert leader_pid in [p.pid for p in processes]
        os.kill(leader_pid, signal.SIGKILL)
        killed_at = datetime.now(UTC)

        async def successor_ran() -> bool:
            others = {r.runner for r in await recorded_runs(sessions) if r.runner != leader}
            return any([await ticks(3, other) for other in others])

        await _wait_for(successor_ran, 90)
    finally:
        for p in processes:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in processes:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    recorded = await recorded_runs(sessions)
    await engine.dispose()
    await administer(postgres_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    assert all(r.job == "review" and r.outcome == "ok" for r in recorded)
    ticks_seen = [r.scheduled_for for r in recorded]
    assert len(ticks_seen) == len(set(ticks_seen))
    runners = [r.runner for r in recorded]
    successor = next(r for r in runners if r != leader)
    # The leader ran every tick until it died; then one successor ran all of them.
    assert set(runners) == {leader, successor}
    switch = runners.index(successor)
    assert set(runners[:switch]) == {leader} and set(runners[switch:]) == {successor}
    assert all(r.scheduled_for <= killed_at for r in recorded[:switch])
    # Each process says which ticks it ran: no tick appears in two processes' logs.
    ran_lines = [
        line
        for log in logs
        for line in log.read_text().splitlines()
        if "timebank.scheduler job review for" in line
    ]
    assert len(ran_lines) == len(recorded)
    # While someone led, no tick was skipped (two seconds apart), except across the take-over.
    gaps = [b - a for a, b in itertools.pairwise(ticks_seen)]
    assert sum(1 for g in gaps if g != timedelta(seconds=2)) <= 1


async def test_on_sqlite_the_one_process_leads(tmp_path, sqlite_template):
    import shutil

    target = tmp_path / "one.db"
    shutil.copy(sqlite_template, target)
    jobs = scheduler.JobScheduler(settings_for(f"sqlite+aiosqlite:///{target}"), poll_seconds=0.1)
    await jobs.start()
    try:

        async def leading() -> bool:
            return jobs.is_leader

        await _wait_for(leading, 30)
    finally:
        await jobs.stop()
    assert jobs.is_leader is False


# --- The command line -------------------------------------------------------------------------


async def _timebank(url: str, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "TIMEBANK_DATABASE_URL": url, "TIMEBANK_ENV": "development"}
    env.pop("TIMEBANK_SMTP_HOST", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "timebank",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def test_jobs_run_prints_what_it_found_and_jobs_list_shows_the_run(db_url, sessions, world):
    # Karl Klient owes more than ten hours: the review must find him.
    await set_balance(sessions, world, world.client, -700)
    code, out, err = await _timebank(db_url, "jobs", "run", "review")
    assert code == 0, err
    assert "opened 1" in out and "open_takes_without_giving 1" in out
    code, out, _ = await _timebank(db_url, "jobs", "list")
    assert code == 0
    assert "review" in out and "30 2 * * *" in out and "ok opened 1" in out
    assert out.count("never ran") == len(registry.JOBS) - 1
    [run] = await recorded_runs(sessions)
    assert run.trigger == "manual"


async def test_jobs_run_of_an_unknown_job_is_one_clear_line(db_url):
    code, _, err = await _timebank(db_url, "jobs", "run", "tidy-up")
    assert code != 0
    assert err.strip().splitlines() == [
        "timebank: error: no job 'tidy-up'; the jobs are: " + ", ".join(registry.JOBS)
    ]


# --- The manager's settings ------------------------------------------------------------------


async def _current_form(sessions, world) -> dict[str, str]:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as s:
        return (await network.settings_view(s, world.manager)).form()


async def _save_settings(sessions, actor, form: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as s:
        await network.update_settings(s, actor, network.settings_change_from_form(form))


async def test_the_next_review_uses_a_threshold_the_manager_changed(sessions, world):
    await set_balance(sessions, world, world.volunteer, -301)
    await run_review(sessions)
    assert "takes_without_giving" not in await open_flags(sessions, world.volunteer)
    form = await _current_form(sessions, world)
    assert form["takes_balance_below"] == "-10"
    await _save_settings(sessions, world.manager, {**form, "takes_balance_below": "-5"})
    async with transaction(sessions) as s:
        assert (await s.get(NetworkSettings, 1)).takes_balance_below == -300  # type: ignore[union-attr]
    await run_review(sessions)
    assert "takes_without_giving" in await open_flags(sessions, world.volunteer)


async def test_a_role_taken_out_of_the_review_is_not_flagged(sessions, world):
    await set_balance(sessions, world, world.volunteer, -700)
    form = await _current_form(sessions, world)
    assert form["reviewed_volunteer"] == "1"
    await _save_settings(sessions, world.manager, {**form, "reviewed_volunteer": ""})
    await run_review(sessions)
    assert "takes_without_giving" not in await open_flags(sessions, world.volunteer)
    async with transaction(sessions) as s:
        assert not (await s.get(ReviewPolicy, "volunteer")).reviewed  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("review_cron", "61 2 * * *"),
        ("digest_cron", "every monday"),
        ("takes_ratio", "0"),
        ("gives_balance_above", "5000"),
        ("inactive_days", "ninety"),
        ("unconfirmed_after_days", "2"),  # not after the reminder (3 days)
        ("unconfirmed_action", "delete"),
    ],
)
async def test_bad_settings_are_refused_by_field_and_nothing_is_saved(
    sessions, world, field, value
):
    form = await _current_form(sessions, world)
    # A valid change alongside the bad one must not be saved either.
    bad = {**form, "takes_balance_below": "-2", field: value}
    if field.endswith("_cron"):  # the expression is read when the expert's choice is made
        bad[f"{field}_every"] = "cron"
    with pytest.raises(Invalid) as refused:
        await _save_settings(sessions, world.manager, bad)
    assert refused.value.field == field
    assert await _current_form(sessions, world) == form


async def test_only_the_manager_changes_the_settings(sessions, world):
    form = await _current_form(sessions, world)
    for actor in (world.volunteer, world.professional):
        with pytest.raises(Forbidden):
            await _save_settings(sessions, actor, {**form, "takes_balance_below": "-2"})
        async with transaction(sessions) as s:
            with pytest.raises(Forbidden):
                await network.settings_view(s, actor)
    assert await _current_form(sessions, world) == form


async def test_a_database_that_is_away_costs_one_log_line_a_try_not_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on: every connection is refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    away = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/timebank"
    jobs = scheduler.JobScheduler(settings_for(away), poll_seconds=0.05)
    with caplog.at_level("INFO", logger="timebank.scheduler"):
        await jobs.start()
        try:

            async def tried_twice() -> bool:
                return len([r for r in caplog.records if r.name == "timebank.scheduler"]) >= 2

            await _wait_for(tried_twice, 30)
        finally:
            await jobs.stop()
    tries = [r for r in caplog.records if r.name == "timebank.scheduler"]
    assert {r.levelname for r in tries} == {"WARNING"}
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in tries)
