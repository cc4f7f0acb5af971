"""Exports of 1,000,000 transfers on PostgreSQL: rows per second and the memory they take.

    .venv/bin/python -m tests.benchmarks.bench_exports [--transfers 1000000] [--formats csv,xlsx]

Fills members, their accounts and the transfers (1 % of them reversed) with set-based SQL,
then exports every transfer as CSV and as XLSX through ``timebank.exports`` (the same code
the API streams), counting the bytes and throwing them away, and prints for each: the rows,
the time, rows per second, and the process's resident memory before, at its peak while
exporting and the difference. Two baselines from the same run: the process's memory before
the export (what it holds anyway), and the time of ``COPY (the same rows) TO STDOUT`` —
PostgreSQL writing CSV itself, the fastest the rows can leave the database. Constant
memory shows as a peak that does not grow with ``--transfers`` (try 100000 against
1000000). Asserts nothing.

Uses TIMEBANK_TEST_POSTGRES_URL when set, else starts a throwaway cluster.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import time
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy import text

from tests.postgres_server import start_cluster
from timebank import exports
from timebank.db import make_engine, make_sessionmaker, transaction, upgrade
from timebank.members import NewMember, create_member

MEMBERS = 2000

FILL = [
    "INSERT INTO members (name, role, language, active, joined_on, created_at) "
    "SELECT 'Mitglied ' || g, 'volunteer', 'de', true, DATE '2020-01-01', now() "
    f"FROM generate_series(1, {MEMBERS}) g",
    "INSERT INTO accounts (kind, member_id, balance_minutes, created_at) "
    "SELECT 'member', id, 0, now() FROM members "
    "WHERE id NOT IN (SELECT member_id FROM accounts WHERE member_id IS NOT NULL)",
    # Pairs of member accounts, lengths of 15 to 120 minutes, two years of bookings.
    "INSERT INTO transfers (from_account_id, to_account_id, minutes, kind, reason, "
    "from_balance_after, to_balance_after, created_at) "
    "SELECT a.lo + (g % a.n), a.lo + ((g * 7 + 1) % a.n), 15 * (1 + g % 8), 'adjustment', "
    "  'Bench ' || g, 0, 0, "
    "  now() - (g % 730) * interval '1 day' - (g % 1440) * interval '1 minute' "
    "FROM generate_series(1, :n) g, "
    "  (SELECT min(id) AS lo, count(*) AS n FROM accounts WHERE kind = 'member') a "
    "WHERE (g % a.n) <> ((g * 7 + 1) % a.n)",
    "INSERT INTO transfers (from_account_id, to_account_id, minutes, kind, reason, "
    "reverses_id, from_balance_after, to_balance_after, created_at) "
    "SELECT to_account_id, from_account_id, minutes, 'reversal', 'Bench reversal', id, 0, 0, "
    "  created_at + interval '1 hour' FROM transfers WHERE id % 100 = 0",
    "ANALYZE",
]


def dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def admin(server_url: str, statement: str) -> None:
    conn = await asyncpg.connect(dsn(server_url))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def resident_mb() -> float:
    """The process's resident memory now (VmRSS), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def copy_baseline(url: str) -> tuple[int, float]:
    """The same rows, joined the same way, written as CSV by PostgreSQL (COPY … TO STDOUT)."""
    query = (
        "SELECT t.id, t.created_at, t.kind, coalesce(fm.name, fo.name), "
        "coalesce(tm.name, tov.name), t.minutes, t.minutes, t.exchange_id, t.reverses_id, "
        "t.reason FROM transfers t "
        "JOIN accounts fa ON fa.id = t.from_account_id JOIN accounts ta ON ta.id = t.to_account_id "
        "LEFT JOIN members fm ON fm.id = fa.member_id LEFT JOIN members tm ON tm.id = ta.member_id "
        "LEFT JOIN organizations fo ON fo.id = fa.organization_id "
        "LEFT JOIN organizations tov ON tov.id = ta.organization_id ORDER BY t.id"
    )
    size = 0

    async def sink(chunk: bytes) -> None:
        nonlocal size
        size += len(chunk)

    conn = await asyncpg.connect(dsn(url))
    try:
        started = time.perf_counter()
        await conn.copy_from_query(query, output=sink, format="csv", delimiter=";")
        return size, time.perf_counter() - started
    finally:
        await conn.close()


async def bench(url: str, transfers: int, formats: list[str]) -> None:
    engine = make_engine(url, pool_size=2)
    sessions = make_sessionmaker(engine)
    async with transaction(sessions) as s:
        manager = await create_member(
            s, NewMember(name="Bench Manager", role="manager"), actor=None
        )
    started = time.perf_counter()
    async with engine.begin() as conn:
        for statement in FILL:
            await conn.execute(text(statement), {"n": transfers} if ":n" in statement else {})
        total = int((await conn.execute(text("SELECT count(*) FROM transfers"))).scalar_one())
    print(f"filled {total:,} transfers (1 % reversals) in {time.perf_counter() - started:.1f} s")

    size, seconds = await copy_baseline(url)
    print(
        f"\nbaseline: COPY … TO STDOUT of the same rows: {seconds:.1f} s, "
        f"{total / seconds:,.0f} rows/s, {size / 1e6:.0f} MB"
    )
    print(f"baseline: the process's resident memory before exporting: {resident_mb():.0f} MB\n")
    print(
        f"{'export':<16}{'rows':>11}{'seconds':>9}{'rows/s':>10}{'MB out':>8}"
        f"{'RSS before':>12}{'RSS peak':>10}{'growth':>8}"
    )
    for fmt in formats:
        before = peak = resident_mb()
        async with transaction(sessions) as s:
            made = await exports.start_export(
                s, manager, f"transfers.{fmt}", None, None, language="de"
            )
        started = time.perf_counter()
        written = 0
        async for chunk in made.chunks(sessions):
            written += len(chunk)
            peak = max(peak, resident_mb())
        seconds = time.perf_counter() - started
        peak = max(peak, resident_mb())
        print(
            f"{'transfers.' + fmt:<16}{total:>11,}{seconds:>9.1f}{total / seconds:>10,.0f}"
            f"{written / 1e6:>8.0f}{before:>10.0f} MB{peak:>7.0f} MB{peak - before:>5.0f} MB"
        )
    highest = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nthe process's highest resident memory of the whole run: {highest:.0f} MB")
    await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transfers", type=int, default=1_000_000)
    parser.add_argument("--formats", default="csv,xlsx")
    args = parser.parse_args()
    server_url = os.environ.get("TIMEBANK_TEST_POSTGRES_URL")
    cluster = None
    if not server_url:
        cluster = start_cluster()
        server_url = cluster.url
    name = f"tb_bench_exp_{uuid.uuid4().hex[:8]}"
    await admin(server_url, f"CREATE DATABASE {name}")
    url = server_url.rsplit("/", 1)[0] + "/" + name
    try:
        await upgrade(url)
        await bench(url, args.transfers, args.formats.split(","))
    finally:
        await admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    asyncio.run(main())
