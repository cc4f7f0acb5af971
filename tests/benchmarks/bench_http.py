"""The HTTP path, measured from outside: `timebank serve` on PostgreSQL in its own processes,
driven by a client in another process, against a raw floor measured in the same run.

    .venv/bin/python -m tests.benchmarks.bench_http [--url URL] [--clients 16] [--seconds 20]
        [--workers 2] [--members 100000] [--transfers 1000000] [--page-clients 32]

1. **Posting.** A fresh database with 200 volunteers and a manager with an API token; `serve
   --workers N` started (production settings, scheduler off so it does not compete); the time
   from starting it to the first answered request is printed. A client process (its own event
   loop, so it never shares the server's) runs ``--clients`` concurrent connections for
   ``--seconds``, each posting a manager-entered exchange (``POST /api/v1/exchanges``, booked at
   once) with an idempotency key. Printed: requests per second, p50/p95/p99 and the answers.
2. **The raw floor**, in another process with the same concurrency: asyncpg doing the booking's
   bare work (lock both accounts in id order, insert the transfer, update both balances) in
   one transaction — the rate no layer above the database can beat. Printed beside 1 with the
   ratio.
3. **Memory**: the resident memory of each worker after the load.
4. **Pages at scale** (skipped with ``--members 0``): ``--members`` members and
   ``--transfers`` transfers generated with set-based SQL (tests.benchmarks.bench_ledger),
   then ``--page-clients`` concurrent signed-in clients fetch a member's home, the manager's
   member list at page 1,000 and the manager's hub: p50/p95 each, beside a raw index query
   of the same run.

It uses ``--url`` (a server URL such as TIMEBANK_TEST_POSTGRES_URL) when given, else starts a
throwaway cluster. Nothing here asserts a time: it prints figures (README records a run).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.benchmarks.bench_ledger import GENERATE, drop_database, dsn, fill_months, raw_booking
from tests.benchmarks.reliability import children_of, free_port, is_worker
from tests.postgres_server import start_cluster
from timebank import ledger
from timebank.db import make_engine, make_sessionmaker, transaction, upgrade
from timebank.directory import cursor_for
from timebank.members import NewMember, create_member, create_token, hash_password
from timebank.models import Member

SECRET = "bench-http-secret-0123456789abcdef"
PASSWORD = "bench-password-1"
PEOPLE = 200


# --- The database ----------------------------------------------------------------------------


async def fresh_database(server_url: str) -> str:
    name = f"tb_http_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(dsn(server_url))
    try:
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    url = server_url.rsplit("/", 1)[0] + "/" + name
    await upgrade(url)
    return url


@dataclass
class Seeded:
    manager_token: str
    manager_email: str
    member_email: str
    volunteers: list[int]
    accounts: list[int]


async def seed(url: str) -> Seeded:
    """``PEOPLE`` volunteers with wide limits and a manager; every login has ``PASSWORD``."""
    engine = make_engine(url)
    password_hash = hash_password(PASSWORD)
    try:
        async with transaction(make_sessionmaker(engine)) as s:
            manager = await create_member(
                s,
                NewMember(name="Bench Manager", role="manager", email="manager@bench.example"),
                actor=None,
            )
            manager.password_hash = password_hash
            s.add(manager)
            volunteers: list[Member] = []
            accounts: list[int] = []
            for i in range(PEOPLE):
                member = await create_member(
                    s,
                    NewMember(name=f"Volunteer {i}", role="volunteer", email=f"v{i}@bench.example"),
                    actor=None,
                )
                member.password_hash = password_hash
                s.add(member)
                account = await ledger.account_of_member(s, member.id)  # type: ignore[arg-type]
                account.min_minutes, account.max_minutes = -1_000_000, 1_000_000
                s.add(account)
                volunteers.append(member)
                accounts.append(account.id)  # type: ignore[arg-type]
            token = await create_token(s, manager)
    finally:
        await engine.dispose()
    return Seeded(
        token,
        "manager@bench.example",
        "v0@bench.example",
        [v.id for v in volunteers],  # type: ignore[misc]
        accounts,
    )


# --- The server ------------------------------------------------------------------------------


@dataclass
class Server:
    url: str
    workers: int
    log_path: Path
    port: int = field(default_factory=free_port)
    master: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        """Start ``serve``; seconds until it answered its first request."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("TIMEBANK_")}
        env.update(
            TIMEBANK_DATABASE_URL=self.url,
            TIMEBANK_ENV="production",
            TIMEBANK_SECRET_KEY=SECRET,
            TIMEBANK_SCHEDULER="0",
        )
        command = ["serve", "--workers", str(self.workers), "--port", str(self.port)]
        started = time.perf_counter()
        with self.log_path.open("ab") as out:
            self.master = subprocess.Popen(
                [sys.executable, "-m", "timebank", *command],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        while time.perf_counter() - started < 120:
            if self.master.poll() is not None:
                raise SystemExit(f"serve ended at start; see {self.log_path}")
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/login", timeout=2)
            except httpx.HTTPError:
                time.sleep(0.05)
                continue
            return time.perf_counter() - started
        raise SystemExit(f"serve did not answer within 120 s; see {self.log_path}")

    def worker_memory_mb(self) -> list[float]:
        assert self.master is not None
        sizes = []
        for pid in children_of(self.master.pid):
            if not is_worker(pid):
                continue
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
        return sizes

    def stop(self) -> None:
        if self.master is not None and self.master.poll() is None:
            self.master.terminate()
            try:
                self.master.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.master.kill()
                self.master.wait()


# --- The clients (each run in a process of its own) ------------------------------------------


@dataclass
class Run:
    requests: int
    seconds: float
    latencies_ms: list[float]
    answers: Counter[int]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0


async def _post_exchanges(
    base: str, token: str, people: list[int], clients: int, seconds: float
) -> Run:
    rng = random.Random(7)
    latencies: list[float] = []
    answers: Counter[int] = Counter()
    today = time.strftime("%Y-%m-%d")
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
        deadline = time.perf_counter() + seconds

        async def one_client() -> None:
            while time.perf_counter() < deadline:
                giver, receiver = rng.sample(people, 2)
                body = {
                    "giver_id": giver,
                    "receiver_id": receiver,
                    "minutes": 30,
                    "performed_on": today,
                    "category": "shopping",
                    "idempotency_key": uuid.uuid4().hex,
                }
                start = time.perf_counter()
                answer = await client.post("/api/v1/exchanges", json=body, headers=headers)
                latencies.append(1000 * (time.perf_counter() - start))
                answers[answer.status_code] += 1

        start = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        elapsed = time.perf_counter() - start
    return Run(len(latencies), elapsed, latencies, answers)


async def _raw_floor(url: str, accounts: list[int], clients: int, seconds: float) -> Run:
    rng = random.Random(11)
    latencies: list[float] = []
    pool = await asyncpg.create_pool(dsn(url), min_size=clients, max_size=clients)
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        async with pool.acquire() as conn:
            while time.perf_counter() < deadline:
                payer, payee = rng.sample(accounts, 2)
                start = time.perf_counter()
                await raw_booking(conn, payer, payee)
                latencies.append(1000 * (time.perf_counter() - start))

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.perf_counter() - start
    await pool.close()
    return Run(len(latencies), elapsed, latencies, Counter({200: len(latencies)}))


async def _sign_in(client: httpx.AsyncClient, email: str) -> None:
    form = await client.get("/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
    assert token, "no CSRF token on the login page"
    answer = await client.post(
        "/login",
        data={"_csrf_token": token.group(1), "email": email, "password": PASSWORD, "next": "/"},
    )
    assert answer.status_code in (200, 303), answer.status_code


async def _fetch_pages(
    base: str, email: str, paths: list[str], clients: int, rounds: int
) -> dict[str, Run]:
    """``clients`` signed-in clients, each fetching every path ``rounds`` times."""
    runs: dict[str, Run] = {}
    signed_in = []
    for _ in range(clients):
        client = httpx.AsyncClient(base_url=base, timeout=120, follow_redirects=True)
        await _sign_in(client, email)
        signed_in.append(client)
    try:
        for path in paths:
            latencies: list[float] = []
            answers: Counter[int] = Counter()

            async def one(
                client: httpx.AsyncClient,
                path: str = path,
                latencies: list[float] = latencies,
                answers: Counter[int] = answers,
            ) -> None:
                for _ in range(rounds):
                    start = time.perf_counter()
                    answer = await client.get(path)
                    latencies.append(1000 * (time.perf_counter() - start))
                    answers[answer.status_code] += 1

            start = time.perf_counter()
            await asyncio.gather(*(one(c) for c in signed_in))
            runs[path] = Run(len(latencies), time.perf_counter() - start, latencies, answers)
    finally:
        for client in signed_in:
            await client.aclose()
    return runs


def _in_process(target: Any, *args: Any) -> Any:
    """Run ``target(*args)`` (a coroutine function) in a fresh process; return its result."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(_run_coroutine, (target, *args))


def _run_coroutine(target: Any, *args: Any) -> Any:
    return asyncio.run(target(*args))


# --- Report ------------------------------------------------------------------------------------


def report(label: str, run: Run) -> None:
    print(
        f"  {label}: {run.rate:8.0f} /s  p50 {run.percentile(50):6.1f} ms  "
        f"p95 {run.percentile(95):6.1f} ms  p99 {run.percentile(99):6.1f} ms  "
        f"({run.requests} in {run.seconds:.1f} s; answers {dict(run.answers)})"
    )


async def bench_posting(server_url: str, args: argparse.Namespace, log_dir: Path) -> None:
    url = await fresh_database(server_url)
    raw_url = await fresh_database(server_url)
    server = Server(url, args.workers, log_dir / "serve-posting.log")
    try:
        seeded = await seed(url)
        raw = await seed(raw_url)
        startup = server.start()
        base = f"http://127.0.0.1:{server.port}"
        http_run = _in_process(
            _post_exchanges,
            base,
            seeded.manager_token,
            seeded.volunteers,
            args.clients,
            args.seconds,
        )
        memory = server.worker_memory_mb()
        floor = _in_process(_raw_floor, raw_url, raw.accounts, args.clients, args.seconds)
        print(
            f"posting: manager-entered exchanges over HTTP, serve --workers {args.workers}, "
            f"{args.clients} clients, {args.seconds:.0f} s each"
        )
        report("HTTP  POST /api/v1/exchanges", http_run)
        report("floor raw asyncpg booking   ", floor)
        print(f"  ratio HTTP / floor: {http_run.rate / floor.rate:.2f}x")
        print(f"  start-up (serve to first answer): {startup:.1f} s")
        print(
            "  resident memory per worker after the load: "
            + ", ".join(f"{mb:.0f} MB" for mb in memory)
        )
    finally:
        server.stop()
        await drop_database(server_url, url)
        await drop_database(server_url, raw_url)


async def bench_pages(server_url: str, args: argparse.Namespace, log_dir: Path) -> None:
    url = await fresh_database(server_url)
    server = Server(url, args.workers, log_dir / "serve-pages.log")
    try:
        conn = await asyncpg.connect(dsn(url))
        start = time.perf_counter()
        try:
            # The generated network first (GENERATE gives every member an account), then the
            # signed-in people on top.
            for sql in GENERATE:
                await conn.execute(sql.format(members=args.members, transfers=args.transfers))
            await fill_months(conn)  # what the dashboard reads
            seeded = await seed(url)
            await conn.execute(
                "UPDATE members SET email = 'm' || id || '@bench.example', password_hash = $1 "
                "WHERE email IS NULL AND id % 1000 = 0",
                (
                    await conn.fetchval(
                        "SELECT password_hash FROM members WHERE email = $1", seeded.member_email
                    )
                ),
            )
            # Page 1,000 of the directory starts after row 49,950 (keyset paging: the link
            # from page 999 carries that row's cursor).
            total = await conn.fetchval("SELECT count(*) FROM members")
            row = await conn.fetchrow(
                "SELECT name, id FROM members ORDER BY name, id OFFSET $1 LIMIT 1",
                min(49_949, max(0, total - 51)),
            )
            page_1000 = "/manage/members?after=" + cursor_for(row["name"], row["id"])
            raw = []
            for _ in range(20):
                t = time.perf_counter()
                await conn.fetch(
                    "SELECT * FROM members WHERE (name, id) > ($1, $2) ORDER BY name, id LIMIT 50",
                    row["name"],
                    row["id"],
                )
                raw.append(1000 * (time.perf_counter() - t))
        finally:
            await conn.close()
        generated = time.perf_counter() - start
        server.start()
        base = f"http://127.0.0.1:{server.port}"
        member_runs = _in_process(
            _fetch_pages, base, seeded.member_email, ["/"], args.page_clients, 5
        )
        manager_runs = _in_process(
            _fetch_pages,
            base,
            seeded.manager_email,
            [page_1000, "/manage"],
            args.page_clients,
            3,
        )
        print(
            f"pages at {args.members:,} members / {args.transfers:,} transfers "
            f"(generated in {generated:.0f} s), {args.page_clients} concurrent clients"
        )
        print(
            "  baseline raw keyset query (50 members after row 49,950): "
            f"p50 {statistics.median(raw):.1f} ms"
        )
        for label, run in [
            ("a member's home /", member_runs["/"]),
            ("member list, page 1,000", manager_runs[page_1000]),
            ("the manager's hub /manage", manager_runs["/manage"]),
        ]:
            report(f"{label:28}", run)
    finally:
        server.stop()
        await drop_database(server_url, url)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("TIMEBANK_TEST_POSTGRES_URL"))
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--transfers", type=int, default=1_000_000)
    parser.add_argument("--page-clients", type=int, default=32)
    args = parser.parse_args()
    log_dir = Path(tempfile.mkdtemp(prefix="bench-http-"))
    cluster = None
    server_url = args.url
    if not server_url:
        cluster = start_cluster()
        server_url = cluster.url
    try:
        await bench_posting(server_url, args, log_dir)
        if args.members > 0:
            await bench_pages(server_url, args, log_dir)
    finally:
        if cluster is not None:
            cluster.stop()
    print(f"(serve logs in {log_dir})")


if __name__ == "__main__":
    asyncio.run(main())
