"""The JSON API v1 over HTTP, on both databases: the give-and-take flow, bad input that
gets a clear 4xx and writes nothing, idempotent retries, and the published schema.

Who may call what is the matrix in ``tests/test_access.py``.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import bearer, set_balance, town_today
from timebank import exchanges, ledger, members
from timebank.db import transaction
from timebank.models import Exchange, Member, Transfer
from timebank.web import api as api_module

Sessions = async_sessionmaker[AsyncSession]
TODAY = town_today()


async def call(
    api: AsyncClient,
    method: str,
    path: str,
    token: str | None,
    json: Any = None,
    **kw: Any,
) -> Any:
    headers = {**(bearer(token) if token else {}), **kw.pop("headers", {})}
    return await api.request(method, "/api/v1" + path, headers=headers, json=json, **kw)


def help_given(giver: Member, receiver: Member, **changes: Any) -> dict[str, Any]:
    body = {
        "giver_id": giver.id,
        "receiver_id": receiver.id,
        "minutes": 90,
        "performed_on": TODAY.isoformat(),
        "category": "shopping",
        "note": "Wocheneinkauf",
    }
    body.update(changes)
    return body


async def count(sessions: Sessions, model: type) -> int:
    async with transaction(sessions) as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def account_of(sessions: Sessions, member: Member) -> tuple[int, int]:
    """(account id, balance) of a member."""
    async with transaction(sessions) as s:
        account = await ledger.account_of_member(s, member.id)  # type: ignore[arg-type]
        return account.id, account.balance_minutes  # type: ignore[return-value]


def is_error(response: Any, status: int, code: str, field: str | None = None) -> bool:
    body = response.json()
    return (
        response.status_code == status
        and body.get("status_code") == status
        and body.get("code") == code
        and bool(body.get("detail"))
        and (field is None or body.get("field") == field)
    )


# --- The give-and-take flow ----------------------------------------------------------------


async def test_me_names_the_caller_and_their_balance(api, world, tokens, sessions):
    r = await call(api, "GET", "/me", tokens["volunteer"])
    assert r.status_code == 200
    account_id, _ = await account_of(sessions, world.volunteer)
    assert r.json() == {
        "id": world.volunteer.id,
        "name": "Volker Vogel",
        "role": "volunteer",
        "account_id": account_id,
        "balance_minutes": 0,
    }


async def test_the_giver_logs_help_and_the_receiver_confirms_it(api, world, tokens, sessions):
    logged = await call(
        api, "POST", "/exchanges", tokens["volunteer"], help_given(world.volunteer, world.senior)
    )
    assert logged.status_code == 201
    body = logged.json()
    assert (body["status"], body["transfer_id"], body["assisted"]) == ("pending", None, False)
    assert (body["category"], body["minutes"], body["note"]) == ("shopping", 90, "Wocheneinkauf")
    assert await account_of(sessions, world.volunteer) == (
        (await account_of(sessions, world.volunteer))[0],
        0,
    )

    confirmed = await call(api, "POST", f"/exchanges/{body['id']}/confirm", tokens["senior"])
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "confirmed"
    assert confirmed.json()["transfer_id"] is not None

    giver = await call(api, "GET", "/me", tokens["volunteer"])
    receiver = await call(api, "GET", "/me", tokens["senior"])
    assert giver.json()["balance_minutes"] == 90
    assert receiver.json()["balance_minutes"] == -90

    statement = await call(
        api, "GET", f"/accounts/{receiver.json()['account_id']}/transfers", tokens["senior"]
    )
    assert statement.status_code == 200
    [line] = statement.json()["lines"]
    assert line["transfer_id"] == confirmed.json()["transfer_id"]
    assert (line["minutes"], line["balance_after"], line["kind"]) == (-90, -90, "exchange")
    assert (line["exchange_id"], line["assisted"], line["override_reason"]) == (
        body["id"],
        False,
        None,
    )


async def test_confirming_twice_books_once(api, world, tokens, sessions):
    logged = await call(
        api, "POST", "/exchanges", tokens["volunteer"], help_given(world.volunteer, world.senior)
    )
    path = f"/exchanges/{logged.json()['id']}/confirm"
    first = await call(api, "POST", path, tokens["senior"])
    second = await call(api, "POST", path, tokens["senior"])
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert await count(sessions, Transfer) == 1


async def test_the_receiver_disputes_with_a_reason_and_nothing_is_booked(
    api, world, tokens, sessions
):
    """The body of before disputes had kinds still works: ``reason`` alone is ``why: other``."""
    logged = await call(
        api, "POST", "/exchanges", tokens["volunteer"], help_given(world.volunteer, world.senior)
    )
    path = f"/exchanges/{logged.json()['id']}"
    no_reason = await call(api, "POST", path + "/reject", tokens["senior"], {"reason": " "})
    assert is_error(no_reason, 422, "validation", "reason")
    no_why = await call(api, "POST", path + "/reject", tokens["senior"], {"why": "weil"})
    assert is_error(no_why, 422, "validation", "why")
    no_length = await call(api, "POST", path + "/reject", tokens["senior"], {"why": "length"})
    assert is_error(no_length, 422, "validation", "minutes")
    disputed = await call(
        api, "POST", path + "/reject", tokens["senior"], {"reason": "war nur 30 Minuten"}
    )
    assert disputed.status_code == 200
    body = disputed.json()
    assert (body["status"], body["transfer_id"]) == ("disputed", None)
    assert {k: body["dispute"][k] for k in ("why", "note", "outcome")} == {
        "why": "other",
        "note": "war nur 30 Minuten",
        "outcome": None,
    }
    late = await call(api, "POST", path + "/confirm", tokens["senior"])
    assert is_error(late, 409, "conflict")
    assert await count(sessions, Transfer) == 0


async def test_a_dispute_over_the_api_is_accepted_settled_or_withdrawn(
    api, world, tokens, sessions
):
    async def disputed(why: dict[str, object]) -> str:
        logged = await call(
            api,
            "POST",
            "/exchanges",
            tokens["volunteer"],
            help_given(world.volunteer, world.senior, minutes=120),
        )
        path = f"/exchanges/{logged.json()['id']}"
        answer = await call(api, "POST", path + "/reject", tokens["senior"], why)
        assert answer.json()["status"] == "disputed"
        return path

    # The giver accepts the receiver's length: booked once, with it.
    path = await disputed({"why": "length", "minutes": 90})
    refused = await call(api, "POST", path + "/dispute/accept", tokens["senior"])
    assert is_error(refused, 403, "forbidden")
    accepted = await call(api, "POST", path + "/dispute/accept", tokens["volunteer"])
    assert accepted.status_code == 200
    assert (accepted.json()["status"], accepted.json()["minutes"]) == ("confirmed", 90)
    assert accepted.json()["dispute"]["outcome"] == "accepted"
    again = await call(api, "POST", path + "/dispute/accept", tokens["volunteer"])
    assert is_error(again, 409, "conflict")
    assert await count(sessions, Transfer) == 1
    # The manager settles with a corrected length and a note.
    path = await disputed({"why": "did_not_happen"})
    body = {"outcome": "corrected", "minutes": 30, "note": "angerufen"}
    not_theirs = await call(api, "POST", path + "/dispute/settle", tokens["volunteer"], body)
    assert is_error(not_theirs, 403, "forbidden")
    settled = await call(api, "POST", path + "/dispute/settle", tokens["manager"], body)
    assert (settled.json()["status"], settled.json()["minutes"]) == ("confirmed", 30)
    assert settled.json()["dispute"]["settlement_note"] == "angerufen"
    assert await count(sessions, Transfer) == 2
    # The receiver takes one back: it waits for them again.
    path = await disputed({"why": "other", "reason": "weiß nicht"})
    withdrawn = await call(api, "POST", path + "/dispute/withdraw", tokens["senior"])
    assert withdrawn.json()["status"] == "pending"
    assert withdrawn.json()["dispute"]["outcome"] == "withdrawn"


async def test_staff_entry_for_a_client_is_booked_at_once_and_marked_assisted(
    api, world, tokens, sessions
):
    entered = await call(
        api,
        "POST",
        "/exchanges",
        tokens["professional"],
        help_given(world.volunteer, world.client, minutes=60),
    )
    assert entered.status_code == 201
    assert (entered.json()["status"], entered.json()["assisted"]) == ("confirmed", True)
    assert entered.json()["entered_by_id"] == world.professional.id
    client_account, balance = await account_of(sessions, world.client)
    assert balance == -60
    statement = await call(
        api, "GET", f"/accounts/{client_account}/transfers", tokens["professional"]
    )
    [line] = statement.json()["lines"]
    assert (line["assisted"], line["actor_id"]) == (True, world.professional.id)


async def test_staff_cannot_log_their_own_help_and_confirm_it_taking_the_clients_hours(
    api, world, tokens, sessions
):
    # Issue 8, as reported: a professional logs help she gave her client, then confirms it;
    # the manager could do the same for anyone.
    for caller, receiver in (("professional", world.client), ("manager", world.senior)):
        giver = getattr(world, caller)
        logged = await call(api, "POST", "/exchanges", tokens[caller], help_given(giver, receiver))
        assert (logged.status_code, logged.json()["status"]) == (201, "pending")
        path = f"/exchanges/{logged.json()['id']}/confirm"
        refused = await call(api, "POST", path, tokens[caller])
        assert is_error(refused, 403, "giver_cannot_confirm")
        assert (await account_of(sessions, receiver))[1] == 0
    assert await count(sessions, Transfer) == 0
    # The manager confirms the professional's help for her client who has no login.
    [pending] = [e for e in await all_exchanges(sessions) if e.giver_id == world.professional.id]
    done = await call(api, "POST", f"/exchanges/{pending.id}/confirm", tokens["manager"])
    assert (done.status_code, done.json()["status"]) == (200, "confirmed")
    assert (await account_of(sessions, world.client))[1] == -90


async def all_exchanges(sessions: Sessions) -> list[Exchange]:
    async with transaction(sessions) as s:
        return list((await s.exec(select(Exchange))).all())


async def test_a_manager_reverses_a_transfer_once_and_never_a_reversal(
    api, world, tokens, sessions
):
    entered = await call(
        api, "POST", "/exchanges", tokens["manager"], help_given(world.volunteer, world.senior)
    )
    transfer_id = entered.json()["transfer_id"]
    reversed_ = await call(
        api, "POST", f"/transfers/{transfer_id}/reverse", tokens["manager"], {"reason": "doppelt"}
    )
    assert reversed_.status_code == 201
    reversal = reversed_.json()
    assert (reversal["kind"], reversal["reverses_id"], reversal["minutes"]) == (
        "reversal",
        transfer_id,
        90,
    )
    assert (reversal["reason"], reversal["actor_id"]) == ("doppelt", world.manager.id)
    assert (await account_of(sessions, world.senior))[1] == 0
    async with transaction(sessions) as s:
        exchange = await s.get(Exchange, entered.json()["id"])
        assert exchange is not None and exchange.status == "reversed"

    again = await call(
        api, "POST", f"/transfers/{transfer_id}/reverse", tokens["manager"], {"reason": "nochmal"}
    )
    assert is_error(again, 409, "already_reversed")
    undo = await call(
        api, "POST", f"/transfers/{reversal['id']}/reverse", tokens["manager"], {"reason": "x"}
    )
    assert is_error(undo, 409, "cannot_reverse_reversal")
    no_reason = await call(
        api, "POST", f"/transfers/{transfer_id}/reverse", tokens["manager"], {"reason": ""}
    )
    assert no_reason.status_code in (409, 422)
    assert await count(sessions, Transfer) == 2


async def test_a_reversal_that_would_overdraw_the_pool_needs_a_reason_and_names_the_limit(
    api, world, tokens, sessions
):
    donated = await call(api, "POST", "/pool/donations", tokens["volunteer2"], {"minutes": 120})
    async with transaction(sessions) as s:
        pool = await ledger.pool_account(s)
        senior = await ledger.account_of_member(s, world.senior.id)
        await ledger.post_transfer(
            s, from_account_id=pool.id, to_account_id=senior.id, minutes=90,
            kind="pool_payment", actor=world.manager,
        )  # fmt: skip
    path = f"/transfers/{donated.json()['id']}/reverse"
    refused = await call(api, "POST", path, tokens["manager"], {"reason": "never given"})
    assert is_error(refused, 409, "pool_below_zero")
    booked = await call(
        api, "POST", path, tokens["manager"], {"reason": "never given", "override_reason": "ok"}
    )
    assert booked.status_code == 201
    assert (booked.json()["from_min_crossed"], booked.json()["override_reason"]) == (0, "ok")
    assert booked.json()["to_max_crossed"] is None


async def test_a_donation_fills_the_pool_and_the_pool_pays_a_seniors_help(
    api, world, tokens, sessions
):
    donated = await call(api, "POST", "/pool/donations", tokens["volunteer2"], {"minutes": 120})
    assert donated.status_code == 201
    assert (donated.json()["kind"], donated.json()["minutes"]) == ("donation", 120)
    assert (await account_of(sessions, world.volunteer2))[1] == -120

    logged = await call(
        api,
        "POST",
        "/exchanges",
        tokens["volunteer"],
        help_given(world.volunteer, world.senior, minutes=90),
    )
    paid = await call(
        api, "POST", "/pool/payments", tokens["manager"], {"exchange_id": logged.json()["id"]}
    )
    assert paid.status_code == 201
    assert (paid.json()["status"], paid.json()["paid_by_pool"]) == ("confirmed", True)
    assert (await account_of(sessions, world.volunteer))[1] == 90
    assert (await account_of(sessions, world.senior))[1] == 0  # the pool paid, not the senior
    async with transaction(sessions) as s:
        assert (await ledger.pool_account(s)).balance_minutes == 30

    broke = await call(
        api,
        "POST",
        "/exchanges",
        tokens["volunteer"],
        help_given(world.volunteer, world.senior, minutes=60),
    )
    refused = await call(
        api, "POST", "/pool/payments", tokens["manager"], {"exchange_id": broke.json()["id"]}
    )
    assert is_error(refused, 409, "balance_limit")
    async with transaction(sessions) as s:
        exchange = await s.get(Exchange, broke.json()["id"])
        assert exchange is not None and exchange.status == "pending"


async def test_ledger_verify_reports_the_books(api, world, tokens):
    await call(api, "POST", "/pool/donations", tokens["senior"], {"minutes": 30})
    r = await call(api, "GET", "/ledger/verify", tokens["manager"])
    assert r.status_code == 200
    body = r.json()
    assert body["ok"] is True and body["mismatches"] == [] and body["total_minutes"] == 0
    # Seven members, two organisations and the pool.
    assert (body["accounts"], body["transfers"]) == (10, 1)


async def test_ledger_verify_names_an_account_whose_balance_lies(api, world, tokens, sessions):
    await call(api, "POST", "/pool/donations", tokens["senior"], {"minutes": 30})
    account_id, _ = await account_of(sessions, world.senior)
    async with transaction(sessions) as s:
        await s.exec(text(f"UPDATE accounts SET balance_minutes = 5 WHERE id = {account_id}"))  # type: ignore[call-overload]
    body = (await call(api, "GET", "/ledger/verify", tokens["manager"])).json()
    assert body["ok"] is False
    assert body["mismatches"] == [
        {"account_id": account_id, "cached_minutes": 5, "computed_minutes": -30}
    ]


# --- Limits and overrides ----------------------------------------------------------------


async def set_min(sessions: Sessions, member: Member, minutes: int) -> None:
    async with transaction(sessions) as s:
        account = await ledger.account_of_member(s, member.id)  # type: ignore[arg-type]
        account.min_minutes = minutes
        s.add(account)


async def test_a_confirmation_beyond_a_limit_is_200_held_and_books_nothing(
    api, world, tokens, sessions
):
    await set_min(sessions, world.senior, -60)
    logged = await call(
        api, "POST", "/exchanges", tokens["volunteer"], help_given(world.volunteer, world.senior)
    )
    path = f"/exchanges/{logged.json()['id']}/confirm"
    answer = await call(api, "POST", path, tokens["senior"])
    # Nobody is refused for help given: held for the network office, nothing booked.
    assert answer.status_code == 200
    body = answer.json()
    assert (body["status"], body["transfer_id"], body["settled_as"]) == ("held", None, None)
    assert await count(sessions, Transfer) == 0
    assert (await account_of(sessions, world.senior))[1] == 0
    # Confirming again changes nothing; rejecting it now is refused in words.
    again = await call(api, "POST", path, tokens["senior"])
    assert (again.status_code, again.json()["status"]) == (200, "held")
    rejected = await call(
        api, "POST", f"/exchanges/{logged.json()['id']}/reject", tokens["senior"], {"reason": "x"}
    )
    assert is_error(rejected, 409, "conflict")
    assert await count(sessions, Transfer) == 0


async def test_only_a_manager_confirms_beyond_a_limit_and_the_reason_shows(
    api, world, tokens, sessions
):
    await set_min(sessions, world.client, -60)
    logged = await call(
        api, "POST", "/exchanges", tokens["volunteer"], help_given(world.volunteer, world.client)
    )
    path = f"/exchanges/{logged.json()['id']}/confirm"
    by_staff = await call(api, "POST", path, tokens["professional"], {"override_reason": "bitte"})
    assert is_error(by_staff, 403, "forbidden")
    by_manager = await call(
        api, "POST", path, tokens["manager"], {"override_reason": "Runder Tisch 12.3."}
    )
    assert by_manager.status_code == 200
    client_account, balance = await account_of(sessions, world.client)
    assert balance == -90
    statement = await call(api, "GET", f"/accounts/{client_account}/transfers", tokens["manager"])
    [line] = statement.json()["lines"]
    assert line["override_reason"] == "Runder Tisch 12.3."


async def test_an_assisted_entry_beyond_a_limit_is_held_not_refused(api, world, tokens, sessions):
    await set_min(sessions, world.client, -60)
    entered = await call(
        api,
        "POST",
        "/exchanges",
        tokens["professional"],
        help_given(world.volunteer, world.client, minutes=61, idempotency_key="k-1"),
    )
    assert entered.status_code == 201
    assert (entered.json()["status"], entered.json()["transfer_id"]) == ("held", None)
    assert await count(sessions, Exchange) == 1
    assert await count(sessions, Transfer) == 0


async def test_a_manager_sets_and_resets_an_accounts_own_limits(api, world, tokens, sessions):
    account, _ = await account_of(sessions, world.senior)
    path = f"/accounts/{account}"
    r = await call(api, "PATCH", path, tokens["manager"], {"min_minutes": -120})
    assert r.status_code == 200
    assert (r.json()["min_minutes"], r.json()["own_min_minutes"]) == (-120, -120)
    assert r.json()["max_minutes"] == 100 * 60  # untouched: the network default

    logged = await call(
        api,
        "POST",
        "/exchanges",
        tokens["volunteer"],
        help_given(world.volunteer, world.senior, minutes=121),
    )
    held = await call(api, "POST", f"/exchanges/{logged.json()['id']}/confirm", tokens["senior"])
    assert held.json()["status"] == "held"  # beyond the new limit: held, not booked

    reset = await call(api, "PATCH", path, tokens["manager"], {"min_minutes": None})
    assert (reset.json()["min_minutes"], reset.json()["own_min_minutes"]) == (-20 * 60, None)
    seen = await call(api, "GET", path, tokens["senior"])
    assert seen.json()["min_minutes"] == -20 * 60 and seen.json()["balance_minutes"] == 0

    positive = await call(api, "PATCH", path, tokens["manager"], {"min_minutes": 10})
    assert is_error(positive, 422, "validation", "min_minutes")
    negative_max = await call(api, "PATCH", path, tokens["manager"], {"max_minutes": -1})
    assert is_error(negative_max, 422, "validation", "max_minutes")
    unknown = await call(api, "PATCH", path, tokens["manager"], {"minimum": -10})
    assert is_error(unknown, 400, "validation", "minimum")


# --- Members ---------------------------------------------------------------------------------


async def test_a_manager_adds_a_member_who_gets_an_account(api, world, tokens, sessions):
    r = await call(
        api,
        "POST",
        "/members",
        tokens["manager"],
        {
            "name": "Hannelore Hahn",
            "role": "senior",
            "email": " Hannelore.Hahn@Example.ORG ",
            "password": "ein langes Passwort",
            "district": "Nord",
            "language": "de",
        },
    )
    assert r.status_code == 201
    body = r.json()
    assert body["email"] == "hannelore.hahn@example.org"
    assert body["district_id"] == world.north.id
    assert body["account_id"] is not None
    seen = await call(api, "GET", f"/members/{body['id']}", tokens["manager"])
    assert seen.json() == body
    async with transaction(sessions) as s:
        member = await members.get_member(s, body["id"])
        assert members.password_matches(member, "ein langes Passwort")

    twice = await call(
        api,
        "POST",
        "/members",
        tokens["manager"],
        {"name": "Noch eine", "role": "senior", "email": "hannelore.hahn@example.org"},
    )
    assert is_error(twice, 409, "conflict", "email")


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": "P", "role": "professional"}, 422, "organization_id"),
        ({"name": "X", "role": "king"}, 422, "role"),
        ({"name": " ", "role": "senior"}, 422, "name"),
        ({"name": "X", "role": "senior", "district": "Atlantis"}, 422, "district"),
        ({"name": "X", "role": "senior", "organization_id": 999}, 422, "organization_id"),
        ({"name": "X", "role": "senior", "email": "no-at-sign"}, 422, "email"),
        ({"name": "X", "role": "senior", "password": "longenough"}, 422, "email"),
        (
            {"name": "X", "role": "senior", "email": "x@example.org", "password": "short"},
            422,
            "password",
        ),
        ({"name": "X", "role": "senior", "language": "fr"}, 422, "language"),
        ({"role": "senior"}, 400, "name"),
        ({"name": "X", "role": "senior", "age": 80}, 400, "age"),
    ],
)
async def test_a_member_with_bad_details_is_refused_and_not_added(
    api, world, tokens, sessions, body, status, field
):
    before = await count(sessions, Member)
    r = await call(api, "POST", "/members", tokens["manager"], body)
    assert is_error(r, status, "validation", field)
    assert await count(sessions, Member) == before


# --- Bad input: a clear 4xx, never a 500, nothing written ------------------------------------

TOMORROW = (TODAY + timedelta(days=1)).isoformat()

# (what is wrong, changes to a valid entry, status, field named). Bounds the schema states
# (minutes 1–1440, text lengths) are a 400; rules the domain checks are a 422.
BAD_EXCHANGES: list[tuple[str, dict[str, Any], int, str]] = [
    ("zero minutes", {"minutes": 0}, 400, "minutes"),
    ("negative minutes", {"minutes": -30}, 400, "minutes"),
    ("more than 24 h", {"minutes": 24 * 60 + 1}, 400, "minutes"),
    ("fractional minutes", {"minutes": 1.5}, 400, "minutes"),
    ("minutes as text", {"minutes": "60"}, 400, "minutes"),
    ("minutes as a boolean", {"minutes": True}, 400, "minutes"),
    ("an absurd number", {"minutes": 10**30}, 400, "minutes"),
    ("a date in the future", {"performed_on": TOMORROW}, 422, "performed_on"),
    ("not a date", {"performed_on": "last Tuesday"}, 400, "performed_on"),
    ("giver = receiver", {"receiver_id": "GIVER"}, 422, "receiver_id"),
    ("unknown receiver", {"receiver_id": 99999}, 422, "receiver_id"),
    ("unknown giver", {"giver_id": 99999}, 422, "giver_id"),
    ("an id PostgreSQL cannot hold", {"receiver_id": 2**40}, 400, "receiver_id"),
    ("an id of zero", {"receiver_id": 0}, 400, "receiver_id"),
    ("an unknown category", {"category": "gardening"}, 422, "category"),
    ("a missing category", {"category": "MISSING"}, 400, "category"),
    ("a missing date", {"performed_on": "MISSING"}, 400, "performed_on"),
    ("a misspelt field", {"minuts": 60}, 400, "minuts"),
    ("a note that is too long", {"note": "x" * 1001}, 400, "note"),
    ("a NUL character", {"note": "a\x00b"}, 400, "note"),
    ("an overlong idempotency key", {"idempotency_key": "k" * 65}, 400, "idempotency_key"),
    ("a blank idempotency key", {"idempotency_key": "  "}, 422, "idempotency_key"),
]


async def test_bad_exchange_input_gets_a_clear_4xx_naming_the_field_and_writes_nothing(
    api, world, tokens, sessions
):
    wrong = []
    for what, changes, status, field in BAD_EXCHANGES:
        body = help_given(world.volunteer, world.senior)
        for key, value in changes.items():
            if value == "MISSING":
                body.pop(key)
            elif value == "GIVER":
                body[key] = world.volunteer.id
            else:
                body[key] = value
        r = await call(api, "POST", "/exchanges", tokens["volunteer"], body)
        if not is_error(r, status, "validation", field):
            wrong.append((what, r.status_code, r.text))
    assert wrong == []
    assert await count(sessions, Exchange) == 0


@pytest.mark.parametrize(
    ("path", "content"),
    [
        ("/exchanges", b'{"giver_id": 1,'),
        ("/exchanges", b"[1, 2]"),
        ("/exchanges", b""),
        ("/exchanges", b"null"),
        ("/pool/donations", b"minutes=30"),
        ("/members", b'{"name": "X", "role": "senior"'),
    ],
)
async def test_malformed_json_is_a_400(api, world, tokens, sessions, path, content):
    r = await call(
        api,
        "POST",
        path,
        tokens["manager"],
        content=content,
        headers={"Content-Type": "application/json"},
    )
    assert is_error(r, 400, "validation")
    assert await count(sessions, Exchange) == 0 and await count(sessions, Transfer) == 0


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/members/99999", None),
        ("GET", "/accounts/99999", None),
        ("PATCH", "/accounts/99999", {"min_minutes": -60}),
        ("GET", "/accounts/99999/transfers", None),
        ("POST", "/exchanges/99999/confirm", None),
        ("POST", "/exchanges/99999/reject", {"reason": "nie passiert"}),
        ("POST", "/transfers/99999/reverse", {"reason": "falsch"}),
        ("POST", "/pool/payments", {"exchange_id": 99999}),
    ],
)
async def test_an_unknown_id_is_404_not_found(api, world, tokens, method, path, body):
    r = await call(api, method, path, tokens["manager"], body)
    assert is_error(r, 404, "not_found")


@pytest.mark.parametrize(
    "path",
    [
        "/members/99999999999",
        "/accounts/0",
        "/accounts/1/transfers?limit=0",
        "/accounts/1/transfers?before_id=99999999999",
        "/accounts/1/transfers?limit=abc",
    ],
)
async def test_ids_and_paging_out_of_range_are_a_400(api, world, tokens, path):
    r = await call(api, "GET", path, tokens["manager"])
    assert is_error(r, 400, "validation")


async def test_help_with_an_inactive_member_is_refused(api, world, tokens, sessions):
    async with transaction(sessions) as s:
        gone = await members.get_member(s, world.volunteer2.id)
        gone.active = False
        s.add(gone)
    as_receiver = await call(
        api,
        "POST",
        "/exchanges",
        tokens["volunteer"],
        help_given(world.volunteer, world.volunteer2),
    )
    assert is_error(as_receiver, 422, "validation", "receiver_id")
    as_giver = await call(
        api, "POST", "/exchanges", tokens["manager"], help_given(world.volunteer2, world.senior)
    )
    assert is_error(as_giver, 422, "validation", "giver_id")
    own_token = await call(api, "GET", "/me", tokens["volunteer2"])
    assert is_error(own_token, 401, "unauthorized")
    assert await count(sessions, Exchange) == 0


async def test_a_donation_must_be_a_positive_whole_number_within_the_limit(
    api, world, tokens, sessions
):
    for minutes, status, code in [
        (0, 422, "validation"),
        (-10, 422, "validation"),
        ("30", 400, "validation"),
        (21 * 60, 409, "balance_limit"),
    ]:
        r = await call(api, "POST", "/pool/donations", tokens["senior"], {"minutes": minutes})
        assert is_error(r, status, code), (minutes, r.text)
    assert await count(sessions, Transfer) == 0


# --- Idempotent retries --------------------------------------------------------------------


async def test_a_retried_entry_with_the_same_key_books_once_and_answers_the_same(
    api, world, tokens, sessions
):
    body = help_given(world.volunteer, world.client, idempotency_key="tablet-7-0815")
    first = await call(api, "POST", "/exchanges", tokens["professional"], body)
    again = await call(api, "POST", "/exchanges", tokens["professional"], body)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert first.json()["transfer_id"] is not None
    assert await count(sessions, Exchange) == 1
    assert await count(sessions, Transfer) == 1
    assert (await account_of(sessions, world.client))[1] == -90

    other_help = await call(
        api, "POST", "/exchanges", tokens["professional"], {**body, "minutes": 30}
    )
    assert is_error(other_help, 409, "idempotency_conflict")
    assert await count(sessions, Exchange) == 1


async def test_the_same_key_from_two_callers_is_two_entries(api, world, tokens, sessions):
    await call(
        api,
        "POST",
        "/exchanges",
        tokens["volunteer"],
        help_given(world.volunteer, world.senior, idempotency_key="1"),
    )
    r = await call(
        api,
        "POST",
        "/exchanges",
        tokens["volunteer2"],
        help_given(world.volunteer2, world.senior, idempotency_key="1"),
    )
    assert r.status_code == 201
    assert await count(sessions, Exchange) == 2


async def test_simultaneous_retries_over_http_book_once(api, world, tokens, sessions):
    body = help_given(world.volunteer, world.client, idempotency_key="flaky-network")
    responses = await asyncio.gather(
        *[call(api, "POST", "/exchanges", tokens["professional"], body) for _ in range(5)]
    )
    assert [r.status_code for r in responses] == [201] * 5
    assert len({r.text for r in responses}) == 1
    assert await count(sessions, Exchange) == 1
    assert await count(sessions, Transfer) == 1
    assert (await account_of(sessions, world.client))[1] == -90


async def test_a_retried_donation_with_the_same_key_books_once(api, world, tokens, sessions):
    body = {"minutes": 45, "idempotency_key": "spende-1"}
    first = await call(api, "POST", "/pool/donations", tokens["senior"], body)
    again = await call(api, "POST", "/pool/donations", tokens["senior"], body)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert (await account_of(sessions, world.senior))[1] == -45
    # Another member's identical key is their own donation.
    other = await call(api, "POST", "/pool/donations", tokens["volunteer"], body)
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


# --- The statement -------------------------------------------------------------------------


async def test_the_statement_pages_newest_first_with_the_running_balance(
    api, world, tokens, sessions
):
    # Only hours one has can be given to the pool (issue 9): 150 minutes to start with.
    await set_balance(sessions, world, world.volunteer, 150)
    async with transaction(sessions) as s:
        for minutes in (10, 20, 30, 40, 50):
            await exchanges.donate_to_pool(s, world.volunteer, minutes)
    account, _ = await account_of(sessions, world.volunteer)
    path = f"/accounts/{account}/transfers"
    first = (await call(api, "GET", path + "?limit=2", tokens["volunteer"])).json()
    assert [line["minutes"] for line in first["lines"]] == [-50, -40]
    assert [line["balance_after"] for line in first["lines"]] == [0, 50]
    assert first["balance_minutes"] == 0
    second = (
        await call(
            api, "GET", f"{path}?limit=2&before_id={first['next_before_id']}", tokens["volunteer"]
        )
    ).json()
    assert [line["minutes"] for line in second["lines"]] == [-30, -20]
    last = (
        await call(
            api, "GET", f"{path}?limit=2&before_id={second['next_before_id']}", tokens["volunteer"]
        )
    ).json()
    assert [line["balance_after"] for line in last["lines"]] == [140, 150]
    if last["next_before_id"] is not None:  # a full page cannot know it was the last
        after = f"{path}?limit=2&before_id={last['next_before_id']}"
        last = (await call(api, "GET", after, tokens["volunteer"])).json()
        assert last["lines"] == []
    assert last["next_before_id"] is None


# --- The published schema ------------------------------------------------------------------


async def test_the_openapi_schema_describes_every_endpoint_with_its_schemas(api):
    r = await api.get("/schema/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    schemas = spec["components"]["schemas"]
    router = api_module.API_V1
    seen = 0
    for route in router.routes:
        for method in route.methods - {"OPTIONS", "HEAD"}:  # type: ignore[attr-defined]
            path = route.path.replace(":int}", "}").replace(":str}", "}")
            op = spec["paths"][path][method.lower()]
            seen += 1
            ok = next(code for code in op["responses"] if code.startswith("2"))
            content = op["responses"][ok]["content"]
            if "application/json" not in content:  # a file: the CSV and XLSX exports
                assert path.startswith("/api/v1/exports/"), (method, path)
            elif path.endswith("/export"):  # a member's data: an object of lists (DSGVO)
                assert content["application/json"]["schema"]["type"] == "object", path
            else:
                schema = content["application/json"]["schema"]
                ref = schema["items"]["$ref"] if schema.get("type") == "array" else schema["$ref"]
                assert ref.rsplit("/", 1)[1] in schemas, (method, path)
            assert "401" in op["responses"], (method, path)
            # Answering a dispute (accept, withdraw) says everything in its path.
            if method in {"POST", "PATCH"} and not path.endswith(("/accept", "/withdraw")):
                body = op["requestBody"]["content"]["application/json"]["schema"]
                refs = [body] if "$ref" in body else body["oneOf"]  # oneOf: an optional body
                assert any(r.get("$ref", "").rsplit("/", 1)[-1] in schemas for r in refs), (
                    method,
                    path,
                )
    # + the answers to a dispute (issue 9); organisations, exports and the DSGVO (issue 11)
    assert seen == 13 + 3 + 4 + 1 + 3
    assert schemas["ExchangeIn"]["properties"]["minutes"]["type"] == "integer"
    assert set(schemas["ErrorOut"]["properties"]) >= {"status_code", "code", "detail", "field"}
