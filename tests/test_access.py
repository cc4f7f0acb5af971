"""Who may do what: the rules of ``timebank.access``, and the matrix of every API endpoint
× every kind of caller × whose data, over HTTP on both databases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import World, bearer, town_today
from timebank import access, disputes, exchanges, ledger
from timebank.db import transaction
from timebank.errors import Forbidden
from timebank.members import NewMember, create_member
from timebank.models import Account, Exchange, Member

# --- The rules, one by one (no database needed) --------------------------------------------

CARITAS, DIAKONIE = 1, 2


def person(id: int, role: str, org: int | None = None, active: bool = True) -> Member:
    return Member(id=id, name=f"m{id}", role=role, organization_id=org, active=active)


manager = person(1, "manager")
paula = person(2, "professional", CARITAS)
karl = person(3, "senior", CARITAS)  # a client of Caritas
olga = person(4, "senior", DIAKONIE)  # a client of another organisation
volker = person(5, "volunteer")
sieglinde = person(6, "senior")


@pytest.mark.parametrize(
    ("actor", "member", "acts"),
    [
        (manager, olga, True),
        (manager, volker, True),
        (paula, karl, True),
        (paula, olga, False),
        (paula, volker, False),
        (person(7, "professional", None), karl, False),
        (person(8, "professional", CARITAS, active=False), karl, False),
        (person(9, "manager", active=False), karl, False),
        (volker, sieglinde, False),
        (karl, paula, False),  # a client does not act for their organisation's staff
    ],
)
def test_staff_act_for_the_members_of_their_organisation_and_the_manager_for_all(
    actor, member, acts
):
    assert access.acts_for(actor, member) is acts


def test_a_professional_sees_their_organisations_account_and_no_other():
    caritas = Account(id=10, kind="organization", organization_id=CARITAS)
    diakonie = Account(id=11, kind="organization", organization_id=DIAKONIE)
    pool = Account(id=12, kind="pool")
    assert access.can_see_account(paula, caritas, None)
    assert not access.can_see_account(paula, diakonie, None)
    assert not access.can_see_account(paula, pool, None)
    assert not access.can_see_account(volker, caritas, None)
    assert access.can_see_account(manager, pool, None)


def test_the_giver_logs_help_and_it_waits_for_the_receiver():
    assert access.entry_confirms_at_once(volker, volker, sieglinde) is False


@pytest.mark.parametrize(
    ("actor", "allowed"),
    [
        (manager, True),
        (paula, True),
        (volker, False),
        (karl, False),
        (person(10, "professional", CARITAS, active=False), False),
    ],
)
def test_only_active_staff_enter_help_on_behalf_of_others(actor, allowed):
    if allowed:
        access.require_staff(actor)
    else:
        with pytest.raises(Forbidden):
            access.require_staff(actor)


def test_staff_entering_for_the_receiver_confirm_at_once():
    assert access.entry_confirms_at_once(paula, volker, karl) is True
    assert access.entry_confirms_at_once(manager, volker, olga) is True


def test_staff_acting_only_for_the_giver_enter_it_pending():
    assert access.entry_confirms_at_once(paula, karl, sieglinde) is False


def test_the_receiver_cannot_log_help_they_received():
    with pytest.raises(Forbidden):
        access.entry_confirms_at_once(sieglinde, volker, sieglinde)


def test_a_stranger_cannot_log_help_between_two_others():
    with pytest.raises(Forbidden):
        access.entry_confirms_at_once(volker, sieglinde, karl)
    with pytest.raises(Forbidden):
        access.entry_confirms_at_once(paula, volker, olga)


def test_an_inactive_member_can_do_nothing():
    gone = person(20, "volunteer", active=False)
    with pytest.raises(Forbidden):
        access.entry_confirms_at_once(gone, gone, sieglinde)
    exchange = Exchange(id=1, giver_id=5, receiver_id=20, minutes=60, performed_on=town_today())
    with pytest.raises(Forbidden):
        access.require_decide_exchange(gone, exchange, gone)


def test_only_the_receiver_or_their_staff_decide_an_exchange():
    exchange = Exchange(id=1, giver_id=5, receiver_id=3, minutes=60, performed_on=town_today())
    access.require_decide_exchange(karl, exchange, karl)
    access.require_decide_exchange(paula, exchange, karl)
    access.require_decide_exchange(manager, exchange, karl)
    for outsider in (volker, sieglinde, person(30, "professional", DIAKONIE)):
        with pytest.raises(Forbidden):
            access.require_decide_exchange(outsider, exchange, karl)


petra = person(11, "professional", CARITAS)  # Paula's colleague


@pytest.mark.parametrize(
    ("actor", "giver", "receiver", "allowed"),
    [
        (karl, volker, karl, True),  # the receiver
        (paula, volker, karl, True),  # staff for the receiver, a third person's help
        (manager, volker, karl, True),
        (manager, paula, karl, True),  # the manager confirms a professional's help
        (karl, paula, karl, True),  # the client confirms their professional's help
        (paula, paula, karl, False),  # issue 8: a professional's own help to her client
        (manager, manager, olga, False),  # issue 8: the manager's own help
        (petra, paula, karl, False),  # a colleague for Paula's own client
        (petra, volker, karl, True),  # a colleague for a volunteer's help
        (volker, volker, sieglinde, False),
        (person(12, "manager", active=False), volker, karl, False),
        (olga, volker, karl, False),
    ],
)
def test_the_giver_never_confirms_their_own_help(actor, giver, receiver, allowed):
    assert access.can_confirm_exchange(actor, giver, receiver) is allowed


def test_staff_logging_their_own_help_for_a_client_wait_for_the_client_or_the_manager():
    assert access.entry_confirms_at_once(paula, paula, karl) is False
    assert access.entry_confirms_at_once(manager, manager, karl) is False
    # A colleague entering Paula's help for Paula's client cannot book it at once either.
    assert access.entry_confirms_at_once(petra, paula, karl) is False
    assert access.entry_confirms_at_once(manager, paula, karl) is True


def test_staffs_help_to_their_own_clients_is_never_confirmed_by_silence():
    assert access.may_confirm_by_silence(volker, karl) is True
    assert access.may_confirm_by_silence(paula, olga) is True  # not her client
    assert access.may_confirm_by_silence(paula, karl) is False
    assert access.may_confirm_by_silence(manager, volker) is False


# --- The matrix over HTTP ------------------------------------------------------------------
#
# Callers: four members with a login, one of each role (the professional works for Caritas
# Nord), a request with no token, and one with a token nobody issued.
# Whose data ("target"):
#   own    — the caller's own (for callers without a member: the volunteer's)
#   client — Karl, a senior client of Caritas Nord, without a login
#   other  — Olga, a senior client of another organisation, without a login
#   given  — an exchange the caller logged as giver, which the receiver has to decide
#   gave   — help the caller logged as giver to Karl (the giver never confirms it)
#   pool   — the community pool's account
#
# fmt: off
MATRIX = """
endpoint                         target  volunteer senior professional manager nobody forged
GET   /me                        own     200       200    200          200     401    401
GET   /members/{id}              own     200       200    200          200     401    401
GET   /members/{id}              client  403       403    200          200     401    401
GET   /members/{id}              other   403       403    403          200     401    401
POST  /members                   -       403       403    403          201     401    401
GET   /accounts/{id}             own     200       200    200          200     401    401
GET   /accounts/{id}             client  403       403    200          200     401    401
GET   /accounts/{id}             other   403       403    403          200     401    401
GET   /accounts/{id}             pool    403       403    403          200     401    401
PATCH /accounts/{id}             own     403       403    403          200     401    401
PATCH /accounts/{id}             client  403       403    403          200     401    401
GET   /accounts/{id}/transfers   own     200       200    200          200     401    401
GET   /accounts/{id}/transfers   client  403       403    200          200     401    401
GET   /accounts/{id}/transfers   other   403       403    403          200     401    401
POST  /exchanges                 own     201       201    201          201     401    401
POST  /exchanges                 client  403       403    201          201     401    401
POST  /exchanges                 other   403       403    403          201     401    401
POST  /exchanges/{id}/confirm    own     200       200    200          200     401    401
POST  /exchanges/{id}/confirm    given   403       403    403          403     401    401
POST  /exchanges/{id}/confirm    gave    403       403    403          403     401    401
POST  /exchanges/{id}/confirm    client  403       403    200          200     401    401
POST  /exchanges/{id}/confirm    other   403       403    403          200     401    401
POST  /exchanges/{id}/reject     own     200       200    200          200     401    401
POST  /exchanges/{id}/reject     given   403       403    403          200     401    401
POST  /exchanges/{id}/reject     client  403       403    200          200     401    401
POST  /exchanges/{id}/reject     other   403       403    403          200     401    401
POST  /exchanges/{id}/dispute/accept   given   200 200    200          200     401    401
POST  /exchanges/{id}/dispute/accept   own     403 403    403          200     401    401
POST  /exchanges/{id}/dispute/withdraw own     200 200    200          200     401    401
POST  /exchanges/{id}/dispute/withdraw given   403 403    403          200     401    401
POST  /exchanges/{id}/dispute/withdraw client  403 403    200          200     401    401
POST  /exchanges/{id}/dispute/settle   own     403 403    403          200     401    401
POST  /transfers/{id}/reverse    own     403       403    403          201     401    401
POST  /transfers/{id}/reverse    other   403       403    403          201     401    401
POST  /pool/donations            own     201       201    201          201     401    401
POST  /pool/payments             client  403       403    403          201     401    401
POST  /pool/payments             other   403       403    403          201     401    401
GET   /ledger/verify             -       403       403    403          200     401    401
GET   /me/export                 own     200       200    200          200     401    401
GET   /members/{id}/export       client  403       403    403          200     401    401
POST  /members/{id}/erase        other   403       403    403          200     401    401
GET   /organizations             -       200       200    200          200     401    401
POST  /organizations             -       403       403    403          201     401    401
GET   /organizations/{id}        -       200       200    200          200     401    401
PATCH /organizations/{id}        -       403       403    403          200     401    401
GET   /exports/{id}              -       403       403    403          200     401    401
"""
# fmt: on


@dataclass(frozen=True)
class Row:
    method: str
    endpoint: str
    target: str
    expected: dict[str, int]

    def __str__(self) -> str:
        return f"{self.method} {self.endpoint} [{self.target}]"


def _parse(table: str) -> tuple[list[str], list[Row]]:
    header, *lines = [line.split() for line in table.strip().splitlines()]
    callers = header[2:]
    rows = [
        Row(method, endpoint, target, dict(zip(callers, map(int, cells), strict=True)))
        for method, endpoint, target, *cells in lines
    ]
    return callers, rows


CALLERS, ROWS = _parse(MATRIX)
EXPECTED_CODE = {401: {"unauthorized"}, 403: {"forbidden", "giver_cannot_confirm"}}


def test_the_matrix_covers_every_endpoint_of_the_api():
    from timebank.web.api import API_V1

    served = {
        (method, route.path.removeprefix("/api/v1").replace(":int}", "}").replace("_id}", "}"))
        for route in API_V1.routes
        for method in route.methods - {"OPTIONS", "HEAD"}  # type: ignore[attr-defined]
    }
    served = {
        (m, "/".join("{id}" if p.startswith("{") else p for p in path.split("/")))
        for m, path in served
    }
    assert {(row.method, row.endpoint) for row in ROWS} == served


Sessions = async_sessionmaker[AsyncSession]


@dataclass
class Scene:
    world: World
    olga: Member
    tokens: dict[str, str]
    sessions: Sessions

    def member(self, caller: str) -> Member:
        # Callers without a member (no token, a forged one) aim at the volunteer's data.
        return getattr(self.world, caller if caller in self.tokens else "volunteer")

    def token(self, caller: str) -> str | None:
        if caller == "nobody":
            return None
        if caller == "forged":
            return "tb_" + "x" * 43
        return self.tokens[caller]

    def whose(self, target: str, caller: str) -> Member:
        return {"own": self.member(caller), "client": self.world.client, "other": self.olga}[target]

    async def account_id(self, member: Member) -> int:
        async with transaction(self.sessions) as s:
            return (await ledger.account_of_member(s, member.id)).id  # type: ignore[arg-type, return-value]

    async def pool_id(self) -> int:
        async with transaction(self.sessions) as s:
            return (await ledger.pool_account(s)).id  # type: ignore[return-value]

    async def exchange(self, giver: Member, receiver: Member, *, by: Member | None = None) -> int:
        """An exchange logged by ``by`` (default the giver): pending unless staff for the
        receiver entered it."""
        async with transaction(self.sessions) as s:
            result = await exchanges.record_exchange(
                s,
                by or giver,
                giver_id=giver.id,  # type: ignore[arg-type]
                receiver_id=receiver.id,  # type: ignore[arg-type]
                minutes=30,
                performed_on=town_today(),
                category="visits",
            )
        return result.exchange.id  # type: ignore[return-value]

    async def booked_transfer(self, receiver: Member) -> int:
        helper, manager = self.world.volunteer2, self.world.manager
        async with transaction(self.sessions) as s:
            result = await exchanges.record_exchange(
                s,
                manager,
                giver_id=helper.id,  # type: ignore[arg-type]
                receiver_id=receiver.id,  # type: ignore[arg-type]
                minutes=30,
                performed_on=town_today(),
                category="visits",
            )
        assert result.transfer is not None
        return result.transfer.id  # type: ignore[return-value]


@pytest.fixture
async def scene(world: World, tokens: dict[str, str], sessions: Sessions) -> Scene:
    async with transaction(sessions) as s:
        olga = await create_member(
            s,
            NewMember(name="Olga Ostrowski", role="senior", organization_id=world.other_org.id),
            actor=None,
        )
        # Something in the pool for it to pay with.
        await exchanges.donate_to_pool(s, world.volunteer2, 600)
    callers = {c: tokens[c] for c in ("volunteer", "senior", "professional", "manager")}
    return Scene(world, olga, callers, sessions)


async def request_for(scene: Scene, row: Row, caller: str) -> tuple[str, dict[str, Any] | None]:
    """The path and body of ``row``'s request by ``caller``, on fresh data where it writes."""
    me = scene.member(caller)
    helper = scene.world.volunteer2  # gives the help the callers receive or enter
    endpoint, target = row.endpoint, row.target
    if endpoint == "/me":
        return "/me", None
    if endpoint == "/members/{id}":
        return f"/members/{scene.whose(target, caller).id}", None
    if endpoint == "/members":
        return "/members", {"name": "Neues Mitglied", "role": "volunteer"}
    if endpoint.startswith("/accounts/{id}"):
        account = (
            await scene.pool_id()
            if target == "pool"
            else await scene.account_id(scene.whose(target, caller))
        )
        path = endpoint.replace("{id}", str(account))
        return path, ({"max_minutes": 50 * 60} if row.method == "PATCH" else None)
    if endpoint == "/exchanges":
        giver, receiver = (me, helper) if target == "own" else (helper, scene.whose(target, caller))
        body = {
            "giver_id": giver.id,
            "receiver_id": receiver.id,
            "minutes": 45,
            "performed_on": town_today().isoformat(),
            "category": "shopping",
        }
        return endpoint, body
    if endpoint.startswith("/exchanges/{id}/"):
        if target == "given":
            exchange_id = await scene.exchange(me, helper)
        elif target == "gave":
            exchange_id = await scene.exchange(me, scene.world.client)
        else:
            exchange_id = await scene.exchange(helper, scene.whose(target, caller))
        body: dict[str, Any] | None = None
        if endpoint.endswith("reject"):
            body = {"reason": "stimmt so nicht"}
        if "/dispute/" in endpoint:
            # A length disputed for the receiver (the manager acts for everyone).
            async with transaction(scene.sessions) as s:
                await disputes.open_dispute(
                    s, scene.world.manager, exchange_id, reason="length", minutes=15
                )
            if endpoint.endswith("settle"):
                body = {"outcome": "rejected", "note": "geklärt"}
        return endpoint.replace("{id}", str(exchange_id)), body
    if endpoint == "/transfers/{id}/reverse":
        transfer_id = await scene.booked_transfer(scene.whose(target, caller))
        return f"/transfers/{transfer_id}/reverse", {"reason": "falsch gebucht"}
    if endpoint == "/pool/donations":
        return endpoint, {"minutes": 15}
    if endpoint == "/pool/payments":
        return endpoint, {"exchange_id": await scene.exchange(helper, scene.whose(target, caller))}
    if endpoint == "/ledger/verify":
        return endpoint, None
    if endpoint == "/me/export":
        return endpoint, None
    if endpoint.startswith("/members/{id}/"):
        path = endpoint.replace("{id}", str(scene.whose(target, caller).id))
        return path, ({"reason": "auf Wunsch"} if row.method == "POST" else None)
    if endpoint == "/organizations":
        body = {"name": f"Verein {caller}"} if row.method == "POST" else None
        return endpoint, body
    if endpoint == "/organizations/{id}":
        path = f"/organizations/{scene.world.org.id}"
        return path, ({"phone": "0521 1"} if row.method == "PATCH" else None)
    if endpoint == "/exports/{id}":
        return "/exports/members.csv", None
    raise AssertionError(f"no request for {row}")


@pytest.mark.parametrize("row", ROWS, ids=str)
async def test_who_may_call_what(api: httpx.AsyncClient, scene: Scene, row: Row):
    seen: dict[str, Any] = {}
    for caller in CALLERS:
        path, body = await request_for(scene, row, caller)
        token = scene.token(caller)
        r = await api.request(
            row.method, "/api/v1" + path, json=body, headers=bearer(token) if token else {}
        )
        seen[caller] = r.status_code
        codes = EXPECTED_CODE.get(r.status_code)
        if codes and r.json().get("code") not in codes:
            seen[caller] = (r.status_code, r.json().get("code"))
    assert seen == row.expected
