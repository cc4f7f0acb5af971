"""JSON API v1: thin handlers that parse input, call a domain function and shape output.

Authorisation lives in the domain functions (through ``timebank.access``); a handler only
names who is asking (``actor``, from the bearer token) and what they ask for. Every request
runs in one transaction (``app.provide_db``), so a refused request writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from litestar import Request, Router, get, patch, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, Operation, Reference, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.params import FromPath, JSONBody, Parameter, QueryParameter
from litestar.plugins.pydantic import PydanticSchemaPlugin
from litestar.response import Stream
from litestar.typing import FieldDefinition
from sqlmodel.ext.asyncio.session import AsyncSession

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator

from timebank import (
    access,
    disputes,
    exchanges,
    exports,
    ledger,
    members,
    organizations,
    privacy,
)
from timebank.errors import DomainError
from timebank.i18n import N_
from timebank.models import Exchange, Member, Organization, id_of
from timebank.schemas import (
    MAX_INT,
    MAX_JSON_DEPTH,
    AccountLimitsIn,
    AccountOut,
    ConfirmIn,
    DisputeIn,
    DisputeOut,
    DonationIn,
    ErrorOut,
    ExchangeIn,
    ExchangeOut,
    MemberIn,
    MemberOut,
    MeOut,
    MismatchOut,
    OrganizationChangesIn,
    OrganizationIn,
    OrganizationOut,
    PoolPaymentIn,
    ReasonIn,
    ReverseIn,
    SettleIn,
    StatementLineOut,
    StatementOut,
    TransferOut,
    VerifyOut,
    json_too_deep,
)
from timebank.web.errors import reader_language

# Handler parameters Litestar injects by name (app.py declares the dependencies).
Db = NamedDependency[AsyncSession]
Caller = NamedDependency[Member]  # the member behind the bearer token

# Path and query ids are bounded like body ids: a number PostgreSQL cannot hold is a 400.
PathId = Annotated[int, Parameter(ge=1, le=MAX_INT)]

_ERROR_MEANING = {
    400: "malformed JSON, a wrong type, a missing or unknown field (code `validation`)",
    401: "no bearer token, or an unknown/revoked one (code `unauthorized`)",
    403: "the caller may not do this (code `forbidden`)",
    404: "no such record (code `not_found`)",
    409: "the state forbids it now (`balance_limit`, `already_reversed`, ...)",
    422: "the input breaks a rule; `field` names it (code `validation`)",
}


# --- What the published schema says: what the code enforces ---------------------------------


class InputSchemas(PydanticSchemaPlugin):
    """Litestar's schemas of pydantic models leave out ``extra="forbid"``: say it
    (``additionalProperties: false``), so clients and fuzzers know unknown fields are
    refused. app.py installs it in place of the default."""

    def to_openapi_schema(
        self, field_definition: FieldDefinition, schema_creator: SchemaCreator
    ) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        config = getattr(field_definition.annotation, "model_config", {})
        if config.get("extra") == "forbid":
            schema.additional_properties = False
        return schema


@dataclass
class OptionalBody(Operation):
    """An operation whose request body may be left out (Litestar marks every body as
    required, even one declared ``= None``)."""

    def __post_init__(self) -> None:
        if isinstance(self.request_body, RequestBody):
            self.request_body.required = False


async def refuse_deep_json(request: Request[Any, Any, Any]) -> None:
    """The API's one input guard before parsing: a body nested deeper than any input
    needs is a 400, before the JSON parser recurses into it."""
    if request.method in ("POST", "PUT", "PATCH") and json_too_deep(await request.body()):
        # A message id with its values in `extra`: web/errors.py tells it in the caller's language.
        raise ValidationException(
            N_("the JSON body nests deeper than {depth} levels"), extra={"depth": MAX_JSON_DEPTH}
        )


def _errors(*statuses: int) -> dict[int, ResponseSpec]:
    return {
        s: ResponseSpec(data_container=ErrorOut, description=_ERROR_MEANING[s])
        for s in (401, *statuses)
    }


# --- Shaping output ------------------------------------------------------------------------


async def _member_out(db: Db, member: Member) -> MemberOut:
    account = await ledger.account_of_member(db, id_of(member))
    return MemberOut.model_validate(member, update={"account_id": account.id})


def _account_out(view: members.AccountView) -> AccountOut:
    a = view.account
    return AccountOut(
        id=id_of(a),
        kind=a.kind,
        member_id=a.member_id,
        organization_id=a.organization_id,
        balance_minutes=a.balance_minutes,
        min_minutes=view.limits.min_minutes,
        max_minutes=view.limits.max_minutes,
        own_min_minutes=a.min_minutes,
        own_max_minutes=a.max_minutes,
    )


async def _exchange_out(db: Db, result: exchanges.ExchangeResult) -> ExchangeOut:
    e = result.exchange
    dispute = await disputes.latest_of(db, id_of(e))
    return ExchangeOut.model_validate(
        e,
        update={
            "category": await exchanges.category_slug(db, e),
            "transfer_id": result.transfer.id if result.transfer else None,
            "dispute": DisputeOut.model_validate(dispute, update={"why": dispute.reason})
            if dispute
            else None,
        },
    )


# --- Members -------------------------------------------------------------------------------


@get("/me", summary="The calling member and their balance", responses=_errors())
async def me(db: Db, actor: Caller) -> MeOut:
    account = await ledger.account_of_member(db, id_of(actor))
    return MeOut(
        id=id_of(actor),
        name=actor.name,
        role=actor.role,
        account_id=id_of(account),
        balance_minutes=account.balance_minutes,
    )


@post(
    "/members",
    summary="Add a member with their account (manager)",
    responses=_errors(403, 409, 422),
)
async def create_member(db: Db, actor: Caller, data: JSONBody[MemberIn]) -> MemberOut:
    new = members.NewMember(
        name=data.name,
        role=data.role,
        email=data.email,
        phone=data.phone,
        password=data.password,
        organization_id=data.organization_id,
        district_id=await members.district_id_for(db, data.district),
        language=data.language,
    )
    return await _member_out(db, await members.create_member(db, new, actor=actor))


@get(
    "/members/{member_id:int}",
    summary="A member's details (themselves, or staff acting for them)",
    responses=_errors(403, 404),
)
async def read_member(db: Db, actor: Caller, member_id: PathId) -> MemberOut:
    return await _member_out(db, await members.member_for(db, actor, member_id))


# --- Data protection (DSGVO) --------------------------------------------------------------


@get(
    "/me/export",
    summary="Everything kept about the calling member, as JSON (written to the audit log)",
    responses=_errors(),
)
async def export_my_data(db: Db, actor: Caller) -> dict[str, Any]:
    return (await privacy.member_data(db, actor, id_of(actor))).as_json()


@get(
    "/members/{member_id:int}/export",
    summary="Everything kept about a member, as JSON (manager; written to the audit log)",
    responses=_errors(403, 404),
)
async def export_member_data(db: Db, actor: Caller, member_id: PathId) -> dict[str, Any]:
    return (await privacy.member_data(db, actor, member_id)).as_json()


@post(
    "/members/{member_id:int}/erase",
    summary="Erase a member's personal data, keeping the books (manager, with a reason)",
    description=(
        "The name becomes a pseudonym; email, phone, address, availability and the texts "
        "they wrote are removed; sessions and tokens end. Transfers and balances stay, so "
        "`ledger verify` still passes. A second erasure is a 409."
    ),
    status_code=200,
    responses=_errors(403, 404, 409, 422),
)
async def erase_member(
    db: Db, actor: Caller, member_id: PathId, data: JSONBody[ReasonIn]
) -> MemberOut:
    return await _member_out(db, await privacy.erase(db, actor, member_id, data.reason))


# --- Accounts ------------------------------------------------------------------------------


@get(
    "/accounts/{account_id:int}",
    summary="An account's balance and limits (its owner, staff acting for them, the manager)",
    responses=_errors(403, 404),
)
async def read_account(db: Db, actor: Caller, account_id: PathId) -> AccountOut:
    return _account_out(await members.account_view(db, actor, account_id))


@patch(
    "/accounts/{account_id:int}",
    summary="Set an account's own limits (manager); null means the network default",
    responses=_errors(403, 404, 422),
)
async def update_account(
    db: Db,
    actor: Caller,
    account_id: PathId,
    data: JSONBody[AccountLimitsIn],
) -> AccountOut:
    changes = data.model_dump(exclude_unset=True)
    return _account_out(await members.set_account_limits(db, actor, account_id, changes))


@get(
    "/accounts/{account_id:int}/transfers",
    summary="The statement: newest first, with the balance after each line",
    description="Keyset paging: pass `next_before_id` of one page as `before_id` for the next.",
    responses=_errors(403, 404),
)
async def read_statement(
    db: Db,
    actor: Caller,
    account_id: PathId,
    limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
    before_id: Annotated[int | None, Parameter(ge=1, le=MAX_INT)] = None,
) -> StatementOut:
    statement = await exchanges.account_statement(
        db, actor, account_id, limit=limit, before_id=before_id
    )
    lines = [
        StatementLineOut.model_validate(
            entry.line, update={"assisted": entry.assisted, "paid_by_pool": entry.paid_by_pool}
        )
        for entry in statement.entries
    ]
    return StatementOut(
        account_id=account_id,
        balance_minutes=statement.account.balance_minutes,
        lines=lines,
        next_before_id=lines[-1].transfer_id if len(lines) == limit else None,
    )


# --- Exchanges and transfers ---------------------------------------------------------------


@post(
    "/exchanges",
    summary="Log help given: pending for the giver; confirmed at once when staff enter it",
    description=(
        "The caller is the giver (the receiver confirms later), or staff acting for the "
        "receiver (confirmed and booked at once, marked assisted). A retry with the same "
        "`idempotency_key` by the same caller answers 201 with the first exchange as it is "
        "now and books nothing; the key reused for different help is a 409 "
        "`idempotency_conflict`."
    ),
    responses=_errors(403, 409, 422),
)
async def record_exchange(db: Db, actor: Caller, data: JSONBody[ExchangeIn]) -> ExchangeOut:
    result = await exchanges.record_exchange(db, actor, **data.model_dump())
    return await _exchange_out(db, result)


@post(
    "/exchanges/{exchange_id:int}/confirm",
    status_code=200,
    operation_class=OptionalBody,
    summary="Confirm help received: the receiver's account pays the giver",
    description=(
        "The receiver, or staff acting for them; never the giver (403 "
        "`giver_cannot_confirm`, also for a colleague of a professional giver: their own "
        "help waits for the receiver or the manager). Confirming twice books once. Nobody is "
        "refused for help given: where booking it would take the receiver below their "
        "minimum or the giver above their maximum, it answers 200 with `status` `held` and "
        "`transfer_id` null (nothing booked; the network office settles it), unless the "
        "network lets the community pool cover it (`paid_by_pool`). A manager may pass "
        "`override_reason` to book it beyond the limit at once. The body may be left out."
    ),
    responses=_errors(403, 404, 409, 422),
)
async def confirm_exchange(
    db: Db,
    actor: Caller,
    exchange_id: PathId,
    data: JSONBody[ConfirmIn | None] = None,
) -> ExchangeOut:
    override = data.override_reason if data else None
    result = await exchanges.confirm_exchange(db, actor, exchange_id, override_reason=override)
    return await _exchange_out(db, result)


@post(
    "/exchanges/{exchange_id:int}/reject",
    status_code=200,
    summary="Dispute logged help, saying why (the receiver, or staff acting for them)",
    description=(
        "Nothing is booked: the exchange becomes `disputed` (see `dispute`), the giver and "
        "the network office are told. The giver may accept a corrected length "
        "(`.../dispute/accept`), the network manager settles the rest "
        "(`.../dispute/settle`), the receiver may take it back (`.../dispute/withdraw`). "
        "A body with only `reason` disputes it as `why: other`. Sent twice alike, it answers "
        "the first dispute; another reason while one is open is a 409."
    ),
    responses=_errors(403, 404, 409, 422),
)
async def reject_exchange(
    db: Db,
    actor: Caller,
    exchange_id: PathId,
    data: JSONBody[DisputeIn],
) -> ExchangeOut:
    with _fields_renamed({"note": "reason", "reason": "why"}):
        await disputes.open_dispute(
            db, actor, exchange_id, reason=data.why, minutes=data.minutes, note=data.reason
        )
    return await _exchange_out(db, await _as_it_is(db, exchange_id))


@post(
    "/exchanges/{exchange_id:int}/dispute/accept",
    status_code=200,
    summary="Accept the corrected length of a dispute (the giver): booked with that length",
    description=(
        "Only for `why: length`. Booked as any confirmation (or `held` beyond a balance "
        "limit). A settled dispute is a 409."
    ),
    responses=_errors(403, 404, 409),
)
async def accept_correction(db: Db, actor: Caller, exchange_id: PathId) -> ExchangeOut:
    return await _exchange_out(db, await disputes.accept_correction(db, actor, exchange_id))


@post(
    "/exchanges/{exchange_id:int}/dispute/withdraw",
    status_code=200,
    summary="Take a dispute back (the receiver): the help waits for confirmation again",
    responses=_errors(403, 404, 409),
)
async def withdraw_dispute(db: Db, actor: Caller, exchange_id: PathId) -> ExchangeOut:
    exchange = await disputes.withdraw(db, actor, exchange_id)
    return await _exchange_out(db, exchanges.ExchangeResult(exchange, None))


@post(
    "/exchanges/{exchange_id:int}/dispute/settle",
    status_code=200,
    summary="Settle a dispute (manager): confirmed, corrected or rejected, with a note",
    description=(
        "Both sides are told the outcome and the note. A confirmation is booked as any "
        "(or `held` beyond a balance limit); a settled dispute is a 409."
    ),
    responses=_errors(403, 404, 409, 422),
)
async def settle_dispute(
    db: Db, actor: Caller, exchange_id: PathId, data: JSONBody[SettleIn]
) -> ExchangeOut:
    result = await disputes.settle(
        db, actor, exchange_id, outcome=data.outcome, note=data.note, minutes=data.minutes
    )
    return await _exchange_out(db, result)


@contextmanager
def _fields_renamed(names: dict[str, str]) -> Iterator[None]:
    """The domain's field names as this endpoint's body names them."""
    try:
        yield
    except DomainError as exc:
        exc.field = names.get(exc.field or "", exc.field)
        raise


async def _as_it_is(db: Db, exchange_id: int) -> exchanges.ExchangeResult:
    exchange = await db.get(Exchange, exchange_id)
    assert exchange is not None  # the domain call found it
    return exchanges.ExchangeResult(exchange, None)


@post(
    "/transfers/{transfer_id:int}/reverse",
    summary="Reverse a transfer with a reason (manager); its exchange becomes reversed",
    description=(
        "It books even beyond balance limits, and names each limit it crossed "
        "(`from_min_crossed`, `to_max_crossed`). 409 `pool_below_zero` when it would take the "
        "community pool below zero without `override_reason`; 409 `already_reversed` the "
        "second time; 409 `cannot_reverse_reversal`."
    ),
    responses=_errors(403, 404, 409, 422),
)
async def reverse_transfer(
    db: Db,
    actor: Caller,
    transfer_id: PathId,
    data: JSONBody[ReverseIn],
) -> TransferOut:
    reversal = await exchanges.reverse_exchange_transfer(
        db, actor, transfer_id, reason=data.reason, override_reason=data.override_reason
    )
    return TransferOut.model_validate(reversal)


# --- The community pool --------------------------------------------------------------------


@post(
    "/pool/donations",
    summary="Give minutes from your own account to the community pool",
    description="A retry with the same `idempotency_key` returns the first donation.",
    responses=_errors(409, 422),
)
async def donate(db: Db, actor: Caller, data: JSONBody[DonationIn]) -> TransferOut:
    transfer = await exchanges.donate_to_pool(
        db, actor, data.minutes, idempotency_key=data.idempotency_key
    )
    return TransferOut.model_validate(transfer)


@post(
    "/pool/payments",
    summary="Let the pool pay the giver of a pending or held exchange (manager)",
    description="Paying it again answers with the first payment and books nothing.",
    responses=_errors(403, 404, 409),
)
async def pay_from_pool(db: Db, actor: Caller, data: JSONBody[PoolPaymentIn]) -> ExchangeOut:
    result = await exchanges.pay_from_pool(db, actor, data.exchange_id)
    return await _exchange_out(db, result)


# --- The books -----------------------------------------------------------------------------


@get(
    "/ledger/verify",
    summary="Recompute every balance from the transfers (manager)",
    responses=_errors(403),
)
async def verify_ledger(db: Db, actor: Caller) -> VerifyOut:
    access.require_manager(actor)
    report = await ledger.verify(db)
    return VerifyOut(
        ok=report.ok,
        accounts=report.accounts,
        transfers=report.transfers,
        total_minutes=report.total_minutes,
        mismatches=[MismatchOut.model_validate(m) for m in report.mismatches],
    )


# --- Organisations (issue 11) --------------------------------------------------------------


async def _organization_out(db: Db, organization: Organization) -> OrganizationOut:
    account = await organizations.account_of(db, id_of(organization))
    return OrganizationOut.model_validate(organization, update={"account_id": account.id})


@get("/organizations", summary="Every member organisation, by name", responses=_errors())
async def list_organizations(db: Db, actor: Caller) -> list[OrganizationOut]:
    return [await _organization_out(db, o) for o in await organizations.all_organizations(db)]


@post(
    "/organizations",
    summary="Add a member organisation with its account (manager)",
    responses=_errors(403, 409, 422),
)
async def create_organization(
    db: Db, actor: Caller, data: JSONBody[OrganizationIn]
) -> OrganizationOut:
    new = organizations.OrganizationFields(**data.model_dump())
    return await _organization_out(db, await organizations.create(db, actor, new))


@get(
    "/organizations/{organization_id:int}",
    summary="A member organisation's details",
    responses=_errors(404),
)
async def read_organization(db: Db, actor: Caller, organization_id: PathId) -> OrganizationOut:
    return await _organization_out(db, await organizations.get(db, organization_id))


@patch(
    "/organizations/{organization_id:int}",
    summary="Change an organisation's details, or deactivate it (manager)",
    description=(
        "Fields left out stay as they are. `active: false` deactivates it: refused with 409 "
        "while it has active staff (move or deactivate them first)."
    ),
    responses=_errors(403, 404, 409, 422),
)
async def update_organization(
    db: Db, actor: Caller, organization_id: PathId, data: JSONBody[OrganizationChangesIn]
) -> OrganizationOut:
    changes = data.model_dump(exclude_unset=True)
    return await _organization_out(
        db, await organizations.update(db, actor, organization_id, changes)
    )


# --- Exports (issue 11) ---------------------------------------------------------------------


@dataclass
class FileDownload(Operation):
    """An operation that answers with a file: its 200 is CSV or XLSX, not JSON."""

    def __post_init__(self) -> None:
        answer = (self.responses or {}).get("200")
        if answer is not None and not isinstance(answer, Reference):
            binary = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
            types = exports.MEDIA_TYPES.values()
            answer.content = {t: OpenAPIMediaType(schema=binary) for t in types}
            answer.description = "the file, streamed"


# The period's ends: typed as text and read by the domain, so a bad date is a 400 that
# names `from` or `to` (Litestar's own reading would name the Python parameter).
_DAY = "YYYY-MM-DD, in the town's time"
From = Annotated[str | None, QueryParameter(name="from", description=_DAY)]
To = Annotated[str | None, QueryParameter(name="to", description=_DAY)]


@get(
    "/exports/{file:str}",
    summary="Export a list as CSV or XLSX (manager)",
    description=(
        "`members` (balances now; no period), `transfers` (bookings, reversals included), "
        "`exchanges` (help by the day it was given) and `requests` (by the day they were "
        "made), each as `.csv` (UTF-8 with BOM, `;`, hours with a decimal comma, for German "
        "Excel) or `.xlsx`. `from` and `to` are the town's days, both included; either may "
        "be left out. Streamed: the rows are read as they are sent. Each export is written "
        "to the audit log."
    ),
    operation_class=FileDownload,
    responses=_errors(400, 403),
)
async def export(
    request: Request[Any, Any, Any],
    db: Db,
    actor: Caller,
    file: FromPath[exports.ExportName],
    start: From = None,
    end: To = None,
) -> Stream:
    made = await exports.start_export(
        db, actor, file.value, start, end, language=reader_language(request)
    )
    return Stream(
        made.chunks(request.app.state.sessions),
        media_type=made.media_type,
        headers={"Content-Disposition": f'attachment; filename="{made.filename}"'},
    )


API_V1 = Router(
    path="/api/v1",
    route_handlers=[
        me,
        create_member,
        read_member,
        export_my_data,
        export_member_data,
        erase_member,
        read_account,
        update_account,
        read_statement,
        record_exchange,
        confirm_exchange,
        reject_exchange,
        accept_correction,
        withdraw_dispute,
        settle_dispute,
        reverse_transfer,
        donate,
        pay_from_pool,
        verify_ledger,
        list_organizations,
        create_organization,
        read_organization,
        update_organization,
        export,
    ],
    tags=["API v1"],
    before_request=refuse_deep_json,
)

ROUTES = [API_V1]
