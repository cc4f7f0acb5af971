"""The manager's dashboard at scale on PostgreSQL, against a plain count in the same run.

    .venv/bin/python -m tests.benchmarks.bench_dashboard [--members N] [--transfers N]

Generates 100,000 members in 12 districts and 1,000,000 confirmed exchanges between them
(each with its transfer, ten kinds of help, spread over two years) and 20,000 requests, fills
the per-month aggregates the way the migration backfills them (``ledger.recount_months_sql``),
then times, each as the median of three:

- the baseline: ``SELECT count(*) FROM transfers``;
- the whole dashboard (``dashboard.dashboard``: eight queries on the aggregates, members,
  requests and flags; 24 months);
- for the record, ``ledger verify``'s recount of the aggregates (it must read the transfers).

It uses TIMEBANK_TEST_POSTGRES_URL when set, else starts a throwaway cluster. Nothing here
asserts a time: it prints numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import asyncpg
from sqlmodel import select

from tests.benchmarks.bench_ledger import (
    GENERATE,
    drop_database,
    dsn,
    fill_months,
    fresh_database,
    timed,
)
from tests.postgres_server import start_cluster
from timebank import dashboard, ledger
from timebank.db import make_engine, make_sessionmaker
from timebank.models import Member

TWO_YEARS = 730 * 24 * 3600


def _help(sql: str) -> list[str]:
    """The ledger benchmark's transfers as booked exchanges: an exchange row first (same id),
    then its transfer pointing at it, spread over two years."""
    if not sql.startswith("INSERT INTO transfers"):
        return [sql.replace("interval '20 seconds'", "interval '{spacing} seconds'")]
    exchanges = (
        "INSERT INTO exchanges (id, giver_id, receiver_id, performed_on, minutes, category_id, "
        "  status, entered_by_id, assisted, paid_by_pool, created_at) "
        "SELECT g.id, pt.member_id, pf.member_id, "
        "  CAST(now() - ({transfers} - g.id) * interval '{spacing} seconds' AS date), "
        "  g.minutes, (SELECT min(id) FROM categories) + g.id % 10, 'confirmed', "
        "  pf.member_id, false, false, now() - ({transfers} - g.id) * interval '{spacing} seconds' "
        "FROM gen2 g JOIN accounts pf ON pf.id = g.from_id JOIN accounts pt ON pt.id = g.to_id"
    )
    transfers = (
        sql.replace("'adjustment'", "'exchange'")
        .replace("to_balance_after, created_at)", "to_balance_after, created_at, exchange_id)")
        .replace(
            "interval '20 seconds' ",
            "interval '{spacing} seconds', g.id ",
        )
    )
    return [exchanges, transfers]


NETWORK = [
    "INSERT INTO districts (name, active) "
    "SELECT 'Bezirk ' || d, true FROM generate_series(1, 12) d",
    "UPDATE members SET district_id = (SELECT min(id) FROM districts) + id % 12, "
    "  joined_on = current_date - (id % 900)",
    "INSERT INTO members (name, role, language, active, joined_on, created_at) "
    "VALUES ('Die Netzwerkleitung', 'manager', 'de', true, current_date, now())",
    "INSERT INTO help_requests (member_id, entered_by_id, category_id, district_id, title, "
    "  urgency, status, created_at) "
    "SELECT m.id, m.id, (SELECT min(id) FROM categories) + g % 10, m.district_id, "
    "  'Bitte um Hilfe ' || g, 'normal', CASE WHEN g % 3 = 0 THEN 'open' ELSE 'closed' END, "
    "  now() - (g % 700) * interval '1 day' "
    "FROM generate_series(1, {requests}) g JOIN members m ON m.id = 1 + (g * 37) % {members}",
    "INSERT INTO request_responses (request_id, helper_id, accepted, created_at) "
    "SELECT q.id, 1 + (q.id * 11) % {members}, true, q.created_at + interval '26 hours' "
    "FROM help_requests q WHERE q.id % 2 = 0 AND 1 + (q.id * 11) % {members} <> q.member_id",
]

BASELINE = "SELECT count(*) FROM transfers"


async def bench(server_url: str, members: int, transfers: int) -> None:
    url = await fresh_database(server_url)
    spacing = max(1, TWO_YEARS // transfers)
    params = {
        "members": members,
        "transfers": transfers,
        "spacing": spacing,
        "requests": max(members // 5, 10),
    }
    try:
        conn = await asyncpg.connect(dsn(url))
        try:
            start = time.perf_counter()
            for sql in [part for step in GENERATE for part in _help(step)] + NETWORK:
                await conn.execute(sql.format(**params))
            await conn.execute(
                "SELECT setval(pg_get_serial_sequence('exchanges', 'id'), "
                "(SELECT max(id) FROM exchanges))"
            )
            generated = time.perf_counter() - start
            start = time.perf_counter()
            rows = await fill_months(conn)
            backfilled = time.perf_counter() - start
            print(
                f"generated {members:,} members, {transfers:,} exchanges with their transfers "
                f"and {params['requests']:,} requests in {generated:.1f} s; "
                f"backfilled {rows:,} aggregate rows in {backfilled:.1f} s"
            )
            baseline = await timed(lambda: conn.fetchval(BASELINE))
        finally:
            await conn.close()

        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        try:
            async with sessions() as s:
                manager = await s.scalar(select(Member).where(Member.role == "manager"))
            assert manager is not None

            async def view() -> dashboard.Dashboard:
                async with sessions() as s:
                    return await dashboard.dashboard(s, manager, 24)

            figures = await view()
            board = await timed(view)

            async def recount() -> None:
                async with sessions() as s:
                    assert await ledger.month_mismatches(s) == []

            verified = await timed(recount, repeat=1)
        finally:
            await engine.dispose()
        given = sum(figures.by_month.minutes.values()) // 60
        print(f"baseline: SELECT count(*) FROM transfers:  {baseline * 1000:8.0f} ms")
        print(
            f"dashboard (24 months, every figure):      {board * 1000:8.0f} ms "
            f"({board / baseline:.2f}× the count); {given:,} hours given in the period"
        )
        print(
            f"ledger verify's recount of the aggregates: {verified * 1000:7.0f} ms "
            f"({verified / baseline:.1f}× the count)"
        )
    finally:
        await drop_database(server_url, url)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--transfers", type=int, default=1_000_000)
    args = parser.parse_args()
    given = os.environ.get("TIMEBANK_TEST_POSTGRES_URL")
    cluster = None if given else start_cluster()
    server = given or cluster.url  # type: ignore[union-attr]
    try:
        await bench(server, args.members, args.transfers)
    finally:
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    asyncio.run(main())
