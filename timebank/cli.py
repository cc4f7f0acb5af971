"""The ``timebank`` command. Errors are one clear line on stderr and a non-zero exit code."""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
import uvicorn
from alembic.util.exc import CommandError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import backup as backups
from timebank import demo as demo_network
from timebank import i18n, job_runs, ledger, members, network, organizations
from timebank.config import ConfigError, Settings, load_settings
from timebank.db import (
    SchemaBehind,
    make_engine,
    make_sessionmaker,
    safe_url,
    schema_is_current,
    transaction,
)
from timebank.db import upgrade as upgrade_schema
from timebank.errors import DomainError
from timebank.jobs.registry import JOBS
from timebank.jobs.runs import RunOutcome, run_job
from timebank.jobs.scheduler import JobScheduler
from timebank.models import ORGANIZATION_KINDS, ROLES, JobRun, id_of, utcnow

if TYPE_CHECKING:
    from litestar import Litestar

T = TypeVar("T")


class Fail(click.ClickException):
    """A one-line error: ``timebank: error: …``."""

    def show(self, file: Any = None) -> None:
        click.echo(f"timebank: error: {self.message}", err=True)


def settings_or_fail(env: str | None = None) -> Settings:
    try:
        settings = load_settings(env=env)
    except ConfigError as exc:
        raise Fail(str(exc)) from None
    _check_sqlite_folder(settings.database_url)
    return settings


def _check_sqlite_folder(url: str) -> None:
    """SQLite creates its file but not the folder: say so before the driver fails deep down."""
    if not url.startswith("sqlite"):
        return
    database = make_url(url).database
    if database and database != ":memory:" and not Path(database).parent.is_dir():
        raise Fail(
            f"cannot use the database: the folder {Path(database).parent} does not exist "
            "(check TIMEBANK_DATABASE_URL)"
        )


def tool_settings() -> Settings:
    """Settings for the commands that do not serve: they need no secret key, so a missing
    one is not an error here (``serve`` still insists on it outside development)."""
    return settings_or_fail(env=os.environ.get("TIMEBANK_ENV") or "development")


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def run(coro_fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine, turning the errors people cause into one clear line."""
    try:
        return asyncio.run(coro_fn())
    except DomainError as exc:
        # The operator's command line speaks English: the message id with its values filled.
        raise Fail(i18n.render("en", exc.detail, exc.params)) from None
    except SchemaBehind as exc:
        raise Fail(str(exc)) from None
    except (OSError, DBAPIError) as exc:
        raise Fail(f"cannot use the database: {_first_line(exc)}") from None
    except CommandError as exc:
        # Alembic: e.g. the database is on a revision this code does not know.
        raise Fail(f"cannot migrate the database: {_first_line(exc)}") from None


async def _require_current_schema(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    try:
        if not await schema_is_current(engine, settings.database_url):
            raise SchemaBehind(
                f"the database at {safe_url(settings.database_url)} is not on the newest "
                "schema: run `timebank db upgrade`"
            )
    finally:
        await engine.dispose()


async def _in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Check the schema, then run ``work`` in one transaction (committed if it succeeds)."""
    await _require_current_schema(settings)
    engine = make_engine(settings.database_url)
    try:
        sessions: async_sessionmaker[AsyncSession] = make_sessionmaker(engine)
        async with transaction(sessions) as session:
            return await work(session)
    finally:
        await engine.dispose()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """timebank: a time bank for neighbourhood help (give an hour, receive an hour)."""


# --- serve ----------------------------------------------------------------------------------


@main.command()
@click.option("--demo", is_flag=True, help="Development mode: migrate, seed a demo network.")
@click.option("--host", default=None, help="Address to listen on (default TIMEBANK_HOST).")
@click.option("--port", type=int, default=None, help="Port (default TIMEBANK_PORT or 8000).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, help="Worker processes.")
def serve(demo: bool, host: str | None, port: int | None, workers: int) -> None:
    """Serve the web pages and the JSON API."""
    if demo:
        os.environ.setdefault("TIMEBANK_ENV", "development")
    settings = settings_or_fail()
    if workers > 1 and settings.is_sqlite:
        raise Fail("SQLite serves one process: use --workers 1, or PostgreSQL for more")
    if settings.auto_upgrade:
        run(lambda: upgrade_schema(settings.database_url))
    else:
        run(lambda: _require_current_schema(settings))
    if demo:
        logins = run(lambda: demo_network.seed_demo_if_empty(settings.database_url))
        if logins.emails:
            click.echo(f"Demo network ready. Log in with (password for all: {logins.password}):")
            for role, email in logins.emails:
                click.echo(f"  {role:<13} {email}")
        else:
            click.echo("The database already holds a network that is not the demo; not seeding.")
    host = host or settings.host
    port = port or settings.port
    click.echo(f"timebank on http://{host}:{port}  (database {safe_url(settings.database_url)})")
    # The app reads its settings from the environment in each worker: pass on what the
    # command line decided.
    os.environ["TIMEBANK_HOST"], os.environ["TIMEBANK_PORT"] = host, str(port)
    os.environ[_MASTER_PID] = str(os.getpid())
    uvicorn.run(
        "timebank.cli:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        proxy_headers=True,
        # A request still running at shutdown gets this long; then the worker goes anyway.
        timeout_graceful_shutdown=10,
    )


# Set by `serve` for its workers: the process whose death must end them.
_MASTER_PID = "TIMEBANK_SERVE_MASTER_PID"
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
# After the master is gone, a worker gets this long to finish its requests and let go of the
# scheduler lead before it is ended without ceremony.
_ORPHAN_GRACE_SECONDS = 30.0


def worker_app() -> Litestar:
    """The app of one `serve` process (uvicorn calls this in each worker).

    A worker whose master was killed (`kill -9`) would keep serving old code, keep the
    scheduler lead and keep the port, so the next `serve` could not start: it ends itself."""
    # Imported here: the other commands need not load the web wing.
    from timebank.web.app import create_app

    master = int(os.environ.get(_MASTER_PID) or 0)
    if master and master != os.getpid():  # with --workers 1 the master serves itself
        _end_with_master(master)
    return create_app()


def _end_with_master(master: int) -> None:
    """SIGTERM (uvicorn's graceful stop) when the master dies: from the kernel on Linux, and
    from a watchdog elsewhere or when the master died before the kernel was told."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the watchdog alone

    def watch() -> None:
        while os.getppid() == master:
            time.sleep(1)
        logging.getLogger("timebank").warning(
            "the serve master (pid %s) is gone: worker %s stops", master, os.getpid()
        )
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(_ORPHAN_GRACE_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="master-watch", daemon=True).start()


# --- db -------------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """The database: its schema, backups and restores."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Bring the schema up to the newest migration."""
    settings = tool_settings()
    run(lambda: upgrade_schema(settings.database_url))
    click.echo(f"schema is current ({safe_url(settings.database_url)})")


def _run_backups(coro_fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    try:
        return run(coro_fn)
    except backups.BackupError as exc:
        raise Fail(str(exc)) from None


@db.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def db_backup(file: Path) -> None:
    """Write a consistent copy of the database to FILE while the app keeps serving.

    SQLite: its online backup; PostgreSQL: pg_dump's custom format (-Fc)."""
    settings = tool_settings()
    size = _run_backups(lambda: backups.backup(settings.database_url, file))
    click.echo(f"backup of {safe_url(settings.database_url)} written to {file} ({size} bytes)")


@db.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that already holds data.")
def db_restore(file: Path, force: bool) -> None:
    """Replace the database with the backup in FILE (made by `timebank db backup`).

    A database that holds data is only replaced with --force."""
    settings = tool_settings()
    _run_backups(lambda: backups.restore(settings.database_url, file, force=force))
    click.echo(f"restored {file} into {safe_url(settings.database_url)}")
    # The backup may be older than this code: the same check as at start.
    if settings.auto_upgrade:
        run(lambda: upgrade_schema(settings.database_url))
    else:
        run(lambda: _require_current_schema(settings))


# --- demo -----------------------------------------------------------------------------------


@main.command("demo")
@click.option(
    "--seed", type=int, default=None, help="Random seed: the same seed, the same network."
)
def demo_command(seed: int | None) -> None:
    """Migrate the database and fill it with a realistic demo network (an empty one only)."""
    demo = demo_network
    settings = tool_settings()
    chosen = demo.DEFAULT_SEED if seed is None else seed

    async def work() -> demo.DemoSummary:
        await upgrade_schema(settings.database_url)

        async def seed_it(session: AsyncSession) -> demo.DemoSummary:
            if await demo.has_members(session):
                raise Fail(
                    f"the database at {safe_url(settings.database_url)} already has members: "
                    "the demo only fills an empty one"
                )
            return await demo.seed_demo(session, chosen)

        return await _in_transaction(settings, seed_it)

    summary = run(work)
    click.echo(
        f"demo network seeded (seed {chosen}): {summary.organizations} organisations, "
        f"{summary.districts} districts, {summary.members} members, "
        f"{summary.exchanges} exchanges, {summary.transfers} transfers"
    )
    click.echo(f"Log in with (password for all: {summary.logins.password}):")
    for role, email in summary.logins.emails:
        click.echo(f"  {role:<13} {email}")


# --- member ---------------------------------------------------------------------------------


@main.group()
def member() -> None:
    """Members of the network."""


@member.command("create")
@click.option("--name", required=True, help="Full name.")
@click.option("--role", required=True, help=f"One of: {', '.join(ROLES)}.")
@click.option("--email", default=None, help="Email address (needed to log in).")
@click.option("--password", default=None, help="Password (at least 8 characters).")
@click.option("--organization", default=None, help="Organisation, by name or id.")
@click.option("--district", default=None, help="District, by name or id.")
@click.option("--phone", default=None, help="Phone number.")
@click.option("--language", default="de", show_default=True, help="de, en, tr, ru or ar.")
def member_create(
    name: str,
    role: str,
    email: str | None,
    password: str | None,
    organization: str | None,
    district: str | None,
    phone: str | None,
    language: str,
) -> None:
    """Add a member and their time account (as the operator: no manager login needed)."""
    settings = tool_settings()

    async def work(session: AsyncSession) -> tuple[int, int, str]:
        org = await members.find_organization(session, organization) if organization else None
        dist = await members.find_district(session, district) if district else None
        new = members.NewMember(
            name=name,
            role=role,
            email=email,
            password=password,
            phone=phone,
            language=language,
            organization_id=org.id if org else None,
            district_id=dist.id if dist else None,
        )
        created = await members.create_member(session, new, actor=None)
        account = await ledger.account_of_member(session, id_of(created))
        return id_of(created), id_of(account), created.email or "no email"

    member_id, account_id, shown = run(lambda: _in_transaction(settings, work))
    click.echo(
        f"member {member_id} created: {name.strip()} ({role}, {shown}), account {account_id}"
    )


# --- organization ---------------------------------------------------------------------------


@main.group()
def organization() -> None:
    """Member organisations (welfare associations, care providers, the city's offices)."""


@organization.command("create")
@click.option("--name", required=True, help="The organisation's name.")
@click.option(
    "--kind", default="welfare", show_default=True, help=f"One of: {', '.join(ORGANIZATION_KINDS)}."
)
@click.option("--contact", "contact_person", default=None, help="Contact person.")
@click.option("--address", default=None, help="Postal address.")
@click.option("--phone", default=None, help="Phone number.")
@click.option("--email", default=None, help="Email address.")
def organization_create(
    name: str,
    kind: str,
    contact_person: str | None,
    address: str | None,
    phone: str | None,
    email: str | None,
) -> None:
    """Add an organisation and its time account (as the operator)."""
    settings = tool_settings()

    async def work(session: AsyncSession) -> tuple[int, int, str]:
        fields = organizations.OrganizationFields(
            name=name,
            kind=kind,
            contact_person=contact_person,
            address=address,
            phone=phone,
            email=email,
        )
        made = await organizations.create(session, None, fields)
        account = await organizations.account_of(session, id_of(made))
        return id_of(made), id_of(account), made.name

    organization_id, account_id, shown = run(lambda: _in_transaction(settings, work))
    click.echo(f"organisation {organization_id} created: {shown} ({kind}), account {account_id}")


@organization.command("list")
def organization_list() -> None:
    """Every organisation: id, name, kind, active or not, contact."""
    settings = tool_settings()

    async def work(session: AsyncSession) -> list[tuple[int, str, str, bool, str]]:
        return [
            (id_of(o), o.name, o.kind, o.active, o.contact_person or "")
            for o in await organizations.all_organizations(session)
        ]

    rows = run(lambda: _in_transaction(settings, work))
    if not rows:
        click.echo("no organisations yet")
    for number, name, kind, active, contact in rows:
        state = "active" if active else "deactivated"
        click.echo(f"{number:>5}  {name}  ({kind}, {state}){'  ' + contact if contact else ''}")


# --- token ----------------------------------------------------------------------------------


@main.group()
def token() -> None:
    """API bearer tokens."""


@token.command("create")
@click.argument("email")
@click.option("--label", default="cli", show_default=True, help="A note on what it is for.")
def token_create(email: str, label: str) -> None:
    """Print a new API token for the member with EMAIL (the token is the last word)."""
    settings = tool_settings()

    async def work(session: AsyncSession) -> tuple[str, str]:
        found = await members.member_by_email(session, email)
        if found is None:
            raise Fail(f"no member has the email {email!r}")
        return found.name, await members.create_token(session, found, label=label)

    name, plain = run(lambda: _in_transaction(settings, work))
    click.echo(f"API token for {name} (shown once, keep it safe): {plain}")


# --- ledger ---------------------------------------------------------------------------------


@main.group("ledger")
def ledger_group() -> None:
    """The books."""


@ledger_group.command("verify")
def ledger_verify() -> None:
    """Recompute every balance from the transfers; exit 1 naming any account that differs."""
    settings = tool_settings()
    report = run(lambda: _in_transaction(settings, ledger.verify))
    for m in report.mismatches:
        click.echo(
            f"account {m.account_id}: cached balance {m.cached_minutes} min, "
            f"transfers say {m.computed_minutes} min",
            err=True,
        )
    if report.mismatches:
        named = ", ".join(str(m.account_id) for m in report.mismatches)
        raise Fail(f"the books do not balance: account(s) {named} differ from their transfers")
    if report.total_minutes != 0:
        raise Fail(
            f"the books do not balance: all balances add up to {report.total_minutes} min, not 0"
        )
    for row in report.month_mismatches:
        differs = ", ".join(f"{c} {d:+d}" for c, d in row.differences.items())
        click.echo(
            f"account {row.account_id}, {row.month:%Y-%m}, category {row.category_id}: "
            f"the monthly figures differ from the transfers by {differs}",
            err=True,
        )
    if report.month_mismatches:
        raise Fail(
            f"the monthly figures (account_months) differ from the transfers in "
            f"{len(report.month_mismatches)} row(s)"
        )
    click.echo(
        f"ok: {report.accounts} accounts, {report.transfers} transfers, "
        "all balances match and so do the monthly figures"
    )


# --- jobs / scheduler: added below this line (issue 4) --------------------------------------


@main.command("scheduler")
@click.option(
    "--poll", type=click.FloatRange(0.1, 60), default=1.0, help="Seconds between lead checks."
)
def scheduler_command(poll: float) -> None:
    """Run the scheduled jobs alone (no web server) until stopped with Ctrl-C or SIGTERM.

    Several may run against one PostgreSQL: one leads, another takes over if it dies."""
    settings = tool_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    async def serve_jobs() -> None:
        await _require_current_schema(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        jobs = JobScheduler(settings, poll_seconds=poll)
        await jobs.start()
        click.echo(f"scheduler running on {safe_url(settings.database_url)} ({jobs.runner})")
        try:
            await stop.wait()
        finally:
            await jobs.stop()

    run(serve_jobs)
    click.echo("scheduler stopped")


@main.group("jobs")
def jobs_group() -> None:
    """The scheduled jobs: list them, or run one now."""


@jobs_group.command("list")
def jobs_list() -> None:
    """Each job with its schedule and its last run."""
    settings = tool_settings()

    async def work(session: AsyncSession) -> list[tuple[str, str, str, JobRun | None]]:
        current = await network.network_settings(session)
        rows = []
        for job in JOBS.values():
            last = await job_runs.last_run(session, job.name)
            rows.append((job.name, getattr(current, job.cron_setting), job.description, last))
        return rows

    for name, cron, description, last in run(lambda: _in_transaction(settings, work)):
        click.echo(f"{name:<12} {cron:<16} {description}")
        if last is None:
            click.echo(f"{'':<12} never ran")
        else:
            when = last.scheduled_for.isoformat(timespec="seconds")
            click.echo(f"{'':<12} last: {when} {last.outcome} {_counts_text(last.counts)}")


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) if counts else "-"


@jobs_group.command("run")
@click.argument("name")
def jobs_run(name: str) -> None:
    """Run job NAME now and print what it found (the run is recorded like a scheduled one)."""
    settings = tool_settings()
    if name not in JOBS:
        raise Fail(f"no job {name!r}; the jobs are: {', '.join(JOBS)}")

    async def work() -> RunOutcome:
        await _require_current_schema(settings)
        engine = make_engine(settings.database_url)
        try:
            return await run_job(
                make_sessionmaker(engine),
                settings,
                name,
                scheduled_for=utcnow(),
                trigger="manual",
            )
        finally:
            await engine.dispose()

    outcome = run(work)
    if outcome.outcome == "failed":
        last_line = (outcome.error or "").strip().splitlines()[-1:] or ["unknown error"]
        raise Fail(f"job {name} failed: {last_line[0]}")
    click.echo(f"{name}: {_counts_text(outcome.counts)}")
