"""The per-month aggregates (``account_months``, ledger invariant 7): kept exact with every
transfer, equal to a recount after a mixed history, checked by ``ledger verify``, counted
twice when two transfers meet on one row, and backfilled by their migration (both
databases)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from alembic import command
from click.testing import CliRunner, Result
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import World, account_id_of, town_today, until_a_connection_waits_for_a_lock
from timebank import exchanges, ledger
from timebank.cli import main
from timebank.db import alembic_config, transaction
from timebank.models import AccountMonth, Category, Member

Sessions = async_sessionmaker[AsyncSession]


async def cli(db_url: str, *args: str) -> Result:
    """The command in a thread of its own: it starts its own event loop."""
    environ = {"TIMEBANK_DATABASE_URL": db_url, "TIMEBANK_ENV": ""}
    return await asyncio.to_thread(CliRunner().invoke, main, list(args), env=environ)


async def fund_pool(s: AsyncSession, world: World, minutes: int) -> None:
    await ledger.post_transfer(
        s,
        from_account_id=await account_id_of(s, world.professional),
        to_account_id=(await ledger.pool_account(s)).id,  # type: ignore[arg-type]
        minutes=minutes,
        kind="adjustment",
        actor=world.manager,
        override_reason="test set-up: the pool pays",
    )


async def help_given(
    sessions: Sessions,
    world: World,
    giver: Member,
    receiver: Member,
    minutes: int,
    *,
    on: date,
    category: str = "shopping",
    from_pool: bool = False,
) -> int:
    """Help entered by the manager and booked (by the pool, if asked); its transfer's id."""
    async with transaction(sessions) as s:
        if from_pool:
            await fund_pool(s, world, minutes)
            # The giver's own entry waits; the manager lets the pool pay it.
            result = await exchanges.record_exchange(
                s,
                giver,
                giver_id=giver.id,  # type: ignore[arg-type]
                receiver_id=receiver.id,  # type: ignore[arg-type]
                minutes=minutes,
                performed_on=on,
                category=category,
            )
            paid = await exchanges.pay_from_pool(s, world.manager, result.exchange.id)  # type: ignore[arg-type]
            return paid.transfer.id  # type: ignore[union-attr,return-value]
        result = await exchanges.record_exchange(
            s,
            world.manager,
            giver_id=giver.id,  # type: ignore[arg-type]
            receiver_id=receiver.id,  # type: ignore[arg-type]
            minutes=minutes,
            performed_on=on,
            category=category,
            override_reason="test set-up",
        )
        return result.transfer.id  # type: ignore[union-attr,return-value]


async def rows(sessions: Sessions) -> dict[tuple[int, date, int], tuple[int, ...]]:
    async with transaction(sessions) as s:
        found = (await s.exec(select(AccountMonth))).all()
    return {
        (r.account_id, r.month, r.category_id): (
            r.given_minutes,
            r.received_minutes,
            r.pool_paid_minutes,
            r.credit_minutes,
            r.debit_minutes,
            r.transfers,
        )
        for r in found
        if any((r.given_minutes, r.received_minutes, r.credit_minutes, r.debit_minutes))
    }


async def mixed_history(sessions: Sessions, world: World) -> dict[str, int]:
    """Exchanges in two months and two kinds of help, a pool payment, a donation, an
    adjustment, and reversals of an exchange, the pool payment and the donation."""
    today = town_today()
    last_month = today.replace(day=1) - timedelta(days=3)
    async with transaction(sessions) as s:
        await s.exec(  # type: ignore[call-overload]
            text("UPDATE members SET joined_on = :day").bindparams(day=last_month.replace(day=1))
        )
    ids = {
        "garden": await help_given(
            sessions, world, world.volunteer, world.senior, 90, on=today, category="garden"
        ),
        "shop": await help_given(sessions, world, world.volunteer, world.senior, 60, on=today),
        "old": await help_given(sessions, world, world.volunteer2, world.client, 45, on=last_month),
        "pool": await help_given(
            sessions, world, world.volunteer2, world.senior, 30, on=today, from_pool=True
        ),
    }
    async with transaction(sessions) as s:
        volunteer = await s.get(Member, world.volunteer.id)
        donation = await exchanges.donate_to_pool(s, volunteer, 40)  # type: ignore[arg-type]
        ids["donation"] = donation.id  # type: ignore[assignment]
        adjustment = await ledger.post_transfer(
            s,
            from_account_id=await account_id_of(s, world.professional),
            to_account_id=await account_id_of(s, world.senior),
            minutes=25,
            kind="adjustment",
            actor=world.manager,
            override_reason="test set-up",
        )
        ids["adjustment"] = adjustment.id  # type: ignore[assignment]
    async with transaction(sessions) as s:
        for name in ("shop", "pool", "donation"):
            await exchanges.reverse_exchange_transfer(
                s, world.manager, ids[name], reason="wrong", override_reason="test set-up"
            )
    return ids


async def test_the_months_equal_a_recount_after_a_mixed_history(sessions, world):
    await mixed_history(sessions, world)
    async with transaction(sessions) as s:
        report = await ledger.verify(s)
        garden = await s.scalar(select(Category.id).where(Category.slug == "garden"))
        shopping = await s.scalar(select(Category.id).where(Category.slug == "shopping"))
        volunteer = await account_id_of(s, world.volunteer)
        volunteer2 = await account_id_of(s, world.volunteer2)
        senior = await account_id_of(s, world.senior)
        client = await account_id_of(s, world.client)
        pool = (await ledger.pool_account(s)).id
    assert report.ok, report
    assert report.month_mismatches == []

    this_month = town_today().replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    found = await rows(sessions)
    # given, received, pool paid, credit, debit, transfers: what still stands.
    assert found[volunteer, this_month, garden] == (90, 0, 0, 90, 0, 1)
    assert found[senior, this_month, garden] == (0, 90, 0, 0, 90, 1)
    assert found[volunteer2, last_month, shopping] == (45, 0, 0, 45, 0, 1)
    assert found[client, last_month, shopping] == (0, 45, 0, 0, 45, 1)
    # The reversed shopping help, pool payment and donation no longer count anywhere.
    assert (volunteer, this_month, shopping) not in found
    assert (volunteer2, this_month, shopping) not in found
    assert (pool, this_month, shopping) not in found
    # The pool keeps only the adjustment that funded its payment.
    assert found[pool, this_month, 0] == (0, 0, 0, 30, 0, 1)
    # The adjustment moves balances, but is no help.
    assert found[senior, this_month, 0] == (0, 0, 0, 25, 0, 1)
    # Every account's months add up to its balance.
    async with transaction(sessions) as s:
        for member in (world.volunteer, world.volunteer2, world.senior, world.client):
            account = await ledger.account_of_member(s, member.id)  # type: ignore[arg-type]
            months = sum(
                credit - debit
                for (owner, _, _), (_, _, _, credit, debit, _) in found.items()
                if owner == account.id
            )
            assert months == account.balance_minutes


async def test_help_the_pool_paid_counts_on_the_receivers_row(sessions, world):
    await help_given(
        sessions, world, world.volunteer, world.senior, 50, on=town_today(), from_pool=True
    )
    async with transaction(sessions) as s:
        senior = await account_id_of(s, world.senior)
        pool = (await ledger.pool_account(s)).id
        assert (await ledger.verify(s)).ok
    found = await rows(sessions)
    month = town_today().replace(day=1)
    (senior_row,) = [v for (a, m, _), v in found.items() if a == senior and m == month]
    (pool_row,) = [v for (a, m, c), v in found.items() if a == pool and m == month and c]
    assert senior_row == (0, 50, 50, 0, 0, 1)
    assert pool_row == (0, 0, 0, 0, 50, 1)


async def test_verify_names_a_corrupted_month(db_url, sessions, world):
    await mixed_history(sessions, world)
    async with transaction(sessions) as s:
        volunteer = await account_id_of(s, world.volunteer)
        await s.exec(  # type: ignore[call-overload]
            text(
                "UPDATE account_months SET given_minutes = given_minutes + 7 "
                "WHERE account_id = :a AND given_minutes > 0"
            ).bindparams(a=volunteer)
        )
    async with transaction(sessions) as s:
        report = await ledger.verify(s)
    assert not report.ok
    assert report.mismatches == []
    assert [(m.account_id, m.differences) for m in report.month_mismatches] == [
        (volunteer, {"given_minutes": 7})
    ]
    result = await cli(db_url, "ledger", "verify")
    assert result.exit_code == 1
    assert f"account {volunteer}" in result.output
    assert "given_minutes +7" in result.output


async def test_a_missing_month_row_is_named_too(sessions, world):
    await help_given(sessions, world, world.volunteer, world.senior, 30, on=town_today())
    async with transaction(sessions) as s:
        await s.exec(text("DELETE FROM account_months"))  # type: ignore[call-overload]
    async with transaction(sessions) as s:
        report = await ledger.verify(s)
    assert len(report.month_mismatches) == 2
    assert not report.ok


async def test_two_transfers_on_one_row_at_once_both_count(sessions, world, dialect):
    """Two connections: a pool payment for the senior holds its (unlocked) receiver row while
    an exchange the senior pays waits behind it; then a second transfer to the same volunteer
    waits for the first's account lock. Every row ends up with both."""
    today = town_today()
    async with transaction(sessions) as s:
        await fund_pool(s, world, 30)
        pending = await exchanges.record_exchange(
            s,
            world.volunteer2,
            giver_id=world.volunteer2.id,  # type: ignore[arg-type]
            receiver_id=world.senior.id,  # type: ignore[arg-type]
            minutes=30,
            performed_on=today,
            category="shopping",
        )
    first_done = asyncio.Event()

    async def pool_payment() -> None:
        async with transaction(sessions) as s:
            await exchanges.pay_from_pool(s, world.manager, pending.exchange.id)  # type: ignore[arg-type]
            # Held open until the other connection waits for this one.
            await until_a_connection_waits_for_a_lock(sessions)
        first_done.set()

    async def exchange() -> None:
        if dialect == "sqlite":  # one writer at a time: it would wait at BEGIN anyway
            await first_done.wait()
        await help_given(sessions, world, world.volunteer, world.senior, 20, on=today)

    await asyncio.gather(pool_payment(), exchange())
    await asyncio.gather(
        help_given(sessions, world, world.volunteer, world.client, 10, on=today),
        help_given(sessions, world, world.volunteer, world.senior, 5, on=today),
    )
    async with transaction(sessions) as s:
        senior = await account_id_of(s, world.senior)
        volunteer = await account_id_of(s, world.volunteer)
        assert (await ledger.verify(s)).ok
    found = await rows(sessions)
    month = today.replace(day=1)
    senior_rows = [v for (a, m, _), v in found.items() if a == senior and m == month]
    assert sum(v[1] for v in senior_rows) == 30 + 20 + 5
    assert sum(v[5] for v in senior_rows) == 3
    volunteer_rows = [v for (a, m, _), v in found.items() if a == volunteer and m == month]
    assert sum(v[0] for v in volunteer_rows) == 20 + 10 + 5


async def test_the_migration_backfills_the_months_from_the_transfers(db_url, sessions, world):
    await mixed_history(sessions, world)
    before = await rows(sessions)
    config = alembic_config(db_url)
    await asyncio.to_thread(command.downgrade, config, "0010_help_window")
    await asyncio.to_thread(command.upgrade, config, "head")
    assert await rows(sessions) == before
    async with transaction(sessions) as s:
        assert (await ledger.verify(s)).ok
