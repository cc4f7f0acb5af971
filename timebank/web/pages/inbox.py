"""The inbox (``/notifications``) for every signed-in member, their choice of email, and the
one-click unsubscribe link of every email (``/unsubscribe/<token>``, no sign-in needed).

The unsubscribe address is exempt from the CSRF check (``timebank.web.csrf``): a mail
program posts ``List-Unsubscribe=One-Click`` to it without any cookie (RFC 8058). The signed
token in the address is the check instead, and all it can do is turn email off.
"""

from __future__ import annotations

from litestar import get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from timebank import notifications
from timebank.models import EMAIL_NOTICES
from timebank.web.forms import form_of, submit
from timebank.web.frame import Caller, Db, Req, link, page, see_other


@get("/notifications", name="notifications", include_in_schema=False)
async def inbox(request: Req, db: Db, member: Caller) -> Template:
    return page(
        request, "inbox/inbox.html", notes=await notifications.for_member(db, member, limit=100)
    )


@post("/notifications/{notice_id:int}/read", name="mark_notice_read", include_in_schema=False)
async def mark_read(request: Req, db: Db, member: Caller, notice_id: FromPath[int]) -> Redirect:
    await notifications.mark_read(db, member, notice_id)
    return see_other(link(request, "notifications", {"done": "notice_read"}))


@post("/notifications/read", name="mark_all_notices_read", include_in_schema=False)
async def mark_all_read(request: Req, db: Db, member: Caller) -> Redirect:
    await notifications.mark_all_read(db, member)
    return see_other(link(request, "notifications", {"done": "notices_read"}))


def _choices_page(request: Req, form: dict[str, str], errors: dict[str, str]) -> Template:
    return page(request, "inbox/email.html", form=form, errors=errors, choices=EMAIL_NOTICES)


@get("/notifications/email", name="email_notices_form", include_in_schema=False)
async def email_form(request: Req, member: Caller) -> Template:
    return _choices_page(request, {"email_notices": member.email_notices}, {})


@post("/notifications/email", name="set_email_notices", include_in_schema=False)
async def set_email(request: Req, db: Db, member: Caller) -> Template | Redirect:
    form = await form_of(request)

    async def redraw(errors: dict[str, str]) -> Template:
        return _choices_page(request, form, errors)

    return await submit(
        request,
        db,
        lambda: notifications.set_email_notices(db, member, form.get("email_notices", "")),
        redraw=redraw,
        done=link(request, "email_notices_form", {"done": "email_saved"}),
    )


def _secret(request: Req) -> str:
    return str(request.app.state.settings.secret_key)


@get("/unsubscribe/{token:str}", name="unsubscribe_form", include_in_schema=False)
async def unsubscribe_form(request: Req, db: Db, token: FromPath[str]) -> Template:
    # Only shows the button: mail scanners open links, and that must not turn email off.
    holder = await notifications.member_for_unsubscribe(db, _secret(request), token)
    return page(request, "inbox/unsubscribe.html", token=token, holder=holder, done_now=False)


@post("/unsubscribe/{token:str}", name="unsubscribe", include_in_schema=False)
async def unsubscribe(request: Req, db: Db, token: FromPath[str]) -> Template:
    holder = await notifications.unsubscribe(db, _secret(request), token)
    return page(request, "inbox/unsubscribe.html", token=token, holder=holder, done_now=True)


ROUTES = [
    inbox,
    mark_read,
    mark_all_read,
    email_form,
    set_email,
    unsubscribe_form,
    unsubscribe,
]
