"""Data protection: what a member may see of their data, erasure that removes every
personal field but keeps the books, and the retention list (a person decides)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import World, town_today
from timebank import board, exchanges, ledger, members, privacy, signin
from timebank.db import transaction
from timebank.errors import Conflict, Forbidden, Invalid
from timebank.jobs import retention
from timebank.models import (
    ApiToken,
    AuditEntry,
    Exchange,
    HelpRequest,
    Member,
    Notification,
    WebSession,
)

Sessions = async_sessionmaker[AsyncSession]


def test_every_column_of_members_has_an_erasure_rule() -> None:
    """A new personal column added without deciding what erasure does with it fails here."""
    columns = {c.name for c in Member.__table__.columns}  # type: ignore[attr-defined]
    assert set(privacy.MEMBER_ERASURE) == columns
    assert set(privacy.MEMBER_ERASURE.values()) <= {"keep", "clear", "pseudonym"}


async def _history(sessions: Sessions, world: World) -> None:
    """Vera helped Volker (booked), Volker wrote notes, a request, a token and a session."""
    async with transaction(sessions) as s:
        await exchanges.record_exchange(
            s,
            world.manager,
            giver_id=world.volunteer2.id,  # type: ignore[arg-type]
            receiver_id=world.volunteer.id,  # type: ignore[arg-type]
            minutes=90,
            performed_on=town_today(),
            category="shopping",
            note="Volker: Einkauf bei Edeka, Tel. 0521 999",
        )
        await board.create_request(
            s,
            world.volunteer,
            member_id=world.volunteer.id,  # type: ignore[arg-type]
            category_id=(await members.category_by_slug(s, "visits")).id,
            title="Fahrt zum Arzt in der Bahnhofstraße 3",
        )
        await members.create_token(s, world.volunteer)
        await signin.start_session(s, world.volunteer)


async def test_a_member_sees_everything_kept_about_them_and_the_export_is_logged(
    sessions: Sessions, world: World
) -> None:
    await _history(sessions, world)
    async with transaction(sessions) as s:
        data = await privacy.member_data(s, world.volunteer, world.volunteer.id)  # type: ignore[arg-type]
        as_json = data.as_json()
    assert as_json["profile"]["email"] == "volker@example.org"
    assert "password_hash" not in as_json["profile"]
    assert [e["minutes"] for e in as_json["help"]] == [90]
    assert len(as_json["bookings"]) == 1 and len(as_json["requests"]) == 1
    async with transaction(sessions) as s:
        logged = (await s.exec(select(AuditEntry))).all()
        assert [(e.action, e.member_id) for e in logged] == [
            ("personal_export", world.volunteer.id)
        ]
        with pytest.raises(Forbidden):  # another member's data is the manager's to see
            await privacy.member_data(s, world.volunteer2, world.volunteer.id)  # type: ignore[arg-type]


async def test_erasure_removes_every_personal_field_and_keeps_the_books(
    sessions: Sessions, world: World
) -> None:
    await _history(sessions, world)
    async with transaction(sessions) as s:
        account = await ledger.account_of_member(s, world.volunteer.id)  # type: ignore[arg-type]
        balance_before = account.balance_minutes
        helper_lines = await ledger.statement(
            s,
            (await ledger.account_of_member(s, world.volunteer2.id)).id,  # type: ignore[arg-type]
        )
        erased = await privacy.erase(
            s,
            world.manager,
            world.volunteer.id,
            "asked for it by letter",  # type: ignore[arg-type]
        )
    assert erased.name == f"ehemaliges Mitglied {world.volunteer.id}"
    async with transaction(sessions) as s:
        member = await s.get(Member, world.volunteer.id)
        assert member is not None and member.erased_at is not None
        for column, rule in privacy.MEMBER_ERASURE.items():
            if rule == "clear":
                assert getattr(member, column) == privacy.CLEARED.get(column), column
        # No way in any more.
        assert await s.scalar(select(func.count()).where(WebSession.member_id == member.id)) == 0
        tokens = (await s.exec(select(ApiToken).where(ApiToken.member_id == member.id))).all()
        assert tokens and all(t.revoked_at is not None for t in tokens)
        # The words they wrote are gone, the hours are not.
        notes = (await s.exec(select(Exchange.note).where(Exchange.receiver_id == member.id))).all()
        assert notes == [None]
        titles = (
            await s.exec(select(HelpRequest.title).where(HelpRequest.member_id == member.id))
        ).all()
        assert all("Bahnhofstraße" not in t for t in titles)
        assert await s.scalar(select(func.count()).where(Notification.member_id == member.id)) == 0
        assert (await ledger.account_of_member(s, member.id)).balance_minutes == balance_before  # type: ignore[arg-type]
        report = await ledger.verify(s)
        assert report.ok, report.mismatches
        # The helper's statement is whole: the same lines, the same balances.
        after = await ledger.statement(
            s,
            (await ledger.account_of_member(s, world.volunteer2.id)).id,  # type: ignore[arg-type]
        )
        assert [(x.transfer_id, x.balance_after) for x in after] == [
            (x.transfer_id, x.balance_after) for x in helper_lines
        ]
        entry = (await s.exec(select(AuditEntry).where(AuditEntry.action == "erasure"))).one()
        assert entry.details == {"reason": "asked for it by letter"}


async def test_erasure_is_the_managers_with_a_reason_once_and_never_of_themselves(
    sessions: Sessions, world: World
) -> None:
    async with transaction(sessions) as s:
        with pytest.raises(Forbidden):
            await privacy.erase(s, world.professional, world.client.id, "because")  # type: ignore[arg-type]
        with pytest.raises(Forbidden):
            await privacy.erase(s, world.manager, world.manager.id, "because")  # type: ignore[arg-type]
        with pytest.raises(Invalid) as refused:
            await privacy.erase(s, world.manager, world.senior.id, "   ")  # type: ignore[arg-type]
        assert refused.value.field == "reason"
        await privacy.erase(s, world.manager, world.senior.id, "moved away")  # type: ignore[arg-type]
        with pytest.raises(Conflict):
            await privacy.erase(s, world.manager, world.senior.id, "again")  # type: ignore[arg-type]


async def _joined_long_ago(sessions: Sessions, member: Member, days: int) -> None:
    async with transaction(sessions) as s:
        row = await s.get(Member, member.id)
        assert row is not None
        row.joined_on = town_today() - timedelta(days=days)
        s.add(row)


async def test_the_retention_list_shows_the_long_silent_and_a_person_decides(
    sessions: Sessions, world: World
) -> None:
    await _joined_long_ago(sessions, world.senior, 4 * 365)
    await _joined_long_ago(sessions, world.volunteer2, 4 * 365)
    async with transaction(sessions) as s:
        # Vera helped someone last week: she is not silent.
        await exchanges.record_exchange(
            s,
            world.manager,
            giver_id=world.volunteer2.id,  # type: ignore[arg-type]
            receiver_id=world.volunteer.id,  # type: ignore[arg-type]
            minutes=30,
            performed_on=town_today(),
            category="shopping",
        )
    today = town_today()
    async with transaction(sessions) as s:
        listed = await privacy.inactive_members(s, world.manager, today=today)
        assert [i.member.id for i in listed] == [world.senior.id]
        assert listed[0].last_seen == world_joined(today, 4 * 365)
        told = await retention.list_inactive(s, today=today, retention_days=3 * 365)
        again = await retention.list_inactive(s, today=today, retention_days=3 * 365)
    assert told == {"inactive": 1, "told": 1} and again == {"inactive": 1, "told": 0}
    async with transaction(sessions) as s:
        senior = await s.get(Member, world.senior.id)
        assert senior is not None and senior.erased_at is None  # listed, not erased


def world_joined(today: date, days: int) -> date:
    return today - timedelta(days=days)
