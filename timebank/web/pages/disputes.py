"""Disputes on the pages (issue 9, point 4): the receiver says why an entry is not right, the
giver accepts a corrected length, the receiver takes a dispute back, and the network
manager settles the rest in the dispute queue (``/manage/disputes``). The rules are in
``timebank.disputes``."""

from __future__ import annotations

from typing import Any

from litestar import Router, get, post
from litestar.di import Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler

from timebank import disputes, exchanges, members, overview
from timebank.errors import Forbidden, NotFound
from timebank.models import Exchange
from timebank.web.forms import form_of, parse_duration, submit
from timebank.web.frame import Caller, Db, Req, language_of, link, page, provide_manager, see_other

# The reasons in the order the form offers them.
REASONS = ("did_not_happen", "length", "other")


async def _the_entry(db: Db, member: Caller, exchange_id: int) -> overview.ExchangeRow:
    """The help the form is about, as the receiver's side sees it on their home page."""
    exchange = await db.get(Exchange, exchange_id)
    if exchange is None:
        raise NotFound(exchanges.EXCHANGE_NOT_FOUND)
    receiver = await members.get_member(db, exchange.receiver_id)
    for row in await overview.to_decide(db, member, receiver):
        if row.exchange.id == exchange_id:
            return row
    raise NotFound(exchanges.EXCHANGE_NOT_FOUND)


def _length(form: dict[str, str], language: str) -> int | None:
    """The length typed into the form, read the reader's way; none typed is None."""
    if not (form.get("hours") or "").strip() and (form.get("minutes") or "0") == "0":
        return None
    return parse_duration(form, language)


@get("/exchanges/{exchange_id:int}/dispute", name="dispute_form", include_in_schema=False)
async def dispute_form(
    request: Req, db: Db, member: Caller, exchange_id: FromPath[int]
) -> Template:
    row = await _the_entry(db, member, exchange_id)
    return page(request, "disputes/form.html", row=row, reasons=REASONS, form={"minutes": "0"})


@post("/exchanges/{exchange_id:int}/reject", name="dispute_exchange", include_in_schema=False)
async def dispute(
    request: Req, db: Db, member: Caller, exchange_id: FromPath[int]
) -> Template | Redirect:
    form = await form_of(request)
    language = language_of(request)

    async def redraw(errors: dict[str, str]) -> Template:
        row = await _the_entry(db, member, exchange_id)
        return page(
            request, "disputes/form.html", row=row, reasons=REASONS, form=form, errors=errors
        )

    # The form (and the API) call the kind of reason "why" and the words "reason"; words
    # written without a kind chosen are "something else".
    why = form.get("why") or ("other" if form.get("reason") else "")
    return await submit(
        request,
        db,
        lambda: disputes.open_dispute(
            db,
            member,
            exchange_id,
            reason=why,
            minutes=_length(form, language) if why == "length" else None,
            note=form.get("reason"),
        ),
        redraw=redraw,
        renamed={"reason": "why", "note": "reason"},
        done=link(request, "home", {"done": "disputed"}),
        raising=(Forbidden, NotFound),
    )


@post(
    "/exchanges/{exchange_id:int}/dispute/accept", name="accept_correction", include_in_schema=False
)
async def accept_correction(
    request: Req, db: Db, member: Caller, exchange_id: FromPath[int]
) -> Redirect:
    await disputes.accept_correction(db, member, exchange_id)
    return see_other(link(request, "home", {"done": "correction_accepted"}))


@post(
    "/exchanges/{exchange_id:int}/dispute/withdraw",
    name="withdraw_dispute",
    include_in_schema=False,
)
async def withdraw_dispute(
    request: Req, db: Db, member: Caller, exchange_id: FromPath[int]
) -> Redirect:
    await disputes.withdraw(db, member, exchange_id)
    return see_other(link(request, "home", {"done": "dispute_withdrawn"}))


# --- The manager's queue ------------------------------------------------------------------------


async def _queue(db: Db, manager: Caller, **context: Any) -> dict[str, Any]:
    return {
        "queue": await disputes.queue(db, manager),
        "settled": await disputes.recently_settled(db, manager),
        **context,
    }


@get("/disputes", name="manage_disputes", include_in_schema=False)
async def dispute_queue(request: Req, db: Db, manager: Caller) -> Template:
    return page(request, "disputes/queue.html", **await _queue(db, manager))


@post("/disputes/{exchange_id:int}/settle", name="settle_dispute", include_in_schema=False)
async def settle_dispute(
    request: Req, db: Db, manager: Caller, exchange_id: FromPath[int]
) -> Template | Redirect:
    form = await form_of(request)
    outcome = form.get("outcome", "")

    async def redraw(errors: dict[str, str]) -> Template:
        # The queue again, the refused form with its values and errors, the others empty.
        context = await _queue(db, manager, failed=exchange_id, form=form, errors=errors)
        return page(request, "disputes/queue.html", **context)

    return await submit(
        request,
        db,
        lambda: disputes.settle(
            db,
            manager,
            exchange_id,
            outcome=outcome,
            note=form.get("note", ""),
            minutes=parse_duration(form, language_of(request)) if outcome == "corrected" else None,
        ),
        redraw=redraw,
        done=link(request, "manage_disputes", {"done": "dispute_settled"}),
    )


DISPUTE_QUEUE = Router(
    path="/manage",
    route_handlers=[dispute_queue, settle_dispute],
    dependencies={"manager": Provide(provide_manager)},
)

ROUTES: list[ControllerRouterHandler] = [
    dispute_form,
    dispute,
    accept_correction,
    withdraw_dispute,
    DISPUTE_QUEUE,
]
