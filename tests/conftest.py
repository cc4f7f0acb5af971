"""Fixtures: a fresh database per test, on SQLite and on a real PostgreSQL.

Every test that uses ``db_url`` (directly or through ``sessions``/``world``) runs twice,
as ``[sqlite]`` and ``[postgresql]``. PostgreSQL comes from TIMEBANK_TEST_POSTGRES_URL, or
is a throwaway cluster started here when its programs are installed. Without either, the
PostgreSQL half is skipped — unless TIMEBANK_REQUIRE_POSTGRES=1 (set by .ci/run), which
turns that skip into a failure.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date
from functools import cache
from pathlib import Path

import httpx
import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.postgres_server import start_cluster
from tests.support import (
    PASSWORD,
    MailInbox,
    MailServer,
    World,
    administer,
    outside_loop,
    serve_mail,
    with_database,
)
from timebank.db import make_engine, make_sessionmaker, transaction, upgrade_sync
from timebank.members import (
    NewMember,
    create_member,
    create_organization,
    create_token,
    hash_password,
)
from timebank.models import District, Member, Notification

REQUIRE_POSTGRES = os.environ.get("TIMEBANK_REQUIRE_POSTGRES") == "1"


def _unavailable(reason: str) -> None:
    if REQUIRE_POSTGRES:
        pytest.fail(f"PostgreSQL is required (TIMEBANK_REQUIRE_POSTGRES=1) but {reason}")
    pytest.skip(f"PostgreSQL not available: {reason}")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    given = os.environ.get("TIMEBANK_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    try:
        cluster = start_cluster()
    except RuntimeError as exc:
        _unavailable(str(exc))
    yield cluster.url
    cluster.stop()


@pytest.fixture(scope="session")
def pg_template(postgres_url: str) -> Iterator[str]:
    """A migrated database that each test's database is copied from."""
    name = f"tb_template_{uuid.uuid4().hex[:10]}"
    outside_loop(asyncio.run, administer(postgres_url, f"CREATE DATABASE {name}"))
    outside_loop(upgrade_sync, with_database(postgres_url, name))
    yield name
    outside_loop(
        asyncio.run, administer(postgres_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    )


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    outside_loop(upgrade_sync, f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "timebank.db"
        shutil.copy(template, target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    server: str = request.getfixturevalue("postgres_url")
    template_name: str = request.getfixturevalue("pg_template")
    name = f"tb_{uuid.uuid4().hex[:12]}"
    await administer(server, f"CREATE DATABASE {name} TEMPLATE {template_name}")
    yield with_database(server, name)
    await administer(server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def dialect(db_url: str) -> str:
    return "sqlite" if db_url.startswith("sqlite") else "postgresql"


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@cache
def password_hash() -> str:
    """The argon2 hash of PASSWORD, computed once: a full-strength hash costs tenths of a
    second, and every test's ``world`` would otherwise pay it six times."""
    return hash_password(PASSWORD)


# Before every date the tests travel to (tests/test_exchanges.py goes back to March 2025).
WORLD_JOINED = date(2025, 1, 1)


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession]) -> World:
    async with transaction(sessions) as s:
        org = await create_organization(s, "Caritas Nord", "welfare")
        other = await create_organization(s, "Diakonie Süd", "care")
        north, south = District(name="Nord"), District(name="Süd")
        s.add_all([north, south])
        await s.flush()

        async def add(name: str, role: str, email: str | None, **kw: object) -> Member:
            # Members for some time already: help is never logged for before they joined.
            kw.setdefault("joined_on", WORLD_JOINED)
            member = await create_member(
                s,
                NewMember(name=name, role=role, email=email, **kw),  # type: ignore[arg-type]
                actor=None,
            )
            if email:
                member.password_hash = password_hash()
                s.add(member)
            return member

        world = World(
            org=org,
            other_org=other,
            north=north,
            south=south,
            manager=await add("Martina Manager", "manager", "manager@example.org"),
            volunteer=await add(
                "Volker Vogel", "volunteer", "volker@example.org", district_id=north.id
            ),
            volunteer2=await add(
                "Vera Wolf", "volunteer", "vera@example.org", district_id=south.id
            ),
            senior=await add("Sieglinde Sommer", "senior", "sieglinde@example.org"),
            client=await add(
                "Karl Klient", "senior", None, organization_id=org.id, district_id=north.id
            ),
            professional=await add(
                "Paula Profi", "professional", "paula@example.org", organization_id=org.id
            ),
            outside_professional=await add(
                "Otto Ohm", "professional", "otto@example.org", organization_id=other.id
            ),
        )
        # Members for some time already: their welcome was read long ago.
        await s.exec(delete(Notification))  # type: ignore[call-overload]
    return world


# --- The JSON API over HTTP (tests/test_api.py, tests/test_access.py) -----------------------

API_SECRET = "a-test-secret-that-is-long-enough"


@pytest.fixture
async def api(db_url: str, engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    """The whole app, called in-process over HTTP, on the test's database and event loop.

    Not Litestar's AsyncTestClient: it runs the app on a second event loop in a thread and
    blocks on every request, so the app could not share the test's PostgreSQL connections
    and simultaneous requests would not be simultaneous."""
    # Imported here so tests of the domain do not depend on the web layer importing.
    from timebank.config import Settings
    from timebank.web.app import create_app

    settings = Settings(
        database_url=db_url, env="development", secret_key=API_SECRET, run_scheduler=False
    )
    app = create_app(settings, engine=engine)
    started, stop = asyncio.Event(), asyncio.Event()

    async def lifespan() -> None:
        # Entered and left in one task, as the app's lifespan requires (fixture set-up and
        # tear-down run in different tasks).
        async with app.lifespan():
            started.set()
            await stop.wait()

    running = asyncio.create_task(lifespan())
    ready = asyncio.create_task(started.wait())
    await asyncio.wait([running, ready], return_when=asyncio.FIRST_COMPLETED)
    ready.cancel()
    if running.done():
        running.result()  # the app failed to start: raise why
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
        yield client
    stop.set()
    await running


@pytest.fixture
async def tokens(world: World, sessions: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    """A bearer token for every member of the world that can log in, by role attribute."""
    async with transaction(sessions) as s:
        return {
            name: await create_token(s, getattr(world, name))
            for name in (
                "manager",
                "volunteer",
                "volunteer2",
                "senior",
                "professional",
                "outside_professional",
            )
        }


# --- A real SMTP server (tests/test_notifications.py, tests/jobs/test_delivery.py) ----------


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    yield from serve_mail(MailInbox())


@pytest.fixture
def refusing_mail_server() -> Iterator[MailServer]:
    yield from serve_mail(MailInbox(refuse=True))
