"""Backups: a consistent copy of the database while the app serves, and putting one back.

- SQLite: the online backup API, in one step. That step reads from one snapshot, and in WAL
  mode (``timebank.db`` sets it) writers carry on meanwhile, so the copy holds every
  transaction committed before it began and none half.
- PostgreSQL: ``pg_dump`` in its custom format (``-Fc``), which reads from one
  repeatable-read snapshot; ``pg_restore`` puts it back in a single transaction.

A restore checks the file before touching the database (is it a timebank backup for this
kind of database, from a schema this code knows?), and refuses to replace a database that
holds data unless forced: an operator who mistypes the target must not lose the books. A
failed backup never leaves a half-written file in place of an older good one.

No click and no web here: ``timebank db backup``/``db restore`` (``timebank/cli.py``) call
these and turn a ``BackupError`` into one line.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import sqlite3
import subprocess
import tempfile
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url

from timebank.db import alembic_config, make_engine, safe_url

# Where Debian puts PostgreSQL's programs (one folder per version) when they are not on PATH.
POSTGRES_LIB = Path("/usr/lib/postgresql")

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore that cannot be done; the message is one line saying why."""


@dataclass(frozen=True)
class Contents:
    """What a database holds, as far as a restore over it is concerned."""

    members: int
    transfers: int
    # Tables in a database that is not timebank's (no ``members`` table): data of some other
    # application, which a restore must not silently replace either.
    other_tables: int

    @property
    def empty(self) -> bool:
        return not (self.members or self.transfers or self.other_tables)

    def describe(self) -> str:
        if self.other_tables and not self.members:
            return f"{self.other_tables} tables of something other than timebank"
        return f"{self.members} members, {self.transfers} transfers"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


# --- Backup ---------------------------------------------------------------------------------


async def backup(url: str, file: Path) -> int:
    """Write a consistent copy of the database at ``url`` to ``file``; returns its size."""
    if is_sqlite(url):
        await asyncio.to_thread(_sqlite_backup, sqlite_path(url), file)
    else:
        await asyncio.to_thread(_pg_backup, url, file)
    return (await asyncio.to_thread(file.stat)).st_size


def _check_target_folder(file: Path) -> None:
    if not file.parent.is_dir():
        raise BackupError(f"cannot write the backup: the folder {file.parent} does not exist")
    if file.is_dir():
        raise BackupError(f"cannot write the backup: {file} is a folder")


def _partial(file: Path) -> Path:
    """The name a backup is written under until it is complete."""
    return file.with_name(f".{file.name}.{os.getpid()}.partial")


def _sqlite_backup(source: Path, file: Path) -> None:
    if not source.is_file():
        raise BackupError(f"there is no database at {source}")
    _check_target_folder(file)
    if file.exists() and file.samefile(source):
        raise BackupError(f"{file} is the database itself: back it up to another file")
    partial = _partial(file)
    partial.unlink(missing_ok=True)
    try:
        with closing(_open_sqlite(source, "rw")) as src, closing(sqlite3.connect(partial)) as dst:
            # pages=-1: all pages in one step, so one snapshot; stepwise copying would start
            # over each time the app commits, and might never finish under load.
            src.backup(dst, pages=-1)
            # A self-contained file (no -wal beside it) that opens on read-only media too.
            dst.execute("PRAGMA journal_mode=DELETE")
        os.replace(partial, file)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot back up {source}: {exc}") from None
    finally:
        partial.unlink(missing_ok=True)


def _pg_backup(url: str, file: Path) -> None:
    _check_target_folder(file)
    params = PgParams.from_url(url)
    pg_dump = find_program("pg_dump")
    args = ["-Fc", "--no-password"]
    if pg_dump is None:
        shown = shlex.join(["pg_dump", *args, *params.options(), "-f", str(file)])
        raise BackupError(
            f"pg_dump is not installed (PostgreSQL's client programs): install them, "
            f"or run `{shown}` yourself"
        )
    partial = _partial(file)
    try:
        _run_pg(pg_dump, [*args, "-f", str(partial)], params)
        os.replace(partial, file)
    finally:
        partial.unlink(missing_ok=True)


# --- Restore --------------------------------------------------------------------------------


async def restore(url: str, file: Path, *, force: bool = False) -> Contents:
    """Replace the database at ``url`` with the backup in ``file``.

    Refuses, changing nothing, when the file is missing, not a timebank backup for this
    kind of database, or from a newer schema; and when the database holds data and
    ``force`` is not given. Returns what the database held before."""
    revision = await asyncio.to_thread(backup_revision, url, file)
    if revision not in known_revisions(url):
        raise BackupError(
            f"{file} comes from a newer timebank (schema revision {revision}, unknown to this "
            "version): restore it with the version that made it"
        )
    before = await contents(url)
    if not before.empty and not force:
        raise BackupError(
            f"the database at {safe_url(url)} already holds data ({before.describe()}): "
            f"restoring {file} would replace it; add --force to do so"
        )
    if is_sqlite(url):
        await asyncio.to_thread(_sqlite_restore, file, sqlite_path(url))
    else:
        await asyncio.to_thread(_pg_restore, file, url)
    return before


def known_revisions(url: str) -> set[str]:
    script = ScriptDirectory.from_config(alembic_config(url))
    return {rev.revision for rev in script.walk_revisions()}


def backup_revision(url: str, file: Path) -> str:
    """The schema revision recorded in the backup ``file``, checking that it is a timebank
    backup of the kind of database ``url`` names."""
    if not file.is_file():
        raise BackupError(f"there is no backup file at {file}")
    with file.open("rb") as f:
        head = f.read(len(SQLITE_MAGIC))
    if is_sqlite(url):
        if head.startswith(PG_DUMP_MAGIC):
            raise BackupError(f"{file} is a PostgreSQL backup (pg_dump) but the database is SQLite")
        return _sqlite_revision(file)
    if head == SQLITE_MAGIC:
        raise BackupError(f"{file} is a SQLite backup but the database is PostgreSQL")
    if not head.startswith(PG_DUMP_MAGIC):
        raise BackupError(f"{file} is not a timebank backup (not a pg_dump -Fc file)")
    return _pg_revision(file, url)


def _sqlite_revision(file: Path) -> str:
    try:
        with closing(_open_sqlite(file, "ro")) as src:
            # A damaged file would be copied as it is: look before it replaces anything.
            problems = [row[0] for row in src.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise BackupError(f"{file} is damaged: {problems[0]}")
            found = src.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
            ).fetchone()
            version = "SELECT version_num FROM alembic_version"
            row = src.execute(version).fetchone() if found else None
    except sqlite3.Error as exc:
        raise BackupError(f"{file} is not a timebank backup ({exc})") from None
    if row is None:
        raise BackupError(f"{file} is not a timebank backup (it records no schema version)")
    return str(row[0])


def _pg_revision(file: Path, url: str) -> str:
    pg_restore = _pg_restore_program(file, url)
    # To a file ("-": standard output) instead of a database, pg_restore writes SQL: here
    # just the rows of the version table.
    try:
        script = _run_pg(
            pg_restore, ["--data-only", "--table=alembic_version", "-f", "-", str(file)], None
        )
    except BackupError as exc:
        raise BackupError(f"{file} is not a timebank backup ({exc})") from None
    lines = script.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("COPY ") and "alembic_version" in line and i + 1 < len(lines):
            if lines[i + 1] != "\\.":
                return lines[i + 1].strip()
    raise BackupError(f"{file} is not a timebank backup (it records no schema version)")


def _pg_restore_program(file: Path, url: str, name: str = "pg_restore") -> Path:
    found = find_program(name)
    if found is None:
        shown = shlex.join(["pg_restore", *_BY_HAND, *PgParams.from_url(url).options()])
        raise BackupError(
            f"{name} is not installed (PostgreSQL's client programs): install them, "
            f"or run `{shown} {shlex.quote(str(file))}` yourself"
        )
    return found


# A restore by hand, when the programs are elsewhere: one transaction, all or nothing.
_BY_HAND = [
    "--clean",
    "--if-exists",
    "--single-transaction",
    "--exit-on-error",
    "--no-owner",
    "--no-privileges",
]

# A table the backup does not have (one a newer migration added, or another application's)
# would keep the backup's tables from being dropped through its foreign keys: every table
# goes first, in the same transaction as the restore.
_DROP_TABLES = """DO $$ DECLARE t record; BEGIN
  FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP
    EXECUTE format('DROP TABLE IF EXISTS public.%I CASCADE', t.tablename);
  END LOOP;
END $$;"""


def _pg_restore(file: Path, url: str) -> None:
    """pg_restore writes the backup as SQL, psql runs it after dropping every table, all in
    one transaction. psql is told to commit (its input ends) only once pg_restore has read
    the whole file: a truncated backup must not commit half a database."""
    params = PgParams.from_url(url)
    pg_restore = _pg_restore_program(file, url)
    psql = _pg_restore_program(file, url, "psql")
    script_args = ["--clean", "--if-exists", "--no-owner", "--no-privileges", "-f", "-"]
    load_args = ["-X", "-q", "--no-password", "-v", "ON_ERROR_STOP=1", "--single-transaction"]
    load_args += ["-c", _DROP_TABLES, "-f", "-", f"--dbname={params.database}"]
    env = params.environment()
    env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} -c client_min_messages=warning".strip()
    with tempfile.TemporaryFile("w+") as script_errors, tempfile.TemporaryFile("w+") as errors:
        try:
            with (
                subprocess.Popen(
                    [str(pg_restore), *script_args, str(file)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=script_errors,
                ) as script,
                subprocess.Popen(
                    [str(psql), *load_args],
                    env=env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=errors,
                ) as load,
            ):
                assert script.stdout is not None and load.stdin is not None
                try:
                    shutil.copyfileobj(script.stdout, load.stdin)
                except BrokenPipeError:
                    pass  # psql stopped at an error: it says which below
                if script.wait() != 0:
                    load.kill()  # before its input ends, so it never commits
                    load.wait()
                    script_errors.seek(0)
                    raise BackupError(
                        f"{file} is not a complete backup: {_error_line(script_errors.read())}"
                    )
                try:
                    load.stdin.close()
                except BrokenPipeError:
                    pass
                if load.wait() != 0:
                    errors.seek(0)
                    raise BackupError(f"cannot restore {file}: {_error_line(errors.read())}")
        except OSError as exc:
            raise BackupError(f"cannot restore {file}: {exc}") from None


def _sqlite_restore(file: Path, target: Path) -> None:
    if not target.parent.is_dir():
        raise BackupError(f"cannot restore: the folder {target.parent} does not exist")
    if target.exists() and target.samefile(file):
        raise BackupError(f"{file} is the database itself")
    try:
        with (
            closing(_open_sqlite(file, "ro")) as src,
            closing(sqlite3.connect(target, timeout=30)) as dst,
        ):
            # Page by page into the live file under its write lock, in one transaction: the
            # app's connections see the restored database at their next transaction.
            src.backup(dst, pages=-1)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot restore into {target}: {exc}") from None


# --- What a database holds ------------------------------------------------------------------


async def contents(url: str) -> Contents:
    if is_sqlite(url):
        return await asyncio.to_thread(_sqlite_contents, sqlite_path(url))
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_contents_of)
    finally:
        await engine.dispose()


def _sqlite_contents(path: Path) -> Contents:
    if not path.exists() or path.stat().st_size == 0:
        return Contents(0, 0, 0)
    try:
        with closing(_open_sqlite(path, "ro")) as conn:
            tables = {
                row[0]
                for row in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%'"
                )
            }
            if "members" not in tables:
                return Contents(0, 0, len(tables))
            members = conn.execute("SELECT count(*) FROM members").fetchone()[0]
            transfers = (
                conn.execute("SELECT count(*) FROM transfers").fetchone()[0]
                if "transfers" in tables
                else 0
            )
    except sqlite3.Error as exc:
        raise BackupError(f"cannot read the database at {path}: {exc}") from None
    return Contents(int(members), int(transfers), 0)


def _contents_of(conn: Connection) -> Contents:
    tables = set(inspect(conn).get_table_names())
    if "members" not in tables:
        return Contents(0, 0, len(tables))
    members = conn.scalar(text("SELECT count(*) FROM members")) or 0
    transfers = (
        conn.scalar(text("SELECT count(*) FROM transfers")) or 0 if "transfers" in tables else 0
    )
    return Contents(int(members), int(transfers), 0)


# --- SQLite and PostgreSQL plumbing ---------------------------------------------------------


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up or restore")
    return Path(database)


def _open_sqlite(path: Path, mode: str) -> sqlite3.Connection:
    """Open an existing file only (a plain connect would create a missing one)."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode={mode}", uri=True, timeout=30)
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


@dataclass(frozen=True)
class PgParams:
    """The connection parameters of a PostgreSQL URL, as libpq's programs take them."""

    host: str | None
    port: int | None
    user: str | None
    password: str | None
    database: str
    sslmode: str | None

    @classmethod
    def from_url(cls, url: str) -> PgParams:
        parsed = make_url(url)
        query = {k: v for k, v in parsed.query.items() if isinstance(v, str)}
        if not parsed.database:
            raise BackupError(f"the database URL {safe_url(url)} names no database")
        return cls(
            host=parsed.host or query.get("host"),
            port=parsed.port,
            user=parsed.username,
            password=parsed.password,
            database=parsed.database,
            sslmode=query.get("sslmode") or query.get("ssl"),
        )

    def options(self) -> list[str]:
        """Command-line options, for showing: the password never goes on a command line."""
        shown = ["-h", self.host] if self.host else []
        shown += ["-p", str(self.port)] if self.port else []
        shown += ["-U", self.user] if self.user else []
        return [*shown, "-d", self.database]

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        for name, value in (
            ("PGHOST", self.host),
            ("PGPORT", str(self.port) if self.port else None),
            ("PGUSER", self.user),
            ("PGPASSWORD", self.password),
            ("PGDATABASE", self.database),
            ("PGSSLMODE", self.sslmode),
        ):
            if value is not None:
                env[name] = value
        return env


def find_program(name: str) -> Path | None:
    """``name`` on PATH, else in the newest of Debian's PostgreSQL folders."""
    on_path = shutil.which(name)
    if on_path:
        return Path(on_path)
    versions = sorted(
        (p for p in POSTGRES_LIB.glob(f"*/bin/{name}") if p.parent.parent.name.isdigit()),
        key=lambda p: int(p.parent.parent.name),
    )
    return versions[-1] if versions else None


def _run_pg(program: Path, args: list[str], params: PgParams | None) -> str:
    """Run a PostgreSQL client program; its first error line becomes a ``BackupError``."""
    try:
        done = subprocess.run(
            [str(program), *args],
            env=params.environment() if params else None,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as exc:
        raise BackupError(f"cannot run {program}: {exc}") from None
    if done.returncode != 0:
        said = _error_line(done.stderr) or f"exit code {done.returncode}"
        raise BackupError(f"{program.name} failed: {said}")
    return done.stdout


def _error_line(stderr: str) -> str:
    """The line of a program's complaints that says what went wrong."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return next((line for line in lines if "error" in line.lower()), lines[0] if lines else "")
