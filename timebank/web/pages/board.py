"""The offers and requests board (``/board``), for every signed-in member."""

from __future__ import annotations

from typing import Any

from litestar import get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from timebank import board, network, overview
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
    return page(request, "board/index.html", tab="requests", listing=listing, **context)


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


ROUTES = [board_requests, board_offers, offer_form, create_offer, close_offer]
