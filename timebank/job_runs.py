"""The history of the scheduled jobs: one row per tick of a job, claimed before the job's
work in the same transaction.

``(job, scheduled_for)`` is unique, so claiming a tick is what lets exactly one process run
it: a second claim finds the row taken and returns None.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import access
from timebank.errors import Forbidden
from timebank.models import JobRun, Member, utcnow


async def claim(session: AsyncSession, values: dict[str, Any]) -> int | None:
    """Insert the run unless the tick is taken; None when it is. On PostgreSQL a claim
    made by a transaction still running waits for it, and wins if that one rolls back."""
    postgres = (await session.connection()).dialect.name == "postgresql"
    insert = pg_insert if postgres else sqlite_insert
    statement = (
        insert(JobRun)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["job", "scheduled_for"])
        .returning(col(JobRun.id))
    )
    return await session.scalar(statement)


async def finish(session: AsyncSession, run_id: int, counts: dict[str, int]) -> None:
    await session.exec(
        update(JobRun).where(col(JobRun.id) == run_id).values(finished_at=utcnow(), counts=counts)
    )


async def last_scheduled(session: AsyncSession, name: str) -> datetime | None:
    return await session.scalar(select(func.max(JobRun.scheduled_for)).where(JobRun.job == name))


async def last_run(session: AsyncSession, name: str) -> JobRun | None:
    query = select(JobRun).where(JobRun.job == name)
    return await session.scalar(query.order_by(col(JobRun.scheduled_for).desc()).limit(1))


async def recent_runs(
    session: AsyncSession, actor: Member, *, job: str | None = None, limit: int = 100
) -> list[JobRun]:
    """The newest runs first (failed ones carry their error), for the manager."""
    if not access.can_see_job_runs(actor):
        raise Forbidden("only the network manager may see the job runs")
    query = select(JobRun).order_by(col(JobRun.started_at).desc()).limit(max(1, min(limit, 500)))
    if job is not None:
        query = query.where(JobRun.job == job)
    return list((await session.exec(query)).all())
