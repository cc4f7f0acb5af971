"""The manager's directory at 100,000 members on PostgreSQL: keyset paging stays as fast on
page 1,000 as on page 1.

    .venv/bin/python -m tests.benchmarks.bench_directory [--members 100000] [--repeat 15]

Fills the members and their accounts with set-based SQL (names, roles, districts, join
dates and balances spread out, many ties), then times ``directory.list_members`` for each
sort: page 1 is the baseline measured in this run; page 1,000 is reached by the keyset
cursor of its first row (looked up once, untimed); the same page fetched with OFFSET shows
what keyset paging avoids. Prints the median of ``--repeat`` runs; asserts no time.

Uses TIMEBANK_TEST_POSTGRES_URL when set, else starts a throwaway cluster.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from sqlalchemy import text

from tests.postgres_server import start_cluster
from timebank import directory
from timebank.db import make_engine, make_sessionmaker, transaction, upgrade
from timebank.members import NewMember, create_member

PER_PAGE = 50
PAGE = 1000


def dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def admin(server_url: str, statement: str) -> None:
    conn = await asyncpg.connect(dsn(server_url))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


FILL = [
    "INSERT INTO districts (name, active) "
    "SELECT 'Bezirk ' || d, true FROM generate_series(1, 12) d",
    "INSERT INTO organizations (name, kind, created_at) "
    "SELECT 'Verein ' || o, 'welfare', now() FROM generate_series(1, 20) o",
    # Names repeat (about 20 members share each), so the id must break ties.
    "INSERT INTO members (name, role, organization_id, district_id, language, active, "
    "joined_on, created_at) "
    "SELECT initcap(substr(md5((g % 5000)::text), 1, 7)) || ' ' "
    "       || initcap(substr(md5((g % 4999)::text), 8, 9)), "
    "  (ARRAY['volunteer','volunteer','volunteer','senior','senior','professional'])[1 + g % 6], "
    "  CASE WHEN g % 6 = 5 OR g % 7 = 0 THEN 1 + g % 20 END, "
    "  1 + g % 12, 'de', g % 50 <> 0, "
    "  DATE '2015-01-01' + (g % 3650), now() "
    "FROM generate_series(1, :n) g",
    "INSERT INTO accounts (kind, member_id, balance_minutes, created_at) "
    "SELECT 'member', id, ((id * 7919) % 4801) - 2400, now() FROM members "
    "WHERE id NOT IN (SELECT member_id FROM accounts WHERE member_id IS NOT NULL)",
    "ANALYZE",
]


async def median_ms(run: Callable[[], Awaitable[Any]], repeat: int) -> float:
    await run()  # warm the caches and the statement cache once
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def bench(url: str, members: int, repeat: int) -> None:
    engine = make_engine(url, pool_size=2)
    sessions = make_sessionmaker(engine)
    async with transaction(sessions) as s:
        manager = await create_member(
            s, NewMember(name="Bench Manager", role="manager"), actor=None
        )
    started = time.perf_counter()
    async with engine.begin() as conn:
        for statement in FILL:
            if ":n" in statement:
                await conn.execute(text(statement), {"n": members})
            else:
                await conn.execute(text(statement))
    print(f"filled {members:,} members in {time.perf_counter() - started:.1f} s")

    sort_sql = {
        "name": "m.name, m.id",
        "-balance": "a.balance_minutes DESC, a.member_id DESC",
        "joined": "m.joined_on, m.id",
    }
    value_sql = {"name": "m.name", "-balance": "a.balance_minutes", "joined": "m.joined_on::text"}
    offset = (PAGE - 1) * PER_PAGE

    print(f"\nmedian of {repeat} runs, {PER_PAGE} rows a page (ms)")
    print(f"{'sort / filter':<28}{'page 1':>10}{'page 1000':>12}{'ratio':>8}{'OFFSET p1000':>15}")
    cases: list[tuple[str, str, dict[str, Any], str]] = [
        ("name", "name", {}, ""),
        ("-balance", "-balance", {}, ""),
        ("joined", "joined", {}, ""),
        ("name, role=volunteer", "name", {"role": "volunteer"}, "AND m.role = 'volunteer'"),
    ]
    for label, sort, filters, where in cases:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        f"SELECT {value_sql[sort]}, m.id FROM members m "
                        f"JOIN accounts a ON a.member_id = m.id WHERE true {where} "
                        f"ORDER BY {sort_sql[sort]} OFFSET {offset - 1} LIMIT 1"
                    )
                )
            ).one()
        cursor = directory.cursor_for(row[0], row[1])

        async def page(
            after: str | None = None, sort: str = sort, filters: dict[str, Any] = filters
        ) -> None:
            async with transaction(sessions) as s:
                await directory.list_members(
                    s, manager, sort=sort, after=after, per_page=PER_PAGE, **filters
                )

        naive_sql = text(
            f"SELECT m.*, a.id, a.balance_minutes FROM members m "
            f"JOIN accounts a ON a.member_id = m.id WHERE true {where} "
            f"ORDER BY {sort_sql[sort]} OFFSET {offset} LIMIT {PER_PAGE}"
        )

        async def offset_page(query: Any = naive_sql) -> None:
            async with engine.connect() as conn:
                await conn.execute(query)

        async def far_page(cursor: str = cursor) -> None:
            await page(cursor)

        first = await median_ms(page, repeat)
        far = await median_ms(far_page, repeat)
        naive = await median_ms(offset_page, repeat)
        print(f"{label:<28}{first:>10.2f}{far:>12.2f}{far / first:>8.2f}{naive:>15.2f}")
    print(
        "\npage 1 and page 1000 include the total count of the filter, which every page "
        "pays alike; the OFFSET column is the row query alone."
    )
    await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    server_url = os.environ.get("TIMEBANK_TEST_POSTGRES_URL")
    cluster = None
    if not server_url:
        cluster = start_cluster()
        server_url = cluster.url
    name = f"tb_bench_dir_{uuid.uuid4().hex[:8]}"
    await admin(server_url, f"CREATE DATABASE {name}")
    url = server_url.rsplit("/", 1)[0] + "/" + name
    try:
        await upgrade(url)
        await bench(url, args.members, args.repeat)
    finally:
        await admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    asyncio.run(main())
