"""Emails as members receive them, against a real SMTP server started here (both databases):
a proper message (sender, greeting, HTML, headers, unsubscribe), and each member's choice of
each notice / a daily summary / none."""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage
from email.utils import parseaddr, parsedate_to_datetime

import pytest
from sqlmodel import select

from tests.support import MailServer, World, mail_settings
from timebank import notifications
from timebank.db import transaction
from timebank.i18n import N_
from timebank.jobs import delivery, runs
from timebank.models import Member, Notification, utcnow

SUBJECT = N_("Your help was confirmed")
BODY = N_("Welcome to the time bank, {name}")  # any translated message with a name in it


async def choose(sessions, member: Member, *, language: str = "de", email: str = "each") -> None:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as s:
        row = await s.get(Member, member.id)
        assert row is not None
        row.language = language
        s.add(row)
        await notifications.set_email_notices(s, row, email)


async def tell(sessions, member: Member, body: str = "Zeile eins\n\n<b>Zeile</b> & zwei") -> None:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as s:
        row = await s.get(Member, member.id)
        assert row is not None
        await notifications.notify(
            s, row, kind="x", subject=SUBJECT, body=body, link=notifications.request_path(7)
        )


def parts(mail: EmailMessage) -> tuple[str, str]:
    plain, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert plain is not None and html is not None
    # As received over SMTP: lines end in CRLF.
    return tuple(str(p.get_content()).replace("\r\n", "\n") for p in (plain, html))  # type: ignore[return-value]


async def test_an_email_is_a_proper_message(db_url, sessions, world: World, mail_server):
    await tell(sessions, world.senior)
    report = await delivery.deliver_pending(sessions, mail_settings(db_url, mail_server.port))
    assert report.sent == 1
    [mail] = mail_server.inbox.messages
    assert mail["From"].addresses[0].display_name == "Nachbarschafts-Zeitbank"
    assert mail["From"].addresses[0].addr_spec == "netzwerk@example.org"
    assert parseaddr(mail["To"]) == ("Sieglinde Sommer", "sieglinde@example.org")
    assert mail["Subject"] == "Ihre Hilfe wurde bestätigt"
    assert abs(parsedate_to_datetime(mail["Date"]) - utcnow()) < timedelta(hours=1)
    assert re.fullmatch(r"<[^<>@\s]+@zeitbank\.example\.org>", mail["Message-ID"])
    assert mail["Content-Language"] == "de"
    assert mail.get_content_type() == "multipart/alternative"
    [unsubscribe] = re.fullmatch(r"<(https://[^>]+)>", mail["List-Unsubscribe"]).groups()  # type: ignore[union-attr]
    assert unsubscribe.startswith("https://zeitbank.example.org/unsubscribe/")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    plain, html = parts(mail)
    assert plain.startswith("Guten Tag Sieglinde Sommer,\n\nZeile eins\n\n<b>Zeile</b> & zwei")
    assert "https://zeitbank.example.org/requests/7" in plain
    assert "Alle Ihre Nachrichten: https://zeitbank.example.org/notifications" in plain
    assert "https://zeitbank.example.org/notifications/email" in plain
    # The HTML says the same, escaped, with its links and no image or script from anywhere.
    assert '<html lang="de" dir="ltr">' in html
    assert "&lt;b&gt;Zeile&lt;/b&gt; &amp; zwei" in html and "<b>" not in html
    assert '<a href="https://zeitbank.example.org/requests/7">In der Zeitbank ansehen</a>' in html
    assert 'href="https://zeitbank.example.org/notifications/email"' in html
    assert "<img" not in html and "<script" not in html


@pytest.mark.parametrize(
    ("language", "greeting", "direction"),
    [
        ("tr", "Sayın Sieglinde Sommer,", "ltr"),
        ("ru", "Здравствуйте, Sieglinde Sommer!", "ltr"),
        ("ar", "مرحبًا Sieglinde Sommer،", "rtl"),
    ],
)
async def test_the_email_greets_in_the_members_language(
    db_url, sessions, world: World, mail_server, language, greeting, direction
):
    await choose(sessions, world.senior, language=language)
    await tell(sessions, world.senior, BODY)
    await delivery.deliver_pending(sessions, mail_settings(db_url, mail_server.port))
    [mail] = mail_server.inbox.messages
    plain, html = parts(mail)
    assert plain.startswith(greeting)
    assert mail["Content-Language"] == language
    assert f'<html lang="{language}" dir="{direction}">' in html
    assert "Guten Tag" not in plain and "Hello" not in plain


async def test_the_choice_none_sends_nothing_and_members_without_email_get_none(
    db_url, sessions, world: World, mail_server
):
    await choose(sessions, world.senior, email="none")
    await tell(sessions, world.senior)
    await tell(sessions, world.client)  # Karl has no email address: the office's post
    report = await delivery.deliver_pending(sessions, mail_settings(db_url, mail_server.port))
    assert report == delivery.DeliveryReport()
    assert mail_server.inbox.messages == []
    async with transaction(sessions) as s:
        statuses = (await s.exec(select(Notification.email_status))).all()
    assert statuses == ["none", "none"]


async def summary_run(sessions, db_url: str, server: MailServer, *, days: int = 0):  # type: ignore[no-untyped-def]
    return await runs.run_job(
        sessions,
        mail_settings(db_url, server.port),
        "summary",
        scheduled_for=utcnow() + timedelta(days=days, seconds=1),
    )


async def test_daily_sends_one_summary_a_day_with_the_days_notices(
    db_url, sessions, world: World, mail_server
):
    await choose(sessions, world.senior, email="daily")
    await tell(sessions, world.senior, "Erste Nachricht")
    await tell(sessions, world.senior, "Zweite Nachricht")
    await tell(sessions, world.volunteer, "Volker bekommt jede einzeln")
    # Delivering during the day sends Volker's at once and keeps Sieglinde's for the evening.
    await delivery.deliver_pending(sessions, mail_settings(db_url, mail_server.port))
    assert [m["To"].addresses[0].display_name for m in mail_server.inbox.messages] == [
        "Volker Vogel"
    ]
    outcome = await summary_run(sessions, db_url, mail_server)
    assert outcome.counts == {"summaries": 1}
    assert len(mail_server.inbox.messages) == 2
    summary = mail_server.inbox.messages[1]
    assert summary["Subject"] == "Ihre Nachrichten des Tages"
    assert mail_server.inbox.recipients[1] == ["sieglinde@example.org"]
    plain, html = parts(summary)
    assert plain.index("Erste Nachricht") < plain.index("Zweite Nachricht")
    assert html.count("<h2>Ihre Hilfe wurde bestätigt</h2>") == 2
    assert summary["List-Unsubscribe"]
    # The next day: nothing new, nothing sent twice.
    again = await summary_run(sessions, db_url, mail_server, days=1)
    assert again.counts == {"summaries": 0}
    assert len(mail_server.inbox.messages) == 2


async def test_a_changed_choice_takes_the_unsent_notices_along(
    db_url, sessions, world: World, mail_server
):
    await choose(sessions, world.senior, email="daily")
    await tell(sessions, world.senior)
    await choose(sessions, world.senior, email="each")
    await delivery.deliver_pending(sessions, mail_settings(db_url, mail_server.port))
    assert len(mail_server.inbox.messages) == 1
    await tell(sessions, world.senior)
    await choose(sessions, world.senior, email="none")
    await delivery.deliver_pending(sessions, mail_settings(db_url, mail_server.port))
    assert len(mail_server.inbox.messages) == 1


async def test_the_weekly_digest_is_built_the_same_way(db_url, sessions, world, mail_server):
    outcome = await runs.run_job(
        sessions, mail_settings(db_url, mail_server.port), "digest", scheduled_for=utcnow()
    )
    assert outcome.counts["managers_told"] == 1
    [mail] = mail_server.inbox.messages
    plain, html = parts(mail)
    assert plain.startswith("Guten Tag Martina Manager,")
    assert mail["From"].addresses[0].display_name == "Nachbarschafts-Zeitbank"
    assert mail["Message-ID"] and mail["Date"] and mail["List-Unsubscribe"]
    assert "https://zeitbank.example.org/manage/flags" in html
