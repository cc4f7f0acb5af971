"""The scheduler: runs the network's jobs on their schedules, each tick exactly once.

- APScheduler 3 (``AsyncIOScheduler``) keeps the schedules in memory; the cron expressions
  come from ``network_settings`` and are re-read every half minute.
- One process leads. On PostgreSQL the leader holds an advisory lock on a connection of its
  own; when the leader dies the server drops the lock with the connection, and a follower,
  which tries every ``poll_seconds``, takes over. On SQLite the one process leads.
- Every run first claims ``(job, scheduled_for)`` in ``job_runs`` (unique), in the same
  transaction as the job's work: two leaders cannot both run a tick, and a leader that dies
  mid-run leaves the tick unclaimed for the next one.
- Taking the lead, a process catches up the latest missed tick of each job once (however
  many were missed), if the job had run before.
- A failed run is recorded with its error and never stops the scheduler.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import access, digest, notifications, reminders, review
from timebank.config import Settings
from timebank.db import make_engine, make_sessionmaker, transaction
from timebank.errors import Forbidden, Invalid, NotFound
from timebank.models import (
    ROLES,
    UNCONFIRMED_ACTIONS,
    JobRun,
    Member,
    NetworkSettings,
    ReviewPolicy,
    utcnow,
)

log = logging.getLogger("timebank.scheduler")

# Any fixed number works: advisory locks are per database, so networks sharing a server
# do not compete. "timebank" in ASCII.
LEADER_LOCK_KEY = 0x74696D6562616E6B
SETTINGS_REFRESH = timedelta(seconds=30)
DELIVERY_INTERVAL_SECONDS = 60


@dataclass(frozen=True)
class JobContext:
    now: datetime
    scheduled_for: datetime
    settings: Settings
    network: NetworkSettings

    @property
    def email(self) -> bool:
        return notifications.email_configured(self.settings)


JobFunction = Callable[[AsyncSession, JobContext], Awaitable[dict[str, int]]]


async def _review(session: AsyncSession, ctx: JobContext) -> dict[str, int]:
    return (await review.run_review(session, now=ctx.now)).counts()


async def _unconfirmed(session: AsyncSession, ctx: JobContext) -> dict[str, int]:
    return await reminders.unconfirmed_exchanges(session, ctx.network, now=ctx.now, email=ctx.email)


async def _unanswered(session: AsyncSession, ctx: JobContext) -> dict[str, int]:
    return await reminders.unanswered_requests(session, ctx.network, now=ctx.now)


async def _expiry(session: AsyncSession, ctx: JobContext) -> dict[str, int]:
    return await reminders.expire_past(
        session, today=review.today_in(ctx.network, ctx.now), email=ctx.email
    )


async def _digest(session: AsyncSession, ctx: JobContext) -> dict[str, int]:
    # The week is the one before the tick, so a re-run or a catch-up reports the same week.
    return await digest.send_weekly_digest(session, end=ctx.scheduled_for, email=ctx.email)


@dataclass(frozen=True)
class Job:
    name: str
    description: str
    cron_setting: str
    run: JobFunction


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job("review", "balance review: flags members out of balance", "review_cron", _review),
        Job(
            "unconfirmed",
            "remind of unconfirmed exchanges; confirm or flag them after the deadline",
            "unconfirmed_cron",
            _unconfirmed,
        ),
        Job("unanswered", "flag help requests nobody answered", "unanswered_cron", _unanswered),
        Job("expiry", "close offers and requests past their date", "expiry_cron", _expiry),
        Job("digest", "weekly summary for the network manager", "digest_cron", _digest),
    )
}


def job_named(name: str) -> Job:
    job = JOBS.get(name)
    if job is None:
        raise NotFound(f"no job {name!r}; the jobs are: {', '.join(JOBS)}")
    return job


# --- Schedules ------------------------------------------------------------------------------

_CRONTAB_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _crontab_weekdays(value: str) -> str:
    # APScheduler 3 counts weekdays from Monday = 0; crontab from Sunday = 0 (and 7).
    def name(match: re.Match[str]) -> str:
        number = int(match.group(0))
        if number > 7:
            raise Invalid(f"no weekday {number} (use 0–7 or mon–sun)", field="cron")
        return _CRONTAB_DAYS[number]

    return re.sub(r"(?<![/\d])\d+", name, value)


def cron_trigger(expression: str, timezone: str) -> CronTrigger:
    """A cron expression as crontab writes it (minute hour day month weekday), optionally
    with seconds in front; weekdays as crontab numbers (0 or 7 = Sunday) or names."""
    fields = expression.split()
    if len(fields) == 5:
        fields.insert(0, "0")
    if len(fields) != 6:
        raise Invalid(
            f"a schedule needs 5 fields (minute hour day month weekday), got {expression!r}",
            field="cron",
        )
    second, minute, hour, day, month, weekday = fields
    try:
        return CronTrigger(
            second=second,
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=_crontab_weekdays(weekday),
            timezone=ZoneInfo(timezone),
        )
    except (ValueError, KeyError) as exc:
        raise Invalid(f"not a valid schedule {expression!r}: {exc}", field="cron") from None


_LOOKBACK = (
    timedelta(seconds=2),
    timedelta(minutes=1),
    timedelta(hours=1),
    timedelta(days=1),
    timedelta(days=8),
    timedelta(days=32),
    timedelta(days=367),
)


def latest_tick(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The last time at or before ``now`` that the schedule fired (UTC), or None."""
    for window in _LOOKBACK:
        tick = trigger.get_next_fire_time(None, now - window)
        last = None
        while tick is not None and tick <= now:
            last = tick
            tick = trigger.get_next_fire_time(tick, tick + timedelta(microseconds=1))
        if last is not None:
            return last.astimezone(ZoneInfo("UTC"))
    return None


def triggers_for(network: NetworkSettings) -> dict[str, CronTrigger]:
    return {
        name: cron_trigger(getattr(network, job.cron_setting), network.timezone)
        for name, job in JOBS.items()
    }


# --- Running one tick -----------------------------------------------------------------------


def runner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class RunOutcome:
    job: str
    scheduled_for: datetime
    ran: bool  # False: another process had already claimed this tick
    outcome: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None


async def _claim(session: AsyncSession, values: dict[str, Any]) -> int | None:
    """Insert the run unless the tick is taken; None when it is. On PostgreSQL a claim
    made by a transaction still running waits for it, and wins if that one rolls back."""
    postgres = (await session.connection()).dialect.name == "postgresql"
    insert = pg_insert if postgres else sqlite_insert
    statement = (
        insert(JobRun)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["job", "scheduled_for"])
        .returning(JobRun.id)  # type: ignore[arg-type]
    )
    return await session.scalar(statement)


def _error_text(exc: BaseException) -> str:
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return "".join(lines)[-4000:]


async def run_job(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    name: str,
    *,
    scheduled_for: datetime,
    trigger: str = "schedule",
    runner: str | None = None,
    now: datetime | None = None,
) -> RunOutcome:
    """Claim the tick and run the job in one transaction; record the outcome either way.
    Never raises for a job's failure (it is recorded), only for an unknown job."""
    job = job_named(name)
    runner = runner or runner_name()
    base = {"job": name, "scheduled_for": scheduled_for, "trigger": trigger, "runner": runner}
    try:
        async with transaction(sessions) as s:
            started = utcnow()
            run_id = await _claim(s, {**base, "started_at": started, "outcome": "ok", "counts": {}})
            if run_id is None:
                return RunOutcome(name, scheduled_for, ran=False)
            network = await review.network_settings(s)
            ctx = JobContext(now or started, scheduled_for, settings, network)
            counts = await job.run(s, ctx)
            await s.exec(  # type: ignore[call-overload]
                update(JobRun)
                .where(JobRun.id == run_id)  # type: ignore[arg-type]
                .values(finished_at=utcnow(), counts=counts)
            )
    except Exception as exc:
        log.exception("job %s for %s failed", name, scheduled_for.isoformat())
        error = _error_text(exc)
        try:
            async with transaction(sessions) as s:
                failed = {**base, "started_at": utcnow(), "finished_at": utcnow()}
                run_id = await _claim(
                    s, {**failed, "outcome": "failed", "counts": {}, "error": error}
                )
        except Exception:  # the database itself is gone: the log line above is all we have
            log.exception("could not record the failure of job %s", name)
            return RunOutcome(name, scheduled_for, ran=True, outcome="failed", error=error)
        return RunOutcome(
            name, scheduled_for, ran=run_id is not None, outcome="failed", error=error
        )
    log.info("job %s for %s: %s", name, scheduled_for.isoformat(), counts)
    await deliver_quietly(sessions, settings)
    return RunOutcome(name, scheduled_for, ran=True, outcome="ok", counts=counts)


async def deliver_quietly(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    try:
        await notifications.deliver_pending(sessions, settings)
    except Exception:  # a broken mail set-up must not stop the jobs; the rows keep the state
        log.exception("delivering notifications failed")


async def last_scheduled(session: AsyncSession, name: str) -> datetime | None:
    return await session.scalar(select(func.max(JobRun.scheduled_for)).where(JobRun.job == name))


async def catch_up(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    now: datetime | None = None,
    runner: str | None = None,
) -> list[RunOutcome]:
    """Run, once, the latest tick each job missed while nobody was leading."""
    now = now or utcnow()
    async with transaction(sessions) as s:
        network = await review.network_settings(s)
        triggers = triggers_for(network)
        latest = {name: await last_scheduled(s, name) for name in JOBS}
    outcomes = []
    for name, trigger in triggers.items():
        tick = latest_tick(trigger, now)
        if tick is None or latest[name] is None or latest[name] >= tick:  # type: ignore[operator]
            continue
        log.info("catching up job %s for %s", name, tick.isoformat())
        outcomes.append(
            await run_job(
                sessions, settings, name, scheduled_for=tick, trigger="catch_up", runner=runner
            )
        )
    return outcomes


# --- Leading ----------------------------------------------------------------------------------


class JobScheduler:
    """Elects a leader among the processes on one database and, while leading, runs the
    jobs. ``start()`` returns at once; ``stop()`` lets go of the lead."""

    def __init__(
        self,
        settings: Settings,
        *,
        engine: AsyncEngine | None = None,
        poll_seconds: float = 1.0,
    ) -> None:
        self.settings = settings
        self._own_engine = engine is None
        self.engine = engine or make_engine(settings.database_url)
        self.sessions = make_sessionmaker(self.engine)
        self.poll_seconds = poll_seconds
        self.runner = runner_name()
        self.is_leader = False
        self._postgres = not settings.is_sqlite
        self._lock: asyncpg.Connection | None = None
        self._aps: AsyncIOScheduler | None = None
        self._task: asyncio.Task[None] | None = None
        self._schedule_key: tuple[str, ...] | None = None
        self._refreshed_at = utcnow()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="timebank-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        await self._step_down()
        if self._own_engine:
            await self.engine.dispose()

    async def _loop(self) -> None:
        while True:
            try:
                if not self.is_leader:
                    if await self._try_to_lead():
                        await self._lead()
                elif not await self._still_leading():
                    log.warning("%s lost the lead", self.runner)
                    await self._step_down()
                elif utcnow() - self._refreshed_at >= SETTINGS_REFRESH:
                    await self._refresh_schedules()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduler trouble; stepping down and trying again")
                await self._step_down()
            await asyncio.sleep(self.poll_seconds)

    # Leader election ---------------------------------------------------------------------

    def _lock_dsn(self) -> str:
        url = make_url(self.settings.database_url).set(drivername="postgresql")
        return url.render_as_string(hide_password=False)

    async def _try_to_lead(self) -> bool:
        if not self._postgres:
            return True
        if self._lock is None or self._lock.is_closed():
            self._lock = await asyncpg.connect(self._lock_dsn(), timeout=10)
        got = await self._lock.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_LOCK_KEY)
        return bool(got)

    async def _still_leading(self) -> bool:
        if not self._postgres:
            return True
        if self._lock is None or self._lock.is_closed():
            return False
        try:
            await self._lock.fetchval("SELECT 1", timeout=5)
        except (TimeoutError, OSError, asyncpg.PostgresError):
            return False
        return True

    async def _lead(self) -> None:
        log.info("%s leads the scheduler", self.runner)
        self.is_leader = True
        async with transaction(self.sessions) as s:
            network = await review.network_settings(s)
        self._aps = AsyncIOScheduler(
            timezone=ZoneInfo(network.timezone),
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        )
        self._install(network)
        self._aps.add_job(
            deliver_quietly,
            IntervalTrigger(seconds=DELIVERY_INTERVAL_SECONDS),
            args=[self.sessions, self.settings],
            id="deliver",
        )
        self._aps.start()
        await catch_up(self.sessions, self.settings, runner=self.runner)

    def _install(self, network: NetworkSettings) -> None:
        assert self._aps is not None
        for name, trigger in triggers_for(network).items():
            self._aps.add_job(
                self._fire, trigger, args=[name, trigger], id=name, replace_existing=True
            )
        self._schedule_key = (
            network.timezone,
            *(getattr(network, job.cron_setting) for job in JOBS.values()),
        )
        self._refreshed_at = utcnow()

    async def _refresh_schedules(self) -> None:
        async with transaction(self.sessions) as s:
            network = await review.network_settings(s)
        key = (network.timezone, *(getattr(network, job.cron_setting) for job in JOBS.values()))
        if key != self._schedule_key:
            log.info("schedules changed; rescheduling")
            self._install(network)
        self._refreshed_at = utcnow()

    async def _fire(self, name: str, trigger: CronTrigger) -> None:
        tick = latest_tick(trigger, utcnow())
        if tick is None:
            return
        await run_job(self.sessions, self.settings, name, scheduled_for=tick, runner=self.runner)

    async def _step_down(self) -> None:
        self.is_leader = False
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            self._aps = None
        if self._lock is not None:
            lock, self._lock = self._lock, None
            try:
                await lock.close(timeout=5)
            except Exception:
                lock.terminate()


async def recent_runs(
    session: AsyncSession, actor: Member, *, job: str | None = None, limit: int = 100
) -> list[JobRun]:
    """The newest runs first (failed ones carry their error), for the manager."""
    if not access.can_see_job_runs(actor):
        raise Forbidden("only the network manager may see the job runs")
    query = select(JobRun).order_by(JobRun.started_at.desc()).limit(max(1, min(limit, 500)))  # type: ignore[attr-defined]
    if job is not None:
        query = query.where(JobRun.job == job)
    return list((await session.exec(query)).all())


# --- The manager's settings page ------------------------------------------------------------

# Form field → (lowest, highest), in the unit the manager enters. Fields in ``HOUR_FIELDS``
# are entered in whole hours and stored in minutes.
SETTING_RANGES: dict[str, tuple[int, int]] = {
    "takes_balance_below": (-1000, 0),
    "takes_ratio": (1, 100),
    "takes_min_received": (0, 1000),
    "gives_balance_above": (0, 1000),
    "gives_ratio": (1, 100),
    "gives_min_given": (0, 1000),
    "near_limit_percent": (0, 50),
    "review_window_days": (7, 730),
    "inactive_days": (7, 730),
    "remind_after_days": (1, 60),
    "unconfirmed_after_days": (1, 365),
    "unanswered_after_days": (1, 60),
}
HOUR_FIELDS = (
    "takes_balance_below",
    "takes_min_received",
    "gives_balance_above",
    "gives_min_given",
)
CRON_FIELDS = tuple(job.cron_setting for job in JOBS.values())


@dataclass(frozen=True)
class PolicyChoice:
    reviewed: bool
    pool_help_counts: bool


@dataclass(frozen=True)
class SettingsChange:
    """Everything the settings page edits; numbers in the form's units (hours, days, …)."""

    numbers: dict[str, int]
    crons: dict[str, str]
    unconfirmed_action: str
    policies: dict[str, PolicyChoice] = field(default_factory=dict)


@dataclass(frozen=True)
class SettingsView:
    network: NetworkSettings
    policies: list[ReviewPolicy]

    def form(self) -> dict[str, str]:
        """The current values as the page's form shows them."""
        values = {
            name: str(getattr(self.network, name) // (60 if name in HOUR_FIELDS else 1))
            for name in SETTING_RANGES
        }
        values.update({name: getattr(self.network, name) for name in CRON_FIELDS})
        values["unconfirmed_action"] = self.network.unconfirmed_action
        for policy in self.policies:
            values[f"reviewed_{policy.role}"] = "1" if policy.reviewed else ""
            values[f"pool_help_counts_{policy.role}"] = "1" if policy.pool_help_counts else ""
        return values


async def settings_view(session: AsyncSession, actor: Member) -> SettingsView:
    access.require_edit_network_settings(actor)
    policies = (await session.exec(select(ReviewPolicy).order_by(ReviewPolicy.role))).all()
    return SettingsView(await review.network_settings(session), list(policies))


def settings_change_from_form(form: dict[str, str]) -> SettingsChange:
    """Read the page's fields; a field that is not a whole number is refused by name."""
    numbers: dict[str, int] = {}
    for name in SETTING_RANGES:
        value = (form.get(name) or "").strip()
        if not value:
            raise Invalid("please fill in this field", field=name)
        try:
            numbers[name] = int(value.replace("−", "-"))
        except ValueError:
            raise Invalid("please enter a whole number", field=name) from None
    policies = {
        role: PolicyChoice(
            reviewed=form.get(f"reviewed_{role}") == "1",
            pool_help_counts=form.get(f"pool_help_counts_{role}") == "1",
        )
        for role in ROLES
    }
    return SettingsChange(
        numbers=numbers,
        crons={name: (form.get(name) or "").strip() for name in CRON_FIELDS},
        unconfirmed_action=form.get("unconfirmed_action") or "",
        policies=policies,
    )


def _check_settings(change: SettingsChange, timezone: str) -> None:
    for name, (low, high) in SETTING_RANGES.items():
        value = change.numbers.get(name)
        if value is None:
            raise Invalid("please fill in this field", field=name)
        if not low <= value <= high:
            raise Invalid("this number is outside the range shown", field=name)
    if change.numbers["unconfirmed_after_days"] <= change.numbers["remind_after_days"]:
        raise Invalid(
            "the deadline must come after the reminder (more days)", field="unconfirmed_after_days"
        )
    for name in CRON_FIELDS:
        try:
            cron_trigger(change.crons.get(name, ""), timezone)
        except Invalid:
            raise Invalid(
                "not a schedule we can read: five fields, minute hour day month weekday, "
                "for example 30 2 * * *",
                field=name,
            ) from None
    if change.unconfirmed_action not in UNCONFIRMED_ACTIONS:
        raise Invalid("please choose one", field="unconfirmed_action")
    unknown = set(change.policies) - set(ROLES)
    if unknown:
        raise Invalid(f"no role {sorted(unknown)[0]!r}", field="policies")


async def update_settings(
    session: AsyncSession, actor: Member, change: SettingsChange
) -> NetworkSettings:
    """Check everything, then save all of it (or nothing). The scheduler picks up new
    schedules within ``SETTINGS_REFRESH``; the next review uses the new thresholds."""
    access.require_edit_network_settings(actor)
    network = await session.get(NetworkSettings, 1)
    if network is None:
        network = NetworkSettings()
    _check_settings(change, network.timezone)
    for name, value in change.numbers.items():
        setattr(network, name, value * 60 if name in HOUR_FIELDS else value)
    for name, expression in change.crons.items():
        setattr(network, name, " ".join(expression.split()))
    network.unconfirmed_action = change.unconfirmed_action
    network.updated_at = utcnow()
    session.add(network)
    for role, choice in change.policies.items():
        policy = await session.get(ReviewPolicy, role) or ReviewPolicy(role=role)
        policy.reviewed = choice.reviewed
        policy.pool_help_counts = choice.pool_help_counts
        session.add(policy)
    await session.flush()
    return network
