"""The town clock: "today" and every local date come from the network's time zone
(``network_settings.timezone``), never from the server's clock, on SQLite and PostgreSQL.

Each moment below is one where the server's date (the tests travel there in UTC) and the
town's date differ: a ``date.today()`` anywhere on these paths fails the test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from jinja2 import Environment
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import PASSWORD, World
from timebank import board, exchanges, flags, ledger, network, overview
from timebank.config import Settings
from timebank.db import transaction
from timebank.errors import Invalid
from timebank.members import NewMember, category_by_slug, create_member
from timebank.models import DEFAULT_TIMEZONE, Flag, NetworkSettings, utcnow
from timebank.network import TownClock
from timebank.web import filters
from timebank.web.app import create_app

Sessions = async_sessionmaker[AsyncSession]
Client = AsyncTestClient[Litestar]
SECRET = "a-test-secret-that-is-long-enough"

# A ZoneInfo moment makes time-machine set the server's zone too: UTC, on any machine.
UTC = ZoneInfo("UTC")
# 01:30 on 2 June in Berlin (the default zone), 19:30 on 1 June in New York.
LATE_EVENING_UTC = datetime(2026, 6, 1, 23, 30, tzinfo=UTC)
# 04:30 on 2 June in Berlin, 22:30 on 1 June in New York.
SMALL_HOURS_UTC = datetime(2026, 6, 2, 2, 30, tzinfo=UTC)
# 01:30 on 1 July in Berlin, 19:30 on 30 June in New York.
END_OF_JUNE_UTC = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)
JUNE_1, JUNE_2 = date(2026, 6, 1), date(2026, 6, 2)
NEW_YORK = "America/New_York"


def at(moment: datetime) -> time_machine.travel:
    return time_machine.travel(moment, tick=False)


async def set_timezone(sessions: Sessions, timezone: str) -> None:
    async with transaction(sessions) as s:
        settings = await s.get(NetworkSettings, 1)
        assert settings is not None, "the migration seeds the settings row"
        settings.timezone = timezone
        s.add(settings)


# --- Today ------------------------------------------------------------------------------------


def test_the_default_zone_is_berlin_and_the_server_clock_is_not_it() -> None:
    assert DEFAULT_TIMEZONE == "Europe/Berlin"
    with at(LATE_EVENING_UTC):
        # The premise of every test here: the server's date is still the 1st.
        assert date.today() == JUNE_1  # noqa: DTZ011 - the server's date, to show it differs
        assert TownClock.named(None).today() == JUNE_2


async def test_at_half_past_eleven_utc_the_town_is_already_on_the_next_day(sessions: Sessions):
    with at(LATE_EVENING_UTC):
        async with transaction(sessions) as s:
            assert await network.today(s) == JUNE_2
            clock = await network.town_clock(s)
    assert clock.day_of(LATE_EVENING_UTC) == JUNE_2
    assert clock.local(LATE_EVENING_UTC).hour == 1


async def test_changing_the_networks_time_zone_changes_today(sessions: Sessions):
    with at(SMALL_HOURS_UTC):
        async with transaction(sessions) as s:
            assert await network.today(s) == JUNE_2
        await set_timezone(sessions, NEW_YORK)
        async with transaction(sessions) as s:
            assert await network.today(s) == JUNE_1
            assert network.today_in(await network.network_settings(s), utcnow()) == JUNE_1


# --- The domain's defaults --------------------------------------------------------------------


async def test_default_dates_follow_the_town(sessions: Sessions, world: World):
    with at(LATE_EVENING_UTC):
        async with transaction(sessions) as s:
            shopping = await category_by_slug(s, "shopping")
            request = await board.create_request(
                s,
                world.senior,
                member_id=world.senior.id,  # type: ignore[arg-type]
                category_id=shopping.id,
                title="Einkauf am Dienstag",
                needed_on=None,
            )
            # Help given "today" in the town is not a date in the future.
            logged = await exchanges.record_exchange(
                s,
                world.volunteer,
                giver_id=world.volunteer.id,  # type: ignore[arg-type]
                receiver_id=world.senior.id,  # type: ignore[arg-type]
                minutes=60,
                performed_on=JUNE_2,
                category="shopping",
            )
            newcomer = await create_member(
                s, NewMember(name="Nina Neu", role="volunteer", email=None), actor=None
            )
    assert request.expires_on == JUNE_2 + timedelta(days=30)
    assert logged.exchange.performed_on == JUNE_2
    assert newcomer.joined_on == JUNE_2


async def test_in_new_york_the_same_moment_is_still_yesterday(sessions: Sessions, world: World):
    await set_timezone(sessions, NEW_YORK)
    with at(SMALL_HOURS_UTC):
        async with transaction(sessions) as s:
            shopping = await category_by_slug(s, "shopping")
            request = await board.create_request(
                s,
                world.senior,
                member_id=world.senior.id,  # type: ignore[arg-type]
                category_id=shopping.id,
                title="Einkauf",
                needed_on=JUNE_1,  # the server's date says this has passed; the town's does not
            )
        with pytest.raises(Invalid) as future:
            async with transaction(sessions) as s:
                await exchanges.record_exchange(
                    s,
                    world.volunteer,
                    giver_id=world.volunteer.id,  # type: ignore[arg-type]
                    receiver_id=world.senior.id,  # type: ignore[arg-type]
                    minutes=60,
                    performed_on=JUNE_2,
                    category="shopping",
                )
    assert request.expires_on == JUNE_1
    assert future.value.field == "performed_on"


async def test_a_backdated_entry_is_judged_by_the_towns_day_at_that_moment(
    sessions: Sessions, world: World
):
    async def log(performed_on: date, moment: datetime) -> None:
        async with transaction(sessions) as s:
            await exchanges.record_exchange(
                s,
                world.manager,
                giver_id=world.volunteer.id,  # type: ignore[arg-type]
                receiver_id=world.senior.id,  # type: ignore[arg-type]
                minutes=30,
                performed_on=performed_on,
                category="shopping",
                at=moment,
            )

    # Berlin: 23:30 UTC on the 1st is already the 2nd.
    await log(JUNE_2, LATE_EVENING_UTC)
    await set_timezone(sessions, NEW_YORK)
    # New York: 02:30 UTC on the 2nd is still the 1st.
    with pytest.raises(Invalid):
        await log(JUNE_2, SMALL_HOURS_UTC)


async def test_snoozing_counts_from_the_towns_today(sessions: Sessions, world: World):
    async with transaction(sessions) as s:
        flag = Flag(member_id=world.senior.id, kind="inactive", subject_id=world.senior.id)  # type: ignore[arg-type]
        s.add(flag)
        await s.flush()
        flag_id = flag.id
    with at(LATE_EVENING_UTC), pytest.raises(Invalid):
        async with transaction(sessions) as s:
            # Already today in the town, so not a date after today.
            await flags.snooze(s, world.manager, flag_id, until=JUNE_2)  # type: ignore[arg-type]


async def book_at_the_end_of_june(sessions: Sessions, world: World) -> None:
    async with transaction(sessions) as s:
        await ledger.post_transfer(
            s,
            from_account_id=(await ledger.account_of_member(s, world.volunteer.id)).id,  # type: ignore[arg-type]
            to_account_id=(await ledger.account_of_member(s, world.senior.id)).id,  # type: ignore[arg-type]
            minutes=60,
            kind="adjustment",
            actor=world.manager,
            reason="test set-up",
            override_reason="test set-up",
            at=END_OF_JUNE_UTC,
        )


@pytest.mark.parametrize(
    ("timezone", "month"), [(DEFAULT_TIMEZONE, date(2026, 7, 1)), (NEW_YORK, date(2026, 6, 1))]
)
async def test_the_statement_groups_by_the_towns_month(
    sessions: Sessions, world: World, timezone: str, month: date
):
    await book_at_the_end_of_june(sessions, world)
    await set_timezone(sessions, timezone)
    async with transaction(sessions) as s:
        statement = await overview.statement(s, world.senior, world.senior.id, year=2026)  # type: ignore[arg-type]
    assert [m.first_day for m in statement.months] == [month]


# --- The pages --------------------------------------------------------------------------------


@pytest.fixture
async def client(db_url: str, world: World) -> AsyncIterator[Client]:
    app = create_app(Settings(database_url=db_url, secret_key=SECRET, run_scheduler=False))
    async with AsyncTestClient(app=app) as c:
        yield c


async def sign_in(client: Client, email: str) -> None:
    await client.get("/login")
    form = {"email": email, "password": PASSWORD, "_csrf_token": client.cookies["csrftoken"]}
    answer = await client.post("/login", data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text


@pytest.mark.parametrize(
    ("timezone", "day"), [(DEFAULT_TIMEZONE, "2026-06-02"), (NEW_YORK, "2026-06-01")]
)
async def test_the_log_hours_form_offers_the_towns_today(
    client: Client, sessions: Sessions, timezone: str, day: str
):
    await set_timezone(sessions, timezone)
    with at(SMALL_HOURS_UTC if timezone == NEW_YORK else LATE_EVENING_UTC):
        await sign_in(client, "volker@example.org")
        answer = await client.get("/exchanges/new")
    assert answer.status_code == 200, answer.text
    assert f'value="{day}"' in answer.text
    assert f'max="{day}"' in answer.text


@pytest.mark.parametrize(
    ("timezone", "day"), [(DEFAULT_TIMEZONE, "2026-07-01"), (NEW_YORK, "2026-06-30")]
)
async def test_pages_show_stored_moments_on_the_towns_day(
    client: Client, sessions: Sessions, world: World, timezone: str, day: str
):
    await book_at_the_end_of_june(sessions, world)
    await set_timezone(sessions, timezone)
    await sign_in(client, "sieglinde@example.org")
    answer = await client.get(f"/members/{world.senior.id}/statement?year=2026")
    assert answer.status_code == 200, answer.text
    assert f'<time datetime="{day}">' in answer.text


def test_a_page_drawn_without_the_networks_clock_uses_the_default_zone() -> None:
    env = Environment(extensions=["jinja2.ext.i18n"])
    filters.install(env)
    template = env.from_string("{{ moment | iso_date }} {{ moment | clock }}")
    assert template.render(moment=END_OF_JUNE_UTC, lang="en") == "2026-07-01 1:30\u202fAM"
    in_new_york = template.render(
        moment=END_OF_JUNE_UTC, lang="en", town_clock=TownClock.named(NEW_YORK)
    )
    assert in_new_york == "2026-06-30 7:30\u202fPM"
