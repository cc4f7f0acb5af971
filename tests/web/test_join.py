"""The front door over HTTP: a visitor sees the public start page and the forms in their
language; the office works the queue; an accepted person can sign in."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.web.support import Client, error_of, main_of, manager, post, sign_in
from timebank.db import transaction
from timebank.models import Intake, Member

FORM = {
    "name": "Hatice Yilmaz",
    "phone": "0521 123456",
    "email": "hatice@example.org",
    "language": "tr",
    "message": "Einkaufen am Donnerstag",
    "consent": "yes",
    "website": "",
}


def in_english(client: Client) -> Client:
    """A visitor has no member language: the browser's choice decides (German without one)."""
    client.headers["Accept-Language"] = "en"
    return client


async def count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with transaction(sessions) as s:
        return int(await s.scalar(select(func.count()).select_from(Intake)) or 0)


async def test_a_visitor_gets_the_public_start_page_not_a_login_form(client: Client) -> None:
    in_english(client)
    answer = await client.get("/", follow_redirects=False)
    assert answer.status_code == 200
    text = main_of(answer.text)
    assert "Give and take" in text
    for kind in ("help", "give", "organization"):
        assert f'href="/join/{kind}"' in answer.text


async def test_a_member_still_goes_home(client: Client) -> None:
    await sign_in(client, "sieglinde@example.org")
    answer = await client.get("/", follow_redirects=False)
    assert answer.status_code == 303


async def test_the_forms_speak_the_visitors_language(client: Client) -> None:
    answer = await client.get("/join/help", headers={"Accept-Language": "tr-TR,tr;q=0.9"})
    assert answer.status_code == 200
    text = main_of(answer.text)
    assert "Yardıma ihtiyacım var" in text or "yardım" in text.lower()
    assert "Your name" not in text and "Send" not in text


async def test_a_message_without_consent_is_refused_at_the_box_and_nothing_kept(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    in_english(client)
    answer = await post(client, "/join/help", {**FORM, "consent": ""})
    assert answer.status_code == 400
    assert "privacy notice" in error_of(answer.text, "consent")
    assert 'value="Hatice Yilmaz"' in answer.text  # what was typed stays
    assert await count(sessions) == 0


async def test_a_filled_honeypot_is_thanked_and_dropped(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    answer = await post(client, "/join/give", {**FORM, "website": "http://spam.example"})
    assert answer.status_code == 303 and answer.headers["location"] == "/join/give/thanks"
    assert await count(sessions) == 0


async def test_an_unknown_kind_is_not_found(client: Client) -> None:
    assert (await client.get("/join/anything")).status_code == 404


async def test_from_the_form_to_a_member_who_signs_in(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    in_english(client)
    sent = await post(client, "/join/help", FORM)
    assert sent.status_code == 303
    thanks = await client.get(sent.headers["location"])
    assert "Thank you for your message" in main_of(thanks.text)

    await manager(client)
    queue = await client.get("/manage/intake")
    assert "Hatice Yilmaz" in main_of(queue.text)
    intake_id = int(re.search(r'href="/manage/intake/(\d+)"', queue.text).group(1))  # type: ignore[union-attr]
    assert (await post(client, f"/manage/intake/{intake_id}/called")).status_code == 303
    accepted = await post(client, f"/manage/intake/{intake_id}/accept")
    assert accepted.status_code == 303
    again = await post(client, f"/manage/intake/{intake_id}/accept")
    assert again.status_code == 409  # told, not created twice
    async with transaction(sessions) as s:
        member = await s.scalar(select(Member).where(Member.email == "hatice@example.org"))
        assert member is not None and member.role == "senior"
        member_id = member.id

    password = {"password": "a-new-password-1"}
    sheet = await post(client, f"/manage/members/{member_id}/password", password)
    assert sheet.status_code == 200
    await post(client, "/logout")
    await sign_in(client, "hatice@example.org", "a-new-password-1")


async def test_declining_asks_why(client: Client) -> None:
    await post(client, "/join/give", FORM)
    await manager(client)
    queue = await client.get("/manage/intake")
    intake_id = int(re.search(r'href="/manage/intake/(\d+)"', queue.text).group(1))  # type: ignore[union-attr]
    refused = await post(client, f"/manage/intake/{intake_id}/decline", {"note": ""})
    assert refused.status_code == 400 and error_of(refused.text, "note")
    declined = await post(client, f"/manage/intake/{intake_id}/decline", {"note": "moved away"})
    assert declined.status_code == 303
    detail = await client.get(declined.headers["location"])
    assert "moved away" in main_of(detail.text)
