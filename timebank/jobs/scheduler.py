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
from datetime import timedelta
from zoneinfo import ZoneInfo

import asyncpg
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from timebank import network
from timebank.config import Settings
from timebank.db import is_outage, make_engine, make_sessionmaker, transaction
from timebank.jobs.registry import JOBS, triggers_for
from timebank.jobs.runs import catch_up, deliver_quietly, run_job, runner_name
from timebank.models import NetworkSettings, utcnow
from timebank.schedules import latest_tick

log = logging.getLogger("timebank.scheduler")

# Any fixed number works: advisory locks are per database, so networks sharing a server
# do not compete. "timebank" in ASCII.
LEADER_LOCK_KEY = 0x74696D6562616E6B
SETTINGS_REFRESH = timedelta(seconds=30)
DELIVERY_INTERVAL_SECONDS = 60


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
            except Exception as exc:
                if is_outage(exc):  # the database is away: one line a try, not a traceback
                    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                    log.warning("%s cannot reach the database (%s); retrying", self.runner, first)
                else:
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
            current = await network.network_settings(s)
        self._aps = AsyncIOScheduler(
            timezone=ZoneInfo(current.timezone),
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        )
        self._install(current)
        self._aps.add_job(
            deliver_quietly,
            IntervalTrigger(seconds=DELIVERY_INTERVAL_SECONDS),
            args=[self.sessions, self.settings],
            id="deliver",
        )
        self._aps.start()
        await catch_up(self.sessions, self.settings, runner=self.runner)

    def _install(self, current: NetworkSettings) -> None:
        assert self._aps is not None
        for name, trigger in triggers_for(current).items():
            self._aps.add_job(
                self._fire, trigger, args=[name, trigger], id=name, replace_existing=True
            )
        self._schedule_key = (
            current.timezone,
            *(getattr(current, job.cron_setting) for job in JOBS.values()),
        )
        self._refreshed_at = utcnow()

    async def _refresh_schedules(self) -> None:
        async with transaction(self.sessions) as s:
            current = await network.network_settings(s)
        key = (current.timezone, *(getattr(current, job.cron_setting) for job in JOBS.values()))
        if key != self._schedule_key:
            log.info("schedules changed; rescheduling")
            self._install(current)
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
