"""The nightly balance review at scale on PostgreSQL, against a baseline from the same run.

    .venv/bin/python -m tests.benchmarks.bench_review [--members N] [--transfers N]

Generates 100,000 members and 1,000,000 help transfers between them (set-based SQL, spread
over a year, so the 90-day window, the ratios and inactivity all have something to find),
then times:

- the baseline: one plain aggregate of every member's given and received minutes over both
  sides of the transfers (the least any review must read);
- the review's first run (opens the flags; rolled back and repeated for a median);
- a second run on top of a committed first one (finds everything already flagged).

It uses TIMEBANK_TEST_POSTGRES_URL when set, else starts a throwaway cluster. Nothing here
asserts a time: it prints numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import asyncpg

from tests.benchmarks.bench_ledger import GENERATE, drop_database, dsn, fresh_database, timed
from tests.postgres_server import start_cluster
from timebank import review
from timebank.db import make_engine, make_sessionmaker, transaction

# The ledger benchmark's generator, with help instead of adjustments, booked over a year.
HELP = [
    sql.replace("'adjustment'", "'exchange'").replace(
        "interval '20 seconds'", "interval '{spacing} seconds'"
    )
    for sql in GENERATE
]

BASELINE = """
SELECT a.member_id, sum(x.given), sum(x.received), max(x.at)
FROM (
    SELECT to_account_id AS account_id, minutes AS given, 0 AS received, created_at AS at
    FROM transfers
    UNION ALL
    SELECT from_account_id, 0, minutes, created_at FROM transfers
) x JOIN accounts a ON a.id = x.account_id
GROUP BY a.member_id
"""


async def bench(server_url: str, members: int, transfers: int) -> None:
    url = await fresh_database(server_url)
    try:
        conn = await asyncpg.connect(dsn(url))
        try:
            start = time.perf_counter()
            spacing = max(1, 365 * 24 * 3600 // transfers)
            for sql in HELP:
                await conn.execute(
                    sql.format(members=members, transfers=transfers, spacing=spacing)
                )
            print(
                f"generated {members:,} members and {transfers:,} transfers "
                f"in {time.perf_counter() - start:.1f} s"
            )
            baseline = await timed(lambda: conn.fetch(BASELINE))
        finally:
            await conn.close()

        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        result: review.ReviewResult | None = None

        async def first_run() -> None:
            nonlocal result
            async with sessions() as s, s.begin():
                result = await review.run_review(s)
                await s.rollback()

        async def committed_run() -> review.ReviewResult:
            async with transaction(sessions) as s:
                return await review.run_review(s)

        try:
            first = await timed(first_run)
            await committed_run()
            second = await timed(committed_run)
        finally:
            await engine.dispose()
        assert result is not None
        print(f"baseline (one aggregate of both sides): {baseline * 1000:8.0f} ms")
        print(
            f"review, first run:                      {first * 1000:8.0f} ms "
            f"({first / baseline:.1f}× baseline), opened {result.opened:,} flags: "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(result.open_by_kind.items()))
        )
        print(
            f"review, second run (nothing new):       {second * 1000:8.0f} ms "
            f"({second / baseline:.1f}× baseline)"
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
