"""Who reaches which route: one table for every route of the app (JSON API and pages) × every
kind of caller × whose resource, checked over HTTP on both databases.

The table is generated against ``app.routes``: a route without a line here, or a line naming
a route that is gone, fails ``test_the_matrix_names_every_route_of_the_app``. Each line is one
route, one method and one target; each cell the class of answer that caller must get:

- ``ok``  — let in: 2xx, or a redirect anywhere but the sign-in page;
- ``no``  — let in, and the input refused (400, 409, 422: a form drawn again with an error);
- ``in``  — sign-in required: 401 on the API, a redirect to the sign-in page on pages;
- ``403`` — refused; ``404`` — hidden.

Callers: ``anon`` (no token, no session), ``vol`` (a volunteer), ``sen`` (a senior with a
login), ``pro`` (a professional of Caritas Nord, whose client is Karl), ``out`` (a
professional of Diakonie Süd, whose client is Olga), ``man`` (the network manager), ``gone``
(a member deactivated after signing in and getting a token).

Targets, for routes with an id (``-`` where there is none):
``own``    the caller's own member, account, request, offer, or help they received (callers
           without a member aim at the volunteer's);
``client`` Karl's — a senior client of Caritas Nord without a login;
``other``  Olga's — a senior client of Diakonie Süd without a login;
``gave``   help the caller logged as giver for Karl (never confirmed by the giver: issue 8);
``pool``   the community pool's account.

Every cell works on fresh data where the request writes, so cells do not disturb each other;
the whole table runs on one database per test.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import PASSWORD, World, bearer, town_today
from tests.web.support import SECRET, Client, post, sign_in
from timebank import (
    board,
    disputes,
    exchanges,
    intake,
    ledger,
    network,
    notifications,
    organizations,
)
from timebank.config import Settings
from timebank.db import transaction
from timebank.members import NewMember, create_member, create_token, hash_password
from timebank.models import Category, Flag, Intake, Member, id_of
from timebank.web.app import create_app

Sessions = async_sessionmaker[AsyncSession]

ROLES = ("anon", "vol", "sen", "pro", "out", "man", "gone")

# Served by Litestar's static files router: no data, no rule; excluded on purpose.
EXCLUDED = {"/static/{file_path:path}"}

# fmt: off
MATRIX = """
GET    /api/v1/me                                      -       in  ok  ok  ok  ok  ok  in
POST   /api/v1/members                                 -       in  403 403 403 403 ok  in
GET    /api/v1/members/{member_id:int}                 own     in  ok  ok  ok  ok  ok  in
GET    /api/v1/members/{member_id:int}                 client  in  403 403 ok  403 ok  in
GET    /api/v1/members/{member_id:int}                 other   in  403 403 403 ok  ok  in
GET    /api/v1/me/export                               -       in  ok  ok  ok  ok  ok  in
GET    /api/v1/members/{member_id:int}/export          client  in  403 403 403 403 ok  in
POST   /api/v1/members/{member_id:int}/erase           client  in  403 403 403 403 ok  in
GET    /api/v1/accounts/{account_id:int}               own     in  ok  ok  ok  ok  ok  in
GET    /api/v1/accounts/{account_id:int}               client  in  403 403 ok  403 ok  in
GET    /api/v1/accounts/{account_id:int}               other   in  403 403 403 ok  ok  in
GET    /api/v1/accounts/{account_id:int}               pool    in  403 403 403 403 ok  in
PATCH  /api/v1/accounts/{account_id:int}               own     in  403 403 403 403 ok  in
PATCH  /api/v1/accounts/{account_id:int}               client  in  403 403 403 403 ok  in
GET    /api/v1/accounts/{account_id:int}/transfers     own     in  ok  ok  ok  ok  ok  in
GET    /api/v1/accounts/{account_id:int}/transfers     client  in  403 403 ok  403 ok  in
GET    /api/v1/accounts/{account_id:int}/transfers     other   in  403 403 403 ok  ok  in
GET    /api/v1/accounts/{account_id:int}/transfers     pool    in  403 403 403 403 ok  in
POST   /api/v1/exchanges                               own     in  ok  ok  ok  ok  ok  in
POST   /api/v1/exchanges                               client  in  403 403 ok  403 ok  in
POST   /api/v1/exchanges                               other   in  403 403 403 ok  ok  in
POST   /api/v1/exchanges/{exchange_id:int}/confirm     own     in  ok  ok  ok  ok  ok  in
POST   /api/v1/exchanges/{exchange_id:int}/confirm     gave    in  403 403 403 403 403 in
POST   /api/v1/exchanges/{exchange_id:int}/confirm     client  in  403 403 ok  403 ok  in
POST   /api/v1/exchanges/{exchange_id:int}/confirm     other   in  403 403 403 ok  ok  in
POST   /api/v1/exchanges/{exchange_id:int}/reject      own     in  ok  ok  ok  ok  ok  in
POST   /api/v1/exchanges/{exchange_id:int}/reject      gave    in  403 403 ok  403 ok  in
POST   /api/v1/exchanges/{exchange_id:int}/reject      client  in  403 403 ok  403 ok  in
POST   /api/v1/exchanges/{exchange_id:int}/reject      other   in  403 403 403 ok  ok  in
POST   /api/v1/exchanges/{exchange_id:int}/dispute/accept own  in  403 403 403 403 ok  in
POST   /api/v1/exchanges/{exchange_id:int}/dispute/accept gave in  ok  ok  ok  ok  ok  in
POST   /api/v1/exchanges/{exchange_id:int}/dispute/withdraw own in ok  ok  ok  ok  ok  in
POST   /api/v1/exchanges/{exchange_id:int}/dispute/withdraw gave in 403 403 ok 403 ok  in
POST   /api/v1/exchanges/{exchange_id:int}/dispute/withdraw other in 403 403 403 ok ok in
POST   /api/v1/exchanges/{exchange_id:int}/dispute/settle client in 403 403 403 403 ok in
POST   /api/v1/transfers/{transfer_id:int}/reverse     own     in  403 403 403 403 ok  in
POST   /api/v1/transfers/{transfer_id:int}/reverse     client  in  403 403 403 403 ok  in
POST   /api/v1/pool/donations                          -       in  ok  ok  ok  ok  ok  in
POST   /api/v1/pool/payments                           client  in  403 403 403 403 ok  in
GET    /api/v1/ledger/verify                           -       in  403 403 403 403 ok  in
GET    /api/v1/organizations                           -       in  ok  ok  ok  ok  ok  in
POST   /api/v1/organizations                           -       in  403 403 403 403 ok  in
GET    /api/v1/organizations/{organization_id:int}     -       in  ok  ok  ok  ok  ok  in
PATCH  /api/v1/organizations/{organization_id:int}     -       in  403 403 403 403 ok  in
GET    /api/v1/exports/{file:str}                      -       in  403 403 403 403 ok  in
GET    /                                               -       ok  ok  ok  ok  ok  ok  ok
GET    /login                                          -       ok  ok  ok  ok  ok  ok  ok
POST   /login                                          -       no  no  no  no  no  no  no
POST   /language                                       -       ok  ok  ok  ok  ok  ok  ok
POST   /text-size                                      -       ok  ok  ok  ok  ok  ok  ok
GET    /home                                           -       in  ok  ok  ok  ok  ok  in
GET    /exchanges/new                                  -       in  ok  ok  ok  ok  ok  in
POST   /exchanges/new                                  own     in  ok  ok  ok  ok  ok  in
GET    /exchanges/assisted                             -       in  403 403 ok  ok  ok  in
POST   /exchanges/assisted                             client  in  403 403 ok  no  ok  in
POST   /exchanges/assisted                             other   in  403 403 no  ok  ok  in
POST   /exchanges/{exchange_id:int}/confirm            own     in  ok  ok  ok  ok  ok  in
POST   /exchanges/{exchange_id:int}/confirm            gave    in  403 403 403 403 403 in
POST   /exchanges/{exchange_id:int}/confirm            client  in  403 403 ok  403 ok  in
POST   /exchanges/{exchange_id:int}/confirm            other   in  403 403 403 ok  ok  in
POST   /exchanges/{exchange_id:int}/reject             own     in  ok  ok  ok  ok  ok  in
POST   /exchanges/{exchange_id:int}/reject             gave    in  403 403 ok  403 ok  in
POST   /exchanges/{exchange_id:int}/reject             client  in  403 403 ok  403 ok  in
POST   /exchanges/{exchange_id:int}/reject             other   in  403 403 403 ok  ok  in
GET    /exchanges/{exchange_id:int}/dispute            own     in  ok  ok  ok  ok  ok  in
GET    /exchanges/{exchange_id:int}/dispute            gave    in  403 403 ok  403 ok  in
GET    /exchanges/{exchange_id:int}/dispute            client  in  403 403 ok  403 ok  in
GET    /exchanges/{exchange_id:int}/dispute            other   in  403 403 403 ok  ok  in
POST   /exchanges/{exchange_id:int}/dispute/accept     own     in  403 403 403 403 ok  in
POST   /exchanges/{exchange_id:int}/dispute/accept     gave    in  ok  ok  ok  ok  ok  in
POST   /exchanges/{exchange_id:int}/dispute/withdraw   own     in  ok  ok  ok  ok  ok  in
POST   /exchanges/{exchange_id:int}/dispute/withdraw   gave    in  403 403 ok  403 ok  in
POST   /exchanges/{exchange_id:int}/dispute/withdraw   other   in  403 403 403 ok  ok  in
GET    /statement                                      -       in  ok  ok  ok  ok  ok  in
GET    /certificate                                    -       in  ok  ok  ok  ok  ok  in
GET    /members/{member_id:int}/statement              own     in  ok  ok  ok  ok  ok  in
GET    /members/{member_id:int}/statement              client  in  403 403 ok  403 ok  in
GET    /members/{member_id:int}/statement              other   in  403 403 403 ok  ok  in
GET    /donate                                         -       in  ok  ok  ok  ok  ok  in
POST   /donate                                         -       in  ok  ok  ok  ok  ok  in
GET    /requests/new                                   -       in  ok  ok  ok  ok  ok  in
POST   /requests/new                                   own     in  ok  ok  ok  ok  ok  in
POST   /requests/new                                   client  in  no  no  ok  no  ok  in
POST   /requests/new                                   other   in  no  no  no  ok  ok  in
GET    /requests/{request_id:int}                      own     in  ok  ok  ok  ok  ok  in
GET    /requests/{request_id:int}                      client  in  ok  ok  ok  ok  ok  in
GET    /requests/{request_id:int}                      other   in  ok  ok  ok  ok  ok  in
POST   /requests/{request_id:int}/respond              own     in  403 403 403 403 403 in
POST   /requests/{request_id:int}/respond              client  in  ok  ok  ok  ok  ok  in
POST   /requests/{request_id:int}/respond              other   in  ok  ok  ok  ok  ok  in
POST   /requests/{request_id:int}/accept               own     in  ok  ok  ok  ok  ok  in
POST   /requests/{request_id:int}/accept               client  in  403 403 ok  403 ok  in
POST   /requests/{request_id:int}/accept               other   in  403 403 403 ok  ok  in
POST   /requests/{request_id:int}/close                own     in  ok  ok  ok  ok  ok  in
POST   /requests/{request_id:int}/close                client  in  403 403 ok  403 ok  in
POST   /requests/{request_id:int}/close                other   in  403 403 403 ok  ok  in
GET    /board                                          -       in  ok  ok  ok  ok  ok  in
GET    /board/offers                                   -       in  ok  ok  ok  ok  ok  in
GET    /board/offers/new                               -       in  ok  ok  ok  ok  ok  in
POST   /board/offers/new                               -       in  ok  ok  ok  ok  ok  in
POST   /board/offers/{offer_id:int}/close              own     in  ok  ok  ok  ok  ok  in
POST   /board/offers/{offer_id:int}/close              client  in  403 403 ok  403 ok  in
POST   /board/offers/{offer_id:int}/close              other   in  403 403 403 ok  ok  in
GET    /board/offers/{offer_id:int}/take               other   in  ok  ok  ok  ok  ok  in
POST   /board/offers/{offer_id:int}/take               own     in  no  no  no  no  no  in
POST   /board/offers/{offer_id:int}/take               other   in  ok  ok  ok  ok  ok  in
POST   /requests/{request_id:int}/withdraw-offer       other   in  ok  ok  ok  ok  ok  in
GET    /clients                                        -       in  403 403 ok  ok  ok  in
GET    /clients/new                                    -       in  403 403 ok  ok  403 in
POST   /clients/new                                    -       in  403 403 ok  ok  403 in
GET    /manage                                         -       in  403 403 403 403 ok  in
GET    /manage/members                                 -       in  403 403 403 403 ok  in
GET    /manage/members/new                             -       in  403 403 403 403 ok  in
POST   /manage/members/new                             -       in  403 403 403 403 ok  in
GET    /manage/members/{member_id:int}                 client  in  403 403 403 403 ok  in
POST   /manage/members/{member_id:int}                 client  in  403 403 403 403 ok  in
POST   /manage/members/{member_id:int}/limits          client  in  403 403 403 403 ok  in
POST   /manage/members/{member_id:int}/password        other   in  403 403 403 403 ok  in
GET    /manage/members/{member_id:int}/login-sheet     client  in  403 403 403 403 ok  in
GET    /me/data                                        -       in  ok  ok  ok  ok  ok  in
GET    /me/data.json                                   -       in  ok  ok  ok  ok  ok  in
GET    /manage/members/{member_id:int}/data            client  in  403 403 403 403 ok  in
GET    /manage/members/{member_id:int}/data.json       client  in  403 403 403 403 ok  in
GET    /manage/members/{member_id:int}/erase           client  in  403 403 403 403 ok  in
POST   /manage/members/{member_id:int}/erase           client  in  403 403 403 403 ok  in
GET    /manage/privacy                                 -       in  403 403 403 403 ok  in
GET    /manage/members/{member_id:int}/certificate     client  in  403 403 403 403 ok  in
GET    /manage/assisted                                -       in  403 403 403 403 ok  in
POST   /manage/assisted                                client  in  403 403 403 403 ok  in
GET    /manage/exchanges                               -       in  403 403 403 403 ok  in
POST   /manage/exchanges/{exchange_id:int}/pay-from-pool client in 403 403 403 403 ok  in
GET    /manage/exchanges/{exchange_id:int}/pool-payment client in  403 403 403 403 ok  in
GET    /manage/held                                    -       in  403 403 403 403 ok  in
GET    /manage/held/{exchange_id:int}/override         client  in  403 403 403 403 ok  in
POST   /manage/held/{exchange_id:int}/override         client  in  403 403 403 403 no  in
GET    /manage/disputes                                -       in  403 403 403 403 ok  in
POST   /manage/disputes/{exchange_id:int}/settle       client  in  403 403 403 403 ok  in
GET    /manage/transfers                               -       in  403 403 403 403 ok  in
GET    /manage/transfers/{transfer_id:int}/reverse     client  in  403 403 403 403 ok  in
POST   /manage/transfers/{transfer_id:int}/reverse     client  in  403 403 403 403 ok  in
GET    /manage/pool                                    -       in  403 403 403 403 ok  in
GET    /manage/reports                                 -       in  403 403 403 403 ok  in
GET    /manage/reports/workbook                        -       in  403 403 403 403 ok  in
GET    /manage/lists                                   -       in  403 403 403 403 ok  in
POST   /manage/categories                              -       in  403 403 403 403 ok  in
POST   /manage/categories/{category_id:int}            -       in  403 403 403 403 ok  in
POST   /manage/districts                               -       in  403 403 403 403 ok  in
POST   /manage/districts/{district_id:int}             -       in  403 403 403 403 ok  in
GET    /manage/matching                                -       in  403 403 403 403 ok  in
POST   /manage/requests/{request_id:int}/assign        client  in  403 403 403 403 ok  in
GET    /manage/flags                                   -       in  403 403 403 403 ok  in
GET    /manage/flags/members/{member_id:int}           client  in  403 403 403 403 ok  in
POST   /manage/flags/{flag_id:int}/{action:str}        client  in  403 403 403 403 ok  in
GET    /manage/jobs                                    -       in  403 403 403 403 ok  in
GET    /manage/flags/settings                          -       in  403 403 403 403 ok  in
POST   /manage/flags/settings                          -       in  403 403 403 403 ok  in
GET    /manage/exports                                 -       in  403 403 403 403 ok  in
GET    /manage/exports/{file:str}                      -       in  403 403 403 403 ok  in
GET    /manage/audit                                   -       in  403 403 403 403 ok  in
GET    /manage/organizations                           -       in  403 403 403 403 ok  in
GET    /manage/organizations/new                       -       in  403 403 403 403 ok  in
POST   /manage/organizations/new                       -       in  403 403 403 403 ok  in
GET    /manage/organizations/{organization_id:int}     -       in  403 403 403 403 ok  in
POST   /manage/organizations/{organization_id:int}     -       in  403 403 403 403 ok  in
POST   /manage/organizations/{organization_id:int}/deactivate - in 403 403 403 403 ok  in
POST   /manage/organizations/{organization_id:int}/activate -  in  403 403 403 403 ok  in
GET    /manage/office                                  -       in  403 403 403 403 ok  in
GET    /join                                           -       ok  ok  ok  ok  ok  ok  ok
GET    /join/{kind:str}                                -       ok  ok  ok  ok  ok  ok  ok
POST   /join/{kind:str}                                -       ok  ok  ok  ok  ok  ok  ok
GET    /join/{kind:str}/thanks                         -       ok  ok  ok  ok  ok  ok  ok
GET    /manage/intake                                  -       in  403 403 403 403 ok  in
GET    /manage/intake/{intake_id:int}                  -       in  403 403 403 403 ok  in
POST   /manage/intake/{intake_id:int}/called           -       in  403 403 403 403 ok  in
POST   /manage/intake/{intake_id:int}/accept           -       in  403 403 403 403 ok  in
POST   /manage/intake/{intake_id:int}/decline          -       in  403 403 403 403 ok  in
POST   /manage/office                                  -       in  403 403 403 403 no  in
GET    /manage/post                                    -       in  403 403 403 403 ok  in
POST   /manage/post/letters                            -       in  403 403 403 403 ok  in
POST   /manage/post/calls                              -       in  403 403 403 403 ok  in
GET    /notifications                                  -       in  ok  ok  ok  ok  ok  in
POST   /notifications/read                             -       in  ok  ok  ok  ok  ok  in
POST   /notifications/{notice_id:int}/read             own     in  ok  ok  ok  ok  ok  in
POST   /notifications/{notice_id:int}/read             client  in  404 404 404 404 404 in
GET    /notifications/email                            -       in  ok  ok  ok  ok  ok  in
POST   /notifications/email                            -       in  ok  ok  ok  ok  ok  in
GET    /unsubscribe/{token:str}                        own     ok  ok  ok  ok  ok  ok  ok
POST   /unsubscribe/{token:str}                        own     ok  ok  ok  ok  ok  ok  ok
GET    /impressum                                      -       ok  ok  ok  ok  ok  ok  ok
GET    /datenschutz                                    -       ok  ok  ok  ok  ok  ok  ok
GET    /schema                                         -       ok  ok  ok  ok  ok  ok  ok
GET    /schema/{path:str}                              -       404 404 404 404 404 404 404
GET    /schema/openapi.json                            -       ok  ok  ok  ok  ok  ok  ok
POST   /logout                                         -       ok  ok  ok  ok  ok  ok  ok
"""
# fmt: on


@dataclass(frozen=True)
class Line:
    method: str
    path: str
    target: str
    expected: dict[str, str]

    @property
    def route(self) -> tuple[str, str]:
        return self.method, self.path


def _parse(table: str) -> list[Line]:
    lines = []
    for text in table.strip().splitlines():
        method, path, target, *cells = text.split()
        lines.append(Line(method, path, target, dict(zip(ROLES, cells, strict=True))))
    return lines


LINES = _parse(MATRIX)


def served_routes() -> set[tuple[str, str]]:
    """Every (method, path) the app answers, but HEAD and OPTIONS (Litestar's own)."""
    settings = Settings(database_url="sqlite+aiosqlite://", secret_key=SECRET, run_scheduler=False)
    app = create_app(settings)
    return {
        (method, route.path)
        for route in app.routes
        if route.path not in EXCLUDED
        for method in getattr(route, "methods", set()) - {"HEAD", "OPTIONS"}
    }


def test_the_matrix_names_every_route_of_the_app():
    named = {line.route for line in LINES}
    served = served_routes()
    assert sorted(served - named) == [], "routes without a line in MATRIX"
    assert sorted(named - served) == [], "lines in MATRIX for routes the app does not have"
    assert len({(line.route, line.target) for line in LINES}) == len(LINES), "a line twice"


# --- The scene: the world, Olga, a deactivated member, and a way in for each caller -----------


def outcome(answer: httpx.Response) -> str:
    status = answer.status_code
    if status >= 500:
        return f"{status}!"
    if status == 401:
        return "in"
    if 300 <= status < 400:
        # Sent to sign in first: the sign-in page, with the way back (``?next=``).
        where = urlsplit(answer.headers.get("location", ""))
        return "in" if where.path == "/login" and "next=" in where.query else "ok"
    if status in (403, 404):
        return str(status)
    return "ok" if status < 300 else "no"


@dataclass
class Scene:
    world: World
    sessions: Sessions
    client: Client
    olga: Member
    gone: Member
    tokens: dict[str, str] = field(default_factory=dict)
    jars: dict[str, httpx.Cookies] = field(default_factory=dict)
    category_id: int = 0
    serial: int = 0
    # Path values a refused request left untouched, for the next caller of the same line.
    kept: dict[tuple[object, ...], str] = field(default_factory=dict)

    def member(self, role: str) -> Member:
        w = self.world
        return {
            "vol": w.volunteer,
            "sen": w.senior,
            "pro": w.professional,
            "out": w.outside_professional,
            "man": w.manager,
        }.get(role, w.volunteer)  # anon and gone aim at the volunteer's

    def whose(self, target: str, role: str) -> Member:
        if target in ("own", "-"):
            return self.member(role)
        return {"client": self.world.client, "other": self.olga}[target]

    def unique(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial}"

    # Fresh data for one cell, written as the app would (through the domain).

    async def exchange(self, giver: Member, receiver: Member, *, booked: bool = False) -> int:
        async with transaction(self.sessions) as s:
            result = await exchanges.record_exchange(
                s,
                self.world.manager if booked else giver,
                giver_id=id_of(giver),
                receiver_id=id_of(receiver),
                minutes=30,
                performed_on=town_today(),
                category="visits",
            )
            if booked:
                assert result.transfer is not None
                return id_of(result.transfer)
            return id_of(result.exchange)

    async def dispute(self, exchange_id: int) -> None:
        """A length disputed for the receiver (the manager acts for everyone)."""
        async with transaction(self.sessions) as s:
            await disputes.open_dispute(
                s, self.world.manager, exchange_id, reason="length", minutes=15
            )

    async def request(self, owner: Member, *, responded: bool = False) -> int:
        async with transaction(self.sessions) as s:
            made = await board.create_request(
                s,
                self.world.manager,
                member_id=id_of(owner),
                category_id=self.category_id,
                title="Einkauf",
            )
            if responded:
                await board.respond(s, self.world.volunteer2, id_of(made))
            return id_of(made)

    async def offer(self, owner: Member) -> int:
        async with transaction(self.sessions) as s:
            made = await board.create_offer(
                s,
                self.world.manager,
                member_id=id_of(owner),
                category_id=self.category_id,
                title="Vorlesen",
            )
            return id_of(made)

    async def flag(self, member: Member) -> int:
        async with transaction(self.sessions) as s:
            self.serial += 1
            flag = Flag(
                member_id=id_of(member), kind="unconfirmed_exchange", subject_id=self.serial
            )
            s.add(flag)
            await s.flush()
            return id_of(flag)

    async def account_id(self, member: Member | None) -> int:
        async with transaction(self.sessions) as s:
            if member is None:
                return id_of(await ledger.pool_account(s))
            return id_of(await ledger.account_of_member(s, id_of(member)))

    # Filling in a line's path and body for one caller.

    async def path_value(self, name: str, line: Line, role: str) -> str:
        me, helper = self.member(role), self.world.volunteer2
        whose = self.whose(line.target, role) if line.target not in ("gave", "pool") else me
        if name == "member_id" and line.method == "POST" and line.path.endswith("/erase"):
            async with transaction(self.sessions) as s:  # erased for good: a fresh member
                fresh = NewMember(name=self.unique("Gelöscht "), role="senior")
                return str(id_of(await create_member(s, fresh, actor=None)))
        if name == "member_id":
            return str(whose.id)
        if name == "account_id":
            return str(await self.account_id(None if line.target == "pool" else whose))
        if name == "exchange_id":
            if line.target == "gave":
                exchange_id = await self.exchange(me, self.world.client)
            else:
                exchange_id = await self.exchange(helper, whose)
            if "/dispute/" in line.path or "/disputes/" in line.path:
                await self.dispute(exchange_id)
            return str(exchange_id)
        if name == "transfer_id":
            return str(await self.exchange(helper, whose, booked=True))
        if name == "request_id":
            return str(await self.request(whose, responded=line.path.endswith("/accept")))
        if name == "offer_id":
            return str(await self.offer(whose))
        if name == "flag_id":
            return str(await self.flag(whose))
        if name == "category_id":
            return str(self.category_id)
        if name == "district_id":
            return str(self.world.north.id)
        if name == "action":
            return "note"
        if name == "notice_id":
            async with transaction(self.sessions) as s:
                note = await notifications.notify(s, whose, kind="x", subject="a", body="b")
            return str(id_of(note))
        if name == "token":  # the caller's own unsubscribe link (no sign-in needed)
            return notifications.unsubscribe_token(SECRET, whose)
        if name == "organization_id":  # a fresh one, without staff: it may be deactivated
            async with transaction(self.sessions) as s:
                fields = organizations.OrganizationFields(name=self.unique("Verein "))
                return str(id_of(await organizations.create(s, self.world.manager, fields)))
        if name == "kind":
            return "help"
        if name == "intake_id":  # a fresh message from a visitor of the public pages
            async with transaction(self.sessions) as s:
                sent = await intake.send(
                    s,
                    intake.Visitor(
                        kind="help", name=self.unique("Besuch "), phone="1", consent=True
                    ),
                    sender=self.unique("sender "),
                )
                assert sent is not None
            return str(id_of(sent))
        if name == "file":
            return "members.csv"
        if name == "path":
            return "nothing-here"  # Litestar's catch-all for reference pages we do not serve
        raise AssertionError(f"no value for {{{name}}} in {line.path}")

    async def url(self, line: Line, role: str) -> str:
        url = line.path
        for name in re.findall(r"{(\w+)(?::\w+)?}", line.path):
            whose = self.member(role).id if line.target in ("own", "gave") else None
            key = (line.method, line.path, line.target, name, whose)
            if key not in self.kept:
                self.kept[key] = await self.path_value(name, line, role)
            value = self.kept[key]
            url = re.sub(r"{" + name + r"(:\w+)?}", value, url)
        return url

    async def send(self, line: Line, role: str) -> httpx.Response:
        url = await self.url(line, role)
        body = await body_of(self, line, role, url)
        if line.path.startswith("/api/"):
            self.client.cookies = httpx.Cookies()
            token = self.tokens.get(role)
            headers = bearer(token) if token else {}
            return await self.client.request(line.method, url, json=body, headers=headers)
        self.client.cookies = self.jars[role]
        try:
            if line.method == "GET":
                return await self.client.get(url, follow_redirects=False)
            return await post(self.client, url, body or {})
        finally:
            self.jars[role] = httpx.Cookies(self.client.cookies)


# --- Bodies: what each writing route is sent (valid input, so "ok" means it was done) --------

Body = Callable[[Scene, str, Line, str], Awaitable[dict[str, Any] | None]]


def _help(scene: Scene, giver: Member, receiver: Member, *, form: bool) -> dict[str, Any]:
    today = town_today().isoformat()
    if not form:
        return {
            "giver_id": giver.id,
            "receiver_id": receiver.id,
            "minutes": 45,
            "performed_on": today,
            "category": "shopping",
        }
    return {
        "giver_id": str(giver.id),
        "receiver_id": str(receiver.id),
        "hours": "0",
        "minutes": "45",
        "performed_on": today,
        "category": "shopping",
        "idempotency_key": uuid.uuid4().hex,
    }


async def _member_form(scene: Scene, member_id: int) -> dict[str, Any]:
    async with transaction(scene.sessions) as s:
        member = await s.get(Member, member_id)
        assert member is not None
    return {
        "name": member.name,
        "role": member.role,
        "email": member.email or "",
        "organization_id": str(member.organization_id or ""),
        "district_id": str(member.district_id or ""),
        "language": member.language,
        "active": "1",
    }


async def _settings_form(scene: Scene) -> dict[str, Any]:
    async with transaction(scene.sessions) as s:
        view = await network.settings_view(s, scene.world.manager)
    return {k: v for k, v in view.form().items() if v is not None}


async def _out_of_the_red(scene: Scene, member: Member) -> None:
    """Earlier cells may have booked help the caller received; give them hours to give."""
    async with transaction(scene.sessions) as s:
        account = await ledger.account_of_member(s, id_of(member))
        if account.balance_minutes >= 0:
            return
        donor = await ledger.account_of_member(s, id_of(scene.world.volunteer2))
        await ledger.post_transfer(
            s,
            from_account_id=id_of(donor),
            to_account_id=id_of(account),
            minutes=-account.balance_minutes,
            kind="adjustment",
            actor=scene.world.manager,
            override_reason="test set-up",
        )


def _last_id(url: str) -> int:
    return int(re.findall(r"/(\d+)", url)[-1])


async def body_of(scene: Scene, line: Line, role: str, url: str) -> dict[str, Any] | None:
    if line.method == "GET":
        return None
    me, helper, w = scene.member(role), scene.world.volunteer2, scene.world
    whose = scene.whose(line.target, role) if line.target not in ("gave", "pool") else me
    key = line.path
    if key == "/api/v1/members":
        return {"name": "Neues Mitglied", "role": "volunteer"}
    if key == "/api/v1/accounts/{account_id:int}":
        return {"max_minutes": 50 * 60}
    if key in ("/api/v1/exchanges", "/exchanges/assisted", "/manage/assisted", "/exchanges/new"):
        giver, receiver = (me, helper) if line.target == "own" else (helper, whose)
        return _help(scene, giver, receiver, form=not key.startswith("/api/"))
    if key.endswith("/reject") or key.endswith("/reverse"):
        return {"reason": "stimmt so nicht"}
    if key.endswith("/erase"):
        return {"reason": "auf Wunsch per Brief"}
    if key.endswith("/settle"):
        return {"outcome": "rejected", "note": "geklärt"}
    if key.endswith("/confirm"):
        return None
    if key in ("/api/v1/pool/donations", "/donate"):
        await _out_of_the_red(scene, me)  # a member below zero cannot give (issue 9)
    if key == "/api/v1/pool/donations":
        return {"minutes": 15}
    if key == "/api/v1/pool/payments":
        return {"exchange_id": await scene.exchange(helper, whose)}
    if key == "/login":
        return {"email": "nobody@example.org", "password": "not the password"}
    if key == "/join/{kind:str}":
        # Every caller sends from the same test address: clear the earlier cells' messages,
        # so the day's limit per sender (tests/test_intake.py) is not what this cell meets.
        async with transaction(scene.sessions) as s:
            await s.exec(delete(Intake))  # type: ignore[call-overload]
        return {"name": scene.unique("Besuch "), "phone": "0521 1", "consent": "yes"}
    if key == "/manage/intake/{intake_id:int}/decline":
        return {"note": "wohnt außerhalb"}
    if key == "/language":
        return {"lang": "en", "next": "/board"}
    if key == "/text-size":
        return {"size": "large", "next": "/board"}
    if key == "/donate":
        return {"hours": "0", "minutes": "15", "idempotency_key": uuid.uuid4().hex}
    if key == "/requests/new":
        return {
            "member_id": str(whose.id),
            "category_id": str(scene.category_id),
            "title": "Einkauf für die Woche",
            "urgency": "normal",
        }
    if key == "/requests/{request_id:int}/respond":
        return {"message": "Ich kann helfen"}
    if key.endswith("/accept") or key.endswith("/assign"):
        return {"helper_id": str(helper.id)}
    if key == "/board/offers/{offer_id:int}/take":
        return {"member_id": str(me.id)}  # for themselves: "own" is their own offer
    if key == "/clients/new":
        return {
            "name": scene.unique("Klient "),
            "district_id": str(w.north.id),
            "language": "de",
            "consent": "1",
        }
    if key == "/board/offers/new":
        return {"category_id": str(scene.category_id), "title": "Vorlesen am Abend"}
    if key == "/manage/members/new":
        return {"name": scene.unique("Neu "), "role": "volunteer", "language": "de"}
    if key == "/manage/members/{member_id:int}":
        return await _member_form(scene, _last_id(url))
    if key.endswith("/limits"):
        return {"min_hours": "", "max_hours": ""}
    if key == "/manage/categories":
        return {"slug": scene.unique("neu-"), "name_de": "Neu", "name_en": "New"}
    if key == "/manage/categories/{category_id:int}":
        return {"name_de": "Besuche", "name_en": "Visits"}
    if key == "/manage/districts":
        return {"district_name": scene.unique("Bezirk ")}
    if key == "/manage/districts/{district_id:int}":
        return {"name": w.north.name}
    if key == "/manage/flags/{flag_id:int}/{action:str}":
        return {"member": str(whose.id), "note": "angerufen"}
    if key == "/manage/flags/settings":
        return await _settings_form(scene)
    if key == "/notifications/email":
        return {"email_notices": "daily"}
    if key in ("/api/v1/organizations", "/manage/organizations/new"):
        return {"name": scene.unique("Verein "), "kind": "care"}
    if key == "/api/v1/organizations/{organization_id:int}":
        return {"contact_person": "Frau Meier"}
    if key == "/manage/organizations/{organization_id:int}":
        return {"name": scene.unique("Verein "), "kind": "city"}
    return {}  # /logout, /password (a generated one), close, pay-from-pool


@pytest.fixture
async def scene(api: httpx.AsyncClient, world: World, sessions: Sessions) -> Scene:
    # The app on the test's own event loop (the ``api`` fixture): pages and API alike.
    client: Client = api  # type: ignore[assignment]
    async with transaction(sessions) as s:
        olga = await create_member(
            s,
            NewMember(
                name="Olga Ostrowski",
                role="senior",
                organization_id=world.other_org.id,
                email="olga@example.org",  # but no password: the manager may set one
            ),
            actor=None,
        )
        gone = await create_member(
            s,
            NewMember(name="Gerd Gegangen", role="volunteer", email="gerd@example.org"),
            actor=None,
        )
        gone.password_hash = hash_password(PASSWORD)
        gone.language = "en"
        s.add(gone)
        # Something in the pool for it to pay with.
        await exchanges.donate_to_pool(s, world.volunteer2, 600)
        visits = await s.scalar(select(Category.id).where(Category.slug == "visits"))
    scene = Scene(world, sessions, client, olga, gone, category_id=visits or 0)
    people = {"vol": world.volunteer, "sen": world.senior, "pro": world.professional}
    people |= {"out": world.outside_professional, "man": world.manager, "gone": gone}
    async with transaction(sessions) as s:
        for role, member in people.items():
            scene.tokens[role] = await create_token(s, member)
    for role in ("anon", *people):
        client.cookies = httpx.Cookies()
        if role != "anon":
            await sign_in(client, people[role].email or "")
        scene.jars[role] = httpx.Cookies(client.cookies)
    # Deactivated after signing in and getting a token: neither may let them in any more.
    async with transaction(sessions) as s:
        await s.exec(update(Member).where(Member.id == gone.id).values(active=False))  # type: ignore[call-overload, arg-type]
    return scene


async def test_every_route_answers_every_caller_as_the_matrix_says(scene: Scene):
    wrong = []
    for line in LINES:
        got = {}
        for role in ROLES:
            got[role] = outcome(await scene.send(line, role))
            if got[role] not in ("in", "403", "404"):
                scene.kept.clear()  # let in: its data may have changed
        if got != line.expected:
            cells = "  ".join(f"{r}={got[r]}" for r in ROLES if got[r] != line.expected[r])
            wrong.append(f"{line.method} {line.path} [{line.target}]: {cells}")
    assert wrong == [], "answers unlike the matrix:\n" + "\n".join(wrong)
