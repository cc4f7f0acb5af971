"""Held help on the pages (issue 9, points 1 and 9): the senior who confirms beyond her limit
is thanked calmly, the helper hears it is being settled, the office pays it from the pool
after a confirmation step (once, however often it is sent) or books it with a reason, and
the network sets the pool's cover (both databases)."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import World, set_balance, town_today
from tests.web.support import Client, error_of, main_of, manager, post, sign_in
from timebank import exchanges, held, i18n, ledger
from timebank.db import transaction
from timebank.models import Exchange, Member, NetworkSettings, Transfer

Sessions = async_sessionmaker[AsyncSession]


async def speaks(sessions: Sessions, member: Member, language: str) -> None:
    async with transaction(sessions) as s:
        found = await s.get(Member, member.id)
        found.language = language  # type: ignore[union-attr]
        s.add(found)


async def over_her_limit(sessions: Sessions, world: World, minutes: int = 60) -> int:
    """Help logged for the senior, whose lowest balance it would cross."""
    async with transaction(sessions) as s:
        account = await ledger.account_of_member(s, world.senior.id)  # type: ignore[arg-type]
        account.min_minutes = 0
        s.add(account)
        result = await exchanges.record_exchange(
            s,
            world.volunteer,
            giver_id=world.volunteer.id,  # type: ignore[arg-type]
            receiver_id=world.senior.id,  # type: ignore[arg-type]
            minutes=minutes,
            performed_on=town_today(),
            category="shopping",
        )
    return result.exchange.id  # type: ignore[return-value]


async def held_one(client: Client, sessions: Sessions, world: World) -> int:
    exchange_id = await over_her_limit(sessions, world)
    async with transaction(sessions) as s:
        await exchanges.confirm_exchange(s, world.senior, exchange_id)
    return exchange_id


async def bookings(sessions: Sessions) -> list[Transfer]:
    async with transaction(sessions) as s:
        return list((await s.exec(select(Transfer))).all())


async def test_the_senior_over_her_limit_confirms_and_is_thanked_calmly(
    client: Client, world: World, sessions: Sessions
):
    await speaks(sessions, world.senior, "de")
    exchange_id = await over_her_limit(sessions, world)
    await sign_in(client, "sieglinde@example.org")
    answer = await post(client, f"/exchanges/{exchange_id}/confirm")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/home?done=held"
    home = main_of((await client.get(answer.headers["location"])).text)
    assert "Bestätigt — das Netzwerkbüro kümmert sich um den Ausgleich." in home
    assert not re.search(r"\b409\b|Fehlercode|Nummer für Rückfragen|-?\d+ min\b", home)
    # A second click (a stale page) is said in words, never an error page.
    again = await post(client, f"/exchanges/{exchange_id}/confirm")
    assert again.headers["location"] == "/home?done=held"
    async with transaction(sessions) as s:
        assert (await s.get(Exchange, exchange_id)).status == "held"  # type: ignore[union-attr]
    assert await bookings(sessions) == []


async def test_confirming_help_decided_meanwhile_says_so_in_words(
    client: Client, world: World, sessions: Sessions
):
    exchange_id = await over_her_limit(sessions, world)
    async with transaction(sessions) as s:
        await exchanges.reject_exchange(s, world.senior, exchange_id, reason="nicht so")
    await sign_in(client, "sieglinde@example.org")
    answer = await post(client, f"/exchanges/{exchange_id}/confirm")
    assert answer.headers["location"] == "/home?done=already_decided"
    home = main_of((await client.get(answer.headers["location"])).text)
    assert "This help entry was decided already. Nothing was changed." in home


async def test_the_helper_sees_the_help_confirmed_and_being_settled(
    client: Client, world: World, sessions: Sessions
):
    await held_one(client, sessions, world)
    await sign_in(client, "volker@example.org")
    home = main_of((await client.get("/home")).text)
    assert "Confirmed. The network office is settling the hours." in home


async def test_the_office_pays_held_help_from_the_pool_after_seeing_the_pool_after(
    client: Client, world: World, sessions: Sessions
):
    await set_balance(sessions, world, world.volunteer2, 120)
    async with transaction(sessions) as s:
        await exchanges.donate_to_pool(s, world.volunteer2, 120)
    exchange_id = await held_one(client, sessions, world)
    await manager(client)
    queue = main_of((await client.get("/manage/held")).text)
    assert "Volker" in queue and "Sieglinde" in queue
    assert i18n.hours_and_minutes(60, "en") in queue
    assert f"/manage/exchanges/{exchange_id}/pool-payment?back=manage_held" in queue
    confirm = await client.get(f"/manage/exchanges/{exchange_id}/pool-payment?back=manage_held")
    shown = main_of(confirm.text)
    # The pool now and after: 2:00 h, then 1:00 h. Nothing is booked by looking.
    assert i18n.hours_and_minutes(120, "en") in shown and i18n.hours_and_minutes(60, "en") in shown
    assert f'action="/manage/exchanges/{exchange_id}/pay-from-pool"' in confirm.text
    before = len(await bookings(sessions))
    for _ in range(2):  # a double click
        paid = await post(
            client, f"/manage/exchanges/{exchange_id}/pay-from-pool", {"back": "manage_held"}
        )
        assert paid.headers["location"] == "/manage/held?done=paid_from_pool"
    assert len(await bookings(sessions)) == before + 1
    assert "No help is waiting for the network office." in main_of(
        (await client.get("/manage/held")).text
    )


async def test_paying_pending_help_from_the_pool_asks_first(
    client: Client, world: World, sessions: Sessions
):
    async with transaction(sessions) as s:
        await exchanges.record_exchange(
            s,
            world.volunteer,
            giver_id=world.volunteer.id,  # type: ignore[arg-type]
            receiver_id=world.senior.id,  # type: ignore[arg-type]
            minutes=30,
            performed_on=town_today(),
            category="shopping",
        )
    await manager(client)
    for path in ("/manage/exchanges", "/manage/pool"):
        page = (await client.get(path)).text
        # A link to the confirmation page, never a form that pays at once.
        assert "/pool-payment?back=" in page and "/pay-from-pool" not in page, path


async def test_an_empty_pool_is_said_on_the_confirmation_page(
    client: Client, world: World, sessions: Sessions
):
    exchange_id = await held_one(client, sessions, world)
    await manager(client)
    shown = main_of((await client.get(f"/manage/exchanges/{exchange_id}/pool-payment")).text)
    assert "The pool does not hold enough hours for this payment." in shown
    refused = await post(client, f"/manage/exchanges/{exchange_id}/pay-from-pool", {})
    assert refused.status_code == 400 and "That did not work:" in refused.text
    assert await bookings(sessions) == []


async def test_the_office_books_held_help_with_a_reason_once(
    client: Client, world: World, sessions: Sessions
):
    exchange_id = await held_one(client, sessions, world)
    await manager(client)
    path = f"/manage/held/{exchange_id}/override"
    assert "Why is it booked beyond the limit?" in (await client.get(path)).text
    empty = await post(client, path, {"override_reason": ""})
    assert empty.status_code == 400
    assert error_of(empty.text, "override_reason").endswith(
        i18n.render("en", exchanges.OVERRIDE_NEEDED)
    )
    for _ in range(2):
        done = await post(client, path, {"override_reason": "Härtefall, mit Familie besprochen"})
        assert done.headers["location"] == "/manage/held?done=booked_by_office"
    [booked] = await bookings(sessions)
    assert booked.override_reason == "Härtefall, mit Familie besprochen"


async def test_the_network_sets_the_pools_monthly_cover_on_the_settings_page(
    client: Client, world: World, sessions: Sessions
):
    await manager(client)
    page = (await client.get("/manage/flags/settings")).text
    assert 'name="pool_cover_minutes"' in page and 'name="giver_full_action"' in page
    form = dict(re.findall(r'name="(\w+)"[^>]*value="([^"]*)"', page))
    form.update({"unconfirmed_action": "flag", "pool_cover_minutes": "3"})
    form["giver_full_action"] = "pool"
    for role in ("volunteer", "senior", "professional", "manager"):
        form.pop(f"reviewed_{role}", None)
        form.pop(f"pool_help_counts_{role}", None)
    answer = await post(client, "/manage/flags/settings", form)
    assert answer.status_code == 303, error_of(answer.text, "pool_cover_minutes")
    async with transaction(sessions) as s:
        saved = await s.get(NetworkSettings, 1)
    assert (saved.pool_cover_minutes, saved.giver_full_action) == (180, "pool")  # type: ignore[union-attr]
    bad = await post(client, "/manage/flags/settings", {**form, "pool_cover_minutes": "-1"})
    assert bad.status_code == 400 and error_of(bad.text, "pool_cover_minutes")


async def test_a_member_below_zero_is_told_at_the_field_that_they_cannot_give(
    client: Client, world: World, sessions: Sessions
):
    await speaks(sessions, world.senior, "de")
    await set_balance(sessions, world, world.senior, -90)
    await sign_in(client, "sieglinde@example.org")
    answer = await post(client, "/donate", {"hours": "1", "minutes": "0"})
    assert answer.status_code == 400
    said = error_of(answer.text, "minutes")
    assert said.endswith(
        i18n.render("de", exchanges.DONATION_BEYOND_BALANCE, {"balance": i18n.Minutes(-90)})
    )
    assert "−1:30 Std." in said and "90" not in said.replace("1:30", "")


async def test_the_notices_link_to_the_queue(client: Client, world: World):
    await manager(client)
    assert client.app.route_reverse("manage_held") == held.QUEUE_PATH


async def test_the_offices_pages_speak_the_managers_language(
    client: Client, world: World, sessions: Sessions
):
    exchange_id = await held_one(client, sessions, world)
    await manager(client)
    english = (
        "Help waiting for the network office",
        "would take the time account",
        "The pool after this payment",
        "Why is it booked beyond the limit?",
    )
    for language in ("de", "tr", "ru", "ar"):
        await speaks(sessions, world.manager, language)
        for path in (
            "/manage/held",
            f"/manage/exchanges/{exchange_id}/pool-payment",
            f"/manage/held/{exchange_id}/override",
        ):
            shown = main_of((await client.get(path)).text)
            assert not [e for e in english if e in shown], (language, path)
            assert "Sieglinde" in shown, (language, path)
