"""`timebank serve --workers N` as an operator runs it: a real process tree on PostgreSQL
(SQLite serves one process only), killed the hard way."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path

import httpx
import pytest

from tests.support import administer, stop_process, with_database

pytestmark = pytest.mark.slow

# Generous bounds for a loaded machine; the tests poll and never assert a speed.
START_WITHIN = 120.0
GONE_WITHIN = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: the fields after it follow the last ")".
    return int(stat.rsplit(")", 1)[1].split()[1])


def _children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _parent_of(int(entry.name)) == pid:
            found.add(int(entry.name))
    return found


def _workers_of(pid: int) -> set[int]:
    """uvicorn's workers, started through multiprocessing's spawn."""
    found = set()
    for child in _children_of(pid):
        with suppress(OSError):
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.add(child)
    return found


def _alive(pid: int) -> bool:
    """Running, not merely a zombie waiting for a parent (pid 1 of a container) to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in {"Z", "X"}


def _answers(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/login", timeout=5)
    except httpx.HTTPError:
        return False
    return True


def _wait_for(condition: Callable[[], bool], within: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} (within {within:.0f} s); serve said:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


@pytest.fixture
def pg_database(postgres_url: str, pg_template: str) -> Iterator[str]:
    name = f"tb_serve_{uuid.uuid4().hex[:10]}"
    asyncio.run(administer(postgres_url, f"CREATE DATABASE {name} TEMPLATE {pg_template}"))
    yield with_database(postgres_url, name)
    asyncio.run(administer(postgres_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def _serve(url: str, port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMEBANK_")}
    env.update(
        TIMEBANK_DATABASE_URL=url,
        TIMEBANK_ENV="production",
        TIMEBANK_SECRET_KEY="a-test-secret-that-is-long-enough",
        TIMEBANK_AUTO_UPGRADE="0",
    )
    with log.open("ab") as out:
        command = ["serve", "--workers", str(workers), "--port", str(port)]
        return subprocess.Popen(
            [sys.executable, "-m", "timebank", *command],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def test_workers_end_with_a_killed_master_and_serve_restarts_at_once(
    pg_database: str, tmp_path: Path
) -> None:
    port, log = _free_port(), tmp_path / "serve.log"
    master = _serve(pg_database, port, 2, log)
    workers: set[int] = set()
    restarted: subprocess.Popen[bytes] | None = None
    try:
        _wait_for(lambda: _answers(port), START_WITHIN, "serve did not answer", log)
        _wait_for(lambda: len(_workers_of(master.pid)) == 2, START_WITHIN, "no two workers", log)
        # The workers and multiprocessing's resource tracker: none may outlive the master.
        workers = _children_of(master.pid)

        master.send_signal(signal.SIGKILL)
        master.wait()

        _wait_for(
            lambda: not any(_alive(pid) for pid in workers),
            GONE_WITHIN,
            f"workers {sorted(pid for pid in workers if _alive(pid))} outlived their master",
            log,
        )
        restarted = _serve(pg_database, port, 2, log)
        _wait_for(
            lambda: _answers(port) or restarted.poll() is not None,
            START_WITHIN,
            "the new serve did not answer",
            log,
        )
        assert restarted.poll() is None, f"the new serve ended:\n{log.read_text()[-3000:]}"
        assert "Address already in use" not in log.read_text()
    finally:
        for pid in workers:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for process in (master, restarted):
            if process is not None and process.poll() is None:
                stop_process(process, timeout=60)
