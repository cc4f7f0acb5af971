"""Refusals in the reader's language, on both databases: the API's `detail` in the caller's
language (Accept-Language, else the member behind the token, else German) with its `code`
and `field` unchanged; Litestar's own validation reports as sentences naming the field; a
form error and an error page in the member's language.

Whether every catalogue translates every message is not checked here; here the point is
that the edge picks the right language and fills in the values."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import World, bearer, town_today
from tests.web.support import Client, error_of, main_of, post, sign_in
from timebank import exchanges, i18n, ledger, members
from timebank.db import transaction
from timebank.models import Member
from timebank.web import errors

Sessions = async_sessionmaker[AsyncSession]
TODAY = town_today().isoformat()


async def speaks(sessions: Sessions, member: Member, language: str) -> None:
    async with transaction(sessions) as s:
        row = await members.get_member(s, member.id)  # type: ignore[arg-type]
        row.language = language
        s.add(row)


async def lowest_balance(sessions: Sessions, member: Member, minutes: int) -> None:
    async with transaction(sessions) as s:
        account = await ledger.account_of_member(s, member.id)  # type: ignore[arg-type]
        account.min_minutes = minutes
        s.add(account)


async def call(
    api: AsyncClient, method: str, path: str, token: str | None, **kw: Any
) -> dict[str, Any]:
    headers = {**(bearer(token) if token else {}), **kw.pop("headers", {})}
    answer = await api.request(method, "/api/v1" + path, headers=headers, **kw)
    body: dict[str, Any] = answer.json()
    assert body.get("status_code", answer.status_code) == answer.status_code
    return body


def help_for(world: World, **changes: Any) -> dict[str, Any]:
    return {
        "giver_id": world.volunteer.id,
        "receiver_id": world.senior.id,
        "minutes": 90,
        "performed_on": TODAY,
        "category": "shopping",
        **changes,
    }


# --- The API: whose language ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "language"),
    [("tr", "tr"), ("tr-TR,tr;q=0.9,en;q=0.5", "tr"), ("fr-FR, ar;q=0.8", "ar"), ("en", "en")],
)
async def test_accept_language_names_the_language_of_an_api_refusal(
    api, world, tokens, header, language
):
    body = await call(
        api,
        "POST",
        "/exchanges/99999/confirm",
        tokens["senior"],
        headers={"Accept-Language": header},
    )
    assert body["code"] == "not_found"
    assert body["detail"] == i18n.render(language, exchanges.EXCHANGE_NOT_FOUND)


async def test_without_accept_language_the_api_speaks_the_members_language(
    api, world, tokens, sessions
):
    await speaks(sessions, world.senior, "ru")
    await lowest_balance(sessions, world.senior, -60)
    # (Confirming help is never refused for a limit: it is held. A gift to the pool is.)
    refused = await call(api, "POST", "/pool/donations", tokens["senior"], json={"minutes": 90})
    # The stable parts stay as they were; the sentence is Russian, in hours, about "your"
    # account, with no account number in it.
    assert refused["code"] == "balance_limit" and refused["limit_minutes"] == -60
    assert refused["detail"] == i18n.render(
        "ru",
        ledger.LIMIT_MESSAGES["min", "yours"],
        {"limit": i18n.Minutes(-60), "balance": i18n.Minutes(0), "minutes": i18n.Minutes(90)},
    )
    assert refused["detail"].startswith("Баланс Вашего счёта часов")
    assert str(refused["account_id"]) not in refused["detail"]


async def test_accept_language_wins_over_the_members_language(api, world, tokens, sessions):
    await speaks(sessions, world.senior, "ru")
    body = await call(
        api, "POST", "/exchanges/99999/confirm", tokens["senior"], headers={"Accept-Language": "tr"}
    )
    assert body["detail"] == "Bu yardım kaydı bulunamadı."


async def test_a_caller_without_token_or_language_is_answered_in_german(api, world):
    body = await call(api, "GET", "/me", None)
    assert body["code"] == "unauthorized"
    assert body["detail"].startswith("Bitte senden Sie „Authorization: Bearer <token>“")
    english = await call(api, "GET", "/me", None, headers={"Accept-Language": "en"})
    assert english["detail"] == "send 'Authorization: Bearer <token>' (timebank token create)"


# --- The API: Litestar's own refusals, in sentences --------------------------------------------

# (what is wrong, the body's changes, the field named, the message id, its limit)
LIBRARY_REFUSALS: list[tuple[str, dict[str, Any], str, str, object]] = [
    ("zero minutes", {"minutes": 0}, "minutes", errors.FIELD_AT_LEAST, 1),
    ("a day of minutes", {"minutes": 24 * 60 + 1}, "minutes", errors.FIELD_AT_MOST, 1440),
    ("minutes as text", {"minutes": "60"}, "minutes", errors.FIELD_WHOLE_NUMBER, None),
    ("no date", {"performed_on": None}, "performed_on", errors.FIELD_MISSING, None),
    ("not a date", {"performed_on": "Dienstag"}, "performed_on", errors.FIELD_DATE, None),
    ("a misspelt field", {"minuts": 60}, "minuts", errors.FIELD_UNKNOWN, None),
    ("a long note", {"note": "x" * 1001}, "note", errors.FIELD_TOO_LONG, 1000),
    ("a NUL character", {"note": "a\x00b"}, "note", errors.FIELD_UNSTORABLE, None),
]


@pytest.mark.parametrize(
    ("what", "changes", "field", "message", "limit"),
    LIBRARY_REFUSALS,
    ids=[case[0] for case in LIBRARY_REFUSALS],
)
async def test_a_bad_api_body_is_refused_in_a_sentence_naming_the_field(
    api, world, tokens, what, changes, field, message, limit
):
    body = help_for(world, **changes)
    body = {k: v for k, v in body.items() if v is not None}
    refused = await call(
        api, "POST", "/exchanges", tokens["volunteer"], json=body, headers={"Accept-Language": "ar"}
    )
    params = {"field": field} if limit is None else {"field": field, "limit": limit}
    said = i18n.render("ar", message, params)
    assert (refused["code"], refused["field"], refused["detail"]) == ("validation", field, said)
    assert [e["message"] for e in refused["errors"]] == [said]
    assert said != i18n.render("en", message, params)  # translated, not the English id


async def test_bad_path_and_query_values_are_refused_in_the_callers_language(
    api, world, tokens, sessions
):
    await speaks(sessions, world.manager, "tr")
    refused = await call(api, "GET", "/accounts/1/transfers?limit=abc", tokens["manager"])
    assert refused["field"] == "limit"
    assert refused["detail"] == "“limit” alanına bir tam sayı giriniz."
    refused = await call(api, "GET", "/members/0", tokens["manager"])
    assert refused["detail"] == i18n.render(
        "tr", errors.FIELD_AT_LEAST, {"field": "member_id", "limit": 1}
    )


@pytest.mark.parametrize(
    ("content", "message", "params"),
    [
        (b"[1, 2]", errors.BODY_NOT_AN_OBJECT, {}),
        (b"", errors.BODY_MISSING, {}),
        (b"[" * 40 + b"]" * 40, "the JSON body nests deeper than {depth} levels", {"depth": 32}),
    ],
)
async def test_a_body_that_is_no_object_is_refused_in_the_callers_language(
    api, world, tokens, content, message, params
):
    refused = await call(
        api,
        "POST",
        "/exchanges",
        tokens["volunteer"],
        content=content,
        headers={"Content-Type": "application/json", "Accept-Language": "ru"},
    )
    assert refused["code"] == "validation"
    assert refused["detail"] == i18n.render("ru", message, params)


async def test_litestars_own_http_refusals_are_translated(api, world, tokens):
    lost = await call(api, "GET", "/nothing-here", tokens["senior"])
    assert lost["code"] == "not_found"
    assert lost["detail"] == i18n.render("de", errors.HTTP_MESSAGES[404])
    wrong = await call(api, "PUT", "/me", tokens["senior"], headers={"Accept-Language": "ar"})
    assert wrong["code"] == "method_not_allowed"
    assert wrong["detail"] == i18n.render("ar", errors.HTTP_MESSAGES[405])


def test_every_validation_report_of_the_libraries_is_read_into_a_sentence():
    cases = {
        "Input should be greater than or equal to 1": (errors.FIELD_AT_LEAST, 1),
        "Expected `int` >= 1": (errors.FIELD_AT_LEAST, 1),
        "Expected `int` <= 2147483647": (errors.FIELD_AT_MOST, 2147483647),
        "Expected `str` of length <= 500": (errors.FIELD_TOO_LONG, 500),
        "String should have at most 200 characters": (errors.FIELD_TOO_LONG, 200),
        "Expected `int`, got `str`": (errors.FIELD_WHOLE_NUMBER, None),
        "Value error, must be a whole number": (errors.FIELD_WHOLE_NUMBER, None),
        "Value error, must be a date like 2026-03-31": (errors.FIELD_DATE, None),
        "Value error, text may not contain NUL characters": (errors.FIELD_UNSTORABLE, None),
        "Field required": (errors.FIELD_MISSING, None),
        "Object missing required field `x`": (errors.FIELD_MISSING, None),
        "something nobody has seen": (errors.FIELD_INVALID, None),
    }
    for text, (message, limit) in cases.items():
        read = errors.reading_of({"key": "x", "message": text})
        assert read[0] == message, text
        assert read[1].get("limit") == limit, text


# --- Pages: a form error and an error page in the member's language ----------------------------


async def test_a_form_error_is_shown_in_arabic(client: Client, world: World, sessions: Sessions):
    await speaks(sessions, world.volunteer, "ar")
    await sign_in(client, "volker@example.org")
    answer = await post(
        client,
        "/exchanges/new",
        {
            "receiver_number": str(world.senior.id),
            "performed_on": TODAY,
            "hours": "1",
            "minutes": "0",
            "category": "shopping",
            "note": "x" * (exchanges.MAX_NOTE + 1),
        },
    )
    assert answer.status_code == 400
    shown = error_of(answer.text, "note")
    assert shown.endswith(i18n.render("ar", exchanges.NOTE_TOO_LONG, {"count": exchanges.MAX_NOTE}))
    assert "الملاحظة طويلة جدًا" in shown


async def test_a_refusal_page_is_shown_in_turkish_with_hours_in_words(
    db_url: str, client: Client, world: World, sessions: Sessions
):
    await speaks(sessions, world.senior, "tr")
    await lowest_balance(sessions, world.senior, -60)
    await sign_in(client, "sieglinde@example.org")
    # A gift beyond the lowest balance (confirming help is held instead: tests/web/test_held).
    answer = await post(client, "/donate", {"hours": "1,5", "minutes": "0"})
    assert answer.status_code == 400
    shown = main_of(answer.text)
    said = i18n.render(
        "tr",
        ledger.LIMIT_MESSAGES["min", "yours"],
        {"limit": i18n.Minutes(-60), "balance": i18n.Minutes(0), "minutes": i18n.Minutes(90)},
    )
    assert said.startswith("Zaman hesabınızın") and said in shown
