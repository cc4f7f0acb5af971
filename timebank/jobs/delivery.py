"""Delivery: sends the notifications that should also go out by email, after the
transaction that wrote them committed.

A failed send is logged, kept on the row (attempts, last error) and retried with a growing
pause, up to ``MAX_ATTEMPTS``; it never breaks the job that wrote the notification. Several
processes may deliver at once: each message is claimed for ``SENDING_LEASE`` first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

import aiosmtplib
from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import i18n
from timebank.config import Settings
from timebank.db import transaction
from timebank.models import Member, Notification, id_of, utcnow

log = logging.getLogger("timebank.notifications")

MAX_ATTEMPTS = 5
FIRST_RETRY = timedelta(minutes=1)
# While one process sends a message, others leave it alone for this long.
SENDING_LEASE = timedelta(minutes=5)
SMTP_TIMEOUT = 20


def email_configured(settings: Settings) -> bool:
    return bool(settings.smtp_host)


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def _message(settings: Settings, to: str, note: Notification, language: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = note.subject
    body = note.body
    if note.link:
        body += "\n\n" + settings.base_url.rstrip("/") + note.link
    message.set_content(body)
    # After set_content, which clears every Content-* header set before it. The subject and
    # body were written in the member's language when the notification was (notifications.py).
    message["Content-Language"] = language
    return message


async def send_email(settings: Settings, message: EmailMessage) -> None:
    await aiosmtplib.send(
        message,
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_user or None,
        password=settings.smtp_password or None,
        use_tls=settings.smtp_tls == "tls",
        start_tls=settings.smtp_tls == "starttls",
        timeout=SMTP_TIMEOUT,
    )


def retry_pause(attempts: int) -> timedelta:
    """1, 2, 4, 8 … minutes after the first, second, third … failed attempt."""
    return FIRST_RETRY * (2 ** max(attempts - 1, 0))


async def _claim(sessions: async_sessionmaker[AsyncSession], note_id: int, now: datetime) -> bool:
    """Take a due message for sending; False when another process took it first."""
    async with transaction(sessions) as s:
        done = await s.exec(
            update(Notification)
            .where(
                col(Notification.id) == note_id,
                col(Notification.email_status).in_(("pending", "retry")),
                or_(
                    col(Notification.next_attempt_at).is_(None),
                    col(Notification.next_attempt_at) <= now,
                ),
            )
            .values(next_attempt_at=now + SENDING_LEASE)
        )
        return bool(done.rowcount)


async def deliver_pending(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    now: datetime | None = None,
    limit: int = 200,
) -> DeliveryReport:
    """Send the emails that are due. Every outcome is written to its notification row;
    nothing raises, so a broken mail server never breaks a job."""
    if not email_configured(settings):
        return DeliveryReport()
    now = now or utcnow()
    async with transaction(sessions) as s:
        due = (
            await s.exec(
                select(Notification, Member)
                .join(Member, col(Member.id) == Notification.member_id)
                .where(
                    col(Notification.email_status).in_(("pending", "retry")),
                    or_(
                        col(Notification.next_attempt_at).is_(None),
                        col(Notification.next_attempt_at) <= now,
                    ),
                )
                .order_by(col(Notification.id))
                .limit(limit)
            )
        ).all()
    sent = retrying = failed = 0
    for note, member in due:
        if not await _claim(sessions, id_of(note), now):
            continue
        error: str | None = None
        if not member.email:
            error = "the member has no email address any more"
        else:
            try:
                language = i18n.pick_language(member.language)
                await send_email(settings, _message(settings, member.email, note, language))
            except Exception as exc:  # any failure is recorded on the row and retried
                error = f"{type(exc).__name__}: {exc}"[:1000]
        attempts = note.email_attempts + 1
        values: dict[str, object] = {"email_attempts": attempts}
        if error is None:
            values.update(email_status="sent", email_sent_at=utcnow(), email_last_error=None)
            values["next_attempt_at"] = None
            sent += 1
        elif attempts >= MAX_ATTEMPTS or not member.email:
            values.update(email_status="failed", email_last_error=error, next_attempt_at=None)
            log.error("email %s to member %s failed for good: %s", note.id, member.id, error)
            failed += 1
        else:
            values.update(
                email_status="retry",
                email_last_error=error,
                next_attempt_at=now + retry_pause(attempts),
            )
            log.warning(
                "email %s to member %s failed (attempt %s), will retry: %s",
                note.id,
                member.id,
                attempts,
                error,
            )
            retrying += 1
        async with transaction(sessions) as s:
            await s.exec(
                update(Notification).where(col(Notification.id) == note.id).values(**values)
            )
    return DeliveryReport(sent, retrying, failed)
