"""Notifications: a message to one member, in the app and (when possible) by email.

Every notification is a row first: the member sees it in the app whatever happens to the
email. Text is rendered in the member's language when the row is written (message ids are
English; ``timebank/locale/<lang>/LC_MESSAGES/messages.po`` translates them). A row marked
for email is sent later by ``timebank.jobs.delivery``, after the transaction that wrote it
committed.
"""

from __future__ import annotations

import logging

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import i18n
from timebank.errors import NotFound
from timebank.models import Member, Notification, id_of, utcnow

log = logging.getLogger("timebank.notifications")


async def notify(
    session: AsyncSession,
    member: Member,
    *,
    kind: str,
    subject: str,
    body: str,
    params: dict[str, object] | None = None,
    key: str | None = None,
    link: str | None = None,
    email: bool = True,
) -> Notification | None:
    """Write a notification for ``member``; with a ``key`` that was already used, nothing is
    written and None is returned (a re-run job tells no one twice). Flushes only."""
    if key is not None:
        exists = await session.scalar(select(Notification.id).where(Notification.key == key))
        if exists is not None:
            return None
    language = i18n.pick_language(member.language)
    values = params or {}
    notification = Notification(
        member_id=id_of(member),
        kind=kind,
        key=key,
        subject=i18n.render(language, subject, values)[:300],
        body=i18n.render(language, body, values)[:8000],
        link=link,
        email_status="pending" if email and member.email else "none",
    )
    session.add(notification)
    await session.flush()
    return notification


async def people_to_tell(session: AsyncSession, member: Member) -> list[Member]:
    """Who hears about ``member``'s business: the member, if they can sign in; otherwise
    the staff who act for them (their organisation's professionals, else the managers)."""
    if member.can_log_in:
        return [member]
    staff: list[Member] = []
    if member.organization_id is not None:
        staff = list(
            (
                await session.exec(
                    select(Member).where(
                        Member.role == "professional",
                        Member.organization_id == member.organization_id,
                        Member.active,
                    )
                )
            ).all()
        )
    if not staff:
        staff = list(
            (
                await session.exec(select(Member).where(Member.role == "manager", Member.active))
            ).all()
        )
    return staff


# --- In the app --------------------------------------------------------------------------------


async def for_member(
    session: AsyncSession, member: Member, *, limit: int = 50
) -> list[Notification]:
    rows = await session.exec(
        select(Notification)
        .where(Notification.member_id == member.id)
        .order_by(col(Notification.id).desc())
        .limit(max(1, min(limit, 200)))
    )
    return list(rows.all())


async def unread_count(session: AsyncSession, member: Member) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.member_id == member.id, col(Notification.read_at).is_(None))
    )
    return int(count or 0)


async def mark_read(session: AsyncSession, member: Member, notification_id: int) -> Notification:
    """Members read only their own notifications; someone else's is 'not found' to them."""
    notification = await session.get(Notification, notification_id)
    if notification is None or notification.member_id != member.id:
        raise NotFound("this notice was not found")
    if notification.read_at is None:
        notification.read_at = utcnow()
        session.add(notification)
        await session.flush()
    return notification
