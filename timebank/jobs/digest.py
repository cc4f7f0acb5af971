"""The weekly digest for the network manager: what the week brought.

New flags by kind, flags cleared (by the review or by the manager), hours of help given,
and the requests still open. One notification per manager and week (its key is the week's
end), so a re-run of the same week sends nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import flags, i18n
from timebank.i18n import N_, Minutes
from timebank.models import Flag, HelpRequest, Member, Transfer
from timebank.notifications import notify


@dataclass(frozen=True)
class WeekSummary:
    start: datetime
    end: datetime
    new_flags: dict[str, int]
    cleared_by_review: int
    cleared_by_manager: int
    help_minutes: int
    open_requests: int
    unanswered_requests: int


async def summarize_week(session: AsyncSession, end: datetime) -> WeekSummary:
    start = end - timedelta(days=7)
    new = await session.exec(
        select(Flag.kind, func.count())
        .where(Flag.opened_at >= start, Flag.opened_at < end)
        .group_by(Flag.kind)
    )
    cleared = dict(
        (
            await session.exec(
                select(Flag.resolution, func.count())
                .where(col(Flag.resolved_at) >= start, col(Flag.resolved_at) < end)
                .group_by(Flag.resolution)
            )
        ).all()
    )
    undone = aliased(Transfer)
    help_minutes = await session.scalar(
        select(func.coalesce(func.sum(Transfer.minutes), 0)).where(
            col(Transfer.kind).in_(("exchange", "pool_payment")),
            Transfer.created_at >= start,
            Transfer.created_at < end,
            ~select(undone.id).where(undone.reverses_id == Transfer.id).exists(),
        )
    )
    open_requests = await session.scalar(
        select(func.count()).select_from(HelpRequest).where(HelpRequest.status == "open")
    )
    unanswered = await session.scalar(
        select(func.count())
        .select_from(Flag)
        .where(Flag.kind == "unanswered_request", Flag.status != "resolved")
    )
    return WeekSummary(
        start=start,
        end=end,
        new_flags={kind: int(n) for kind, n in new.all()},
        cleared_by_review=int(cleared.get("review", 0)),
        cleared_by_manager=int(cleared.get("manager", 0)),
        help_minutes=int(help_minutes or 0),
        open_requests=int(open_requests or 0),
        unanswered_requests=int(unanswered or 0),
    )


def _kind_lines(summary: WeekSummary, language: str) -> str:
    if not summary.new_flags:
        return i18n.gettext_for(language, "none")
    return "\n".join(
        f"  – {i18n.gettext_for(language, flags.KIND_NAMES.get(kind, kind))}: {n}"
        for kind, n in sorted(summary.new_flags.items())
    )


async def send_weekly_digest(
    session: AsyncSession, *, end: datetime, email: bool
) -> dict[str, int]:
    """Write the digest of the week before ``end`` for every active manager."""
    summary = await summarize_week(session, end)
    managers = (
        await session.exec(select(Member).where(Member.role == "manager", Member.active))
    ).all()
    sent = 0
    for manager in managers:
        language = i18n.pick_language(manager.language)
        done = await notify(
            session,
            manager,
            kind="digest",
            subject=N_("Your weekly summary, {start} to {end}"),
            body=N_(
                "New flags this week: {new_total}\n{kinds}\n\n"
                "Flags cleared: {cleared} (by the review: {by_review}, by you: {by_manager})\n"
                "Hours of help given this week: {hours}\n"
                "Open requests for help: {open_requests} (without any helper: {unanswered})"
            ),
            params={
                "start": summary.start.date(),
                "end": (summary.end - timedelta(days=1)).date(),
                "new_total": sum(summary.new_flags.values()),
                "kinds": _kind_lines(summary, language),
                "cleared": summary.cleared_by_review + summary.cleared_by_manager,
                "by_review": summary.cleared_by_review,
                "by_manager": summary.cleared_by_manager,
                "hours": Minutes(summary.help_minutes),
                "open_requests": summary.open_requests,
                "unanswered": summary.unanswered_requests,
            },
            key=f"digest:{manager.id}:{summary.end.isoformat()}",
            link="/manage/flags",
            email=email,
        )
        sent += done is not None
    return {
        "managers_told": sent,
        "new_flags": sum(summary.new_flags.values()),
        "cleared_flags": summary.cleared_by_review + summary.cleared_by_manager,
        "help_minutes": summary.help_minutes,
        "open_requests": summary.open_requests,
    }
