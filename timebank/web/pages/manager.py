"""The network manager's pages (``/manage/…``).

Handlers only: each reads its input, calls a domain function (``timebank.directory``,
``timebank.board``, ``timebank.members``, ``timebank.exchanges``) and draws a template from
``templates/manage/`` or ``templates/board/``. Every ``/manage`` page takes the ``manager``
dependency, which lets only the network manager in (``access.require_manager``: anyone
else gets the 403 page). Conventions as in ``timebank.web``.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Router, get, post
from litestar.di import Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template

from timebank import audit, board, directory, exchanges, ledger, members, network, overview
from timebank.errors import Invalid
from timebank.models import ROLES, Member, id_of
from timebank.web.forms import (
    form_of,
    help_dates,
    once_key,
    parse_whole,
    record_from_form,
    submit,
)
from timebank.web.frame import (
    Caller,
    Db,
    Req,
    language_of,
    link,
    page,
    provide_manager,
    see_other,
    written_for,
)
from timebank.web.pages import held as held_pages
from timebank.web.pages import reports as report_pages

# --- The hub ----------------------------------------------------------------------------------


@get("/", name="manage", include_in_schema=False)
async def hub(request: Req, db: Db, manager: Caller) -> Template:
    return page(
        request,
        "manage/index.html",
        pending=(await directory.pending_exchanges(db, manager, per_page=1)).total,
        disputed=(await directory.disputed_exchanges(db, manager, per_page=1)).total,
        open_requests=(await board.open_requests(db, manager, per_page=1)).total,
        pool=await directory.pool(db, manager),
        **await report_pages.dashboard_context(request, db, manager),
    )


# --- Members ----------------------------------------------------------------------------------


async def _choices(db: Db) -> dict[str, Any]:
    return {
        "roles": ROLES,
        "organizations": await directory.organizations(db),
        "districts": await directory.all_districts(db),
        "categories": await overview.categories(db),
    }


@get("/members", name="member_list", include_in_schema=False)
async def member_list(request: Req, db: Db, manager: Caller) -> Template:
    q = request.query_params
    form = {k: q.get(k, "") for k in ("role", "organization_id", "district_id", "flagged", "q")}
    form["sort"] = q.get("sort") or "name"
    listing = await directory.list_members(
        db,
        manager,
        role=form["role"] or None,
        organization_id=parse_whole(form["organization_id"], "organization_id"),
        district_id=parse_whole(form["district_id"], "district_id"),
        flagged=form["flagged"] == "1",
        search=form["q"],
        sort=form["sort"],
        after=q.get("after") or None,
        before=q.get("before") or None,
    )
    filters = {k: v for k, v in form.items() if v}
    return page(
        request,
        "manage/members.html",
        listing=listing,
        form=form,
        filters=filters,
        sorts=directory.SORTS,
        **await _choices(db),
    )


def _member_input(form: dict[str, str], category_ids: list[str]) -> dict[str, Any]:
    return {
        "name": form.get("name", ""),
        "role": form.get("role", ""),
        "email": form.get("email") or None,
        "phone": form.get("phone") or None,
        "organization_id": parse_whole(form.get("organization_id"), "organization_id"),
        "district_id": parse_whole(form.get("district_id"), "district_id"),
        "language": form.get("language") or "de",
        "availability": form.get("availability") or None,
        "best_time_to_call": form.get("best_time_to_call") or None,
        "category_ids": tuple(parse_whole(c, "category_ids") for c in category_ids),
        "street": form.get("street") or None,
        "postcode": form.get("postcode") or None,
        "town": form.get("town") or None,
    }


async def _member_form(request: Req) -> tuple[dict[str, Any], list[str]]:
    data = await request.form()
    form: dict[str, Any] = await form_of(request)
    chosen = [str(v) for v in data.getall("category_ids", [])]
    form["category_ids"] = chosen
    return form, chosen


@get("/members/new", name="new_member_form", include_in_schema=False)
async def new_member_form(request: Req, db: Db, manager: Caller) -> Template:
    form = {"role": "volunteer", "language": "de", "category_ids": []}
    return page(request, "manage/member_form.html", form=form, subject=None, **await _choices(db))


@post("/members/new", name="create_member", include_in_schema=False)
async def create_member(request: Req, db: Db, manager: Caller) -> Template | Redirect:
    form, chosen = await _member_form(request)

    async def create() -> Member:
        new = members.NewMember(**_member_input(form, chosen), password=form.get("password"))
        return await members.create_member(db, new, actor=manager)

    async def redraw(errors: dict[str, str]) -> Template:
        form.pop("password", None)
        return page(
            request, "manage/member_form.html", form=form, subject=None, errors=errors,
            **await _choices(db),
        )  # fmt: skip

    return await submit(
        request,
        db,
        create,
        redraw=redraw,
        done=lambda created: link(
            request, "edit_member_form", {"done": "member_saved"}, member_id=created.id
        ),
    )


async def _member_page(
    request: Req,
    db: Db,
    manager: Caller,
    subject: Member,
    **context: Any,
) -> dict[str, Any]:
    account = await ledger.account_of_member(db, id_of(subject))
    view = await members.account_view(db, manager, id_of(account))
    form = context.pop("form", None) or {
        "name": subject.name,
        "role": subject.role,
        "email": subject.email or "",
        "phone": subject.phone or "",
        "organization_id": str(subject.organization_id or ""),
        "district_id": str(subject.district_id or ""),
        "language": subject.language,
        "availability": subject.availability or "",
        "best_time_to_call": subject.best_time_to_call or "",
        "street": subject.street or "",
        "postcode": subject.postcode or "",
        "town": subject.town or "",
        "active": "1" if subject.active else "",
        "category_ids": [str(c) for c in await directory.category_ids_of(db, id_of(subject))],
    }
    form.setdefault(
        "min_hours", "" if account.min_minutes is None else str(account.min_minutes // 60)
    )
    form.setdefault(
        "max_hours", "" if account.max_minutes is None else str(account.max_minutes // 60)
    )
    return {"subject": subject, "account": view, "form": form, **context, **await _choices(db)}


@get("/members/{member_id:int}", name="edit_member_form", include_in_schema=False)
async def edit_member_form(
    request: Req,
    db: Db,
    manager: Caller,
    member_id: FromPath[int],
) -> Template:
    subject = await members.get_member(db, member_id)
    context = await _member_page(request, db, manager, subject)
    return page(request, "manage/member_form.html", **context)


@post("/members/{member_id:int}", name="edit_member", include_in_schema=False)
async def edit_member(
    request: Req,
    db: Db,
    manager: Caller,
    member_id: FromPath[int],
) -> Template | Redirect:
    form, chosen = await _member_form(request)

    async def update() -> None:
        changes = directory.MemberChanges(
            **_member_input(form, chosen), active=form.get("active") == "1"
        )
        await directory.update_member(db, manager, member_id, changes)

    async def redraw(errors: dict[str, str]) -> Template:
        subject = await members.get_member(db, member_id)
        context = await _member_page(request, db, manager, subject, form=form, errors=errors)
        return page(request, "manage/member_form.html", **context)

    return await submit(
        request,
        db,
        update,
        redraw=redraw,
        done=link(request, "edit_member_form", {"done": "member_saved"}, member_id=member_id),
    )


def _limit(value: str | None, field: str) -> int | None:
    hours = parse_whole(value, field)
    return None if hours is None else hours * 60


@post("/members/{member_id:int}/limits", name="set_limits", include_in_schema=False)
async def set_limits(
    request: Req,
    db: Db,
    manager: Caller,
    member_id: FromPath[int],
) -> Template | Redirect:
    form = await form_of(request)

    async def save_limits() -> None:
        account = await ledger.account_of_member(db, member_id)
        changes = {
            "min_minutes": _limit(form.get("min_hours"), "min_hours"),
            "max_minutes": _limit(form.get("max_hours"), "max_hours"),
        }
        await members.set_account_limits(db, manager, id_of(account), changes)

    async def redraw(errors: dict[str, str]) -> Template:
        subject = await members.get_member(db, member_id)
        context = await _member_page(request, db, manager, subject, errors=errors)
        context["form"].update(form)
        return page(request, "manage/member_form.html", **context)

    return await submit(
        request,
        db,
        save_limits,
        redraw=redraw,
        done=link(request, "edit_member_form", {"done": "limits_saved"}, member_id=member_id),
        renamed={"min_minutes": "min_hours", "max_minutes": "max_hours"},
    )


def readable_password() -> str:
    """Easy to read aloud and type for people new to computers: no 0/O or 1/l/I."""
    letters = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(letters) for _ in range(4)) for _ in range(3))


@post("/members/{member_id:int}/password", name="set_password", include_in_schema=False)
async def set_password(
    request: Req,
    db: Db,
    manager: Caller,
    member_id: FromPath[int],
) -> Template | Redirect:
    form = await form_of(request)
    subject = await members.get_member(db, member_id)
    password = form.get("password") or readable_password()

    async def redraw(errors: dict[str, str]) -> Template:
        context = await _member_page(request, db, manager, subject, errors=errors)
        return page(request, "manage/member_form.html", **context)

    async def set_and_record() -> None:
        await members.set_password(db, subject, password, actor=manager)
        await audit.record(
            db, manager, "login_sheet", member_id=member_id, details={"password": "new"}
        )

    # Shown once, on this sheet, and never stored in the clear.
    return await submit(
        request,
        db,
        set_and_record,
        redraw=redraw,
        done=lambda _: page(
            request,
            "manage/login_sheet.html",
            subject=subject,
            sheet=written_for(subject),
            password=password,
            site=request.app.state.settings.base_url,
        ),
    )


@get("/members/{member_id:int}/login-sheet", name="login_sheet", include_in_schema=False)
async def login_sheet(request: Req, db: Db, manager: Caller, member_id: FromPath[int]) -> Template:
    subject = await members.get_member(db, member_id)
    await audit.record(db, manager, "login_sheet", member_id=member_id)
    site = request.app.state.settings.base_url
    return page(
        request, "manage/login_sheet.html",
        subject=subject, sheet=written_for(subject), password=None, site=site,
    )  # fmt: skip


# --- Assisted entry for anyone -------------------------------------------------------------------


@get("/assisted", name="manage_assisted_form", include_in_schema=False)
async def assisted_form(request: Req, db: Db, manager: Caller) -> Template:
    q = request.query_params
    form = {
        "performed_on": (await network.today(db)).isoformat(),
        "hours": "1",
        "minutes": "0",
        "giver_id": q.get("giver_id", ""),
        "receiver_id": q.get("receiver_id", ""),
        "idempotency_key": once_key(),
    }
    categories = await overview.categories(db)
    return page(
        request, "manage/assisted.html", form=form, categories=categories, **await help_dates(db)
    )


@post("/assisted", name="manage_assisted_entry", include_in_schema=False)
async def assisted_entry(request: Req, db: Db, manager: Caller) -> Template | Redirect:
    form = await form_of(request)

    async def redraw(errors: dict[str, str]) -> Template:
        form["idempotency_key"] = once_key()
        categories = await overview.categories(db)
        return page(
            request,
            "manage/assisted.html",
            form=form,
            errors=errors,
            categories=categories,
            **await help_dates(db),
        )

    return await submit(
        request,
        db,
        lambda: record_from_form(db, manager, form, language_of(request)),
        redraw=redraw,
        done=link(request, "exchange_lists", {"done": "assisted"}),
    )


# --- Exchanges, transfers, reversals, the pool -----------------------------------------------


@get("/exchanges", name="exchange_lists", include_in_schema=False)
async def exchange_lists(request: Req, db: Db, manager: Caller) -> Template:
    q = request.query_params
    pending_page = parse_whole(q.get("pending_page"), "pending_page") or 1
    disputed_page = parse_whole(q.get("disputed_page"), "disputed_page") or 1
    return page(
        request,
        "manage/exchanges.html",
        pending=await directory.pending_exchanges(db, manager, page=pending_page, per_page=25),
        disputed=await directory.disputed_exchanges(db, manager, page=disputed_page, per_page=25),
    )


@post("/exchanges/{exchange_id:int}/pay-from-pool", name="pay_from_pool", include_in_schema=False)
async def pay_from_pool(
    request: Req,
    db: Db,
    manager: Caller,
    exchange_id: FromPath[int],
) -> Template | Redirect:
    # Posted from the confirmation page (pages/held.py), which showed the pool after it.
    form = await form_of(request)
    back = held_pages.back_of(form.get("back"))
    return await submit(
        request,
        db,
        lambda: exchanges.pay_from_pool(db, manager, exchange_id),
        redraw=lambda errors: held_pages.pay_page(request, db, manager, exchange_id, back, errors),
        done=link(request, back, {"done": "paid_from_pool"}),
    )


@get("/transfers", name="transfer_list", include_in_schema=False)
async def transfer_list(request: Req, db: Db, manager: Caller) -> Template:
    q = request.query_params
    subject_id = parse_whole(q.get("member"), "member")
    subject = await members.get_member(db, subject_id) if subject_id else None
    account = await ledger.account_of_member(db, subject_id) if subject_id else None
    lines = await directory.transfers(
        db,
        manager,
        account_id=account.id if account else None,
        before_id=parse_whole(q.get("before"), "before"),
    )
    return page(request, "manage/transfers.html", lines=lines, subject=subject)


@get("/transfers/{transfer_id:int}/reverse", name="reverse_form", include_in_schema=False)
async def reverse_form(
    request: Req,
    db: Db,
    manager: Caller,
    transfer_id: FromPath[int],
) -> Template:
    line = await directory.transfer_line(db, manager, transfer_id)
    return page(request, "manage/reverse.html", line=line)


@post("/transfers/{transfer_id:int}/reverse", name="reverse", include_in_schema=False)
async def reverse(
    request: Req,
    db: Db,
    manager: Caller,
    transfer_id: FromPath[int],
) -> Template | Redirect:
    form = await form_of(request)

    async def reverse_booking() -> None:
        reason = form.get("reason", "")
        if not reason:
            raise Invalid("say why the booking is reversed", field="reason")
        await exchanges.reverse_exchange_transfer(
            db, manager, transfer_id, reason=reason, override_reason=form.get("override_reason")
        )

    async def redraw(errors: dict[str, str]) -> Template:
        line = await directory.transfer_line(db, manager, transfer_id)
        return page(request, "manage/reverse.html", line=line, form=form, errors=errors)

    return await submit(
        request,
        db,
        reverse_booking,
        redraw=redraw,
        done=link(request, "transfer_list", {"done": "reversed"}),
    )


@get("/pool", name="pool_page", include_in_schema=False)
async def pool_page(request: Req, db: Db, manager: Caller) -> Template:
    pool = await directory.pool(db, manager)
    before = parse_whole(request.query_params.get("before"), "before")
    lines = await directory.transfers(db, manager, account_id=pool.id, before_id=before)
    pending = await directory.pending_exchanges(db, manager, per_page=10)
    return page(request, "manage/pool.html", pool=pool, lines=lines, pending=pending)


# --- Categories and districts ----------------------------------------------------------------


async def _lists_page(request: Req, db: Db, **context: Any) -> Template:
    return page(
        request,
        "manage/lists.html",
        categories=await directory.all_categories(db),
        districts=await directory.all_districts(db),
        **context,
    )


async def _change_row(
    request: Req,
    db: Db,
    form: dict[str, str],
    row: str,
    *,
    switch: Callable[[bool], Awaitable[object]],
    rename: Callable[[], Awaitable[object]],
) -> Template | Redirect:
    """A row of the lists (a category, a district) switched on or off (the form sends
    ``active``) or renamed; a refusal is shown next to that row (``errors[row]``), whichever
    field it concerns."""

    async def change() -> None:
        await (switch(form["active"] == "1") if "active" in form else rename())

    async def redraw(errors: dict[str, str]) -> Template:
        return await _lists_page(request, db, errors={row: next(iter(errors.values()))})

    return await submit(
        request, db, change, redraw=redraw, done=link(request, "lists", {"done": "saved"})
    )


@get("/lists", name="lists", include_in_schema=False)
async def lists(request: Req, db: Db, manager: Caller) -> Template:
    return await _lists_page(request, db)


@post("/categories", name="add_category", include_in_schema=False)
async def add_category(request: Req, db: Db, manager: Caller) -> Template | Redirect:
    form = await form_of(request)
    return await submit(
        request,
        db,
        lambda: directory.add_category(
            db,
            manager,
            slug=form.get("slug", ""),
            name_de=form.get("name_de", ""),
            name_en=form.get("name_en", ""),
        ),
        redraw=lambda errors: _lists_page(request, db, form=form, errors=errors),
        done=link(request, "lists", {"done": "saved"}),
    )


@post("/categories/{category_id:int}", name="change_category", include_in_schema=False)
async def change_category(
    request: Req,
    db: Db,
    manager: Caller,
    category_id: FromPath[int],
) -> Template | Redirect:
    form = await form_of(request)
    return await _change_row(
        request,
        db,
        form,
        f"category-{category_id}",
        switch=lambda on: directory.set_category_active(db, manager, category_id, on),
        rename=lambda: directory.rename_category(
            db,
            manager,
            category_id,
            name_de=form.get("name_de", ""),
            name_en=form.get("name_en", ""),
        ),
    )


@post("/districts", name="add_district", include_in_schema=False)
async def add_district(request: Req, db: Db, manager: Caller) -> Template | Redirect:
    form = await form_of(request)
    return await submit(
        request,
        db,
        lambda: directory.add_district(db, manager, form.get("district_name", "")),
        redraw=lambda errors: _lists_page(request, db, form=form, errors=errors),
        done=link(request, "lists", {"done": "saved"}),
        renamed={"name": "district_name"},
    )


@post("/districts/{district_id:int}", name="change_district", include_in_schema=False)
async def change_district(
    request: Req,
    db: Db,
    manager: Caller,
    district_id: FromPath[int],
) -> Template | Redirect:
    form = await form_of(request)
    return await _change_row(
        request,
        db,
        form,
        f"district-{district_id}",
        switch=lambda on: directory.set_district_active(db, manager, district_id, on),
        rename=lambda: directory.rename_district(db, manager, district_id, form.get("name", "")),
    )


# --- Matching --------------------------------------------------------------------------------


@get("/matching", name="matching", include_in_schema=False)
async def matching(request: Req, db: Db, manager: Caller) -> Template:
    number = parse_whole(request.query_params.get("page"), "page") or 1
    result = await board.matching(db, manager, page=number)
    return page(request, "manage/matching.html", result=result)


@post("/requests/{request_id:int}/assign", name="assign", include_in_schema=False)
async def assign(request: Req, db: Db, manager: Caller, request_id: FromPath[int]) -> Redirect:
    form = await form_of(request)
    helper_id = parse_whole(form.get("helper_id"), "helper_id", required=True)
    await board.accept_helper(db, manager, request_id, helper_id)
    return see_other(link(request, "matching", {"done": "assigned"}))


MANAGE = Router(
    path="/manage",
    dependencies={"manager": Provide(provide_manager)},
    route_handlers=[
        hub,
        member_list,
        new_member_form,
        create_member,
        edit_member_form,
        edit_member,
        set_limits,
        set_password,
        login_sheet,
        assisted_form,
        assisted_entry,
        exchange_lists,
        pay_from_pool,
        transfer_list,
        reverse_form,
        reverse,
        pool_page,
        lists,
        add_category,
        change_category,
        add_district,
        change_district,
        matching,
        assign,
    ],
)

ROUTES = [MANAGE]
