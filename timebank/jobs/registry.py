"""The scheduled jobs: each one's name, what it does, which schedule setting drives it,
and the function that runs one tick of it (in the tick's transaction)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from apscheduler.triggers.cron import CronTrigger
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import network, review
from timebank.config import Settings
from timebank.errors import NotFound
from timebank.jobs import delivery, digest, reminders, retention
from timebank.models import NetworkSettings
from timebank.schedules import cron_trigger


@dataclass(frozen=True)
class JobContext:
    now: datetime
    scheduled_for: datetime
    settings: Settings
    network: NetworkSettings

    @property
    def email(self) -> bool:
        return delivery.email_configured(self.settings)


JobFunction = Callable[[AsyncSession, JobContext], Awaitable[dict[str, int]]]


async def _review(session: AsyncSession, ctx: JobContext) -> dict[str, int]:
    return (await review.run_review(session, now=ctx.now)).counts()


async def _unconfirmed(session: AsyncSession, ctx: JobContext) -> dict[str, int]:
    return await reminders.unconfirmed_exchanges(session, ctx.network, now=ctx.now, email=ctx.email)


async def _unanswered(session: AsyncSession, ctx: JobContext) -> dict[str, int]:
    return await reminders.unanswered_requests(session, ctx.network, now=ctx.now)


async def _expiry(session: AsyncSession, ctx: JobContext) -> dict[str, int]:
    today = network.today_in(ctx.network, ctx.now)
    closed = await reminders.expire_past(session, today=today, email=ctx.email)
    warned = await reminders.expiring_soon(session, ctx.network, today=today, email=ctx.email)
    return closed | warned


async def _summary(session: AsyncSession, ctx: JobContext) -> dict[str, int]:
    # The notices of members who chose a daily summary, written before the tick.
    return await delivery.queue_daily_summaries(session, before=ctx.scheduled_for)


async def _digest(session: AsyncSession, ctx: JobContext) -> dict[str, int]:
    # The week is the one before the tick, so a re-run or a catch-up reports the same week.
    return await digest.send_weekly_digest(session, end=ctx.scheduled_for, email=ctx.email)


async def _retention(session: AsyncSession, ctx: JobContext) -> dict[str, int]:
    today = network.today_in(ctx.network, ctx.now)
    return await retention.list_inactive(
        session, today=today, retention_days=ctx.network.retention_days
    )


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
        Job(
            "expiry",
            "close offers and requests past their date; tell of requests ending soon",
            "expiry_cron",
            _expiry,
        ),
        Job("digest", "weekly summary for the network manager", "digest_cron", _digest),
        Job(
            "summary",
            "daily email summary of notices for members who chose it",
            "summary_cron",
            _summary,
        ),
        Job(
            "retention",
            "weekly list of members inactive for the retention period, for the office",
            "retention_cron",
            _retention,
        ),
    )
}


def job_named(name: str) -> Job:
    job = JOBS.get(name)
    if job is None:
        raise NotFound(
            "there is no job '{name}'; the jobs are: {jobs}",
            params={"name": name, "jobs": ", ".join(JOBS)},
        )
    return job


def triggers_for(settings: NetworkSettings) -> dict[str, CronTrigger]:
    return {
        name: cron_trigger(getattr(settings, job.cron_setting), settings.timezone)
        for name, job in JOBS.items()
    }
