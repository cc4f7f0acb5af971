"""Ledger benchmarks on PostgreSQL, each against a baseline measured in the same run.

    .venv/bin/python -m tests.benchmarks.bench_ledger

1. Confirm-and-post throughput: ``exchanges.confirm_exchange`` through the domain layer with
   16 concurrent connections, against raw asyncpg doing the same locking (both accounts,
   ``FOR UPDATE`` in id order), the transfer insert and the two balance updates in one
   transaction. Prints both rates and their ratio.
2. ``ledger.verify`` and ``ledger.statement`` at 1,000,000 transfers between 100,000 members
   (generated with set-based SQL, with consistent balances and ``*_balance_after`` columns),
   against a plain ``SELECT count(*)`` over the transfers and a raw index query.

It uses TIMEBANK_TEST_POSTGRES_URL when set, else starts a throwaway cluster. Nothing here
asserts a time: it prints numbers (README records them).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy import text

from tests.postgres_server import start_cluster
from timebank import exchanges, ledger
from timebank.db import make_engine, make_sessionmaker, transaction, upgrade
from timebank.members import NewMember, create_member
from timebank.models import Member

CONCURRENCY = 16


def dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def fresh_database(server_url: str) -> str:
    name = f"tb_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(dsn(server_url))
    try:
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    url = server_url.rsplit("/", 1)[0] + "/" + name
    await upgrade(url)
    return url


async def drop_database(server_url: str, url: str) -> None:
    conn = await asyncpg.connect(dsn(server_url))
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")
    finally:
        await conn.close()


async def timed(fn: Callable[[], Awaitable[Any]], repeat: int = 3) -> float:
    """The median of ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# --- 1. confirm-and-post throughput ------------------------------------------------------------


async def pending_exchanges(url: str, people: int, count: int, rng: random.Random) -> list[int]:
    """``count`` pending exchanges of 30 minutes between ``people`` members (no receiver pays
    often enough to reach a limit)."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    async with transaction(sessions) as s:
        ids = []
        for i in range(people):
            m = await create_member(s, NewMember(name=f"Bench {i}", role="volunteer"), actor=None)
            ids.append(m.id)
        # Bulk insert: setting the stage is not what is measured.
        cat = await s.scalar(text("SELECT id FROM categories WHERE slug = 'other'"))
    conn = await asyncpg.connect(dsn(url))
    try:
        rows = []
        for _ in range(count):
            giver, receiver = rng.sample(ids, 2)
            rows.append((giver, receiver, 30, cat, giver))
        await conn.executemany(
            "INSERT INTO exchanges (giver_id, receiver_id, performed_on, minutes, category_id, "
            "status, entered_by_id, assisted, paid_by_pool, created_at) "
            "VALUES ($1, $2, current_date, $3, $4, 'pending', $5, false, false, now())",
            rows,
        )
        exchange_ids = [r["id"] for r in await conn.fetch("SELECT id FROM exchanges ORDER BY id")]
    finally:
        await conn.close()
    await engine.dispose()
    return exchange_ids


async def domain_confirmations(url: str, exchange_ids: list[int]) -> float:
    engine = make_engine(url, pool_size=CONCURRENCY, max_overflow=0)
    sessions = make_sessionmaker(engine)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in exchange_ids:
        queue.put_nowait(i)
    receivers: dict[int, int] = {}
    conn = await asyncpg.connect(dsn(url))
    for r in await conn.fetch("SELECT id, receiver_id FROM exchanges"):
        receivers[r["id"]] = r["receiver_id"]
    await conn.close()

    async def worker() -> None:
        while not queue.empty():
            exchange_id = queue.get_nowait()
            async with transaction(sessions) as s:
                # The receiver confirms, as through the API (which loads the caller first).
                receiver = await s.get(Member, receivers[exchange_id])
                await exchanges.confirm_exchange(s, receiver, exchange_id)  # type: ignore[arg-type]

    async def warm() -> None:
        async with engine.connect() as c:
            await c.execute(text("SELECT 1"))
            await asyncio.sleep(0.1)

    # Open every connection first: connection set-up is not what is measured.
    await asyncio.gather(*(warm() for _ in range(CONCURRENCY)))
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    elapsed = time.perf_counter() - start
    await engine.dispose()
    return len(exchange_ids) / elapsed


async def raw_booking(conn: asyncpg.Connection, payer: int, payee: int) -> None:
    """The booking's bare work, 30 minutes: lock both accounts in id order, insert the
    transfer with both balances after, update both balances (one transaction)."""
    async with conn.transaction():
        rows = await conn.fetch(
            "SELECT id, balance_minutes FROM accounts WHERE id = ANY($1::int[]) "
            "ORDER BY id FOR UPDATE",
            [payer, payee],
        )
        bal = {r["id"]: r["balance_minutes"] for r in rows}
        await conn.execute(
            "INSERT INTO transfers (from_account_id, to_account_id, minutes, kind, "
            "from_balance_after, to_balance_after, created_at) "
            "VALUES ($1, $2, 30, 'adjustment', $3, $4, now())",
            payer,
            payee,
            bal[payer] - 30,
            bal[payee] + 30,
        )
        await conn.execute(
            "UPDATE accounts SET balance_minutes = balance_minutes - 30 WHERE id = $1", payer
        )
        await conn.execute(
            "UPDATE accounts SET balance_minutes = balance_minutes + 30 WHERE id = $1", payee
        )


async def raw_postings(url: str, pairs: list[tuple[int, int]]) -> float:
    """The floor: lock two accounts in id order, insert a transfer, update two balances."""
    pool = await asyncpg.create_pool(dsn(url), min_size=CONCURRENCY, max_size=CONCURRENCY)
    queue: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
    for p in pairs:
        queue.put_nowait(p)

    async def worker() -> None:
        async with pool.acquire() as conn:
            while not queue.empty():
                payer, payee = queue.get_nowait()
                await raw_booking(conn, payer, payee)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    elapsed = time.perf_counter() - start
    await pool.close()
    return len(pairs) / elapsed


async def bench_throughput(server_url: str, people: int, count: int) -> None:
    rng = random.Random(1)
    domain_url = await fresh_database(server_url)
    raw_url = await fresh_database(server_url)
    try:
        ids = await pending_exchanges(domain_url, people, count, rng)
        domain_rate = await domain_confirmations(domain_url, ids)
        conn = await asyncpg.connect(dsn(raw_url))
        try:
            await conn.execute(
                "INSERT INTO members (name, role, language, active, joined_on, created_at) "
                "SELECT 'Raw ' || g, 'volunteer', 'de', true, current_date, now() "
                "FROM generate_series(1, $1) g",
                people,
            )
            await conn.execute(
                "INSERT INTO accounts (kind, member_id, balance_minutes, created_at) "
                "SELECT 'member', id, 0, now() FROM members"
            )
            accounts = [
                r["id"]
                for r in await conn.fetch("SELECT id FROM accounts WHERE member_id IS NOT NULL")
            ]
        finally:
            await conn.close()
        pairs = [tuple(rng.sample(accounts, 2)) for _ in range(count)]
        raw_rate = await raw_postings(raw_url, pairs)  # type: ignore[arg-type]

        engine = make_engine(domain_url)
        async with transaction(make_sessionmaker(engine)) as s:
            report = await ledger.verify(s)
        await engine.dispose()
        print(
            f"confirm-and-post, {count} exchanges among {people} members, {CONCURRENCY} connections"
        )
        print(f"  domain (exchanges.confirm_exchange): {domain_rate:8.0f} /s")
        print(f"  raw asyncpg (lock, insert, 2 updates): {raw_rate:6.0f} /s")
        print(f"  ratio raw / domain: {raw_rate / domain_rate:.1f}x")
        print(
            f"  books after the run: {'ok' if report.ok else 'MISMATCH'} "
            f"({report.transfers} transfers)"
        )
    finally:
        await drop_database(server_url, domain_url)
        await drop_database(server_url, raw_url)


# --- 2. verify and statement at scale ------------------------------------------------------------

GENERATE = [
    # Members and their accounts.
    "INSERT INTO members (name, role, language, active, joined_on, created_at) "
    "SELECT 'Member ' || g, (ARRAY['volunteer','senior'])[1 + g % 2], "
    "'de', true, current_date, now() FROM generate_series(1, {members}) g",
    "INSERT INTO accounts (kind, member_id, balance_minutes, created_at) "
    "SELECT 'member', id, 0, now() FROM members",
    # Transfers between random member accounts: each becomes two legs (payer −, payee +),
    # and a running sum per account gives the balance after every transfer.
    "CREATE TEMP TABLE gen AS "
    "SELECT g AS id, "
    "  (SELECT min(id) FROM accounts WHERE kind = 'member') "
    "    + (hashint4(g) & 2147483647) % {members} AS a, "
    "  (hashint4(g * 7 + 3) & 2147483647) % ({members} - 1) + 1 AS step, "
    "  15 * (1 + (hashint4(g * 13 + 5) & 2147483647) % 12) AS minutes "
    "FROM generate_series(1, {transfers}) g",
    "CREATE TEMP TABLE gen2 AS SELECT id, a AS from_id, "
    "  (SELECT min(id) FROM accounts WHERE kind = 'member') + "
    "  ((a - (SELECT min(id) FROM accounts WHERE kind = 'member')) + step) % {members} AS to_id, "
    "  minutes FROM gen",
    "CREATE TEMP TABLE legs AS "
    "SELECT id, from_id AS account_id, -minutes AS signed, 'from' AS side FROM gen2 "
    "UNION ALL SELECT id, to_id, minutes, 'to' FROM gen2",
    "CREATE TEMP TABLE running AS SELECT id, side, account_id, "
    "  sum(signed) OVER (PARTITION BY account_id ORDER BY id) AS after FROM legs",
    "CREATE INDEX ON running (id, side)",
    "INSERT INTO transfers (id, from_account_id, to_account_id, minutes, kind, "
    "  from_balance_after, to_balance_after, created_at) "
    "SELECT g.id, g.from_id, g.to_id, g.minutes, 'adjustment', f.after, t.after, "
    "  now() - ({transfers} - g.id) * interval '20 seconds' "
    "FROM gen2 g JOIN running f ON f.id = g.id AND f.side = 'from' "
    "JOIN running t ON t.id = g.id AND t.side = 'to' ORDER BY g.id",
    "UPDATE accounts a SET balance_minutes = s.total FROM "
    "  (SELECT account_id, sum(signed) AS total FROM legs GROUP BY account_id) s "
    "WHERE a.id = s.account_id",
    "SELECT setval(pg_get_serial_sequence('transfers', 'id'), (SELECT max(id) FROM transfers))",
    "DROP TABLE gen, gen2, legs, running",
    "ANALYZE",
]


async def fill_months(conn: asyncpg.Connection) -> int:
    """Fill ``account_months`` from transfers inserted behind the ledger's back (as the
    migration backfills them); the number of rows."""
    timezone = await conn.fetchval("SELECT timezone FROM network_settings WHERE id = 1")
    recount = ledger.recount_months_sql("postgresql", ZoneInfo(timezone), None, None)
    columns = ", ".join(ledger._MONTH_COLUMNS)
    sums = ", ".join(f"SUM({c})" for c in ledger._MONTH_COLUMNS)
    await conn.execute(
        f"INSERT INTO account_months (account_id, month, category_id, {columns}) "
        f"SELECT account_id, month, category_id, {sums} FROM ({recount}) r "
        "GROUP BY account_id, month, category_id".replace(":tz", "$1"),
        timezone,
    )
    await conn.execute("ANALYZE")
    return int(await conn.fetchval("SELECT count(*) FROM account_months"))


async def bench_scale(server_url: str, members: int, transfers: int) -> None:
    url = await fresh_database(server_url)
    try:
        conn = await asyncpg.connect(dsn(url))
        start = time.perf_counter()
        try:
            for sql in GENERATE:
                await conn.execute(sql.format(members=members, transfers=transfers))
            await fill_months(conn)  # the aggregates verify checks (invariant 7)
            # The busiest account and a typical one, for the statement.
            busy = await conn.fetchval(
                "SELECT a FROM (SELECT to_account_id a FROM transfers UNION ALL "
                "SELECT from_account_id FROM transfers) x GROUP BY a ORDER BY count(*) DESC LIMIT 1"
            )
            count_ms = 1000 * await timed(lambda: conn.fetchval("SELECT count(*) FROM transfers"))
            some = [
                r["id"]
                for r in await conn.fetch(
                    "SELECT id FROM accounts WHERE kind = 'member' ORDER BY id LIMIT 200"
                )
            ]

            async def raw_page() -> None:
                for acc in some[:50]:
                    await conn.fetch(
                        "SELECT * FROM transfers WHERE to_account_id = $1 "
                        "ORDER BY id DESC LIMIT 50",
                        acc,
                    )

            raw_page_ms = 1000 * await timed(raw_page) / 50
        finally:
            await conn.close()
        generated = time.perf_counter() - start

        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        report: list[ledger.VerifyReport] = []

        async def verify() -> None:
            async with transaction(sessions) as s:
                report.append(await ledger.verify(s))

        verify_ms = 1000 * await timed(verify)

        async def statements() -> None:
            async with transaction(sessions) as s:
                for acc in some[:50]:
                    await ledger.statement(s, acc, limit=50)

        statement_ms = 1000 * await timed(statements) / 50

        async def busy_pages() -> None:
            async with transaction(sessions) as s:
                page = await ledger.statement(s, busy, limit=50)
                while len(page) == 50:
                    page = await ledger.statement(s, busy, limit=50, before_id=page[-1].transfer_id)

        async with transaction(sessions) as s:
            first = await ledger.statement(s, busy, limit=50)
        busy_ms = 1000 * await timed(busy_pages, repeat=1)
        await engine.dispose()

        print(
            f"ledger at {transfers:,} transfers / {members:,} members "
            f"(generated in {generated:.0f} s)"
        )
        print(f"  baseline SELECT count(*) FROM transfers: {count_ms:8.0f} ms")
        print(
            f"  ledger.verify (every balance recomputed): {verify_ms:7.0f} ms "
            f"({verify_ms / count_ms:.1f}x the count) -> {'ok' if report[-1].ok else 'MISMATCH'}"
        )
        print(f"  baseline raw index query, one side, 50 rows: {raw_page_ms:6.2f} ms")
        print(
            f"  ledger.statement, 50 lines, typical account: {statement_ms:6.2f} ms "
            f"({statement_ms / raw_page_ms:.1f}x the raw query)"
        )
        print(
            f"  every page of the busiest account ({len(first)} lines on its first page): "
            f"{busy_ms:.0f} ms"
        )
    finally:
        await drop_database(server_url, url)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--transfers", type=int, default=1_000_000)
    parser.add_argument("--confirmations", type=int, default=4_000)
    parser.add_argument("--people", type=int, default=1_000, help="members in the throughput test")
    args = parser.parse_args()

    given = os.environ.get("TIMEBANK_TEST_POSTGRES_URL")
    cluster = None if given else start_cluster()
    server = given or cluster.url  # type: ignore[union-attr]
    try:
        await bench_throughput(server, args.people, args.confirmations)
        await bench_scale(server, args.members, args.transfers)
    finally:
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    asyncio.run(main())
