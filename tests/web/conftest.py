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
