"""Languages: gettext catalogues (``timebank/locale/<lang>/LC_MESSAGES/messages.po``) and
locale-aware formatting of hours, numbers and dates through Babel.

Message ids are English; German is the default language for members. Catalogues are read
from the ``.po`` files at start (no compile step), so a translator only edits text files.
"""

from __future__ import annotations

import gettext
import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime
from fractions import Fraction
from functools import cache
from io import BytesIO

from babel import Locale
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, get_decimal_symbol, get_group_symbol
from babel.support import Translations
from babel.units import format_unit

from timebank.models import LANGUAGES
from timebank.resources import LOCALE_DIR

DEFAULT_LANGUAGE = "de"
RIGHT_TO_LEFT = {"ar"}
# Each language named in itself, for the language menu.
NATIVE_NAMES = {"de": "Deutsch", "en": "English", "tr": "Türkçe", "ru": "Русский", "ar": "العربية"}


def pick_language(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalogue of ``language``; untranslated messages fall back to the English id."""
    po = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as fp:
        catalog = read_po(fp, locale=language)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def gettext_for(language: str, message: str) -> str:
    return translations(pick_language(language)).gettext(message)


class Minutes(int):
    """A number of minutes in a message, shown as hours in the reader's language
    (a ``date`` parameter is shown as a long date in it)."""


def N_(message: str) -> str:
    """Mark an English message id for the catalogues; it is translated where it is shown."""
    return message


def render(language: str, message: str, params: Mapping[str, object] | None = None) -> str:
    """The message id ``message`` in ``language`` with its ``{name}`` placeholders filled:
    minutes as hours and dates as long dates of that language."""
    text = gettext_for(language, message)
    if not params:
        return text
    shown: dict[str, object] = {}
    for name, value in params.items():
        if isinstance(value, Minutes):
            shown[name] = hours_and_minutes(int(value), language)
        elif isinstance(value, date) and not isinstance(value, datetime):
            shown[name] = long_date(value, language)
        else:
            shown[name] = value
    try:
        return text.format(**shown)
    except (KeyError, IndexError, ValueError):
        # A translation with a broken placeholder must not turn a refusal into a crash.
        return gettext_for("en", message).format(**shown)


# How each language writes an amount of hours (timebank/locale/README.md has the table).
# German and English write the clock's way with a unit: "2:30 Std.", "2:30 h" (German fixed by
# the network). Turkish, Russian and Arabic write hours and minutes each with CLDR's short unit
# ("2 sa. 30 dk.", "2 ч 30 мин", "2 س 30 د"), as their readers see durations everywhere else;
# these short units do not change with the number (tests/test_i18n_formats.py checks CLDR).
_CLOCK_UNIT = {"de": "Std.", "en": "h"}
MINUS = "\u2212"  # the minus sign, not the hyphen: clearer in large print
# Left-to-right isolate around a signed number in a right-to-left sentence: the sign stays
# left of its digits ("−1" read as Western digits are), and the sentence keeps its direction.
_LRI, _PDI = "\u2066", "\u2069"


def _signed(number: str, sign: str, language: str) -> str:
    if not sign:
        return number
    if language in RIGHT_TO_LEFT:
        return f"{_LRI}{sign}{number}{_PDI}"
    return sign + number


def hours_and_minutes(minutes: int, language: str = DEFAULT_LANGUAGE, *, plus: bool = False) -> str:
    """``150`` → ``2:30 Std.`` (de), ``2:30 h`` (en), ``2 sa. 30 dk.`` (tr), ``2 ч 30 мин``
    (ru), ``2 س 30 د`` (ar). A negative amount keeps its sign (``−1:30 Std.``); ``plus``
    marks a positive one (``+2:00 Std.``, statements)."""
    language = pick_language(language)
    locale = Locale.parse(language)
    minutes = int(minutes)
    sign = MINUS if minutes < 0 else "+" if plus and minutes > 0 else ""
    h, m = divmod(abs(minutes), 60)
    if language in _CLOCK_UNIT:
        clock = f"{format_decimal(h, locale=locale)}:{m:02d}"
        return f"{_signed(clock, sign, language)} {_CLOCK_UNIT[language]}"
    parts = []
    if h or not m:
        parts.append((h, "duration-hour"))
    if m:
        parts.append((m, "duration-minute"))
    words = []
    for n, unit in parts:
        number = _signed(format_decimal(n, locale=locale), sign, language)
        sign = ""  # the sign goes before the first number only: "−1 ч 30 мин"
        # A pre-formatted number takes the unit's "one" form, the same as every other form
        # for these short units.
        words.append(format_unit(number, unit, length="short", locale=locale))
    return " ".join(words)


def decimal_hours(minutes: int, language: str = DEFAULT_LANGUAGE) -> str:
    """``150`` → ``2,5 Std.`` (de) / ``2.5 h`` (en) / ``2,5 ч`` (ru), with the locale's decimal
    mark."""
    language = pick_language(language)
    locale = Locale.parse(language)
    sign = MINUS if minutes < 0 else ""
    amount = format_decimal(abs(minutes) / 60, format="#,##0.##", locale=locale)
    number = _signed(amount, sign, language)
    if language in _CLOCK_UNIT:
        return f"{number} {_CLOCK_UNIT[language]}"
    return format_unit(number, "duration-hour", length="short", locale=locale)


def decimal_marks(language: str) -> str:
    """The marks a person writing ``language`` may put between whole hours and their part:
    the locale's own (Babel), and in Arabic also the comma and the Arabic decimal mark,
    which Arabic keyboards offer beside the point."""
    language = pick_language(language)
    own = get_decimal_symbol(Locale.parse(language))
    return own + (",\u066b" if language == "ar" else "")


def read_hours(text: str, language: str = DEFAULT_LANGUAGE) -> int | None:
    """Minutes in an amount of hours as a person writing ``language`` types it: ``2``,
    ``1,5`` (de, tr, ru) or ``1.5`` (en; Arabic takes either, and ``٫``), ``1:30``; digits
    of any script (Arabic-Indic ``١:٣٠`` too). ``None`` for anything that could be read two
    ways or not at all: the other language's mark (``1.5`` in German), ``1:5``, a part of an
    hour that is no whole number of minutes (``1,33``), a grouping (``1,500`` in Arabic),
    a sign."""
    language = pick_language(language)
    # Digits of any script as ASCII digits; everything else stays as typed.
    text = "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text.strip())
    whole = re.fullmatch(r"[0-9]+", text)
    if whole:
        return int(text) * 60
    clock = re.fullmatch(r"([0-9]+):([0-5][0-9])", text)
    if clock:
        return int(clock[1]) * 60 + int(clock[2])
    part = re.fullmatch(r"([0-9]*)(\D)([0-9]+)", text)
    if part is None or part[2] not in decimal_marks(language):
        return None
    if part[2] == get_group_symbol(Locale.parse(language)) and len(part[3]) == 3:
        return None  # "1,500": a thousand and a half, or one and a half?
    minutes = Fraction(f"{part[1] or 0}.{part[3]}") * 60
    return int(minutes) if minutes.denominator == 1 else None


def long_date(value: date, language: str = DEFAULT_LANGUAGE) -> str:
    return format_date(value, format="long", locale=Locale.parse(pick_language(language)))


def short_date(value: date, language: str = DEFAULT_LANGUAGE) -> str:
    return format_date(value, format="short", locale=Locale.parse(pick_language(language)))
