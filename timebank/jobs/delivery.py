"""Delivery: sends the notifications that should also go out by email, after the
transaction that wrote them committed — one message per notice ("pending"), or one daily
summary per member of the notices the ``summary`` job queued ("summary").

A failed send is logged, kept on the row (attempts, last error) and retried with a growing
pause, up to ``MAX_ATTEMPTS``; it never breaks the job that wrote the notification. Several
processes may deliver at once: each message is claimed for ``SENDING_LEASE`` first.

Every email is built by ``compose`` (the manager's weekly digest too, as a notice): the
network's name as the sender, a greeting by name in the member's language, plain text with
an HTML alternative (escaped, no remote images), ``Date``, ``Message-ID``,
``Content-Language``, links to the inbox and to the email choice, and a one-click
``List-Unsubscribe`` (RFC 8058) with a signed token.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from urllib.parse import urlsplit

import aiosmtplib
from sqlalchemy import func, or_, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import i18n, network, notifications
from timebank.config import Settings
from timebank.db import transaction
from timebank.i18n import N_
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


GREETING = N_("Hello {name},")
SUMMARY_SUBJECT = N_("Your messages of the day")
SHOW = (N_("Show in the time bank"), N_("Show in the time bank: {link}"))
INBOX = (N_("All your messages"), N_("All your messages: {link}"))
CHOICE = (N_("Choose which emails you get"), N_("Choose which emails you get: {link}"))
REGARDS = N_("Kind regards")


def _url(settings: Settings, path: str) -> str:
    return settings.base_url.rstrip("/") + path


def _paragraphs(text: str) -> str:
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in block.splitlines()) + "</p>"
        for block in text.split("\n\n")
        if block.strip()
    )


def compose(
    settings: Settings,
    *,
    sender: str,
    member: Member,
    subject: str,
    notes: Sequence[Notification],
    now: datetime | None = None,
) -> EmailMessage:
    """One email to ``member`` with one notice (its subject is the email's) or several (a
    summary under ``subject``); texts are those of the rows, written in the member's
    language, framed in that language."""
    assert member.email  # only members with an address get email
    language = i18n.pick_language(member.language)

    def say(message: str, **params: object) -> str:
        return i18n.render(language, message, params)

    token = notifications.unsubscribe_token(settings.secret_key, member)
    inbox = _url(settings, notifications.INBOX_PATH)
    choice = _url(settings, notifications.PREFERENCES_PATH)
    greeting = say(GREETING, name=member.name)
    text = [greeting, ""]
    parts = [f"<p>{html.escape(greeting)}</p>"]
    for note in notes:
        if len(notes) > 1:
            text += [note.subject, "-" * min(len(note.subject), 60)]
            parts.append(f"<h2>{html.escape(note.subject)}</h2>")
        text.append(note.body)
        parts.append(_paragraphs(note.body))
        if note.link:
            link = _url(settings, note.link)
            text.append(say(SHOW[1], link=link))
            parts.append(f'<p><a href="{html.escape(link)}">{html.escape(say(SHOW[0]))}</a></p>')
        text.append("")
    text += ["-- ", say(INBOX[1], link=inbox), say(CHOICE[1], link=choice), ""]
    text += [say(REGARDS), sender]
    parts.append(
        f'<hr><p><a href="{html.escape(inbox)}">{html.escape(say(INBOX[0]))}</a><br>'
        f'<a href="{html.escape(choice)}">{html.escape(say(CHOICE[0]))}</a></p>'
        f"<p>{html.escape(say(REGARDS))}<br>{html.escape(sender)}</p>"
    )
    direction = "rtl" if language in i18n.RIGHT_TO_LEFT else "ltr"
    document = (
        f'<!doctype html><html lang="{language}" dir="{direction}"><head><meta charset="utf-8">'
        f"<title>{html.escape(subject)}</title></head><body>{''.join(parts)}</body></html>"
    )

    message = EmailMessage()
    message["From"] = Address(sender, addr_spec=parseaddr(settings.smtp_from)[1])
    message["To"] = Address(member.name, addr_spec=member.email)
    message["Subject"] = subject
    message["Date"] = format_datetime(now or utcnow())
    message["Message-ID"] = make_msgid(domain=urlsplit(settings.base_url).hostname or "localhost")
    message["Auto-Submitted"] = "auto-generated"
    unsubscribe = _url(settings, notifications.unsubscribe_path(token))
    message["List-Unsubscribe"] = f"<{unsubscribe}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content("\n".join(text))
    message.add_alternative(document, subtype="html")
    # After set_content, which clears every Content-* header set before it.
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
                # A summary's notices are claimed one by one, like single messages.
                col(Notification.email_status).in_(("pending", "retry", "summary")),
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
        sender = (await network.office(s)).name
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
                message = compose(
                    settings, sender=sender, member=member, subject=note.subject, notes=[note]
                )
                await send_email(settings, message)
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
    summaries = await _deliver_summaries(sessions, settings, sender=sender, now=now)
    return DeliveryReport(
        sent + summaries.sent, retrying + summaries.retrying, failed + summaries.failed
    )


# --- The daily summary ------------------------------------------------------------------------


async def queue_daily_summaries(session: AsyncSession, *, before: datetime) -> dict[str, int]:
    """The ``summary`` job's tick: the notices of members who chose a daily summary, written
    before the tick, go into one summary per member (sent after the tick commits). A re-run
    finds them queued already and queues nothing twice."""
    waiting = (col(Notification.email_status) == "daily", col(Notification.created_at) < before)
    members = await session.scalar(
        select(func.count(func.distinct(Notification.member_id))).where(*waiting)
    )
    await session.exec(
        update(Notification).where(*waiting).values(email_status="summary", next_attempt_at=None)
    )
    await session.flush()
    return {"summaries": int(members or 0)}


def _due(now: datetime) -> tuple[object, ...]:
    return (
        col(Notification.email_status) == "summary",
        or_(col(Notification.next_attempt_at).is_(None), col(Notification.next_attempt_at) <= now),
    )


async def _deliver_summaries(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    sender: str,
    now: datetime,
    limit: int = 200,
) -> DeliveryReport:
    """One email per member with every queued notice; the notices share its outcome."""
    async with transaction(sessions) as s:
        waiting = (
            await s.exec(
                select(Notification.member_id)
                .where(*_due(now))  # type: ignore[arg-type]
                .group_by(col(Notification.member_id))
                .limit(limit)
            )
        ).all()
    sent = retrying = failed = 0
    for member_id in waiting:
        async with transaction(sessions) as s:
            member = await s.get(Member, member_id)
            notes = list(
                (
                    await s.exec(
                        select(Notification)
                        .where(Notification.member_id == member_id, *_due(now))  # type: ignore[arg-type]
                        .order_by(col(Notification.id))
                    )
                ).all()
            )
        claimed = [note for note in notes if await _claim(sessions, id_of(note), now)]
        if member is None or not claimed:
            continue
        error: str | None = None
        if not member.email:
            error = "the member has no email address any more"
        else:
            try:
                language = i18n.pick_language(member.language)
                subject = i18n.render(language, SUMMARY_SUBJECT)
                message = compose(
                    settings, sender=sender, member=member, subject=subject, notes=claimed
                )
                await send_email(settings, message)
            except Exception as exc:  # recorded on the rows and retried, like single emails
                error = f"{type(exc).__name__}: {exc}"[:1000]
        attempts = max(note.email_attempts for note in claimed) + 1
        values: dict[str, object] = {"email_attempts": attempts}
        if error is None:
            values.update(
                email_status="sent",
                email_sent_at=utcnow(),
                email_last_error=None,
                next_attempt_at=None,
            )
            sent += 1
        elif attempts >= MAX_ATTEMPTS or not member.email:
            values.update(email_status="failed", email_last_error=error, next_attempt_at=None)
            log.error("summary to member %s failed for good: %s", member.id, error)
            failed += 1
        else:
            values.update(email_last_error=error, next_attempt_at=now + retry_pause(attempts))
            log.warning("summary to member %s failed, will retry: %s", member.id, error)
            retrying += 1
        async with transaction(sessions) as s:
            await s.exec(
                update(Notification)
                .where(col(Notification.id).in_([note.id for note in claimed]))
                .values(**values)
            )
    return DeliveryReport(sent, retrying, failed)
