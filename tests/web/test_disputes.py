"""The dispute pages: "No, that is not right" asks why, the giver sees it on their home page
and may accept a corrected length, the receiver may take it back, and the manager settles
the rest in the dispute queue (English pages; the rules are tested in tests/test_disputes.py)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import World, town_today
from tests.web.support import Client, error_of, main_of, manager, post, sign_in
from timebank import disputes, exchanges
from timebank.db import transaction
from timebank.models import Dispute, Exchange, Member, Transfer, id_of

Sessions = async_sessionmaker[AsyncSession]


async def logged(sessions: Sessions, giver: Member, receiver: Member, minutes: int = 120) -> int:
    async with transaction(sessions) as s:
        result = await exchanges.record_exchange(
            s,
            giver,
            giver_id=id_of(giver),
            receiver_id=id_of(receiver),
            minutes=minutes,
            performed_on=town_today(),
            category="visits",
        )
    return id_of(result.exchange)


async def exchange_and_booking(sessions: Sessions, exchange_id: int) -> tuple[Exchange, list[int]]:
    async with transaction(sessions) as s:
        exchange = await s.get(Exchange, exchange_id)
        booked = (
            await s.exec(select(Transfer.minutes).where(Transfer.exchange_id == exchange_id))
        ).all()
    assert exchange is not None
    return exchange, list(booked)


async def test_no_asks_why_and_a_different_length_is_read_the_readers_way(
    client: Client, world: World, sessions: Sessions
):
    exchange_id = await logged(sessions, world.volunteer, world.senior)
    await sign_in(client, "sieglinde@example.org")
    home = main_of((await client.get("/home")).text)
    assert f'href="/exchanges/{exchange_id}/dispute"' in (await client.get("/home")).text
    assert "No, that is not right" in home
    form = await client.get(f"/exchanges/{exchange_id}/dispute")
    assert form.status_code == 200
    assert "Why is it not right?" in main_of(form.text)
    # Nothing chosen, nothing written: asked again, at the field, nothing written.
    refused = await post(client, f"/exchanges/{exchange_id}/reject", {"hours": "", "minutes": "0"})
    assert refused.status_code == 400
    assert error_of(refused.text, "why")
    refused = await post(
        client, f"/exchanges/{exchange_id}/reject", {"why": "length", "hours": "", "minutes": "0"}
    )
    assert refused.status_code == 400 and error_of(refused.text, "minutes")
    refused = await post(client, f"/exchanges/{exchange_id}/reject", {"why": "other"})
    assert refused.status_code == 400 and error_of(refused.text, "reason")
    assert (await exchange_and_booking(sessions, exchange_id))[0].status == "pending"
    # English pages read 1.5 as an hour and a half.
    answer = await post(
        client,
        f"/exchanges/{exchange_id}/reject",
        {"why": "length", "hours": "1.5", "minutes": "0", "reason": "eher anderthalb"},
    )
    assert answer.headers["location"] == "/home?done=disputed"
    async with transaction(sessions) as s:
        dispute = await disputes.open_dispute_of(s, exchange_id)
    assert dispute is not None
    assert (dispute.reason, dispute.proposed_minutes, dispute.note) == (
        "length",
        90,
        "eher anderthalb",
    )
    home = main_of((await client.get("/home")).text)
    assert "Help you disputed" in home and "It took 1:30 h." in home


async def test_a_dispute_in_german_reads_1_comma_5(
    client: Client, world: World, sessions: Sessions
):
    exchange_id = await logged(sessions, world.volunteer, world.senior)
    async with transaction(sessions) as s:
        senior = await s.get(Member, world.senior.id)
        assert senior is not None
        senior.language = "de"
    await sign_in(client, "sieglinde@example.org")
    answer = await post(
        client,
        f"/exchanges/{exchange_id}/reject",
        {"why": "length", "hours": "1,5", "minutes": "0"},
    )
    assert answer.status_code == 303
    async with transaction(sessions) as s:
        dispute = await disputes.open_dispute_of(s, exchange_id)
    assert dispute is not None and dispute.proposed_minutes == 90


async def test_the_giver_sees_the_reason_and_accepts_the_length_once(
    client: Client, world: World, sessions: Sessions
):
    exchange_id = await logged(sessions, world.volunteer, world.senior)
    async with transaction(sessions) as s:
        await disputes.open_dispute(s, world.senior, exchange_id, reason="length", minutes=90)
    await sign_in(client, "volker@example.org")
    home = main_of((await client.get("/home")).text)
    assert "Help you logged that was disputed" in home
    assert "Sieglinde Sommer says:" in home and "It took 1:30 h." in home
    assert "Yes, it was 1:30 h" in home
    answer = await post(client, f"/exchanges/{exchange_id}/dispute/accept")
    assert answer.headers["location"] == "/home?done=correction_accepted"
    again = await post(client, f"/exchanges/{exchange_id}/dispute/accept")
    assert again.status_code == 409
    exchange, booked = await exchange_and_booking(sessions, exchange_id)
    assert (exchange.status, exchange.minutes, booked) == ("confirmed", 90, [90])
    assert "Help you logged that was disputed" not in main_of((await client.get("/home")).text)


async def test_a_reason_other_than_a_length_waits_for_the_office(
    client: Client, world: World, sessions: Sessions
):
    exchange_id = await logged(sessions, world.volunteer, world.senior)
    async with transaction(sessions) as s:
        await disputes.open_dispute(s, world.senior, exchange_id, reason="did_not_happen")
    await sign_in(client, "volker@example.org")
    home = main_of((await client.get("/home")).text)
    assert "This help did not happen." in home
    assert "The network office will settle it and tell you both." in home
    assert "Yes, it was" not in home


async def test_the_receiver_takes_the_dispute_back(
    client: Client, world: World, sessions: Sessions
):
    exchange_id = await logged(sessions, world.volunteer, world.senior)
    async with transaction(sessions) as s:
        await disputes.open_dispute(s, world.senior, exchange_id, reason="other", note="wer?")
    await sign_in(client, "sieglinde@example.org")
    answer = await post(client, f"/exchanges/{exchange_id}/dispute/withdraw")
    assert answer.headers["location"] == "/home?done=dispute_withdrawn"
    home = main_of((await client.get(answer.headers["location"])).text)
    assert "Your dispute is taken back." in home
    assert "Yes, that is right" in home  # waiting for them again
    assert (await exchange_and_booking(sessions, exchange_id))[0].status == "pending"


async def test_the_manager_settles_in_the_queue_with_a_note(
    client: Client, world: World, sessions: Sessions
):
    first = await logged(sessions, world.volunteer, world.senior)
    second = await logged(sessions, world.volunteer2, world.senior, minutes=60)
    async with transaction(sessions) as s:
        await disputes.open_dispute(s, world.senior, first, reason="length", minutes=90)
        await disputes.open_dispute(s, world.senior, second, reason="did_not_happen")
    await manager(client)
    queue = await client.get("/manage/disputes")
    text = main_of(queue.text)
    assert "Volker Vogel helped Sieglinde Sommer" in text and "Vera Wolf helped" in text
    assert 'value="1:30"' in queue.text  # the receiver's length, ready to confirm
    # Without a note: refused at that dispute's note, the other form untouched.
    refused = await post(client, f"/manage/disputes/{first}/settle", {"outcome": "confirmed"})
    assert refused.status_code == 400
    assert error_of(refused.text, f"note-{first}") and not error_of(refused.text, f"note-{second}")
    answer = await post(
        client,
        f"/manage/disputes/{first}/settle",
        {"outcome": "corrected", "hours": "1:15", "minutes": "0", "note": "Mit beiden gesprochen"},
    )
    assert answer.headers["location"] == "/manage/disputes?done=dispute_settled"
    answer = await post(
        client, f"/manage/disputes/{second}/settle", {"outcome": "rejected", "note": "Verwechslung"}
    )
    assert answer.status_code == 303
    twice = await post(
        client, f"/manage/disputes/{second}/settle", {"outcome": "confirmed", "note": "doch"}
    )
    assert twice.status_code == 400  # drawn again, saying it was settled already
    assert "settled already" in main_of(twice.text)
    assert await exchange_and_booking(sessions, first) == (
        (await exchange_and_booking(sessions, first))[0],
        [75],
    )
    assert (await exchange_and_booking(sessions, second))[0].status == "rejected"
    text = main_of((await client.get("/manage/disputes")).text)
    assert "Nothing is disputed." in text
    assert "Recently settled" in text and "Mit beiden gesprochen" in text
    async with transaction(sessions) as s:
        outcomes = (await s.exec(select(Dispute.outcome).order_by(col(Dispute.id)))).all()
    assert list(outcomes) == ["corrected", "rejected"]
