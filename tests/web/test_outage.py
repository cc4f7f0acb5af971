"""A database outage as visitors and API clients meet it: 503 with Retry-After, one log
line per failure, and the app back by itself once the database is.

PostgreSQL only: the app reaches the server through a TCP relay the test can cut (the
server vanishes: open connections drop, new ones are refused) and mend."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import suppress

import httpx
import pytest
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import PASSWORD, World, administer, bearer
from timebank.config import Settings
from timebank.db import make_engine
from timebank.web.app import create_app

pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)

SECRET = "a-test-secret-that-is-long-enough"


class Relay:
    """A TCP relay in front of the database server, on the test's event loop."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.listen_port = 0
        self.server: asyncio.Server | None = None
        self.open: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", self.listen_port)
        self.listen_port = self.server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """The server is gone: refuse new connections, drop the open ones."""
        assert self.server is not None
        self.server.close()
        for writer in list(self.open):
            writer.transport.abort()
        self.open.clear()
        self.server = None

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        except OSError:
            writer.transport.abort()
            return
        self.open |= {writer, up_writer}

        async def copy(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
            with suppress(OSError):
                while data := await source.read(65536):
                    target.write(data)
                    await target.drain()
            target.transport.abort()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))
        self.open -= {writer, up_writer}


class Heard(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
async def relay(db_url: str) -> AsyncIterator[Relay]:
    url = make_url(db_url)
    relay = Relay(url.host or "127.0.0.1", url.port or 5432)
    await relay.start()
    yield relay
    if relay.server is not None:
        await relay.cut()


def _through(db_url: str, relay: Relay) -> str:
    url = make_url(db_url).set(host="127.0.0.1", port=relay.listen_port)
    return url.render_as_string(hide_password=False)


async def _client(engine: AsyncEngine, db_url: str) -> httpx.AsyncClient:
    settings = Settings(database_url=db_url, secret_key=SECRET, run_scheduler=False)
    app = create_app(settings, engine=engine)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver.local",
    )


async def _sign_in(client: httpx.AsyncClient, email: str) -> None:
    await client.get("/login")
    answer = await client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "_csrf_token": client.cookies["csrftoken"]},
    )
    assert answer.status_code == 303, answer.text


@pytest.fixture
async def relayed_engine(db_url: str, relay: Relay) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(_through(db_url, relay))
    yield engine
    await engine.dispose()


async def test_an_outage_answers_503_with_retry_after_and_recovers_by_itself(
    db_url: str,
    world: World,
    tokens: dict[str, str],
    relay: Relay,
    relayed_engine: AsyncEngine,
) -> None:
    async with await _client(relayed_engine, db_url) as client:
        await _sign_in(client, "volker@example.org")
        me = bearer(tokens["volunteer"])
        assert (await client.get("/home")).status_code == 200
        assert (await client.get("/api/v1/me", headers=me)).status_code == 200

        await relay.cut()
        # Litestar's logging set-up replaces the root logger's handlers (pytest's caplog
        # among them): listen on the app's logger itself.
        logger, heard = logging.getLogger("timebank"), Heard()
        logger.addHandler(heard)
        try:
            page = await client.get("/home")
            api = await client.get("/api/v1/me", headers=me)
        finally:
            logger.removeHandler(heard)
        assert page.status_code == 503
        assert page.headers["retry-after"].isdigit()
        assert page.headers["content-type"].startswith("text/html")
        assert "Kurz nicht erreichbar" in page.text  # in the member's language
        assert api.status_code == 503
        assert api.headers["retry-after"].isdigit()
        assert api.json()["code"] == "unavailable"
        assert [r.levelname for r in heard.records] == ["WARNING", "WARNING"]
        assert all(r.exc_info is None and "\n" not in r.getMessage() for r in heard.records)

        await relay.start()  # the database is back: no restart, no operator
        assert (await client.get("/home")).status_code == 200
        assert (await client.get("/api/v1/me", headers=me)).status_code == 200


async def test_connections_the_server_dropped_are_replaced_unnoticed(
    db_url: str, world: World, tokens: dict[str, str], engine: AsyncEngine
) -> None:
    async with await _client(engine, db_url) as client:
        me = bearer(tokens["volunteer"])
        assert (await client.get("/api/v1/me", headers=me)).status_code == 200
        # e.g. a PostgreSQL restart, or an administrator ending idle sessions
        await administer(
            db_url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        assert (await client.get("/api/v1/me", headers=me)).status_code == 200


async def test_no_free_connection_in_time_answers_503(
    db_url: str, world: World, tokens: dict[str, str]
) -> None:
    engine = make_engine(db_url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    try:
        async with await _client(engine, db_url) as client, engine.connect() as held:
            await held.exec_driver_sql("SELECT 1")  # the pool's only connection, held
            answer = await client.get("/api/v1/me", headers=bearer(tokens["volunteer"]))
            assert answer.status_code == 503
            assert answer.headers["retry-after"].isdigit()
    finally:
        await engine.dispose()


async def test_an_app_started_during_an_outage_waits_for_the_database(
    db_url: str, relay: Relay, relayed_engine: AsyncEngine
) -> None:
    # uvicorn replaces a crashed worker at once; if that worker's start failed for want of
    # the database, uvicorn would stop the whole server.
    settings = Settings(database_url=db_url, secret_key=SECRET, run_scheduler=False)
    app = create_app(settings, engine=relayed_engine)
    await relay.cut()

    async def database_back_soon() -> None:
        await asyncio.sleep(1)
        await relay.start()

    back = asyncio.create_task(database_back_soon())
    async with app.lifespan():  # raised ConnectionRefusedError before
        pass
    await back
