"""The front door (no account needed): the public start page's forms at ``/join``, and the
office's queue of what visitors sent (``/manage/intake``, the network manager only)."""

from __future__ import annotations

from typing import Any

from litestar import Router, get, post
from litestar.di import Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler

from timebank import intake, overview
from timebank.errors import NotFound
from timebank.i18n import NATIVE_NAMES
from timebank.models import INTAKE_KINDS, Member
from timebank.web.forms import form_of, parse_whole, submit
from timebank.web.frame import (
    Caller,
    Db,
    Req,
    language_of,
    link,
    optional_member,
    page,
    provide_manager,
)


def _kind(kind: str) -> str:
    if kind not in INTAKE_KINDS:
        raise NotFound(intake.INTAKE_NOT_FOUND)
    return kind


async def _form_context(db: Db) -> dict[str, Any]:
    return {
        "districts": await overview.districts(db),
        "language_options": list(NATIVE_NAMES.items()),
    }


@get("/join", name="join", include_in_schema=False)
async def join(request: Req, db: Db) -> Template:
    await optional_member(request, db)
    return page(request, "join/index.html")


@get("/join/{kind:str}", name="join_form", include_in_schema=False)
async def join_form(request: Req, db: Db, kind: FromPath[str]) -> Template:
    await optional_member(request, db)
    form = {"language": language_of(request)}
    context = await _form_context(db)
    return page(request, "join/form.html", kind=_kind(kind), form=form, **context)


@post("/join/{kind:str}", name="send_join", include_in_schema=False)
async def send_join(request: Req, db: Db, kind: FromPath[str]) -> Template | Redirect:
    await optional_member(request, db)
    kind = _kind(kind)
    form = await form_of(request)
    settings = request.app.state.settings
    sender = intake.sender_hash(settings.secret_key, request.client.host if request.client else "")

    async def redraw(errors: dict[str, str]) -> Template:
        context = await _form_context(db)
        return page(request, "join/form.html", kind=kind, form=form, errors=errors, **context)

    return await submit(
        request,
        db,
        lambda: intake.send(
            db,
            intake.Visitor(
                kind=kind,
                name=form.get("name", ""),
                organization_name=form.get("organization_name", ""),
                phone=form.get("phone", ""),
                email=form.get("email", ""),
                district_id=parse_whole(form.get("district_id"), "district_id"),
                language=form.get("language", ""),
                best_time_to_call=form.get("best_time_to_call", ""),
                message=form.get("message", ""),
                consent=form.get("consent") == "yes",
                honeypot=form.get("website", ""),
            ),
            sender=sender,
        ),
        redraw=redraw,
        done=link(request, "join_thanks", kind=kind),
    )


@get("/join/{kind:str}/thanks", name="join_thanks", include_in_schema=False)
async def join_thanks(request: Req, db: Db, kind: FromPath[str]) -> Template:
    await optional_member(request, db)
    return page(request, "join/thanks.html", kind=_kind(kind))


# --- The office's queue (the network manager) -----------------------------------------------


@get("/intake", name="manage_intake", include_in_schema=False)
async def intake_queue(request: Req, db: Db, manager: Caller) -> Template:
    waiting = await intake.queue(db, manager)
    decided = await intake.queue(db, manager, decided=True)
    return page(request, "intake/list.html", waiting=waiting, decided=decided)


async def _detail(request: Req, db: Db, manager: Member, intake_id: int, **extra: Any) -> Template:
    found = await intake.get_intake(db, manager, intake_id)
    district = next((d for d in await overview.districts(db) if d.id == found.district_id), None)
    return page(request, "intake/detail.html", intake=found, district=district, **extra)


@get("/intake/{intake_id:int}", name="intake_detail", include_in_schema=False)
async def intake_detail(
    request: Req, db: Db, manager: Caller, intake_id: FromPath[int]
) -> Template:
    return await _detail(request, db, manager, intake_id)


@post("/intake/{intake_id:int}/called", name="intake_called", include_in_schema=False)
async def intake_called(
    request: Req, db: Db, manager: Caller, intake_id: FromPath[int]
) -> Template | Redirect:
    return await submit(
        request,
        db,
        lambda: intake.mark_called(db, manager, intake_id),
        redraw=lambda errors: _detail(request, db, manager, intake_id, errors=errors),
        done=link(request, "intake_detail", {"done": "called"}, intake_id=intake_id),
        status=409,
    )


@post("/intake/{intake_id:int}/accept", name="intake_accept", include_in_schema=False)
async def intake_accept(
    request: Req, db: Db, manager: Caller, intake_id: FromPath[int]
) -> Template | Redirect:
    return await submit(
        request,
        db,
        lambda: intake.accept(db, manager, intake_id),
        redraw=lambda errors: _detail(request, db, manager, intake_id, errors=errors),
        done=link(request, "intake_detail", {"done": "accepted"}, intake_id=intake_id),
        status=409,
    )


@post("/intake/{intake_id:int}/decline", name="intake_decline", include_in_schema=False)
async def intake_decline(
    request: Req, db: Db, manager: Caller, intake_id: FromPath[int]
) -> Template | Redirect:
    form = await form_of(request)
    return await submit(
        request,
        db,
        lambda: intake.decline(db, manager, intake_id, form.get("note", "")),
        redraw=lambda errors: _detail(request, db, manager, intake_id, errors=errors, form=form),
        done=link(request, "intake_detail", {"done": "declined"}, intake_id=intake_id),
    )


INTAKE_PAGES = Router(
    path="/manage",
    dependencies={"manager": Provide(provide_manager)},
    route_handlers=[intake_queue, intake_detail, intake_called, intake_accept, intake_decline],
)

ROUTES: list[ControllerRouterHandler] = [join, join_form, send_join, join_thanks, INTAKE_PAGES]
