"""Every Jinja filter of the pages, and the gettext callables of Jinja's i18n extension.

The language of a page is the ``lang`` variable of its template context (set by
``timebank.web.page``), so one shared Jinja environment serves every language at once:
the filters and ``gettext`` read it from the context instead of from global state. So does
the town's clock (``town_clock``, the network's time zone) that turns stored moments into
local days and times.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_decimal, format_percent
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from timebank import exchanges, i18n
from timebank.network import TownClock

# A page drawn before the network's settings were read (an error page for a visitor) shows
# times as the settings' default zone would.
_DEFAULT_CLOCK = TownClock.named(None)


def _lang(ctx: Context) -> str:
    return i18n.pick_language(ctx.get("lang"))


def _locale(ctx: Context) -> Locale:
    return Locale.parse(_lang(ctx))


def _isolated(ctx: Context, text: str) -> str:
    """On a right-to-left page a figure keeps its own direction inside the sentence around
    it: "−7:45 h", not "h 7:45−". ``<bdi>`` takes its direction from its first strong letter,
    so Latin "h" reads left to right and an Arabic unit or date still reads right to left.
    Left-to-right pages get the plain text."""
    return Markup("<bdi>%s</bdi>") % text if ctx.get("rtl") and text else text


@pass_context
def isolate(ctx: Context, text: Any) -> str:
    """What people typed (a name, a note, a title, a phone number) on a right-to-left page:
    "Caritas e.V." keeps its full stop at its end, "+49 170 123" its order, and two names
    side by side stay in the sentence's order."""
    return _isolated(ctx, "" if text is None else str(text))


@pass_context
def hours(ctx: Context, minutes: int | None) -> str:
    """150 → "2:30 Std." / "2:30 h" / "2 ч 30 мин": each language's way, i18n.hours_and_minutes."""
    return _isolated(ctx, i18n.hours_and_minutes(minutes or 0, _lang(ctx)))


@pass_context
def signed_hours(ctx: Context, minutes: int | None) -> str:
    """Statement amounts: "+2:00 Std." for hours received, "−1:30 Std." for hours paid."""
    # The sign is written by i18n, which knows where it goes in a right-to-left sentence.
    return _isolated(ctx, i18n.hours_and_minutes(minutes or 0, _lang(ctx), plus=True))


@pass_context
def decimal_hours(ctx: Context, minutes: int | None) -> str:
    """150 → "2,5 Std." / "2.5 h"."""
    return _isolated(ctx, i18n.decimal_hours(minutes or 0, _lang(ctx)))


def _clock(ctx: Context) -> TownClock:
    return ctx.get("town_clock") or _DEFAULT_CLOCK


def _local(ctx: Context, value: datetime) -> datetime:
    """A stored moment as the town's people read their clocks."""
    return _clock(ctx).local(value)


def _local_day(ctx: Context, value: date | datetime) -> date:
    """A stored moment as the day it was in the network's town (dates pass through)."""
    return _clock(ctx).day_of(value) if isinstance(value, datetime) else value


@pass_context
def long_date(ctx: Context, value: date | datetime | None) -> str:
    if value is None:
        return ""
    return _isolated(ctx, format_date(_local_day(ctx, value), format="long", locale=_locale(ctx)))


@pass_context
def short_date(ctx: Context, value: date | datetime | None) -> str:
    if value is None:
        return ""
    return _isolated(ctx, format_date(_local_day(ctx, value), format="medium", locale=_locale(ctx)))


@pass_context
def date_time(ctx: Context, value: datetime | None) -> str:
    if value is None:
        return ""
    return _isolated(ctx, format_datetime(_local(ctx, value), format="medium", locale=_locale(ctx)))


@pass_context
def clock(ctx: Context, value: datetime | None) -> str:
    if value is None:
        return ""
    return _isolated(ctx, format_time(_local(ctx, value), format="short", locale=_locale(ctx)))


@pass_context
def month(ctx: Context, value: date | datetime | None) -> str:
    """The month as "November 2026" in the page's language (headings of the statement)."""
    if value is None:
        return ""
    return _isolated(
        ctx, format_date(_local_day(ctx, value), format="LLLL yyyy", locale=_locale(ctx))
    )


@pass_context
def number(ctx: Context, value: float | None) -> str:
    """1.5 → "1,5" (de): a figure of the dashboard in the page's language."""
    if value is None:
        return ""
    return _isolated(ctx, format_decimal(value, format="#,##0.#", locale=_locale(ctx)))


@pass_context
def percent(ctx: Context, value: float | None) -> str:
    """50 → "50 %" (de) / "%50" (tr): a whole percentage in the page's language."""
    return _isolated(ctx, format_percent((value or 0) / 100, locale=_locale(ctx)))


@pass_context
def month_name(ctx: Context, number: int) -> str:
    """A month's name on its own ("März"), for the statement's choice of month."""
    return format_date(date(2000, number, 1), format="LLLL", locale=_locale(ctx))


@pass_context
def weekday_name(ctx: Context, number: int) -> str:
    """A weekday's name on its own ("Montag"), Monday = 0 (the settings' schedules)."""
    return format_date(date(2024, 1, 1 + number), format="EEEE", locale=_locale(ctx))


@pass_context
def iso_date(ctx: Context, value: date | datetime | None) -> str:
    """For ``<time datetime=…>`` and ``<input type=date>``."""
    if value is None:
        return ""
    return _local_day(ctx, value).isoformat()


@pass_context
def category_name(ctx: Context, category: Any) -> str:
    """Categories carry their names in German and English; in other languages a seeded
    kind's English name is a catalogue id (``directory.SEEDED_CATEGORY_NAMES``), and a kind
    the office added shows its German name rather than English."""
    if category is None:
        return ""
    language = _lang(ctx)
    if language in ("de", "en"):
        return str(category.name_de if language == "de" else category.name_en)
    translated = i18n.gettext_for(language, category.name_en)
    return str(translated if translated != category.name_en else category.name_de)


@pass_context
def note(ctx: Context, text: str | None) -> str:
    """A note from the books: one the system wrote (``exchanges.SYSTEM_NOTES``) in the page's
    language; a person's own note as they wrote it."""
    if not text:
        return ""
    message = exchanges.SYSTEM_NOTES.get(text)
    return text if message is None else i18n.gettext_for(_lang(ctx), message)


def choices(items: list[Any], value: str = "id", text: str = "name") -> list[tuple[str, str]]:
    """Objects as (value, text) pairs for the ``select`` and ``radios`` macros."""
    return [(str(getattr(item, value)), str(getattr(item, text))) for item in items]


@pass_context
def category_choices(ctx: Context, items: list[Any], value: str = "slug") -> list[tuple[str, str]]:
    return [(str(getattr(c, value)), category_name(ctx, c)) for c in items]


@pass_context
def _gettext(ctx: Context, message: str) -> str:
    return i18n.translations(_lang(ctx)).gettext(message)


@pass_context
def _ngettext(ctx: Context, singular: str, plural: str, n: int) -> str:
    return i18n.translations(_lang(ctx)).ngettext(singular, plural, n)


@pass_context
def _pgettext(ctx: Context, context: str, message: str) -> str:
    return i18n.translations(_lang(ctx)).pgettext(context, message)


@pass_context
def _npgettext(ctx: Context, context: str, singular: str, plural: str, n: int) -> str:
    return i18n.translations(_lang(ctx)).npgettext(context, singular, plural, n)


FILTERS = {
    "hours": hours,
    "signed_hours": signed_hours,
    "decimal_hours": decimal_hours,
    "long_date": long_date,
    "short_date": short_date,
    "date_time": date_time,
    "clock": clock,
    "month": month,
    "month_name": month_name,
    "weekday_name": weekday_name,
    "number": number,
    "percent": percent,
    "iso_date": iso_date,
    "category_name": category_name,
    "isolate": isolate,
    "note": note,
    "choices": choices,
    "category_choices": category_choices,
}


def install(env: Environment) -> None:
    """Add the filters and the per-page-language gettext to ``env`` (which must have the
    ``jinja2.ext.i18n`` extension)."""
    env.filters.update(FILTERS)
    # The i18n extension adds this method to the environment; Jinja's types do not know it.
    env.install_gettext_callables(  # type: ignore[attr-defined]
        _gettext, _ngettext, newstyle=True, pgettext=_pgettext, npgettext=_npgettext
    )
