"""Forms: reading a posted form, turning its fields into values, and showing a refusal
next to the field it concerns.

``submit`` is the one way a page runs a domain call from a form: the call runs in a
savepoint, so a refusal leaves nothing half-written; a ``DomainError`` draws the form again
(status 400) with each error next to its field and the values kept; success redirects with
a ``?done=`` notice. (Signing in does not use it: a failed attempt must be committed to
count, so ``pages/signin.py`` answers it by hand.)
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from typing import Literal, TypeVar, overload

from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import exchanges, i18n, ledger
from timebank.errors import DomainError, Invalid
from timebank.models import Member
from timebank.web.frame import Req, language_of, see_other

T = TypeVar("T")


async def form_of(request: Req) -> dict[str, str]:
    data = await request.form()
    return {k: v.strip() if isinstance(v, str) else "" for k, v in data.items()}


ALREADY_SENT = "This form was sent already. To log more help, fill in the form again."


def form_errors(exc: DomainError, lang: str) -> dict[str, str]:
    """A domain refusal as ``{field: message}``; errors that belong to no field use ``""``."""
    if isinstance(exc, ledger.IdempotencyConflict):
        # Sent again with other values (the back button): the first entry stands.
        return {"": i18n.gettext_for(lang, ALREADY_SENT)}
    return {exc.field or "": i18n.gettext_for(lang, exc.detail)}


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
    *,
    giver_id: int | None = None,
    receiver_id: int | None = None,
    request_id: int | None = None,
) -> exchanges.ExchangeResult:
    """Book the help a log-hours or assisted-entry form describes. Giver and receiver come
    from the form unless the page fixes them (a helper logging their own hours)."""
    return await exchanges.record_exchange(
        db,
        actor,
        giver_id=giver_id or parse_whole(form.get("giver_id"), "giver_id", required=True),
        receiver_id=receiver_id
        or parse_whole(form.get("receiver_id"), "receiver_id", required=True),
        minutes=parse_duration(form),
        performed_on=parse_day(form.get("performed_on"), "performed_on", required=True),
        category=form.get("category", ""),
        note=form.get("note"),
        request_id=request_id,
        idempotency_key=sent_key(form),
    )


@overload
def parse_whole(value: str | None, field: str, *, required: Literal[True]) -> int: ...
@overload
def parse_whole(value: str | None, field: str, *, required: bool = False) -> int | None: ...
def parse_whole(value: str | None, field: str, *, required: bool = False) -> int | None:
    if not value:
        if required:
            raise Invalid("please fill in this field", field=field)
        return None
    try:
        return int(value)
    except ValueError:
        raise Invalid("please enter a whole number", field=field) from None


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
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid("please enter a date like 2026-03-31", field=field) from None


def parse_duration(form: dict[str, str]) -> int:
    """Hours and minutes from two fields; errors are reported on ``minutes``."""
    try:
        hours = int(form.get("hours") or 0)
        minutes = int(form.get("minutes") or 0)
    except ValueError:
        raise Invalid("please enter whole hours and minutes", field="minutes") from None
    if hours < 0 or not 0 <= minutes < 60:
        raise Invalid("please enter whole hours and minutes", field="minutes")
    total = hours * 60 + minutes
    if total <= 0:
        raise Invalid("how long was it? Enter hours or minutes", field="minutes")
    return total
