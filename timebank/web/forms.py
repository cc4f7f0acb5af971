"""Forms: reading a posted form, turning its fields into values, and showing a refusal
next to the field it concerns.

``submit`` is the one way a page runs a domain call from a form: the call runs in a
savepoint, so a refusal leaves nothing half-written; a ``DomainError`` draws the form again
(status 400) with each error next to its field and the values kept; success redirects with
a ``?done=`` notice. (Signing in does not use it: a failed attempt must be committed to
count, so ``pages/signin.py`` answers it by hand.)

**Bounds at the edge.** Everything a page reads from the visitor is bounded here, once:
``guard_page_input`` (app.py runs it before every page handler) answers 404 for a path id
no row can have and refuses query text with NUL characters or of absurd length;
``form_of`` refuses NUL characters (PostgreSQL cannot store them); ``submit`` refuses text
longer than its column, next to its field; ``parse_whole`` refuses numbers PostgreSQL
cannot hold and ``parse_day`` anything but ``YYYY-MM-DD``. So bad input is a clear 4xx
naming its field, never a database error.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from typing import Any, Literal, TypeVar, overload

from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import exchanges, i18n, ledger, network
from timebank.errors import DomainError, Invalid
from timebank.i18n import N_
from timebank.models import Member
from timebank.schemas import MAX_INT, column_length
from timebank.web.frame import Req, language_of, see_other

T = TypeVar("T")

# Form fields stored as they are, by the column that holds them. Other fields are checked
# by their domain function (names, notes, titles, reasons) or are not stored as text; they
# are bounded by the longest text column a form fills.
FIELD_LENGTHS = {
    "email": column_length(Member, "email"),
    "phone": column_length(Member, "phone"),
    "availability": column_length(Member, "availability"),
    "best_time_to_call": column_length(Member, "best_time_to_call"),
    "language": column_length(Member, "language"),
}
MAX_FORM_TEXT = 2000
# Query values are filters, search words, cursors and page numbers: all short.
MAX_QUERY_TEXT = 500

# Marked for extraction here; translated where the refusal is shown.
UNSTORABLE = N_("this text contains a character that cannot be stored")
TOO_LONG = N_("this text is too long")
TOO_LARGE = N_("this number is too large")
# The translations show each language's own decimal mark ("1,5" in German).
HOURS_LIKE = N_("please enter the hours like 1.5 or 1:30")
ONE_WAY = N_("please enter the time one way only: 1.5 hours, or 1 hour and 30 minutes")

_PLAIN_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_WHOLE = re.compile(r"[-+\u2212]?\d+")


def refuse_nul(field: str, value: str) -> None:
    if "\x00" in value:
        raise Invalid(UNSTORABLE, field=field)


async def form_of(request: Req) -> dict[str, str]:
    """The posted form, each value stripped. A NUL character is refused at once (no person
    types one); text too long for its column is refused by ``submit``, next to its field."""
    data = await request.form()
    form = {k: v.strip() if isinstance(v, str) else "" for k, v in data.items()}
    for field, value in form.items():
        refuse_nul(field, value)
    return form


def refuse_overlong(form: Mapping[str, object]) -> None:
    for field, value in form.items():
        limit = FIELD_LENGTHS.get(field, MAX_FORM_TEXT)
        if isinstance(value, str) and len(value.strip()) > limit:
            raise Invalid(TOO_LONG, field=field, max_length=limit)


async def guard_page_input(request: Req) -> None:
    """Run before every page handler (app.py): the bounds of path and query input.

    A path id no row can have (PostgreSQL integers are 32-bit) is a page that does not
    exist; query text with a NUL character, or longer than any filter, is refused."""
    if request.url.path.startswith(("/api/", "/schema")):
        return  # the API bounds its own input (timebank/schemas.py, timebank/web/api.py)
    for value in request.path_params.values():
        if isinstance(value, int) and not 1 <= value <= MAX_INT:
            raise NotFoundException()
    for field, value in request.query_params.items():
        refuse_nul(field, value)
        if len(value) > MAX_QUERY_TEXT:
            raise Invalid(TOO_LONG, field=field, max_length=MAX_QUERY_TEXT)


ALREADY_SENT = N_("This form was sent already. To log more help, fill in the form again.")


def form_errors(exc: DomainError, lang: str) -> dict[str, str]:
    """A domain refusal as ``{field: message}`` in the reader's language, its values filled
    in (hours and dates as that language writes them); errors of no field use ``""``."""
    if isinstance(exc, ledger.IdempotencyConflict):
        # Sent again with other values (the back button): the first entry stands.
        return {"": i18n.gettext_for(lang, ALREADY_SENT)}
    return {exc.field or "": i18n.render(lang, exc.detail, exc.params)}


async def submit(
    request: Req,
    db: AsyncSession,
    action: Callable[[], Awaitable[T]],
    *,
    redraw: Callable[[dict[str, str]], Awaitable[Template]],
    done: str | Callable[[T], str | Template],
    status: int = 400,
    renamed: Mapping[str, str] | None = None,
    raising: tuple[type[DomainError], ...] = (),
) -> Template | Redirect:
    """Answer a posted form: run ``action`` (the domain call, reading the form it closes
    over) in a savepoint, so a refusal leaves nothing half-written.

    - Refused (a ``DomainError``): the savepoint is rolled back and ``redraw(errors)`` draws
      the form again, answered with ``status``. ``errors`` maps each field to its message
      in the reader's language (``""`` for errors of no field); ``renamed`` maps a domain
      field to the form field that shows it. ``redraw`` keeps the posted values by passing
      the form it was given; a form that books hours also gets a fresh ``once_key()``.
      Errors of the kinds in ``raising`` are not drawn but raised (e.g. ``Forbidden``,
      for the 403 page).
    - Accepted: a redirect (303) to ``done``, or to ``done(result)``; where ``done(result)``
      is a page rather than an address, that page is the answer.
    """
    try:
        async with db.begin_nested():
            refuse_overlong(await request.form())
            result = await action()
    except raising:
        raise
    except DomainError as exc:
        errors = form_errors(exc, language_of(request))
        if renamed:
            errors = {renamed.get(field, field): message for field, message in errors.items()}
        refused = await redraw(errors)
        refused.status_code = status
        return refused
    answer = done if isinstance(done, str) else done(result)
    return see_other(answer) if isinstance(answer, str) else answer


def once_key() -> str:
    """A fresh key for a form that books hours: sent twice (a double click, a reload), the
    form books once, because the domain returns the first result for a key it has seen."""
    return secrets.token_urlsafe(16)


def sent_key(form: dict[str, str]) -> str | None:
    return form.get("idempotency_key") or None


async def record_from_form(
    db: AsyncSession,
    actor: Member,
    form: dict[str, str],
    language: str,
    *,
    giver_id: int | None = None,
    receiver_id: int | None = None,
    request_id: int | None = None,
) -> exchanges.ExchangeResult:
    """Book the help a log-hours or assisted-entry form describes, its hours read the way
    ``language`` writes them. Giver and receiver come from the form unless the page fixes
    them (a helper logging their own hours)."""
    return await exchanges.record_exchange(
        db,
        actor,
        giver_id=giver_id or parse_whole(form.get("giver_id"), "giver_id", required=True),
        receiver_id=receiver_id
        or parse_whole(form.get("receiver_id"), "receiver_id", required=True),
        minutes=parse_duration(form, language),
        performed_on=parse_day(form.get("performed_on"), "performed_on", required=True),
        category=form.get("category", ""),
        note=form.get("note"),
        request_id=request_id,
        idempotency_key=sent_key(form),
    )


async def help_dates(db: AsyncSession) -> dict[str, Any]:
    """What a form with a date of help shows: today, the earliest day allowed and the
    network's window in days (the date field's ``min``/``max`` and its hint)."""
    settings = await network.network_settings(db)
    today = await network.today(db)
    return {
        "today": today,
        "earliest": network.earliest_help_day(settings, today),
        "help_days": settings.help_days_back,
    }


@overload
def parse_whole(value: str | None, field: str, *, required: Literal[True]) -> int: ...
@overload
def parse_whole(value: str | None, field: str, *, required: bool = False) -> int | None: ...
def parse_whole(value: str | None, field: str, *, required: bool = False) -> int | None:
    if not value:
        if required:
            raise Invalid("please fill in this field", field=field)
        return None
    # Digits only, of any script, after an optional sign (a minus typed "-" or "−"): int()
    # alone would also read "1_000" and " 1 ".
    if not _WHOLE.fullmatch(value):
        raise Invalid("please enter a whole number", field=field)
    number = int(value.replace("\u2212", "-"))
    if not -MAX_INT <= number <= MAX_INT:
        raise Invalid(TOO_LARGE, field=field)
    return number


@overload
def parse_day(value: str | None, field: str, *, required: Literal[True]) -> date: ...
@overload
def parse_day(value: str | None, field: str, *, required: bool = False) -> date | None: ...
def parse_day(value: str | None, field: str, *, required: bool = False) -> date | None:
    if not value:
        if required:
            raise Invalid("please fill in this field", field=field)
        return None
    try:
        # Only YYYY-MM-DD: fromisoformat also reads "20260331" and week dates.
        if not _PLAIN_DATE.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid("please enter a date like 2026-03-31", field=field) from None


def parse_duration(form: dict[str, str], language: str) -> int:
    """Hours and minutes from two fields, errors reported on ``minutes`` (the fieldset).

    The hours field is text, read the way ``language`` writes it (``i18n.read_hours``):
    ``2``, ``1,5`` in German, ``1.5`` in English, ``1:30``. It is no ``<input type=number>``:
    Chromium drops a decimal comma it does not expect, and "1,5" became 15 hours. Whatever
    could be read two ways is refused, never guessed: the other language's decimal mark, or
    a part of an hour given twice (``1,5`` and 30 in the minutes list)."""
    try:
        minutes = int(form.get("minutes") or 0)
    except ValueError:
        raise Invalid("please enter whole hours and minutes", field="minutes") from None
    if not 0 <= minutes < 60:
        raise Invalid("please enter whole hours and minutes", field="minutes")
    typed = form.get("hours") or "0"
    hours = i18n.read_hours(typed, language)
    if hours is None:
        raise Invalid(HOURS_LIKE, field="minutes")
    if minutes and not typed.isdecimal():
        raise Invalid(ONE_WAY, field="minutes")
    total = hours + minutes
    if total > MAX_INT:
        raise Invalid(TOO_LARGE, field="minutes")
    if total <= 0:
        raise Invalid("how long was it? Enter hours or minutes", field="minutes")
    return total
