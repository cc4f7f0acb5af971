"""The network office's queue of held help (``/manage/held``; issue 9, point 1).

Handlers only: they call ``timebank.held`` (the queue, what a pool payment would do) and
``timebank.exchanges`` (paying from the pool, booking with a reason), and draw templates
from ``templates/held/``. Paying from the pool always goes through a confirmation page that
shows the pool's balance after it; the payment itself is the ``pay_from_pool`` route of
``pages/manager.py``. Only the network manager gets in (the ``manager`` dependency).
"""

from __future__ import annotations

from litestar import Router, get, post
from litestar.di import Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template

from timebank import exchanges, held
from timebank.web.forms import form_of, submit
from timebank.web.frame import Caller, Db, Req, link, page, provide_manager

# Where the confirmation page leads back to: the queue, or the lists of pending help.
BACKS = ("manage_held", "exchange_lists", "pool_page")


def back_of(value: str | None) -> str:
    return value if value in BACKS else "exchange_lists"


@get("/held", name="manage_held", include_in_schema=False)
async def queue(request: Req, db: Db, manager: Caller) -> Template:
    return page(request, "held/queue.html", entries=await held.queue(db, manager))


@get(
    "/exchanges/{exchange_id:int}/pool-payment",
    name="pay_from_pool_form",
    include_in_schema=False,
)
async def pay_from_pool_form(
    request: Req, db: Db, manager: Caller, exchange_id: FromPath[int]
) -> Template:
    """Paying from the pool ("Aus dem Topf bezahlen"): what it would do, before it is done."""
    payment = await held.pool_payment(db, manager, exchange_id)
    back = back_of(request.query_params.get("back"))
    return page(request, "held/pay.html", payment=payment, back=back)


async def pay_page(
    request: Req, db: Db, manager: Caller, exchange_id: int, back: str, errors: dict[str, str]
) -> Template:
    """The confirmation page drawn again with a refusal (pages/manager.py's pay_from_pool)."""
    payment = await held.pool_payment(db, manager, exchange_id)
    return page(request, "held/pay.html", payment=payment, back=back, errors=errors)


@get("/held/{exchange_id:int}/override", name="override_form", include_in_schema=False)
async def override_form(
    request: Req, db: Db, manager: Caller, exchange_id: FromPath[int]
) -> Template:
    entry = await held.entry_to_settle(db, manager, exchange_id)
    return page(request, "held/override.html", entry=entry)


@post("/held/{exchange_id:int}/override", name="book_held", include_in_schema=False)
async def book_held(
    request: Req, db: Db, manager: Caller, exchange_id: FromPath[int]
) -> Template | Redirect:
    form = await form_of(request)

    async def redraw(errors: dict[str, str]) -> Template:
        entry = await held.entry_to_settle(db, manager, exchange_id)
        return page(request, "held/override.html", entry=entry, form=form, errors=errors)

    return await submit(
        request,
        db,
        lambda: exchanges.book_with_override(db, manager, exchange_id, form.get("override_reason")),
        redraw=redraw,
        done=link(request, "manage_held", {"done": "booked_by_office"}),
    )


HELD_PAGES = Router(
    path="/manage",
    dependencies={"manager": Provide(provide_manager)},
    route_handlers=[queue, pay_from_pool_form, override_form, book_held],
)

ROUTES = [HELD_PAGES]
