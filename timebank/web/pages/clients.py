"""A professional's clients (``/clients``): who they look after, with balance, pending help
and open requests, links to act for each, and adding a client who has no email (issue 9,
point 6). Only professionals of a member organisation (``access.require_has_clients``); the
manager, who acts for everyone, is sent to the members list."""

from __future__ import annotations

from typing import Any

from litestar import get, post
from litestar.response import Redirect, Template

from timebank import access, clients, overview
from timebank.web.forms import form_of, parse_whole, submit
from timebank.web.frame import Caller, Db, Req, link, page, see_other


@get("/clients", name="my_clients", include_in_schema=False)
async def my_clients(request: Req, db: Db, member: Caller) -> Template | Redirect:
    if access.is_manager(member):
        return see_other(link(request, "member_list"))
    rows = await clients.my_clients(db, member)
    return page(request, "clients/list.html", rows=rows)


async def _client_form_context(db: Db, member: Caller) -> dict[str, Any]:
    access.require_has_clients(member)
    return {"districts": await overview.districts(db)}


@get("/clients/new", name="new_client_form", include_in_schema=False)
async def new_client_form(request: Req, db: Db, member: Caller) -> Template:
    context = await _client_form_context(db, member)
    form = {"language": "de", "district_id": ""}
    return page(request, "clients/new.html", form=form, **context)


@post("/clients/new", name="add_client", include_in_schema=False)
async def add_client(request: Req, db: Db, member: Caller) -> Template | Redirect:
    context = await _client_form_context(db, member)
    form = await form_of(request)

    async def redraw(errors: dict[str, str]) -> Template:
        return page(request, "clients/new.html", form=form, errors=errors, **context)

    return await submit(
        request,
        db,
        lambda: clients.add_client(
            db,
            member,
            clients.NewClient(
                name=form.get("name", ""),
                district_id=parse_whole(form.get("district_id"), "district_id"),
                language=form.get("language") or "de",
                phone=form.get("phone"),
                street=form.get("street"),
                postcode=form.get("postcode"),
                town=form.get("town"),
                consent_on_paper=form.get("consent") == "1",
            ),
        ),
        redraw=redraw,
        done=link(request, "my_clients", {"done": "client_added"}),
    )


ROUTES = [my_clients, new_client_form, add_client]
