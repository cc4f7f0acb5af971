"""Hours and numbers the way each language writes and reads them (timebank/i18n.py): the
table in timebank/locale/README.md, signs that survive a right-to-left sentence, and hours
typed with the language's decimal mark, never misread."""

from __future__ import annotations

import pytest
from babel.units import format_unit

from timebank import i18n

LRI, PDI = "\u2066", "\u2069"

# The table of timebank/locale/README.md: 150 minutes, −90, 45, 0.
WRITTEN = {
    "de": ("2:30 Std.", "−1:30 Std.", "0:45 Std.", "0:00 Std."),
    "en": ("2:30 h", "−1:30 h", "0:45 h", "0:00 h"),
    "tr": ("2 sa. 30 dk.", "−1 sa. 30 dk.", "45 dk.", "0 sa."),
    "ru": ("2 ч 30 мин", "−1 ч 30 мин", "45 мин", "0 ч"),
    "ar": ("2 س 30 د", f"{LRI}−1{PDI} س 30 د", "45 د", "0 س"),
}


@pytest.mark.parametrize("language", sorted(WRITTEN))
def test_hours_are_written_the_way_each_language_writes_them(language: str) -> None:
    shown = tuple(i18n.hours_and_minutes(n, language) for n in (150, -90, 45, 0))
    assert shown == WRITTEN[language]


def test_german_keeps_the_networks_hours_and_whole_hours_drop_no_minutes_elsewhere() -> None:
    assert i18n.hours_and_minutes(870, "de") == "14:30 Std."
    assert i18n.hours_and_minutes(120, "ru") == "2 ч"
    assert i18n.hours_and_minutes(120, "tr") == "2 sa."
    # A big pool balance is grouped the language's way.
    assert i18n.hours_and_minutes(1234 * 60, "de") == "1.234:00 Std."
    assert i18n.hours_and_minutes(1234 * 60, "ru") == "1\xa0234 ч"


def test_a_sign_stays_before_its_digits_and_plus_is_asked_for() -> None:
    assert i18n.hours_and_minutes(90, "de", plus=True) == "+1:30 Std."
    assert i18n.hours_and_minutes(0, "de", plus=True) == "0:00 Std."
    assert i18n.hours_and_minutes(-90, "ru", plus=True) == "−1 ч 30 мин"
    # In Arabic the signed number is isolated left to right, so the minus is displayed left
    # of its digits like any Western-digit number, and the sentence stays right to left.
    assert i18n.hours_and_minutes(90, "ar", plus=True) == f"{LRI}+1{PDI} س 30 د"
    assert i18n.hours_and_minutes(-45, "ar") == f"{LRI}−45{PDI} د"
    assert i18n.hours_and_minutes(90, "ar") == "1 س 30 د"  # nothing to isolate


def test_decimal_hours_use_the_languages_decimal_mark_and_unit() -> None:
    assert i18n.decimal_hours(150, "de") == "2,5 Std."
    assert i18n.decimal_hours(150, "en") == "2.5 h"
    assert i18n.decimal_hours(150, "tr") == "2,5 sa."
    assert i18n.decimal_hours(150, "ru") == "2,5 ч"
    assert i18n.decimal_hours(-150, "ar") == f"{LRI}−2.5{PDI} س"


@pytest.mark.parametrize("language", ["tr", "ru", "ar"])
@pytest.mark.parametrize("unit", ["duration-hour", "duration-minute"])
def test_the_short_units_do_not_change_with_the_number(language: str, unit: str) -> None:
    """hours_and_minutes hands CLDR a formatted number, which takes the unit's "one" form;
    that is right only while every form of the short unit is the same."""
    one = format_unit(1, unit, length="short", locale=language).replace("1", "{0}", 1)
    for n in (0, 2, 3, 5, 11, 21, 45, 100):
        assert format_unit(n, unit, length="short", locale=language) == one.format(n)


# --- Reading hours as typed ----------------------------------------------------------------------

READ = [
    # (typed, {language: minutes or None})
    ("2", dict.fromkeys(["de", "en", "tr", "ru", "ar"], 120)),
    ("1:30", dict.fromkeys(["de", "en", "tr", "ru", "ar"], 90)),
    ("0:45", dict.fromkeys(["de", "en", "tr", "ru", "ar"], 45)),
    ("1,5", {"de": 90, "tr": 90, "ru": 90, "ar": 90, "en": None}),
    ("1.5", {"en": 90, "ar": 90, "de": None, "tr": None, "ru": None}),
    ("0,25", {"de": 15, "tr": 15, "ru": 15, "ar": 15, "en": None}),
    ("1,500", {"de": 90, "tr": 90, "ru": 90, "en": None, "ar": None}),  # ar: 1500 or 1.5?
    ("١٫٥", {"ar": 90, "de": None, "en": None, "tr": None, "ru": None}),
    ("١:٣٠", dict.fromkeys(["de", "en", "tr", "ru", "ar"], 90)),
    ("٢", dict.fromkeys(["de", "en", "tr", "ru", "ar"], 120)),
]
NEVER = ["", "1:5", "1:60", "1,33", "1.33", "-1", "−1", "1 ,5", "1,5,0", "1h", "eins", ":30", "1_0"]


@pytest.mark.parametrize(("typed", "expected"), READ, ids=[t for t, _ in READ])
def test_hours_are_read_the_way_each_language_types_them(
    typed: str, expected: dict[str, int | None]
) -> None:
    assert {language: i18n.read_hours(typed, language) for language in expected} == expected


@pytest.mark.parametrize("typed", NEVER)
@pytest.mark.parametrize("language", ["de", "en", "tr", "ru", "ar"])
def test_what_could_be_misread_is_not_read(typed: str, language: str) -> None:
    assert i18n.read_hours(typed, language) is None


def test_the_decimal_marks_come_from_the_locale() -> None:
    assert [i18n.decimal_marks(language) for language in ("de", "en", "tr", "ru")] == [
        ",",
        ".",
        ",",
        ",",
    ]
    assert i18n.decimal_marks("ar") == ".,\u066b"
