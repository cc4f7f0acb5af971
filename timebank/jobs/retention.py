"""The weekly retention list: tell the network managers how many members have been silent
for the network's retention period, so a person decides whether to erase their data
(timebank.privacy). Nothing is erased here."""

from __future__ import annotations

from datetime import date

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import privacy
from timebank.i18n import N_
from timebank.models import Member
from timebank.notifications import notify

SUBJECT = N_("Data protection: members inactive for a long time")
BODY = N_(
    "Members who have given or received no help and not signed in for {days} days: {count}. "
    "Please look at the list and decide whose data should be erased."
)


async def list_inactive(
    session: AsyncSession, *, today: date, retention_days: int
) -> dict[str, int]:
    """One notice per manager and week (idempotent: a re-run tells no one twice)."""
    inactive = await privacy.inactive_members(session, None, today=today)
    if not inactive:
        return {"inactive": 0, "told": 0}
    week = today.isocalendar()
    managers = (
        await session.exec(select(Member).where(Member.role == "manager", Member.active))
    ).all()
    told = 0
    for manager in managers:
        done = await notify(
            session,
            manager,
            kind="retention",
            subject=SUBJECT,
            body=BODY,
            params={"count": len(inactive), "days": retention_days},
            key=f"retention:{week.year}-{week.week}:{manager.id}",
            link="/manage/privacy",
        )
        told += done is not None
    return {"inactive": len(inactive), "told": told}
