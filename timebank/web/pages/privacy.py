"""Data protection pages: a member's own data (printable, and as a JSON file), the same for
the manager about anyone, erasure with a reason, and the list of long-inactive members."""

from __future__ import annotations

import json

from litestar import Response, Router, get, post
from litestar.di import Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler

from timebank import members, network, privacy
from timebank.models import Member, id_of
from timebank.web.forms import form_of, submit
from timebank.web.frame import Caller, Db, Req, link, page, provide_manager


def _as_file(data: privacy.MemberData, member_id: int) -> Response[bytes]:
    content = json.dumps(data.as_json(), ensure_ascii=False, indent=2).encode()
    name = f"timebank-member-{member_id}.json"
    return Response(
        content,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def _data_page(request: Req, db: Db, actor: Member, subject_id: int) -> Template:
    data = await privacy.member_data(db, actor, subject_id)
    return page(request, "privacy/data.html", subject=data.member, data=data)


@get("/me/data", name="my_data", include_in_schema=False)
async def my_data(request: Req, db: Db, member: Caller) -> Template:
    return await _data_page(request, db, member, id_of(member))


@get("/me/data.json", name="my_data_file", include_in_schema=False)
async def my_data_file(db: Db, member: Caller) -> Response[bytes]:
    return _as_file(await privacy.member_data(db, member, id_of(member)), id_of(member))


# --- The network manager ----------------------------------------------------------------------


@get("/members/{member_id:int}/data", name="member_data", include_in_schema=False)
async def member_data(request: Req, db: Db, manager: Caller, member_id: FromPath[int]) -> Template:
    return await _data_page(request, db, manager, member_id)


@get("/members/{member_id:int}/data.json", name="member_data_file", include_in_schema=False)
async def member_data_file(db: Db, manager: Caller, member_id: FromPath[int]) -> Response[bytes]:
    return _as_file(await privacy.member_data(db, manager, member_id), member_id)


@get("/members/{member_id:int}/erase", name="erase_form", include_in_schema=False)
async def erase_form(request: Req, db: Db, manager: Caller, member_id: FromPath[int]) -> Template:
    subject = await members.get_member(db, member_id)
    return page(request, "privacy/erase.html", subject=subject)


@post("/members/{member_id:int}/erase", name="erase_member", include_in_schema=False)
async def erase_member(
    request: Req, db: Db, manager: Caller, member_id: FromPath[int]
) -> Template | Redirect:
    form = await form_of(request)
    subject = await members.get_member(db, member_id)

    async def redraw(errors: dict[str, str]) -> Template:
        return page(request, "privacy/erase.html", subject=subject, form=form, errors=errors)

    return await submit(
        request,
        db,
        lambda: privacy.erase(db, manager, member_id, form.get("reason", "")),
        redraw=redraw,
        done=link(request, "inactive_members", {"done": "erased"}),
    )


@get("/privacy", name="inactive_members", include_in_schema=False)
async def inactive_members(request: Req, db: Db, manager: Caller) -> Template:
    settings = await network.network_settings(db)
    inactive = await privacy.inactive_members(db, manager)
    return page(request, "privacy/inactive.html", inactive=inactive, days=settings.retention_days)


PRIVACY_PAGES = Router(
    path="/manage",
    dependencies={"manager": Provide(provide_manager)},
    route_handlers=[member_data, member_data_file, erase_form, erase_member, inactive_members],
)

ROUTES: list[ControllerRouterHandler] = [my_data, my_data_file, PRIVACY_PAGES]
