"""Languages: gettext catalogues (``timebank/locale/<lang>/LC_MESSAGES/messages.po``) and
locale-aware formatting of hours, numbers and dates through Babel.

Message ids are English; German is the default language for members. Catalogues are read
from the ``.po`` files at start (no compile step), so a translator only edits text files.
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from io import BytesIO

from babel import Locale
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

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


def hours_and_minutes(minutes: int, language: str = DEFAULT_LANGUAGE) -> str:
    """``150`` → ``2:30 Std.`` (de) / ``2:30 h``; negative balances keep their sign."""
    sign = "−" if minutes < 0 else ""
    h, m = divmod(abs(int(minutes)), 60)
    unit = "Std." if pick_language(language) == "de" else "h"
    return f"{sign}{h}:{m:02d} {unit}"


def decimal_hours(minutes: int, language: str = DEFAULT_LANGUAGE) -> str:
    """``150`` → ``2,5 Std.`` (de) / ``2.5 h`` (en), with the locale's decimal mark."""
    language = pick_language(language)
    number = format_decimal(minutes / 60, format="#,##0.##", locale=Locale.parse(language))
    unit = "Std." if language == "de" else "h"
    return f"{number} {unit}"


def long_date(value: date, language: str = DEFAULT_LANGUAGE) -> str:
    return format_date(value, format="long", locale=Locale.parse(pick_language(language)))


def short_date(value: date, language: str = DEFAULT_LANGUAGE) -> str:
    return format_date(value, format="short", locale=Locale.parse(pick_language(language)))
