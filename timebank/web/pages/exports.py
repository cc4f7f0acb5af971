"""The manager's exports and audit log (``/manage/exports``, ``/manage/audit``).

Handlers only: ``timebank.exports`` checks, records and writes the files; ``timebank.audit``
reads the log. A download is streamed (``litestar.response.Stream``): the rows are read
from the database as the file is sent. Only the network manager gets in.
"""

from __future__ import annotations

from datetime import date

from litestar import Router, get
from litestar.di import Provide
from litestar.params import FromPath
from litestar.response import Stream, Template

from timebank import audit, exports, network
from timebank.errors import DomainError
from timebank.web.forms import form_errors, parse_whole
from timebank.web.frame import Caller, Db, Req, language_of, page, provide_manager


@get("/exports", name="manage_exports", include_in_schema=False)
async def export_page(request: Req, db: Db, manager: Caller) -> Template:
    """The period form and a download link for each export; the links carry the period
    only once it reads right (errors are shown at their fields)."""
    q = request.query_params
    today = await network.today(db)
    form = {
        "from": q.get("from", date(today.year, 1, 1).isoformat()),
        "to": q.get("to", today.isoformat()),
    }
    errors: dict[str, str] = {}
    query: dict[str, str] | None = None
    try:
        query = exports.period(form["from"], form["to"]).query()
    except DomainError as exc:
        errors = form_errors(exc, language_of(request))
    return page(
        request,
        "exports/index.html",
        form=form,
        errors=errors,
        query=query,
        kinds=exports.KINDS,
        formats=exports.FORMATS,
        status=400 if errors else 200,
    )


@get("/exports/{file:str}", name="manage_export_file", include_in_schema=False)
async def export_file(request: Req, db: Db, manager: Caller, file: FromPath[str]) -> Stream:
    q = request.query_params
    made = await exports.start_export(
        db, manager, file, q.get("from"), q.get("to"), language=language_of(request)
    )
    return Stream(
        made.chunks(request.app.state.sessions),
        media_type=made.media_type,
        headers={"Content-Disposition": f'attachment; filename="{made.filename}"'},
    )


@get("/audit", name="manage_audit", include_in_schema=False)
async def audit_log(request: Req, db: Db, manager: Caller) -> Template:
    number = parse_whole(request.query_params.get("page"), "page") or 1
    entries = await audit.entries(db, manager, page=number)
    return page(
        request,
        "audit/list.html",
        entries=entries,
        action_names=audit.ACTION_NAMES,
        export_titles={kind: table.title for kind, table in exports.TABLES.items()},
    )


EXPORT_PAGES = Router(
    path="/manage",
    route_handlers=[export_page, export_file, audit_log],
    dependencies={"manager": Provide(provide_manager)},
)
ROUTES = [EXPORT_PAGES]
