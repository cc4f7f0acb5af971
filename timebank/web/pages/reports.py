"""The network in figures: the dashboard on the hub, the funders' report (a printable page
and an XLSX workbook) and a volunteer's Engagementnachweis (issue 11, points 1 and 2).

Handlers only: the figures come from ``timebank.dashboard`` (which reads the per-month
aggregates, never the transfers); the charts are drawn by ``timebank.web.charts`` with
titles in the reader's language. The report and the dashboard are the network manager's;
a certificate is its member's own, or any member's for the manager, and is written in the
member's language whoever prints it (``frame.written_for``).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from litestar import Response, Router, get
from litestar.di import Provide
from litestar.params import FromPath
from litestar.response import Template
from litestar.types import ControllerRouterHandler
from markupsafe import Markup

from timebank import dashboard, flags, i18n, network
from timebank.dashboard import Period
from timebank.errors import DomainError, Invalid
from timebank.i18n import N_
from timebank.models import Member, id_of
from timebank.web import charts
from timebank.web.forms import form_errors
from timebank.web.frame import Caller, Db, Req, language_of, page, provide_manager, written_for

ROLE_NAMES = dashboard.ROLE_NAMES
NO_DISTRICT = dashboard.NO_DISTRICT
category_label = dashboard.category_name

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _t(language: str, message: str) -> str:
    return i18n.gettext_for(language, message)


def _district(name: str, language: str) -> str:
    return name or _t(language, NO_DISTRICT)


def _hours(minutes: int) -> float:
    return round(minutes / 60, 2)


# --- Charts --------------------------------------------------------------------------------


def hours_chart(by_month: dashboard.MonthByCategory, language: str, chart_id: str) -> Markup:
    return charts.lines(
        chart_id,
        _t(language, N_("Hours given per month, by kind of help")),
        _t(language, N_("One line per kind of help; the table below gives every number.")),
        by_month.months,
        [
            (
                category_label(c, language),
                [_hours(by_month.of(m, c)) for m in by_month.months],
            )
            for c in by_month.used
        ],
        language,
    )


def districts_chart(rows: list[dashboard.Hours], language: str, chart_id: str) -> Markup:
    return charts.side_by_side(
        chart_id,
        _t(language, N_("Hours given and received per district")),
        _t(language, N_("Hours given on the left, hours received on the right, per district.")),
        (_t(language, N_("Hours given")), _t(language, N_("Hours received"))),
        [(_district(r.name, language), _hours(r.given), _hours(r.received)) for r in rows],
        language,
    )


def pool_chart(pool: list[dashboard.PoolMonth], language: str, chart_id: str) -> Markup:
    return charts.lines(
        chart_id,
        _t(language, N_("The community pool over time")),
        _t(language, N_("Hours in the community pool at the end of each month.")),
        [p.month for p in pool],
        [("", [_hours(p.balance) for p in pool])],
        language,
    )


def dashboard_charts(d: dashboard.Dashboard, language: str) -> dict[str, Markup]:
    t = _t
    return {
        "hours": hours_chart(d.by_month, language, "chart-hours"),
        "districts": districts_chart(d.districts, language, "chart-districts"),
        "roles": charts.bars(
            "chart-roles",
            t(language, N_("Active members by role")),
            t(language, N_("Members who gave or received help in the period, by role.")),
            [(t(language, ROLE_NAMES[r.role]), r.active) for r in d.roles],
            language,
        ),
        "new": charts.columns(
            "chart-new",
            t(language, N_("New members per month")),
            t(language, N_("How many members joined in each month.")),
            [m.month for m in d.new_members],
            [m.count for m in d.new_members],
            language,
        ),
        "requests": charts.bars(
            "chart-requests",
            t(language, N_("Requests answered per district")),
            t(
                language,
                N_(
                    "The share of requests in the period that got an offer or a helper, in percent."
                ),
            ),
            [(_district(r.name, language), r.answered_percent) for r in d.requests],
            language,
        ),
        "unanswered": charts.bars(
            "chart-unanswered",
            t(language, N_("Unanswered requests per district")),
            t(language, N_("Open requests without an offer or a helper, now.")),
            [(_district(u.name, language), u.count) for u in d.unanswered],
            language,
            colour="#c4302b",
        ),
        "pool": pool_chart(d.pool, language, "chart-pool"),
        "flags": charts.bars(
            "chart-flags",
            t(language, N_("Open flags by kind")),
            t(language, N_("Flags of the review and the follow-ups that are not resolved yet.")),
            [(t(language, flags.KIND_NAMES[k]), n) for k, n in d.flags.items()],
            language,
            colour="#6b4c9a",
        ),
    }


async def dashboard_context(request: Req, db: Db, manager: Member) -> dict[str, Any]:
    """What the hub's dashboard partial (``manage/_dashboard.html``) needs."""
    months = request.query_params.get("months", "")
    chosen = int(months) if months.isdigit() else dashboard.DEFAULT_MONTHS
    figures = await dashboard.dashboard(db, manager, chosen)
    return {
        "figures": figures,
        "charts": dashboard_charts(figures, language_of(request)),
        "period_choices": dashboard.PERIOD_CHOICES,
        "months_chosen": len(figures.period.months),
        "role_names": ROLE_NAMES,
        "kind_names": flags.KIND_NAMES,
    }


# --- The report ----------------------------------------------------------------------------


def _period_from(query: Any, default: Period) -> tuple[Period, dict[str, str]]:
    """The period a form asked for: a ``year``, or ``from`` and ``to`` months (YYYY-MM).
    Refused at its field when it does not read right."""
    form = {k: (query.get(k) or "").strip() for k in ("year", "from", "to")}
    if form["from"] or form["to"]:
        first = dashboard.parse_month(form["from"], "from")
        last = dashboard.parse_month(form["to"], "to")
        return dashboard.period_between(first, last), form
    if form["year"]:
        if not (form["year"].isdigit() and 2000 <= int(form["year"]) <= 2100):
            raise Invalid(dashboard.BAD_YEAR, field="year")
        return Period.year(int(form["year"])), form
    form["year"] = str(default.first.year) if default.first.month == 1 else ""
    return default, form


async def _report_period(request: Req, db: Db) -> tuple[Period, dict[str, str], dict[str, str]]:
    today = await network.today(db)
    default = Period.year(today.year)
    try:
        period, form = _period_from(request.query_params, default)
        return period, form, {}
    except DomainError as exc:
        form = {k: request.query_params.get(k, "") for k in ("year", "from", "to")}
        return default, form, form_errors(exc, language_of(request))


def _years(today: date) -> list[tuple[str, str]]:
    """The years a form offers (value, text): this one and five before."""
    return [(str(year), str(year)) for year in range(today.year, today.year - 6, -1)]


def _period_query(period: Period) -> dict[str, str]:
    return {"from": period.first.strftime("%Y-%m"), "to": period.last.strftime("%Y-%m")}


@get("/reports", name="manage_reports", include_in_schema=False)
async def report_page(request: Req, db: Db, manager: Caller) -> Template:
    period, form, errors = await _report_period(request, db)
    report = await dashboard.report(db, manager, period)
    language = language_of(request)
    return page(
        request,
        "reports/report.html",
        status=400 if errors else 200,
        report=report,
        form=form,
        errors=errors,
        query=_period_query(period),
        last_day=period.end - timedelta(days=1),
        charts={
            "hours": hours_chart(report.by_month, language, "chart-hours"),
            "districts": districts_chart(report.districts, language, "chart-districts"),
            "pool": pool_chart(report.pool, language, "chart-pool"),
        },
        role_names=ROLE_NAMES,
        office=await network.office(db),
        years=_years(await network.today(db)),
    )


@get("/reports/workbook", name="manage_report_workbook", include_in_schema=False)
async def report_workbook(request: Req, db: Db, manager: Caller) -> Response[bytes]:
    period, _form, errors = await _report_period(request, db)
    if errors:
        raise Invalid(dashboard.BAD_PERIOD, params={"count": dashboard.MAX_REPORT_MONTHS})
    report = await dashboard.report(db, manager, period)
    content = dashboard.report_workbook(report, language_of(request))
    name = f"report-{period.first:%Y-%m}-{period.last:%Y-%m}.xlsx"
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- The Engagementnachweis ---------------------------------------------------------------------


async def _certificate_page(request: Req, db: Db, actor: Member, member_id: int) -> Template:
    today = await network.today(db)
    default = Period.last_months(today, 12)
    try:
        period, form = _period_from(request.query_params, default)
        errors: dict[str, str] = {}
    except DomainError as exc:
        period, form = default, {k: request.query_params.get(k, "") for k in ("year", "from", "to")}
        errors = form_errors(exc, language_of(request))
    found = await dashboard.certificate(db, actor, member_id, period)
    office = await network.office(db)
    return page(
        request,
        "reports/certificate.html",
        status=400 if errors else 200,
        certificate=found,
        paper=written_for(found.member),
        form=form,
        errors=errors,
        last_day=min(period.end - timedelta(days=1), today),
        office=office,
        place=office.address_lines[-1] if office.address_lines else "",
        own=found.member.id == actor.id,
        years=_years(today),
    )


@get("/members/{member_id:int}/certificate", name="manage_certificate", include_in_schema=False)
async def member_certificate(
    request: Req, db: Db, manager: Caller, member_id: FromPath[int]
) -> Template:
    return await _certificate_page(request, db, manager, member_id)


@get("/certificate", name="my_certificate", include_in_schema=False)
async def my_certificate(request: Req, db: Db, member: Caller) -> Template:
    return await _certificate_page(request, db, member, id_of(member))


REPORT_PAGES = Router(
    path="/manage",
    route_handlers=[report_page, report_workbook, member_certificate],
    dependencies={"manager": Provide(provide_manager)},
)
ROUTES: list[ControllerRouterHandler] = [REPORT_PAGES, my_certificate]
