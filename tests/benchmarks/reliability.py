"""Reliability under faults: `timebank serve --workers 3` on PostgreSQL, many API clients,
and the faults an operator meets — then count what was lost, doubled or overdrawn.

    .venv/bin/python -m tests.benchmarks.reliability [--clients 32] [--duration 60]

1. Starts a throwaway PostgreSQL cluster (or uses ``--url``, a server URL such as
   TIMEBANK_TEST_POSTGRES_URL; its server is then not stopped), makes a fresh database,
   migrates it and seeds ``--clients`` volunteers with API tokens and tight balance limits
   (-4 h / +8 h), so that confirmations often race for the last minutes of a limit.
2. Runs ``timebank serve --workers 3`` (the scheduler on, as in production).
3. Each client loops: log help it gave to another client (``POST /api/v1/exchanges`` with an
   idempotency key), then the receiver confirms it. Every call is retried — on a dropped
   connection, a refused one or a 5xx, after ``Retry-After`` when given — with the same
   key and body, for up to a minute; an answer of 201/200 is an acknowledgement.
4. Faults, at fractions of the duration: 20 % ``kill -9`` of one worker; 45 % ``kill -9`` of
   the master (its workers must end by themselves) and ``serve`` started again at once on the
   same port; 70 % PostgreSQL stopped hard (``pg_ctl -m immediate``) for 8 s and started.
5. After the clients finish, prints: requests, transfers, 5xx (503s apart), acknowledged
   transfers missing from the books, duplicates (an idempotency key or an exchange booked
   twice), limit violations (a transfer that left an account beyond its limit without an
   override), the sum of all balances, and the output of ``timebank ledger verify``.

Nothing here asserts anything: it prints figures (README records a run). The database's
``synchronous_commit`` is on, whatever the throwaway cluster's speed settings: an
acknowledged commit must survive the hard stop.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.postgres_server import Cluster, start_cluster
from timebank import ledger
from timebank.db import make_engine, make_sessionmaker, transaction, upgrade
from timebank.members import NewMember, create_member, create_token

WORKERS = 3
MIN_MINUTES, MAX_MINUTES = -240, 480
RETRY_FOR = 60.0  # seconds one call is retried before it is given up
OUTAGE_SECONDS = 8.0
SECRET = "reliability-secret-that-is-long-enough"


def dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def log(message: str) -> None:
    print(f"[{datetime.now(UTC).strftime('%H:%M:%S')}] {message}", flush=True)


# --- The database ----------------------------------------------------------------------------


async def fresh_database(server_url: str) -> str:
    name = f"tb_reliability_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(dsn(server_url))
    try:
        await conn.execute(f"CREATE DATABASE {name}")
        # The throwaway cluster trades durability for speed; this database may not.
        await conn.execute(f"ALTER DATABASE {name} SET synchronous_commit = on")
    finally:
        await conn.close()
    url = server_url.rsplit("/", 1)[0] + "/" + name
    await upgrade(url)
    return url


async def seed(url: str, clients: int) -> list[tuple[int, str]]:
    """``clients`` volunteers: (member id, API token) each, with tight limits."""
    engine = make_engine(url)
    try:
        async with transaction(make_sessionmaker(engine)) as s:
            seeded = []
            for i in range(clients):
                member = await create_member(
                    s,
                    NewMember(name=f"Client {i}", role="volunteer", email=f"c{i}@rel.example"),
                    actor=None,
                )
                account = await ledger.account_of_member(s, member.id)  # type: ignore[arg-type]
                account.min_minutes, account.max_minutes = MIN_MINUTES, MAX_MINUTES
                s.add(account)
                seeded.append((member.id, await create_token(s, member)))
    finally:
        await engine.dispose()
    return seeded  # type: ignore[return-value]


# --- The server ------------------------------------------------------------------------------


@dataclass
class Server:
    url: str
    port: int
    log_path: Path
    master: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TIMEBANK_")}
        env.update(
            TIMEBANK_DATABASE_URL=self.url, TIMEBANK_ENV="production", TIMEBANK_SECRET_KEY=SECRET
        )
        return env

    def start(self) -> None:
        with self.log_path.open("ab") as out:
            command = ["serve", "--workers", str(WORKERS), "--port", str(self.port)]
            self.master = subprocess.Popen(
                [sys.executable, "-m", "timebank", *command],
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def workers(self) -> list[int]:
        """uvicorn's workers (not multiprocessing's resource tracker, also a child)."""
        assert self.master is not None
        return [pid for pid in children_of(self.master.pid) if is_worker(pid)]

    def stop(self) -> None:
        if self.master is not None and self.master.poll() is None:
            self.master.terminate()
            try:
                self.master.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.master.kill()
                self.master.wait()


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def is_worker(pid: int) -> bool:
    try:
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in {"Z", "X"}


async def answers(port: int) -> bool:
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            await client.get(f"http://127.0.0.1:{port}/login")
    except httpx.HTTPError:
        return False
    return True


async def wait_until(condition: Any, within: float, step: float = 0.2) -> float | None:
    """Seconds until ``condition()`` (sync or async) held, or None when it did not in time."""
    start = time.monotonic()
    while time.monotonic() - start < within:
        held = condition()
        if asyncio.iscoroutine(held):
            held = await held
        if held:
            return time.monotonic() - start
        await asyncio.sleep(step)
    return None


# --- The clients -----------------------------------------------------------------------------


@dataclass
class Figures:
    requests: int = 0
    transport_errors: int = 0
    status: Counter[int] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    given_up: int = 0
    exchanges_acknowledged: dict[str, int] = field(default_factory=dict)  # key -> exchange id
    transfers_acknowledged: dict[int, int] = field(default_factory=dict)  # exchange -> transfer
    events: list[str] = field(default_factory=list)


async def call(
    client: httpx.AsyncClient,
    figures: Figures,
    path: str,
    token: str,
    body: dict[str, Any] | None,
) -> httpx.Response | None:
    """POST until an answer that is not a 5xx, retrying the very same request."""
    deadline = time.monotonic() + RETRY_FOR
    while True:
        figures.requests += 1
        wait = 0.5
        try:
            answer = await client.post(
                path, json=body, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.TransportError:
            figures.transport_errors += 1
        else:
            figures.status[answer.status_code] += 1
            if answer.status_code < 500:
                return answer
            retry_after = answer.headers.get("retry-after", "")
            wait = min(float(retry_after), 10.0) if retry_after.isdigit() else 1.0
        if time.monotonic() + wait > deadline:
            figures.given_up += 1
            return None
        await asyncio.sleep(wait * random.uniform(0.5, 1.0))


async def client_loop(
    index: int,
    people: list[tuple[int, str]],
    base_url: str,
    stop: asyncio.Event,
    figures: Figures,
    run_id: str,
) -> None:
    rng = random.Random(index)
    giver_id, giver_token = people[index]
    performed_on = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        n = 0
        while not stop.is_set():
            n += 1
            receiver_id, receiver_token = rng.choice(people[:index] + people[index + 1 :])
            key = f"rel-{run_id}-{index}-{n}"
            body = {
                "giver_id": giver_id,
                "receiver_id": receiver_id,
                "minutes": rng.choice((15, 30, 45, 60, 90, 120)),
                "performed_on": performed_on,
                "category": "other",
                "note": f"reliability {key}",
                "idempotency_key": key,
            }
            logged = await call(client, figures, "/api/v1/exchanges", giver_token, body)
            if logged is None or logged.status_code != 201:
                if logged is not None:
                    figures.refusals[f"log {logged.status_code} {code_of(logged)}"] += 1
                continue
            exchange_id = logged.json()["id"]
            figures.exchanges_acknowledged[key] = exchange_id
            path = f"/api/v1/exchanges/{exchange_id}/confirm"
            confirmed = await call(client, figures, path, receiver_token, None)
            if confirmed is None:
                continue
            if confirmed.status_code == 200 and confirmed.json().get("transfer_id"):
                figures.transfers_acknowledged[exchange_id] = confirmed.json()["transfer_id"]
            else:
                figures.refusals[f"confirm {confirmed.status_code} {code_of(confirmed)}"] += 1


def code_of(answer: httpx.Response) -> str:
    try:
        return str(answer.json().get("code"))
    except ValueError:
        return "-"


# --- The faults ------------------------------------------------------------------------------


async def faults(
    server: Server, cluster: Cluster | None, duration: float, figures: Figures
) -> None:
    start = time.monotonic()

    async def until(fraction: float) -> None:
        await asyncio.sleep(max(0.0, start + duration * fraction - time.monotonic()))

    def note(event: str) -> None:
        figures.events.append(event)
        log(event)

    await until(0.20)
    workers = server.workers()
    victim = workers[0]
    os.kill(victim, signal.SIGKILL)
    note(f"kill -9 worker {victim} (of {workers})")

    await until(0.45)
    assert server.master is not None
    # All its children: the workers and the resource tracker.
    old_master, old_workers = server.master.pid, children_of(server.master.pid)
    server.master.send_signal(signal.SIGKILL)
    server.master.wait()
    gone = await wait_until(lambda: not any(alive(p) for p in old_workers), 60)
    note(
        f"kill -9 master {old_master}: its children {old_workers} "
        + (f"ended after {gone:.1f} s" if gone is not None else "were STILL RUNNING after 60 s")
    )
    server.start()
    back = await wait_until(lambda: answers(server.port), 120)
    note(
        f"serve restarted (master {server.master.pid}): "
        + (f"answering after {back:.1f} s" if back is not None else "NOT ANSWERING after 120 s")
    )

    await until(0.70)
    if cluster is None:
        note("database stop skipped: --url given (this script stops only its own cluster)")
        return
    await asyncio.to_thread(cluster.halt)
    note(f"PostgreSQL stopped hard (immediate) for {OUTAGE_SECONDS:.0f} s")
    await asyncio.sleep(OUTAGE_SECONDS)
    await asyncio.to_thread(cluster.resume)
    note("PostgreSQL started again")


# --- The books afterwards ------------------------------------------------------------------


async def audit(url: str, figures: Figures, run_id: str) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn(url))
    try:
        exchanges = {
            r["idempotency_key"]: r["id"]
            for r in await conn.fetch(
                "SELECT id, idempotency_key FROM exchanges WHERE idempotency_key LIKE $1",
                f"rel-{run_id}-%",
            )
        }
        booked = {
            r["exchange_id"]: r["id"]
            for r in await conn.fetch(
                "SELECT id, exchange_id FROM transfers "
                "WHERE exchange_id IS NOT NULL AND reverses_id IS NULL"
            )
        }
        keys_twice = await conn.fetchval(
            "SELECT count(*) FROM (SELECT idempotency_key FROM exchanges "
            "WHERE idempotency_key IS NOT NULL GROUP BY entered_by_id, idempotency_key "
            "HAVING count(*) > 1) AS twice"
        )
        booked_twice = await conn.fetchval(
            "SELECT count(*) FROM (SELECT exchange_id FROM transfers WHERE exchange_id IS NOT "
            "NULL AND reverses_id IS NULL GROUP BY exchange_id HAVING count(*) > 1) AS twice"
        )
        beyond = await conn.fetchval(
            "SELECT count(*) FROM transfers t "
            "JOIN accounts f ON f.id = t.from_account_id "
            "JOIN accounts r ON r.id = t.to_account_id "
            "WHERE t.override_reason IS NULL AND t.kind <> 'reversal' AND ("
            " (f.min_minutes IS NOT NULL AND t.from_balance_after < f.min_minutes) OR"
            " (r.max_minutes IS NOT NULL AND t.to_balance_after > r.max_minutes))"
        )
        accounts_beyond = await conn.fetchval(
            "SELECT count(*) FROM accounts WHERE balance_minutes < min_minutes "
            "OR balance_minutes > max_minutes"
        )
        total = await conn.fetchval("SELECT coalesce(sum(balance_minutes), 0) FROM accounts")
        transfers = await conn.fetchval("SELECT count(*) FROM transfers")
    finally:
        await conn.close()
    missing_exchanges = [
        k for k, i in figures.exchanges_acknowledged.items() if exchanges.get(k) != i
    ]
    missing_transfers = [e for e, t in figures.transfers_acknowledged.items() if booked.get(e) != t]
    return {
        "transfers": transfers,
        "missing": len(missing_exchanges) + len(missing_transfers),
        "missing_detail": (missing_exchanges[:5], missing_transfers[:5]),
        "duplicates": keys_twice + booked_twice,
        "limit_violations": beyond + accounts_beyond,
        "balance_sum": total,
    }


def ledger_verify(url: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMEBANK_")}
    env["TIMEBANK_DATABASE_URL"] = url
    done = subprocess.run(
        [sys.executable, "-m", "timebank", "ledger", "verify"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return f"exit {done.returncode}: {(done.stdout + done.stderr).strip()}"


# --- The run ---------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> None:
    cluster = None if args.url else start_cluster()
    server_url = args.url or cluster.url  # type: ignore[union-attr]
    workdir = Path(tempfile.mkdtemp(prefix="timebank-reliability-"))
    server: Server | None = None
    try:
        url = await fresh_database(server_url)
        people = await seed(url, args.clients)
        log(f"database {url.rsplit('/', 1)[1]}: {args.clients} clients seeded")
        server = serving = Server(url, free_port(), workdir / "serve.log")
        serving.start()
        if await wait_until(lambda: answers(serving.port), 120) is None:
            raise SystemExit(f"serve did not start; see {server.log_path}")
        log(f"serve --workers {WORKERS} on port {server.port}; log {server.log_path}")

        figures, stop, run_id = Figures(), asyncio.Event(), uuid.uuid4().hex[:6]
        base_url = f"http://127.0.0.1:{server.port}"
        clients = [
            asyncio.create_task(client_loop(i, people, base_url, stop, figures, run_id))
            for i in range(args.clients)
        ]
        started = time.monotonic()
        await faults(server, cluster, args.duration, figures)
        await asyncio.sleep(max(0.0, started + args.duration - time.monotonic()))
        stop.set()
        log("time is up: the clients finish what they started")
        await asyncio.gather(*clients)
        elapsed = time.monotonic() - started
        assert server.master is not None
        still_up = (
            "yes" if server.master.poll() is None else f"NO (exit {server.master.returncode})"
        )
        server.stop()

        books = await audit(url, figures, run_id)
        verify = ledger_verify(url)
        served_log = server.log_path.read_text(errors="replace")
        five = sum(n for s, n in figures.status.items() if s >= 500)
        print()
        print(f"reliability run: {args.clients} clients, {elapsed:.0f} s, {WORKERS} workers")
        for event in figures.events:
            print(f"  fault: {event}")
        rate = figures.requests / elapsed
        print(f"requests:                    {figures.requests} ({rate:.0f}/s)")
        print(f"  answers by status:         {dict(sorted(figures.status.items()))}")
        print(f"  connection failures:       {figures.transport_errors} (retried)")
        print(f"  calls given up:            {figures.given_up}")
        print(f"  refusals (4xx):            {dict(figures.refusals)}")
        print(f"exchanges acknowledged:      {len(figures.exchanges_acknowledged)}")
        print(f"transfers acknowledged:      {len(figures.transfers_acknowledged)}")
        print(f"transfers in the books:      {books['transfers']}")
        print(f"5xx:                         {five} (503: {figures.status[503]})")
        print(f"acknowledged but missing:    {books['missing']} {books['missing_detail']}")
        print(f"duplicates:                  {books['duplicates']}")
        print(f"limit violations:            {books['limit_violations']}")
        print(f"sum of all balances:         {books['balance_sum']}")
        print(f"ledger verify:               {verify}")
        print(f"serve still up at the end:   {still_up}")
        print(f"tracebacks in the serve log: {served_log.count('Traceback')}")
        print(f"serve log:                   {server.log_path}")
    finally:
        if server is not None:
            server.stop()
        if cluster is not None:
            cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent API clients")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument(
        "--url",
        default=None,
        help="a PostgreSQL server URL to use instead of a throwaway cluster (not stopped)",
    )
    args = parser.parse_args()
    if args.clients < 2:
        parser.error("--clients must be at least 2 (each confirms another's help)")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
