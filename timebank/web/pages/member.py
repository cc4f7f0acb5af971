"""Pages for members: home, logging hours, confirming, the statement, giving to the pool,
asking for help and answering a request."""

from __future__ import annotations

from typing import Any

from litestar import get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from timebank import access, board, disputes, exchanges, flags, members, network, overview
from timebank.errors import Conflict, Forbidden, Invalid
from timebank.models import URGENCIES, Member, id_of
from timebank.web.forms import (
    form_of,
    help_dates,
    once_key,
    parse_day,
    parse_duration,
    parse_whole,
    record_from_form,
    sent_key,
    submit,
)
from timebank.web.frame import (
    Caller,
    Db,
    Req,
    language_of,
    link,
    page,
    see_other,
    written_for,
)


@get("/home", name="home", include_in_schema=False)
async def home(request: Req, db: Db, member: Caller) -> Template:
    context: dict[str, Any] = {
        "balance": await overview.balance(db, member, member),
        "to_decide": await overview.to_decide(db, member, member),
        "waiting": await overview.waiting_for_others(db, member, member),
        "balance_note_kinds": await flags.own_balance_flag_kinds(db, member),
        "disputed": await disputes.of_member(db, member, member),
    }
    # Where the member is the chosen helper (an offer of theirs taken up, or chosen).
    context["expected"] = await board.expected_at(db, member)
    if member.role == "senior":
        context["my_requests"] = [
            c
            for c in await board.requests_of(db, member, id_of(member))
            if c.request.status in ("open", "matched")
        ]
        return page(request, "home/senior.html", **context)
    context["fitting"] = await board.requests_for_helper(db, member, limit=10)
    context["offered"] = await board.offered_help(
        db, member, [id_of(c.request) for c in context["fitting"]]
    )
    if member.role == "professional":
        context["assisted"] = await overview.entered_by(db, member, limit=10)
    return page(request, "home/volunteer.html", **context)


# --- Logging hours ----------------------------------------------------------------------------


async def _log_form_context(db: Db, member: Caller, request_id: int | None) -> dict[str, Any]:
    card = await board.get_request(db, member, request_id) if request_id else None
    people = await overview.people_helped_before(db, member)
    if card is not None and all(p.id != card.request.member_id for p in people):
        people.insert(0, await members.get_member(db, card.request.member_id))
    return {
        "card": card,
        "people": people,
        "categories": await overview.categories(db),
        **await help_dates(db),
    }


@get("/exchanges/new", name="log_hours_form", include_in_schema=False)
async def log_hours_form(request: Req, db: Db, member: Caller) -> Template:
    request_id = parse_whole(request.query_params.get("request"), "request")
    context = await _log_form_context(db, member, request_id)
    form = {
        "performed_on": context["today"].isoformat(),
        "hours": "1",
        "minutes": "0",
        "idempotency_key": once_key(),
    }
    card = context["card"]
    if card is not None:
        form |= {
            "receiver_id": str(card.request.member_id),
            "category": card.category.slug,
            "request_id": str(card.request.id),
        }
    return page(request, "exchanges/new.html", form=form, **context)


@post("/exchanges/new", name="log_hours", include_in_schema=False)
async def log_hours(request: Req, db: Db, member: Caller) -> Template | Redirect:
    form = await form_of(request)

    async def log() -> None:
        receiver = parse_whole(form.get("receiver_number"), "receiver_number") or parse_whole(
            form.get("receiver_id"), "receiver_id"
        )
        if receiver is None:
            raise Invalid("choose whom you helped", field="receiver_id")
        await record_from_form(
            db,
            member,
            form,
            language_of(request),
            giver_id=member.id,
            receiver_id=receiver,
            request_id=parse_whole(form.get("request_id"), "request_id"),
        )

    async def redraw(errors: dict[str, str]) -> Template:
        form["idempotency_key"] = once_key()
        context = await _log_form_context(db, member, parse_whole(form.get("request_id"), "x"))
        return page(request, "exchanges/new.html", form=form, errors=errors, **context)

    return await submit(
        request, db, log, redraw=redraw, done=link(request, "home", {"done": "logged"})
    )


async def _assisted_context(db: Db, member: Caller) -> dict[str, Any]:
    access.require_staff(member)
    return {
        "clients": await overview.clients_of(db, member),
        "helpers": await overview.helpers(db, member),
        "categories": await overview.categories(db),
        **await help_dates(db),
    }


@get("/exchanges/assisted", name="assisted_form", include_in_schema=False)
async def assisted_form(request: Req, db: Db, member: Caller) -> Template | Redirect:
    if access.is_manager(member):
        # The manager acts for everyone: their form takes member numbers, not a client list.
        return see_other(link(request, "manage_assisted_form"))
    context = await _assisted_context(db, member)
    form = {
        # Chosen on the clients page ("Enter help for …").
        "receiver_id": request.query_params.get("receiver_id", ""),
        "performed_on": context["today"].isoformat(),
        "hours": "1",
        "minutes": "0",
        "idempotency_key": once_key(),
    }
    return page(request, "exchanges/assisted.html", form=form, **context)


@post("/exchanges/assisted", name="assisted_entry", include_in_schema=False)
async def assisted_entry(request: Req, db: Db, member: Caller) -> Template | Redirect:
    context = await _assisted_context(db, member)
    form = await form_of(request)

    async def redraw(errors: dict[str, str]) -> Template:
        form["idempotency_key"] = once_key()
        return page(request, "exchanges/assisted.html", form=form, errors=errors, **context)

    return await submit(
        request,
        db,
        lambda: record_from_form(db, member, form, language_of(request)),
        redraw=redraw,
        done=link(request, "home", {"done": "assisted"}),
    )


@post("/exchanges/{exchange_id:int}/confirm", name="confirm_exchange", include_in_schema=False)
async def confirm(request: Req, db: Db, member: Caller, exchange_id: FromPath[int]) -> Redirect:
    form = await form_of(request)
    # The manager confirms from the list of pending help, and goes back there.
    back = "exchange_lists" if form.get("back") == "exchange_lists" else "home"
    try:
        async with db.begin_nested():
            result = await exchanges.confirm_exchange(db, member, exchange_id)
    except Conflict:
        # Decided meanwhile (the other side, the office, a second tab): said in words.
        return see_other(link(request, back, {"done": "already_decided"}))
    # Beyond a limit nobody is refused: held for the office, and the page says so calmly.
    done = "held" if result.exchange.status == "held" else "confirmed"
    return see_other(link(request, back, {"done": done}))


# --- Statement and donations ------------------------------------------------------------------


@get("/statement", name="my_statement", include_in_schema=False)
async def my_statement(request: Req, member: Caller) -> Redirect:
    # The choice of period goes along (the menu links here without one).
    period = {k: v for k in ("year", "month") if (v := request.query_params.get(k))}
    return see_other(link(request, "statement", period, member_id=member.id))


@get("/members/{member_id:int}/statement", name="statement", include_in_schema=False)
async def statement(request: Req, db: Db, member: Caller, member_id: FromPath[int]) -> Template:
    """A month's or a year's statement (``?year=2026&month=3``; no month: the whole year)."""
    q = request.query_params
    view = await overview.statement(
        db,
        member,
        member_id,
        year=parse_whole(q.get("year"), "year"),
        month=parse_whole(q.get("month"), "month"),
    )
    form = {"year": str(view.period.year), "month": str(view.period.month or "")}
    return page(
        request,
        "statement/statement.html",
        statement=view,
        paper=written_for(view.member),
        form=form,
    )


@get("/donate", name="donate_form", include_in_schema=False)
async def donate_form(request: Req, db: Db, member: Caller) -> Template:
    balance = await overview.balance(db, member, member)
    return page(
        request,
        "exchanges/donate.html",
        balance=balance,
        form={"hours": "1", "idempotency_key": once_key()},
    )


@post("/donate", name="donate", include_in_schema=False)
async def donate(request: Req, db: Db, member: Caller) -> Template | Redirect:
    form = await form_of(request)

    async def redraw(errors: dict[str, str]) -> Template:
        form["idempotency_key"] = once_key()
        balance = await overview.balance(db, member, member)
        return page(request, "exchanges/donate.html", form=form, errors=errors, balance=balance)

    return await submit(
        request,
        db,
        lambda: exchanges.donate_to_pool(
            db,
            member,
            parse_duration(form, language_of(request)),
            idempotency_key=sent_key(form),
        ),
        redraw=redraw,
        done=link(request, "home", {"done": "donated"}),
    )


# --- Asking for help and answering ------------------------------------------------------------


async def _request_form_context(
    db: Db, member: Caller, for_id: int | None = None
) -> dict[str, Any]:
    # Staff ask for someone else: a professional picks one of their clients; anyone asking
    # through ``?for=`` (a client's page, the manager) is shown whom it is for.
    for_member = await db.get(Member, for_id) if for_id and for_id != member.id else None
    if for_member is not None and not access.can_act_as(member, for_member):
        for_member = None  # the domain refuses it, at its field
    return {
        "for_member": for_member,
        "categories": await overview.categories(db),
        "districts": await overview.districts(db),
        "clients": await overview.clients_of(db, member),
        "urgencies": URGENCIES,
        "today": await network.today(db),
    }


@get("/requests/new", name="request_form", include_in_schema=False)
async def request_form(request: Req, db: Db, member: Caller) -> Template:
    for_id = parse_whole(request.query_params.get("for"), "for")
    form = {
        "urgency": "normal",
        # Staff ask for a client: without a district chosen the request takes the client's
        # (board.create_request), never the staff member's own (issue 9, point 6).
        "district_id": "" if member.is_staff else str(member.district_id or ""),
        "contact": member.phone or "",
        "member_id": str(for_id or ("" if member.role == "professional" else member.id)),
    }
    context = await _request_form_context(db, member, for_id)
    return page(request, "requests/new.html", form=form, **context)


@post("/requests/new", name="ask_for_help", include_in_schema=False)
async def ask_for_help(request: Req, db: Db, member: Caller) -> Template | Redirect:
    form = await form_of(request)

    async def redraw(errors: dict[str, str]) -> Template:
        for_id = parse_whole(form.get("member_id"), "member_id")
        context = await _request_form_context(db, member, for_id)
        return page(request, "requests/new.html", form=form, errors=errors, **context)

    return await submit(
        request,
        db,
        lambda: board.create_request(
            db,
            member,
            # A professional asks for a client, chosen from the list.
            member_id=parse_whole(
                form.get("member_id"), "member_id", required=member.role == "professional"
            )
            or id_of(member),
            category_id=parse_whole(form.get("category_id"), "category_id"),
            title=form.get("title", ""),
            description=form.get("description"),
            district_id=parse_whole(form.get("district_id"), "district_id"),
            needed_on=parse_day(form.get("needed_on"), "needed_on"),
            when_text=form.get("when_text"),
            urgency=form.get("urgency") or "normal",
            contact=form.get("contact"),
        ),
        redraw=redraw,
        done=lambda created: link(
            request, "show_request", {"done": "asked"}, request_id=created.id
        ),
    )


@get("/requests/{request_id:int}", name="show_request", include_in_schema=False)
async def show_request(request: Req, db: Db, member: Caller, request_id: FromPath[int]) -> Template:
    card = await board.get_request(db, member, request_id)
    requester = await members.get_member(db, card.request.member_id)
    own = access.can_act_as(member, requester)
    return page(
        request,
        "requests/show.html",
        card=card,
        own=own,
        responses=await board.responses_to(db, member, request_id) if own else [],
        contacts=await board.contacts(db, member, card.request),
        offered=await board.offered_help(db, member, [request_id]),
    )


@post("/requests/{request_id:int}/respond", name="respond_to_request", include_in_schema=False)
async def respond(
    request: Req,
    db: Db,
    member: Caller,
    request_id: FromPath[int],
) -> Template | Redirect:
    form = await form_of(request)

    async def redraw(errors: dict[str, str]) -> Template:
        card = await board.get_request(db, member, request_id)
        return page(
            request,
            "requests/show.html",
            card=card,
            own=False,
            responses=[],
            contacts=await board.contacts(db, member, card.request),
            form=form,
            errors=errors,
        )

    return await submit(
        request,
        db,
        lambda: board.respond(db, member, request_id, message=form.get("message")),
        redraw=redraw,
        done=link(request, "show_request", {"done": "responded"}, request_id=request_id),
        raising=(Forbidden,),
    )


@post("/requests/{request_id:int}/accept", name="accept_helper", include_in_schema=False)
async def accept(request: Req, db: Db, member: Caller, request_id: FromPath[int]) -> Redirect:
    form = await form_of(request)
    helper_id = parse_whole(form.get("helper_id"), "helper_id", required=True)
    await board.accept_helper(db, member, request_id, helper_id)
    return see_other(link(request, "show_request", {"done": "accepted"}, request_id=request_id))


@post("/requests/{request_id:int}/close", name="close_request", include_in_schema=False)
async def close(request: Req, db: Db, member: Caller, request_id: FromPath[int]) -> Redirect:
    await board.close_request(db, member, request_id)
    return see_other(link(request, "home", {"done": "closed"}))


ROUTES = [
    home,
    log_hours_form,
    log_hours,
    assisted_form,
    assisted_entry,
    confirm,
    my_statement,
    statement,
    donate_form,
    donate,
    request_form,
    ask_for_help,
    show_request,
    respond,
    accept,
    close,
]
