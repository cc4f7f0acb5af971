"""Bad input at the edges, on both databases: ids and page numbers PostgreSQL cannot hold,
NUL characters, text longer than its column, JSON nested without end, implausible dates.
Each is a clear 4xx (naming its field where there is one), never a 500, and writes nothing.

The web bounds live in timebank/web/forms.py (``guard_page_input``, ``form_of``,
``submit``, ``parse_whole``, ``parse_day``), the API's in timebank/schemas.py and its
router's guard in timebank/web/api.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func
from sqlmodel import select

from tests.support import World, bearer, town_today
from tests.web.support import Client, error_of, post, sign_in
from timebank.db import transaction
from timebank.models import Exchange, HelpRequest, Member, NetworkSettings, Offer, Transfer

TOO_BIG = str(2**31)
NUL = "a\x00b"
TODAY = town_today()
# The network's default window for a date of help (network_settings.help_days_back).
OLDEST_HELP_DAYS = NetworkSettings().help_days_back


async def written(sessions: Any) -> tuple[int, ...]:
    """How many rows the tables bad input could reach hold."""
    async with transaction(sessions) as s:
        return tuple(
            [
                int(await s.scalar(select(func.count()).select_from(model)) or 0)
                for model in (Exchange, Transfer, Member, HelpRequest, Offer)
            ]
        )


def log_hours(world: World, **changes: str) -> dict[str, str]:
    return {
        "receiver_id": str(world.senior.id),
        "performed_on": TODAY.isoformat(),
        "hours": "1",
        "minutes": "0",
        "category": "shopping",
        "idempotency_key": "bad-input",
        **changes,
    }


def new_member(**changes: str) -> dict[str, str]:
    return {"name": "Neu Mitglied", "role": "volunteer", "language": "de", **changes}


# (what, who signs in, method, path, form or None, statuses accepted, field named or None).
# Paths and forms may name the world's members as {senior}, {volunteer}.
WEB_CASES: list[tuple[str, str, str, str, dict[str, str] | None, tuple[int, ...], str | None]] = [
    # Ids and page numbers PostgreSQL cannot hold: paths, queries, forms.
    ("statement of id 2^31", "manager", "GET", f"/members/{TOO_BIG}/statement", None, (404,), None),
    ("member page of id 2^31", "manager", "GET", f"/manage/members/{TOO_BIG}", None, (404,), None),
    (
        "login sheet of id 2^31",
        "manager",
        "GET",
        f"/manage/members/{TOO_BIG}/login-sheet",
        None,
        (404,),
        None,
    ),
    (
        "member flags of id 2^31",
        "manager",
        "GET",
        f"/manage/flags/members/{TOO_BIG}",
        None,
        (404,),
        None,
    ),
    (
        "reverse form of id 2^31",
        "manager",
        "GET",
        f"/manage/transfers/{TOO_BIG}/reverse",
        None,
        (404,),
        None,
    ),
    ("confirm of id 2^31", "volunteer", "POST", f"/exchanges/{TOO_BIG}/confirm", {}, (404,), None),
    (
        "assign of request 2^31",
        "manager",
        "POST",
        f"/manage/requests/{TOO_BIG}/assign",
        {"helper_id": "{volunteer}"},
        (404,),
        None,
    ),
    (
        "board category 2^31",
        "volunteer",
        "GET",
        f"/board?category_id={TOO_BIG}",
        None,
        (400, 422),
        "category_id",
    ),
    ("board page 2^31", "volunteer", "GET", f"/board?page={TOO_BIG}", None, (400, 422), "page"),
    (
        "transfers before 2^31",
        "manager",
        "GET",
        f"/manage/transfers?before={TOO_BIG}",
        None,
        (400, 422),
        "before",
    ),
    (
        "transfers of member 2^31",
        "manager",
        "GET",
        f"/manage/transfers?member={TOO_BIG}",
        None,
        (400, 422),
        "member",
    ),
    (
        "pool before 2^31",
        "manager",
        "GET",
        f"/manage/pool?before={TOO_BIG}",
        None,
        (400, 422),
        "before",
    ),
    (
        "statement of the year 2^31",
        "manager",
        "GET",
        f"/members/{{senior}}/statement?year={TOO_BIG}",
        None,
        (400, 422),
        "year",
    ),
    (
        "statement of month 13",
        "manager",
        "GET",
        "/members/{senior}/statement?month=13",
        None,
        (400, 422),
        "month",
    ),
    (
        "member list district 2^31",
        "manager",
        "GET",
        f"/manage/members?district_id={TOO_BIG}",
        None,
        (400, 422),
        "district_id",
    ),
    (
        "pending page 2^31",
        "manager",
        "GET",
        f"/manage/exchanges?pending_page={TOO_BIG}",
        None,
        (400, 422),
        "pending_page",
    ),
    (
        "log-hours form for request 2^31",
        "volunteer",
        "GET",
        f"/exchanges/new?request={TOO_BIG}",
        None,
        (400, 422),
        "request",
    ),
    (
        "log hours for receiver 2^31",
        "volunteer",
        "POST",
        "/exchanges/new",
        {"receiver_id": TOO_BIG},
        (400,),
        "receiver_id",
    ),
    (
        "log hours for request 2^31",
        "volunteer",
        "POST",
        "/exchanges/new",
        {"request_id": TOO_BIG},
        (400, 422),
        "request_id",
    ),
    (
        "assisted entry by giver 2^31",
        "manager",
        "POST",
        "/manage/assisted",
        {"giver_id": TOO_BIG},
        (400,),
        "giver_id",
    ),
    # NUL characters in a search box, a note, a title.
    (
        "NUL in the member search",
        "manager",
        "GET",
        "/manage/members?q=a%00b",
        None,
        (400, 422),
        "q",
    ),
    ("NUL in the board search", "volunteer", "GET", "/board?q=a%00b", None, (400, 422), "q"),
    ("NUL in a note", "volunteer", "POST", "/exchanges/new", {"note": NUL}, (400, 422), "note"),
    (
        "NUL in a request title",
        "volunteer",
        "POST",
        "/requests/new",
        {"title": NUL, "category_id": "1"},
        (400, 422),
        "title",
    ),
    (
        "NUL in an offer title",
        "volunteer",
        "POST",
        "/board/offers/new",
        {"title": NUL, "category_id": "1"},
        (400, 422),
        "title",
    ),
    (
        "NUL in the sign-in email",
        "",
        "POST",
        "/login",
        {"email": NUL, "password": "x"},
        (400, 422),
        "email",
    ),
    (
        "a search longer than any filter",
        "manager",
        "GET",
        "/manage/members?q=" + "x" * 600,
        None,
        (400, 422),
        "q",
    ),
    # Text longer than its column in the member form.
    (
        "availability of 300 characters",
        "manager",
        "POST",
        "/manage/members/new",
        new_member(availability="x" * 300),
        (400,),
        "availability",
    ),
    (
        "phone of 100 characters",
        "manager",
        "POST",
        "/manage/members/new",
        new_member(phone="1" * 100),
        (400,),
        "phone",
    ),
    (
        "phone of 100 characters on edit",
        "manager",
        "POST",
        "/manage/members/{senior}",
        new_member(name="Sieglinde Sommer", role="senior", phone="1" * 100),
        (400,),
        "phone",
    ),
    # Dates: a datetime, a compact or absurd date.
    (
        "a datetime as the day of help",
        "volunteer",
        "POST",
        "/exchanges/new",
        {"performed_on": f"{TODAY.isoformat()}T10:00:00"},
        (400,),
        "performed_on",
    ),
    (
        "a compact date",
        "volunteer",
        "POST",
        "/exchanges/new",
        {"performed_on": TODAY.isoformat().replace("-", "")},
        (400,),
        "performed_on",
    ),
    (
        "help on 0001-01-01",
        "volunteer",
        "POST",
        "/exchanges/new",
        {"performed_on": "0001-01-01"},
        (400,),
        "performed_on",
    ),
]


@pytest.mark.parametrize(
    ("who", "method", "path", "form", "statuses", "field"),
    [pytest.param(*case[1:], id=case[0]) for case in WEB_CASES],
)
async def test_bad_web_input_is_a_clear_4xx_and_writes_nothing(
    client: Client,
    world: World,
    sessions: Any,
    who: str,
    method: str,
    path: str,
    form: dict[str, str] | None,
    statuses: tuple[int, ...],
    field: str | None,
) -> None:
    names = {"senior": str(world.senior.id), "volunteer": str(world.volunteer.id)}
    path = path.replace("{senior}", names["senior"]).replace("{volunteer}", names["volunteer"])
    if who:
        await sign_in(client, {"manager": "manager@example.org"}.get(who, "volker@example.org"))
    before = await written(sessions)
    if method == "GET":
        answer = await client.get(path, follow_redirects=False)
    else:
        data = {k: v.replace("{volunteer}", names["volunteer"]) for k, v in (form or {}).items()}
        if path in ("/exchanges/new", "/manage/assisted"):
            giver = {"giver_id": names["volunteer"]} if path == "/manage/assisted" else {}
            data = {**log_hours(world), **giver, **data}
        answer = await post(client, path, data)
    assert answer.status_code in statuses, answer.text[:2000]
    assert "Traceback" not in answer.text
    if field is not None and answer.status_code == 400 and method == "POST":
        # A form drawn again shows the refusal next to its field.
        assert error_of(answer.text, field), answer.text[:2000]
    assert await written(sessions) == before


# --- The API ---------------------------------------------------------------------------------


def help_given(world: World, **changes: Any) -> dict[str, Any]:
    return {
        "giver_id": world.volunteer.id,
        "receiver_id": world.senior.id,
        "minutes": 90,
        "performed_on": TODAY.isoformat(),
        "category": "shopping",
        **changes,
    }


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


# (what, method, path, JSON body or raw bytes, status, field named or None)
API_CASES: list[tuple[str, str, str, Any, int, str | None]] = [
    (
        "a phone of 61 digits",
        "POST",
        "/members",
        {"name": "Neu", "role": "volunteer", "phone": "1" * 61},
        400,
        "phone",
    ),
    (
        "a name longer than its column",
        "POST",
        "/members",
        {"name": "x" * 201, "role": "volunteer"},
        400,
        "name",
    ),
    (
        "a NUL in a member's name",
        "POST",
        "/members",
        {"name": NUL, "role": "volunteer"},
        400,
        "name",
    ),
    ("JSON nested 10,000 deep", "POST", "/exchanges", nested(10_000), 400, None),
    (
        "JSON nested 10,000 deep in an object",
        "POST",
        "/members",
        b'{"name": ' + nested(10_000) + b"}",
        400,
        None,
    ),
    ("a member id of 2^31", "GET", f"/members/{TOO_BIG}", None, 400, "member_id"),
    (
        "a before_id of 2^31",
        "GET",
        f"/accounts/1/transfers?before_id={TOO_BIG}",
        None,
        400,
        "before_id",
    ),
    (
        "a datetime as the day of help",
        "POST",
        "/exchanges",
        "performed_on=" + TODAY.isoformat() + "T00:00:00",
        400,
        "performed_on",
    ),
    ("help on 0001-01-01", "POST", "/exchanges", "performed_on=0001-01-01", 422, "performed_on"),
    (
        "help a day before the oldest day allowed",
        "POST",
        "/exchanges",
        "performed_on=" + (TODAY - timedelta(days=OLDEST_HELP_DAYS + 1)).isoformat(),
        422,
        "performed_on",
    ),
    ("minutes of 0", "POST", "/exchanges", "minutes=0", 400, "minutes"),
    ("minutes of 1441", "POST", "/exchanges", "minutes=1441", 400, "minutes"),
    ("a note longer than its column", "POST", "/exchanges", "note=" + "x" * 1001, 400, "note"),
    (
        "a reason longer than its column",
        "POST",
        "/exchanges/1/reject",
        {"reason": "x" * 501},
        400,
        "reason",
    ),
    (
        "an unknown field in the confirm body",
        "POST",
        "/exchanges/1/confirm",
        {"override": "x"},
        400,
        "override",
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [pytest.param(*case[1:], id=case[0]) for case in API_CASES],
)
async def test_bad_api_input_is_a_clear_4xx_naming_the_field_and_writes_nothing(
    api: AsyncClient,
    world: World,
    tokens: dict[str, str],
    sessions: Any,
    method: str,
    path: str,
    body: Any,
    status: int,
    field: str | None,
) -> None:
    headers = {**bearer(tokens["manager"]), "Content-Type": "application/json"}
    if isinstance(body, str):  # one change to a valid entry by the volunteer
        key, _, value = body.partition("=")
        body = help_given(world, **{key: int(value) if value.isdigit() else value})
        headers = {**bearer(tokens["volunteer"]), "Content-Type": "application/json"}
    before = await written(sessions)
    if isinstance(body, bytes):
        answer = await api.request(method, "/api/v1" + path, headers=headers, content=body)
    else:
        answer = await api.request(method, "/api/v1" + path, headers=headers, json=body)
    assert answer.status_code == status, answer.text[:2000]
    assert answer.json()["code"] == "validation"
    assert answer.json().get("field") == field
    assert await written(sessions) == before


async def test_help_at_the_oldest_day_of_the_window_is_still_accepted(
    api: AsyncClient, world: World, tokens: dict[str, str]
) -> None:
    oldest = (TODAY - timedelta(days=OLDEST_HELP_DAYS)).isoformat()
    answer = await api.post(
        "/api/v1/exchanges",
        headers=bearer(tokens["volunteer"]),
        json=help_given(world, performed_on=oldest),
    )
    assert answer.status_code == 201, answer.text


# --- A reused idempotency key ----------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"category": "visits"},
        {"note": "something else"},
        {"minutes": 30},
        {"performed_on": (TODAY - timedelta(days=1)).isoformat()},
        {"receiver_id": "CLIENT"},
    ],
    ids=["category", "note", "minutes", "date", "receiver"],
)
async def test_a_key_reused_for_other_help_is_409_and_books_nothing(
    api: AsyncClient, world: World, tokens: dict[str, str], sessions: Any, change: dict[str, Any]
) -> None:
    body = help_given(world, note="Wocheneinkauf", idempotency_key="tablet-1")
    first = await api.post("/api/v1/exchanges", headers=bearer(tokens["volunteer"]), json=body)
    assert first.status_code == 201, first.text
    # The same key with the same body answers the first exchange and books nothing new.
    again = await api.post("/api/v1/exchanges", headers=bearer(tokens["volunteer"]), json=body)
    assert again.status_code == 201 and again.json() == first.json()
    before = await written(sessions)
    if change.get("receiver_id") == "CLIENT":
        change = {"receiver_id": world.volunteer2.id}
    other = await api.post(
        "/api/v1/exchanges", headers=bearer(tokens["volunteer"]), json={**body, **change}
    )
    assert other.status_code == 409, other.text
    assert other.json()["code"] == "idempotency_conflict"
    assert await written(sessions) == before


async def test_the_schema_says_what_the_api_enforces(api: AsyncClient) -> None:
    document = (await api.get("/schema/openapi.json")).json()
    schemas = document["components"]["schemas"]
    minutes = schemas["ExchangeIn"]["properties"]["minutes"]
    assert (minutes["minimum"], minutes["maximum"]) == (1, 1440)
    assert schemas["MemberIn"]["properties"]["phone"]["maxLength"] == 60
    for name, schema in schemas.items():
        if name.endswith("In"):
            assert schema.get("additionalProperties") is False, name
    confirm = document["paths"]["/api/v1/exchanges/{exchange_id}/confirm"]["post"]
    assert confirm["requestBody"]["required"] is False
