"""A throwaway PostgreSQL cluster for the tests, started when no server URL is given.

PostgreSQL refuses to run as root, so as root the cluster belongs to the ``postgres`` user
and its programs run through ``runuser`` (from ``/``, a directory that user can read).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def find_pg_bin() -> Path | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if candidates:
        return candidates[-1]
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    base: Path
    port: int
    pg_bin: Path
    as_postgres: bool

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.pg_bin / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, cwd="/", capture_output=True, text=True, check=False)

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.base / "data"), "-m", "immediate", "stop")
        shutil.rmtree(self.base, ignore_errors=True)

    def halt(self) -> None:
        """Stop the server as a crash would (no checkpoint, connections cut), keeping its
        data for ``resume``: the reliability script's database outage."""
        done = self._run("pg_ctl", "-D", str(self.base / "data"), "-m", "immediate", "-w", "stop")
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl stop failed: {done.stderr.strip()}")

    def resume(self) -> None:
        done = self._run(*_start_command(self))
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()}")


def _start_command(cluster: Cluster) -> tuple[str, ...]:
    return (
        "pg_ctl",
        "-D",
        str(cluster.base / "data"),
        "-l",
        str(cluster.base / "server.log"),
        "-w",
        "-o",
        f"-c listen_addresses=127.0.0.1 -p {cluster.port} -k {cluster.base / 'sock'} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
        "start",
    )


def start_cluster() -> Cluster:
    pg_bin = find_pg_bin()
    if pg_bin is None:
        raise RuntimeError("PostgreSQL is not installed (no initdb found)")
    as_postgres = os.geteuid() == 0
    base = Path(tempfile.mkdtemp(prefix="timebank-pg-", dir="/tmp"))
    os.chmod(base, 0o755)
    data, sock = base / "data", base / "sock"
    data.mkdir(mode=0o700)
    sock.mkdir()
    if as_postgres:
        shutil.chown(base, "postgres", "postgres")
        shutil.chown(data, "postgres", "postgres")
        shutil.chown(sock, "postgres", "postgres")
    cluster = Cluster(base, _free_port(), pg_bin, as_postgres)
    steps = [
        (
            "initdb",
            "-D",
            str(data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ),
        _start_command(cluster),
    ]
    for step in steps:
        done = cluster._run(*step)
        if done.returncode != 0:
            log = (base / "server.log").read_text() if (base / "server.log").exists() else ""
            shutil.rmtree(base, ignore_errors=True)
            raise RuntimeError(f"{step[0]} failed: {done.stderr.strip()} {log[-2000:]}")
    return cluster
