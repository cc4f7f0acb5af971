"""Fixtures for the page tests: ``client``, the whole app behind Litestar's test client on
the test's database, with the world's members reading English pages.

Helpers that are not fixtures (``post``, ``sign_in``, ``manager``, ``main_of``…) are in
tests/web/support.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import World
from tests.web.support import Client, make_app
from timebank.db import transaction
from timebank.models import Member

# The page tests speak HTTP to the app; what differs between the two databases is the domain
# below, which tests/test_*.py and tests/jobs/ run on both. So each page test runs once, on
# PostgreSQL (production), except these, which also run on SQLite (the embedded default of the
# README's first command): the walks over every page as every role (links, language leaks),
# every route as every caller (the access matrix) and the calls generated from the API schema.
ON_BOTH_DATABASES = {
    "test_links.py",
    "test_language_leaks.py",
    "test_access_matrix.py",
    "test_api_schemathesis.py",
}


@pytest.hookimpl(tryfirst=True)  # before the fixture's two params and the markers are read
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    mine = any(
        "db_url" in str(mark.args[0]) for mark in metafunc.definition.iter_markers("parametrize")
    )
    if (
        "db_url" in metafunc.fixturenames
        and not mine
        and metafunc.definition.path.name not in ON_BOTH_DATABASES
    ):
        # As a marker, so the test's own parametrization of db_url takes precedence over the
        # fixture's, as pytest does for a test parametrized by hand.
        only = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
        metafunc.definition.add_marker(only)


@pytest.fixture
async def client(
    db_url: str, world: World, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Client]:
    # English pages, so that tests read the message ids whatever the catalogues say.
    async with transaction(sessions) as s:
        for member in (await s.exec(select(Member))).all():
            member.language = "en"
            s.add(member)
    async with AsyncTestClient(app=make_app(db_url)) as c:
        yield c
