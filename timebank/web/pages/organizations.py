"""The manager's pages for member organisations (``/manage/organizations``).

Handlers only: read the form, call ``timebank.organizations``, draw a template from
``templates/organizations/``. Only the network manager gets in.
"""

from __future__ import annotations

from typing import Any

from litestar import Router, get, post
from litestar.di import Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template

from timebank import i18n, organizations
from timebank.models import Organization
from timebank.web.forms import form_of, submit
from timebank.web.frame import Caller, Db, Req, language_of, link, page, provide_manager

FIELDS = ("name", "kind", "contact_person", "address", "phone", "email")


def _kinds(request: Req) -> list[tuple[str, str]]:
    language = language_of(request)
    return [(k, i18n.gettext_for(language, v)) for k, v in organizations.KIND_NAMES.items()]


def _form_of(organization: Organization) -> dict[str, str]:
    return {name: getattr(organization, name) or "" for name in FIELDS}


def _fields(form: dict[str, str]) -> dict[str, Any]:
    return {name: form.get(name, "") for name in FIELDS}


@get("/organizations", name="organization_list", include_in_schema=False)
async def organization_list(request: Req, db: Db, manager: Caller) -> Template:
    rows = await organizations.listing(db, manager)
    return page(request, "organizations/list.html", rows=rows, kinds=organizations.KIND_NAMES)


@get("/organizations/new", name="new_organization_form", include_in_schema=False)
async def new_organization_form(request: Req, db: Db, manager: Caller) -> Template:
    return page(
        request,
        "organizations/form.html",
        form={"kind": "welfare"},
        view=None,
        kinds=_kinds(request),
    )


@post("/organizations/new", name="add_organization", include_in_schema=False)
async def add_organization(request: Req, db: Db, manager: Caller) -> Template | Redirect:
    form = await form_of(request)

    async def redraw(errors: dict[str, str]) -> Template:
        return page(
            request,
            "organizations/form.html",
            form=form,
            errors=errors,
            view=None,
            kinds=_kinds(request),
        )

    return await submit(
        request,
        db,
        lambda: organizations.create(
            db, manager, organizations.OrganizationFields(**_fields(form))
        ),
        redraw=redraw,
        done=lambda made: link(
            request, "organization_page", {"done": "saved"}, organization_id=made.id
        ),
    )


async def _organization_page(
    request: Req, db: Db, manager: Caller, organization_id: int, **context: Any
) -> Template:
    view = await organizations.view(db, manager, organization_id)
    context.setdefault("form", _form_of(view.organization))
    return page(
        request,
        "organizations/form.html",
        view=view,
        kinds=_kinds(request),
        kind_names=organizations.KIND_NAMES,
        **context,
    )


@get("/organizations/{organization_id:int}", name="organization_page", include_in_schema=False)
async def organization_page(
    request: Req, db: Db, manager: Caller, organization_id: FromPath[int]
) -> Template:
    return await _organization_page(request, db, manager, organization_id)


@post("/organizations/{organization_id:int}", name="edit_organization", include_in_schema=False)
async def edit_organization(
    request: Req, db: Db, manager: Caller, organization_id: FromPath[int]
) -> Template | Redirect:
    form = await form_of(request)

    async def redraw(errors: dict[str, str]) -> Template:
        return await _organization_page(
            request, db, manager, organization_id, form=form, errors=errors
        )

    return await submit(
        request,
        db,
        lambda: organizations.update(db, manager, organization_id, _fields(form)),
        redraw=redraw,
        done=link(request, "organization_page", {"done": "saved"}, organization_id=organization_id),
    )


async def _switch(
    request: Req, db: Db, manager: Caller, organization_id: int, active: bool
) -> Template | Redirect:
    async def redraw(errors: dict[str, str]) -> Template:
        return await _organization_page(request, db, manager, organization_id, errors=errors)

    return await submit(
        request,
        db,
        lambda: organizations.set_active(db, manager, organization_id, active),
        redraw=redraw,
        done=link(request, "organization_page", {"done": "saved"}, organization_id=organization_id),
        status=409,
    )


@post(
    "/organizations/{organization_id:int}/deactivate",
    name="deactivate_organization",
    include_in_schema=False,
)
async def deactivate_organization(
    request: Req, db: Db, manager: Caller, organization_id: FromPath[int]
) -> Template | Redirect:
    return await _switch(request, db, manager, organization_id, False)


@post(
    "/organizations/{organization_id:int}/activate",
    name="activate_organization",
    include_in_schema=False,
)
async def activate_organization(
    request: Req, db: Db, manager: Caller, organization_id: FromPath[int]
) -> Template | Redirect:
    return await _switch(request, db, manager, organization_id, True)


ORGANIZATION_PAGES = Router(
    path="/manage",
    route_handlers=[
        organization_list,
        new_organization_form,
        add_organization,
        organization_page,
        edit_organization,
        deactivate_organization,
        activate_organization,
    ],
    dependencies={"manager": Provide(provide_manager)},
)
ROUTES = [ORGANIZATION_PAGES]
