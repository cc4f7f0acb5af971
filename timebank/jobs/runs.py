"""Running one tick of a job: claim it, run it, record the outcome; and catching up the
ticks missed while no process was leading."""

from __future__ import annotations

import logging
import os
import socket
import traceback
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import job_runs, network
from timebank.config import Settings
from timebank.db import transaction
from timebank.jobs import delivery
from timebank.jobs.registry import JOBS, JobContext, job_named, triggers_for
from timebank.models import utcnow
from timebank.schedules import latest_tick

log = logging.getLogger("timebank.scheduler")


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
            run_id = await job_runs.claim(
                s, {**base, "started_at": started, "outcome": "ok", "counts": {}}
            )
            if run_id is None:
                return RunOutcome(name, scheduled_for, ran=False)
            current = await network.network_settings(s)
            ctx = JobContext(now or started, scheduled_for, settings, current)
            counts = await job.run(s, ctx)
            await job_runs.finish(s, run_id, counts)
    except Exception as exc:
        log.exception("job %s for %s failed", name, scheduled_for.isoformat())
        error = _error_text(exc)
        try:
            async with transaction(sessions) as s:
                failed = {**base, "started_at": utcnow(), "finished_at": utcnow()}
                run_id = await job_runs.claim(
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
        await delivery.deliver_pending(sessions, settings)
    except Exception:  # a broken mail set-up must not stop the jobs; the rows keep the state
        log.exception("delivering notifications failed")


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
        current = await network.network_settings(s)
        triggers = triggers_for(current)
        latest = {name: await job_runs.last_scheduled(s, name) for name in JOBS}
    outcomes = []
    for name, trigger in triggers.items():
        tick, last = latest_tick(trigger, now), latest[name]
        if tick is None or last is None or last >= tick:
            continue
        log.info("catching up job %s for %s", name, tick.isoformat())
        outcomes.append(
            await run_job(
                sessions, settings, name, scheduled_for=tick, trigger="catch_up", runner=runner
            )
        )
    return outcomes
