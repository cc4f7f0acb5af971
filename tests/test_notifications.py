"""Notifications in the app and by email, against a real SMTP server started here."""

from __future__ import annotations

from datetime import date, timedelta
from email.message import EmailMessage

import pytest
from sqlmodel import delete, select

from tests.support import MailInbox, World, mail_settings, refusal_in, serve_mail, town_today
from timebank import exchanges, i18n, notifications
from timebank.db import transaction
from timebank.errors import NotFound
from timebank.jobs import delivery, runs
from timebank.models import Exchange, Member, Notification, utcnow


async def pending_exchange(sessions, world: World, *, days_ago: float, receiver=None) -> Exchange:  # type: ignore[no-untyped-def]
    receiver = receiver or world.senior
    async with transaction(sessions) as s:
        done = await exchanges.record_exchange(
            s,
            world.volunteer,
            giver_id=world.volunteer.id,
            receiver_id=receiver.id,
            minutes=90,
            performed_on=town_today() - timedelta(days=int(days_ago) + 1),
            category="shopping",
        )
        done.exchange.created_at = utcnow() - timedelta(days=days_ago)
        s.add(done.exchange)
        # Logged days ago: the receiver was told then (tests/test_notice_events.py).
        await s.exec(delete(Notification).where(Notification.kind == "hours_logged"))  # type: ignore[call-overload]
    return done.exchange


def plain_text(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


async def set_language(sessions, member: Member, language: str) -> None:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as s:
        row = await s.get(Member, member.id)
        row.language = language  # type: ignore[union-attr]
        s.add(row)


async def all_notifications(sessions) -> list[Notification]:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as s:
        return list((await s.exec(select(Notification).order_by(Notification.id))).all())  # type: ignore[arg-type]


# --- In the app -----------------------------------------------------------------------------


async def test_a_notification_speaks_the_members_language(sessions, world):
    await set_language(sessions, world.volunteer, "en")
    async with transaction(sessions) as s:
        for member_id in (world.senior.id, world.volunteer.id):
            member = await s.get(Member, member_id)
            await notifications.notify(
                s,
                member,  # type: ignore[arg-type]
                kind="exchange_reminder",
                subject="Please confirm the help you received",
                body="{giver} logged help for {receiver} on {day}: {minutes}. Please confirm "
                "it, or reject it if it is not right.",
                params={
                    "giver": "Vera",
                    "receiver": "Karl",
                    "day": date(2026, 11, 20),
                    "minutes": i18n.Minutes(90),
                },
            )
    german, english = await all_notifications(sessions)
    assert german.subject == "Bitte bestätigen Sie die erhaltene Hilfe"
    assert "20. November 2026" in german.body and "1:30 Std." in german.body
    assert english.subject == "Please confirm the help you received"
    assert "November 20, 2026" in english.body and "1:30 h" in english.body


async def test_a_key_makes_a_notification_once(sessions, world):
    async with transaction(sessions) as s:
        first = await notifications.notify(
            s, world.senior, kind="x", subject="none", body="none", key="once"
        )
        second = await notifications.notify(
            s, world.senior, kind="x", subject="none", body="none", key="once"
        )
    assert first is not None and second is None
    assert len(await all_notifications(sessions)) == 1


async def test_members_read_only_their_own_notifications(sessions, world):
    async with transaction(sessions) as s:
        note = await notifications.notify(s, world.senior, kind="x", subject="a", body="b")
    async with transaction(sessions) as s:
        assert await notifications.unread_count(s, world.senior) == 1
        with pytest.raises(NotFound) as not_theirs:
            await notifications.mark_read(s, world.volunteer, note.id)  # type: ignore[union-attr,arg-type]
        assert "Nachricht wurde nicht gefunden" in refusal_in("de", not_theirs.value)
        assert "bildirim bulunamadı" in refusal_in("tr", not_theirs.value)
    async with transaction(sessions) as s:
        await notifications.mark_read(s, world.senior, note.id)  # type: ignore[union-attr,arg-type]
    async with transaction(sessions) as s:
        assert await notifications.unread_count(s, world.senior) == 0


async def test_without_smtp_nothing_is_sent_and_members_without_email_get_no_email(
    db_url, sessions, world
):
    async with transaction(sessions) as s:
        with_email = await notifications.notify(s, world.senior, kind="x", subject="a", body="b")
        without = await notifications.notify(s, world.client, kind="x", subject="a", body="b")
    assert (with_email.email_status, without.email_status) == ("pending", "none")  # type: ignore[union-attr]
    report = await delivery.deliver_pending(sessions, mail_settings(db_url, None))
    assert report == delivery.DeliveryReport()


# --- By email -------------------------------------------------------------------------------


async def test_the_reminder_email_reaches_the_receiver(db_url, sessions, world, mail_server):
    exchange = await pending_exchange(sessions, world, days_ago=4)
    outcome = await runs.run_job(
        sessions, mail_settings(db_url, mail_server.port), "unconfirmed", scheduled_for=utcnow()
    )
    assert outcome.counts["reminded"] == 1
    [mail] = mail_server.inbox.messages
    assert mail_server.inbox.recipients == [[world.senior.email]]
    assert mail["Subject"] == "Bitte bestätigen Sie die erhaltene Hilfe"
    assert mail["From"] == "Nachbarschafts-Zeitbank <netzwerk@example.org>"
    assert "Volker Vogel hat am" in plain_text(mail)
    [note] = await all_notifications(sessions)
    assert (note.email_status, note.email_attempts, note.member_id) == ("sent", 1, world.senior.id)
    # The same job again for the next day reminds nobody twice.
    await runs.run_job(
        sessions,
        mail_settings(db_url, mail_server.port),
        "unconfirmed",
        scheduled_for=utcnow() + timedelta(days=1),
    )
    assert len(mail_server.inbox.messages) == 1
    assert exchange.id is not None


async def test_an_email_to_a_russian_member_is_russian(db_url, sessions, world, mail_server):
    await set_language(sessions, world.senior, "ru")
    await pending_exchange(sessions, world, days_ago=4)
    await runs.run_job(
        sessions, mail_settings(db_url, mail_server.port), "unconfirmed", scheduled_for=utcnow()
    )
    [mail] = mail_server.inbox.messages
    assert mail["Subject"] == "Пожалуйста, подтвердите полученную помощь"
    assert mail["Content-Language"] == "ru"
    body = plain_text(mail)
    expected = i18n.render(
        "ru",
        "{giver} logged help for {receiver} on {day}: {minutes}. Please confirm it, or reject "
        "it if it is not right.",
        {
            "giver": "Volker Vogel",
            "receiver": "Sieglinde Sommer",
            "day": town_today() - timedelta(days=5),
            "minutes": i18n.Minutes(90),
        },
    )
    assert body.startswith(f"Здравствуйте, Sieglinde Sommer!\n\n{expected}")
    assert i18n.long_date(town_today() - timedelta(days=5), "ru") in body
    # Nothing of the English or the German message is left in it.
    for words in ("logged help", "Please confirm", "hat am", "bestätigen", "Std."):
        assert words not in body


async def test_the_weekly_digest_reaches_the_manager(db_url, sessions, world, mail_server):
    await set_language(sessions, world.manager, "en")
    await runs.run_job(sessions, mail_settings(db_url, None), "review", scheduled_for=utcnow())
    outcome = await runs.run_job(
        sessions, mail_settings(db_url, mail_server.port), "digest", scheduled_for=utcnow()
    )
    assert outcome.counts["managers_told"] == 1
    [mail] = mail_server.inbox.messages
    assert mail_server.inbox.recipients == [[world.manager.email]]
    assert mail["Subject"].startswith("Your weekly summary")
    body = plain_text(mail)
    assert "New flags this week: 0" in body
    assert "Open requests for help: 0" in body
    assert "/manage/flags" in body


async def test_a_refusing_mail_server_means_retries_and_a_recorded_error_not_a_crash(
    db_url, sessions, world, refusing_mail_server
):
    await pending_exchange(sessions, world, days_ago=4)
    settings = mail_settings(db_url, refusing_mail_server.port)
    outcome = await runs.run_job(sessions, settings, "unconfirmed", scheduled_for=utcnow())
    assert outcome.outcome == "ok"
    [note] = await all_notifications(sessions)
    assert (note.email_status, note.email_attempts) == ("retry", 1)
    assert "451" in (note.email_last_error or "")
    assert note.next_attempt_at is not None and note.next_attempt_at > utcnow()
    # Not due yet: nothing is tried.
    assert await delivery.deliver_pending(sessions, settings) == delivery.DeliveryReport()
    later = utcnow()
    for attempt in range(2, delivery.MAX_ATTEMPTS + 1):
        later += timedelta(hours=1)
        report = await delivery.deliver_pending(sessions, settings, now=later)
        expected = "failed" if attempt == delivery.MAX_ATTEMPTS else "retry"
        [note] = await all_notifications(sessions)
        assert (note.email_status, note.email_attempts) == (expected, attempt)
        assert report.sent == 0
    assert note.email_last_error and "451" in note.email_last_error
    # Kept in the app all along.
    async with transaction(sessions) as s:
        assert await notifications.unread_count(s, world.senior) == 1


async def test_a_mail_server_that_comes_back_gets_the_message(db_url, sessions, world):
    inbox = MailInbox(refuse=True)
    servers = serve_mail(inbox)
    server = next(servers)
    try:
        settings = mail_settings(db_url, server.port)
        async with transaction(sessions) as s:
            await notifications.notify(s, world.senior, kind="x", subject="Hallo", body="Text")
        first = await delivery.deliver_pending(sessions, settings)
        inbox.refuse = False
        second = await delivery.deliver_pending(
            sessions, settings, now=utcnow() + timedelta(minutes=5)
        )
    finally:
        next(servers, None)
    assert (first.retrying, second.sent) == (1, 1)
    [note] = await all_notifications(sessions)
    assert (note.email_status, note.email_attempts, note.email_last_error) == ("sent", 2, None)
    assert [m["Subject"] for m in inbox.messages] == ["Hallo"]
