"""The manager's pages for flags and job runs (``/manage/flags``, ``/manage/jobs``).

Handlers only: read the input, call ``timebank.flags``, ``timebank.job_runs`` or
``timebank.network``, draw a template from ``templates/flags/``. Only the network manager
gets in (the ``manager`` dependency).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from babel import Locale
from babel.dates import format_date
from litestar import Router, get, post
from litestar.di import Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template

from timebank import directory, flags, i18n, job_runs, members, network
from timebank.errors import Invalid
from timebank.flags import KIND_NAMES
from timebank.i18n import N_
from timebank.jobs.registry import JOBS
from timebank.models import FLAG_KINDS, LIMIT_HOLDERS, ROLES
from timebank.web.forms import form_of, parse_day, parse_whole, submit
from timebank.web.frame import Caller, Db, Req, language_of, link, page, provide_manager


def _choice(value: str | None, allowed: tuple[str, ...]) -> str | None:
    return value if value in allowed else None


@get("/flags", name="flag_list", include_in_schema=False)
async def flag_list(request: Req, db: Db, manager: Caller) -> Template:
    q = request.query_params
    try:
        filters = flags.FlagFilter(
            kind=_choice(q.get("kind"), FLAG_KINDS),
            role=_choice(q.get("role"), ROLES),
            district_id=parse_whole(q.get("district"), "district"),
            organization_id=parse_whole(q.get("organization"), "organization"),
        )
    except Invalid:
        filters = flags.FlagFilter()
    rows = await flags.open_flags(db, manager, filters)
    return page(
        request,
        "flags/list.html",
        rows=rows,
        filters=filters,
        kinds=[(k, KIND_NAMES[k]) for k in FLAG_KINDS],
        roles=ROLES,
        districts=await directory.all_districts(db),
        organizations=await directory.organizations(db),
        kind_names=KIND_NAMES,
    )


async def _member_page(
    request: Req,
    db: Db,
    manager: Caller,
    member_id: FromPath[int],
    **extra: Any,
) -> Template:
    person = await members.get_member(db, member_id)
    return page(
        request,
        "flags/member.html",
        person=person,
        months=await flags.balance_over_time(db, manager, member_id),
        history=await flags.member_history(db, manager, member_id),
        kind_names=KIND_NAMES,
        **extra,
    )


@get("/flags/members/{member_id:int}", name="member_flags", include_in_schema=False)
async def member_flags(request: Req, db: Db, manager: Caller, member_id: FromPath[int]) -> Template:
    return await _member_page(request, db, manager, member_id)


@post("/flags/{flag_id:int}/{action:str}", name="act_on_flag", include_in_schema=False)
async def act_on_flag(
    request: Req,
    db: Db,
    manager: Caller,
    flag_id: FromPath[int],
    action: FromPath[str],
) -> Template | Redirect:
    form = await form_of(request)
    note = form.get("note")
    member_id = parse_whole(form.get("member"), "member", required=True)

    async def act() -> None:
        if action == "acknowledge":
            await flags.acknowledge(db, manager, flag_id, note=note)
        elif action == "note":
            await flags.add_note(db, manager, flag_id, note=note or "")
        elif action == "snooze":
            until = parse_day(form.get("until"), "until", required=True)
            await flags.snooze(db, manager, flag_id, until=until, note=note)
        elif action == "resolve":
            await flags.resolve(db, manager, flag_id, note=note or "")
        else:
            raise Invalid("there is no such action on a flag")

    async def redraw(errors: dict[str, str]) -> Template:
        kept = {**form, "flag": str(flag_id), "action": action}
        return await _member_page(request, db, manager, member_id, errors=errors, form=kept)

    return await submit(
        request,
        db,
        act,
        redraw=redraw,
        done=link(request, "member_flags", {"done": action}, member_id=member_id),
        status=422,
    )


@get("/jobs", name="job_run_list", include_in_schema=False)
async def job_run_list(request: Req, db: Db, manager: Caller) -> Template:
    job = _choice(request.query_params.get("job"), tuple(JOBS))
    return page(
        request,
        "flags/jobs.html",
        runs=await job_runs.recent_runs(db, manager, job=job),
        jobs=JOBS,
        job=job,
        kind_names=KIND_NAMES,
    )


# The label of each schedule on the settings page (one per scheduled job).
SCHEDULE_NAMES = (
    ("review_cron", N_("Balance review")),
    ("unconfirmed_cron", N_("Unconfirmed exchanges")),
    ("unanswered_cron", N_("Unanswered requests")),
    ("expiry_cron", N_("Closing offers and requests past their date")),
    ("digest_cron", N_("Weekly digest for the manager")),
    ("summary_cron", N_("Daily email summary for members who chose it")),
    ("retention_cron", N_("Weekly list for the data protection check")),
)


def _settings_choices(request: Req) -> dict[str, Any]:
    say = i18n.translations(language_of(request)).gettext
    return {
        "roles": ROLES,
        "ranges": network.SETTING_RANGES,
        "limit_holders": LIMIT_HOLDERS,
        "schedule_names": [(name, say(label)) for name, label in SCHEDULE_NAMES],
        "weekdays": [(str(d), weekday) for d, weekday in enumerate(_weekdays(request))],
    }


def _weekdays(request: Req) -> list[str]:
    # 2024-01-01 was a Monday: the schedules count weekdays from Monday = 0.
    locale = Locale.parse(language_of(request))
    return [format_date(date(2024, 1, 1 + d), format="EEEE", locale=locale) for d in range(7)]


@get("/flags/settings", name="settings_form", include_in_schema=False)
async def settings_form(request: Req, db: Db, manager: Caller) -> Template:
    view = await network.settings_view(db, manager)
    return page(request, "flags/settings.html", form=view.form(), **_settings_choices(request))


@post("/flags/settings", name="save_settings", include_in_schema=False)
async def save_settings(request: Req, db: Db, manager: Caller) -> Template | Redirect:
    form = await form_of(request)

    async def redraw(errors: dict[str, str]) -> Template:
        choices = _settings_choices(request)
        return page(request, "flags/settings.html", form=form, errors=errors, **choices)

    return await submit(
        request,
        db,
        lambda: network.update_settings(db, manager, network.settings_change_from_form(form)),
        redraw=redraw,
        done=link(request, "settings_form", {"done": "saved"}),
    )


FLAG_PAGES = Router(
    path="/manage",
    route_handlers=[
        flag_list,
        member_flags,
        act_on_flag,
        job_run_list,
        settings_form,
        save_settings,
    ],
    dependencies={"manager": Provide(provide_manager)},
)
ROUTES = [FLAG_PAGES]
