"""The offers and requests board (``/board``), for every signed-in member."""

from __future__ import annotations

from typing import Any

from litestar import get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from timebank import board, network, overview
from timebank.errors import Forbidden, NotFound
from timebank.models import id_of
from timebank.web.forms import form_of, parse_day, parse_whole, submit
from timebank.web.frame import Caller, Db, Req, link, page, see_other

# --- The offers and requests board (every signed-in member) ---------------------------------


async def _board_filters(request: Req, db: Db) -> tuple[dict[str, Any], dict[str, Any]]:
    q = request.query_params
    form = {k: q.get(k, "") for k in ("category_id", "district_id", "q", "expired")}
    query = {
        "category_id": parse_whole(form["category_id"], "category_id"),
        "district_id": parse_whole(form["district_id"], "district_id"),
        "search": form["q"],
        "include_expired": form["expired"] == "1",
        "page": parse_whole(q.get("page"), "page") or 1,
    }
    context = {
        "form": form,
        "filters": {k: v for k, v in form.items() if v},
        "categories": await overview.categories(db),
        "districts": await overview.districts(db),
        "today": await network.today(db),
    }
    return query, context


@get("/board", name="board_requests", include_in_schema=False)
async def board_requests(request: Req, db: Db, member: Caller) -> Template:
    query, context = await _board_filters(request, db)
    listing = await board.open_requests(db, member, today=context["today"], **query)
    offered = await board.offered_help(db, member, [id_of(c.request) for c in listing.items])
    return page(
        request, "board/index.html", tab="requests", listing=listing, offered=offered, **context
    )


@get("/board/offers", name="board_offers", include_in_schema=False)
async def board_offers(request: Req, db: Db, member: Caller) -> Template:
    query, context = await _board_filters(request, db)
    listing = await board.open_offers(db, member, today=context["today"], **query)
    mine = await board.offers_of(db, member, id_of(member))
    return page(request, "board/index.html", tab="offers", listing=listing, mine=mine, **context)


async def _offer_context(db: Db) -> dict[str, Any]:
    return {
        "categories": await overview.categories(db),
        "districts": await overview.districts(db),
        "today": await network.today(db),
    }


@get("/board/offers/new", name="offer_form", include_in_schema=False)
async def offer_form(request: Req, db: Db, member: Caller) -> Template:
    form = {"district_id": str(member.district_id or "")}
    return page(request, "board/offer_new.html", form=form, **await _offer_context(db))


@post("/board/offers/new", name="create_offer", include_in_schema=False)
async def create_offer(request: Req, db: Db, member: Caller) -> Template | Redirect:
    form = await form_of(request)

    async def redraw(errors: dict[str, str]) -> Template:
        context = await _offer_context(db)
        return page(request, "board/offer_new.html", form=form, errors=errors, **context)

    return await submit(
        request,
        db,
        lambda: board.create_offer(
            db,
            member,
            member_id=id_of(member),
            category_id=parse_whole(form.get("category_id"), "category_id"),
            title=form.get("title", ""),
            description=form.get("description"),
            district_id=parse_whole(form.get("district_id"), "district_id"),
            expires_on=parse_day(form.get("expires_on"), "expires_on"),
        ),
        redraw=redraw,
        done=link(request, "board_offers", {"done": "offered"}),
    )


@post("/board/offers/{offer_id:int}/close", name="close_offer", include_in_schema=False)
async def close_offer(request: Req, db: Db, member: Caller, offer_id: FromPath[int]) -> Redirect:
    await board.close_offer(db, member, offer_id)
    return see_other(link(request, "board_offers", {"done": "offer_closed"}))


# --- Taking up an offer ("Das möchte ich") and taking back an offer of help --------------------


async def _take_context(db: Db, member: Caller, offer_id: int) -> dict[str, Any]:
    """The offer, and whom staff may take it up for: a professional picks one of their
    clients, the manager (who acts for everyone) types a member number."""
    return {
        "card": await board.get_offer(db, member, offer_id),
        "clients": await overview.clients_of(db, member),
        "today": await network.today(db),
    }


@get("/board/offers/{offer_id:int}/take", name="take_offer_form", include_in_schema=False)
async def take_offer_form(
    request: Req, db: Db, member: Caller, offer_id: FromPath[int]
) -> Template:
    context = await _take_context(db, member, offer_id)
    form = {"member_id": "" if member.is_staff else str(member.id)}
    return page(request, "board/take.html", form=form, **context)


@post("/board/offers/{offer_id:int}/take", name="take_offer", include_in_schema=False)
async def take_offer(
    request: Req, db: Db, member: Caller, offer_id: FromPath[int]
) -> Template | Redirect:
    form = await form_of(request)

    async def redraw(errors: dict[str, str]) -> Template:
        context = await _take_context(db, member, offer_id)
        return page(request, "board/take.html", form=form, errors=errors, **context)

    return await submit(
        request,
        db,
        lambda: board.take_up_offer(
            db,
            member,
            offer_id,
            member_id=parse_whole(form.get("member_id"), "member_id", required=True),
        ),
        redraw=redraw,
        done=lambda taken: link(request, "show_request", {"done": "taken_up"}, request_id=taken.id),
        status=409,
        raising=(Forbidden, NotFound),
    )


@post(
    "/requests/{request_id:int}/withdraw-offer", name="withdraw_response", include_in_schema=False
)
async def withdraw_response(
    request: Req, db: Db, member: Caller, request_id: FromPath[int]
) -> Redirect:
    await board.withdraw_response(db, member, request_id)
    return see_other(
        link(request, "show_request", {"done": "response_withdrawn"}, request_id=request_id)
    )


ROUTES = [
    board_requests,
    board_offers,
    offer_form,
    create_offer,
    close_offer,
    take_offer_form,
    take_offer,
    withdraw_response,
]
