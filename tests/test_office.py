"""The network office's settings and legal texts (issue 9, point 9): each field checked at its
name, all saved or nothing, only by the manager; plain text read as paragraphs; a member's
postal address complete enough for a letter (both databases)."""

from __future__ import annotations

import pytest

from tests.support import Sessions, World
from timebank import network, office
from timebank.db import transaction
from timebank.errors import Forbidden, Invalid
from timebank.members import postal_address

GOOD = {
    "network_name": "Zeitbank Testhausen",
    "office_address": "Marktstraße 12\r\n\r\n34567 Testhausen",
    "office_phone": "+49 4321 98765-0",
    "office_hours": "",
    "office_contact": "Martina Manager",
    "office_email": "Buero@Testhausen.example",
    "imprint_text": "",
    "privacy_text": "",
}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("network_name", "  "),
        ("network_name", "x" * 121),
        ("office_address", "a\nb\nc\nd\ne\nf"),
        ("office_phone", "ring ring"),
        ("office_phone", "--"),
        ("office_hours", "Mo\x07"),
        ("office_contact", ""),
        ("office_email", "buero@"),
        ("imprint_text", "x" * 20001),
    ],
)
def test_each_field_is_checked_at_its_name(field: str, value: str) -> None:
    change = office.office_change_from_form({**GOOD, field: value})
    with pytest.raises(Invalid) as refused:
        office._checked(change)
    assert refused.value.field == field


async def test_the_office_is_saved_whole_and_read_back(world: World, sessions: Sessions) -> None:
    async with transaction(sessions) as s:
        await office.update_office(s, world.manager, office.office_change_from_form(GOOD))
    async with transaction(sessions) as s:
        shown = await network.office(s)
    assert shown.name == "Zeitbank Testhausen"
    assert shown.address_lines == ["Marktstraße 12", "34567 Testhausen"]
    assert shown.email == "buero@testhausen.example"
    async with transaction(sessions) as s:
        with pytest.raises(Forbidden):
            await office.update_office(s, world.professional, office.office_change_from_form(GOOD))


def test_plain_text_becomes_paragraphs_of_lines() -> None:
    text = "Erste Zeile\r\nzweite Zeile\n\n  \nNeuer Absatz <b>"
    assert office.paragraphs(text) == [["Erste Zeile", "zweite Zeile"], ["Neuer Absatz <b>"]]


def test_a_postal_address_is_complete_or_empty() -> None:
    assert postal_address(" ", None, "") == (None, None, None)
    assert postal_address("Lindenallee 3", "34567", "Lindenfeld") == (
        "Lindenallee 3",
        "34567",
        "Lindenfeld",
    )
    for street, postcode, town, field in (
        (None, "34567", None, "street"),
        ("Lindenallee 3", None, None, "town"),
        ("Lindenallee 3", "!!", "Lindenfeld", "postcode"),
    ):
        with pytest.raises(Invalid) as refused:
            postal_address(street, postcode, town)
        assert refused.value.field == field
