"""The network office's pages (issue 9, points 2 and 9): its settings (``/manage/office``),
the post for members without email (``/manage/post``: letters to print, people to call),
and the public legal pages (``/impressum``, ``/datenschutz``).

Handlers only: they call ``timebank.office`` and ``timebank.post`` and draw templates from
``templates/office/`` and ``templates/legal/``. The ``/manage`` pages are the network
manager's (the ``manager`` dependency); the legal pages need no sign-in.
"""

from __future__ import annotations

from typing import Any

from litestar import Router, get, post
from litestar.di import Provide
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler

from timebank import office
from timebank import post as office_post
from timebank.schemas import MAX_INT
from timebank.web.forms import form_of, submit
from timebank.web.frame import (
    Caller,
    Db,
    Req,
    link,
    optional_member,
    page,
    provide_manager,
    see_other,
    written_for,
)

# --- Settings ---------------------------------------------------------------------------------


@get("/office", name="office_settings", include_in_schema=False)
async def office_settings(request: Req, db: Db, manager: Caller) -> Template:
    settings = await office.office_settings(db, manager)
    return page(request, "office/settings.html", form=office.office_form(settings))


@post("/office", name="save_office", include_in_schema=False)
async def save_office(request: Req, db: Db, manager: Caller) -> Template | Redirect:
    form = await form_of(request)

    async def redraw(errors: dict[str, str]) -> Template:
        return page(request, "office/settings.html", form=form, errors=errors)

    return await submit(
        request,
        db,
        lambda: office.update_office(db, manager, office.office_change_from_form(form)),
        redraw=redraw,
        done=link(request, "office_settings", {"done": "saved"}),
    )


# --- The post ---------------------------------------------------------------------------------


async def _notice_ids(request: Req) -> list[int]:
    """The notices a form names (hidden ``notice`` fields); anything else is ignored."""
    data = await request.form()
    ids = [value for value in data.getall("notice", []) if isinstance(value, str)]
    return [int(value) for value in ids if value.isdigit() and 0 < int(value) <= MAX_INT]


@get("/post", name="manage_post", include_in_schema=False)
async def post_page(request: Req, db: Db, manager: Caller) -> Template:
    due = await office_post.post_due(db, manager)
    papers: list[tuple[office_post.News, dict[str, Any]]] = [
        (letter, written_for(letter.member)) for letter in due.letters
    ]
    return page(request, "office/post.html", post=due, papers=papers)


@post("/post/letters", name="post_letters_sent", include_in_schema=False)
async def letters_sent(request: Req, db: Db, manager: Caller) -> Redirect:
    await office_post.mark_letters_sent(db, manager, await _notice_ids(request))
    return see_other(link(request, "manage_post", {"done": "letters_sent"}))


@post("/post/calls", name="post_calls_done", include_in_schema=False)
async def calls_done(request: Req, db: Db, manager: Caller) -> Redirect:
    await office_post.mark_calls_done(db, manager, await _notice_ids(request))
    return see_other(link(request, "manage_post", {"done": "calls_done"}))


OFFICE_PAGES = Router(
    path="/manage",
    route_handlers=[office_settings, save_office, post_page, letters_sent, calls_done],
    dependencies={"manager": Provide(provide_manager)},
)


# --- The legal pages (no sign-in) -------------------------------------------------------------


@get("/impressum", name="imprint", include_in_schema=False)
async def imprint(request: Req, db: Db) -> Template:
    await optional_member(request, db)
    return page(request, "legal/imprint.html", legal=await office.imprint(db))


@get("/datenschutz", name="privacy", include_in_schema=False)
async def privacy(request: Req, db: Db) -> Template:
    await optional_member(request, db)
    return page(request, "legal/privacy.html", legal=await office.privacy(db))


ROUTES: list[ControllerRouterHandler] = [OFFICE_PAGES, imprint, privacy]
