"""Reading form fields (timebank/web/forms.py): hours typed the way each language writes
them, booked as they were meant or refused at their field, never misread."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import World, town_today
from tests.web.support import Client, error_of, make_app, post, sign_in
from timebank import i18n
from timebank.db import transaction
from timebank.errors import Invalid
from timebank.models import Exchange, Member
from timebank.web.forms import HOURS_LIKE, ONE_WAY, parse_duration, parse_whole

Sessions = async_sessionmaker[AsyncSession]

# --- parse_duration, in each language ------------------------------------------------------------

BOOKED = [
    # (language, hours typed, minutes chosen, minutes booked)
    ("de", "1,5", "0", 90),
    ("tr", "1,5", "0", 90),
    ("ru", "1,5", "0", 90),
    ("en", "1.5", "0", 90),
    ("ar", "1.5", "0", 90),
    ("ar", "1,5", "0", 90),
    ("ar", "١٫٥", "0", 90),
    ("ar", "١:٣٠", "0", 90),
    ("de", "1:30", "0", 90),
    ("en", "1:30", "0", 90),
    ("de", "1", "30", 90),
    ("ru", "0", "45", 45),
    ("tr", "", "15", 15),
    ("de", "2", "", 120),
]


@pytest.mark.parametrize(("language", "hours", "minutes", "booked"), BOOKED)
def test_hours_are_read_in_the_members_language(
    language: str, hours: str, minutes: str, booked: int
) -> None:
    assert parse_duration({"hours": hours, "minutes": minutes}, language) == booked


REFUSED = [
    # (language, hours typed, minutes chosen, message id)
    ("de", "1.5", "0", HOURS_LIKE),  # the English mark in German: refused, not 15 hours
    ("tr", "1.5", "0", HOURS_LIKE),
    ("ru", "1.5", "0", HOURS_LIKE),
    ("en", "1,5", "0", HOURS_LIKE),  # 1.5 or 15?
    ("ar", "1,500", "0", HOURS_LIKE),  # 1.5 or 1500?
    ("de", "1,33", "0", HOURS_LIKE),  # no whole number of minutes
    ("de", "1:5", "0", HOURS_LIKE),  # 1:05 or 1:50?
    ("de", "-1", "0", HOURS_LIKE),
    ("de", "zwei", "0", HOURS_LIKE),
    ("de", "1,5", "30", ONE_WAY),  # a part of an hour twice: 2 hours, or 1:30 and a slip?
    ("en", "1:30", "15", ONE_WAY),
    ("de", "1", "61", "please enter whole hours and minutes"),
    ("de", "0", "0", "how long was it? Enter hours or minutes"),
    ("de", "0,0", "0", "how long was it? Enter hours or minutes"),
]


@pytest.mark.parametrize(("language", "hours", "minutes", "message"), REFUSED)
def test_what_could_be_misread_is_refused_at_the_duration(
    language: str, hours: str, minutes: str, message: str
) -> None:
    with pytest.raises(Invalid) as refused:
        parse_duration({"hours": hours, "minutes": minutes}, language)
    assert (refused.value.detail, refused.value.field) == (message, "minutes")


@pytest.mark.parametrize("language", ["de", "tr", "ru", "ar"])
@pytest.mark.parametrize("message", [HOURS_LIKE, ONE_WAY, "For example 1.5 or 1:30"])
def test_the_hours_messages_show_each_languages_own_decimal_mark(
    language: str, message: str
) -> None:
    text = i18n.gettext_for(language, message)
    assert text != message
    assert ("1,5" in text) == (language in ("de", "tr", "ru")), text
    assert ("1.5" in text) == (language == "ar"), text


def test_a_whole_number_is_digits_after_an_optional_sign() -> None:
    assert [parse_whole(v, "x") for v in ("12", "-3", "\u22123", "+4", "١٢")] == [12, -3, -3, 4, 12]
    for typed in ("1_000", "1.0", "1,0", "12a", "- 3"):
        with pytest.raises(Invalid):
            parse_whole(typed, "x")


# --- The log-hours page -------------------------------------------------------------------------


@pytest.fixture
async def client(db_url: str, world: World) -> AsyncIterator[Client]:
    """The members keep the language a test gives them (tests/web/conftest.py's ``client``
    makes everyone English)."""
    async with AsyncTestClient(app=make_app(db_url)) as c:
        yield c


async def speaks(sessions: Sessions, member: Member, language: str) -> None:
    async with transaction(sessions) as s:
        row = await s.get(Member, member.id)
        assert row is not None
        row.language = language
        s.add(row)


async def booked(sessions: Sessions, world: World) -> list[int]:
    async with transaction(sessions) as s:
        rows = await s.exec(select(Exchange.minutes).where(Exchange.giver_id == world.volunteer.id))
        return list(rows.all())


def log_form(world: World, hours: str) -> dict[str, object]:
    return {
        "receiver_number": str(world.senior.id),
        "performed_on": town_today().isoformat(),
        "hours": hours,
        "minutes": "0",
        "category": "shopping",
    }


@pytest.mark.parametrize(("language", "typed"), [("de", "1,5"), ("ru", "1,5"), ("ar", "١٫٥")])
async def test_one_and_a_half_hours_typed_the_languages_way_book_1_30(
    client: Client, world: World, sessions: Sessions, language: str, typed: str
) -> None:
    await speaks(sessions, world.volunteer, language)
    await sign_in(client, "volker@example.org")
    answer = await post(client, "/exchanges/new", log_form(world, typed))
    assert answer.status_code == 303, error_of(answer.text, "minutes")
    assert await booked(sessions, world) == [90]


async def test_the_hours_field_is_text_with_a_decimal_keyboard_and_a_hint(
    client: Client, world: World
) -> None:
    await sign_in(client, "volker@example.org")
    page = (await client.get("/exchanges/new")).text
    assert 'name="hours" type="text" inputmode="decimal"' in page
    assert "Zum Beispiel 1,5 oder 1:30" in page


async def test_english_hours_in_a_german_form_are_refused_at_the_field_and_kept(
    client: Client, world: World, sessions: Sessions
) -> None:
    await sign_in(client, "volker@example.org")  # German, the network's default
    answer = await post(client, "/exchanges/new", log_form(world, "1.5"))
    assert answer.status_code == 400
    assert error_of(answer.text, "minutes").endswith(
        "Bitte geben Sie die Stunden so ein: 1,5 oder 1:30."
    )
    assert 'value="1.5"' in answer.text
    assert await booked(sessions, world) == []
