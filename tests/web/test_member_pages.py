"""The member pages through the test client: forms, errors next to fields, CSRF, who may
see what, languages, sign-in and sessions."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import PASSWORD, World, town_today
from tests.web.support import Client, main_of, make_app, post, sign_in
from timebank import board, exchanges, i18n, signin
from timebank.db import transaction
from timebank.models import Category, Exchange, Flag, HelpRequest, Member, WebSession, id_of

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def client(db_url: str, world: World) -> AsyncIterator[Client]:
    """Unlike tests/web/conftest.py's ``client``, the members keep their own languages: the
    pages' languages are under test here."""
    async with AsyncTestClient(app=make_app(db_url)) as c:
        yield c


async def exchanges_between(sessions: Sessions, giver: Member, receiver: Member) -> list[Exchange]:
    async with transaction(sessions) as s:
        rows = await s.exec(
            select(Exchange).where(
                Exchange.giver_id == giver.id, Exchange.receiver_id == receiver.id
            )
        )
        return list(rows.all())


# --- Signing in -------------------------------------------------------------------------------


async def test_a_visitor_is_sent_to_sign_in_and_back(client: Client) -> None:
    answer = await client.get("/members/1/statement", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/members/1/statement"
    form = await client.get("/login?next=/statement")
    assert 'name="next" value="/statement"' in form.text
    answer = await post(
        client,
        "/login",
        {"email": "volker@example.org", "password": PASSWORD, "next": "/statement"},
    )
    assert answer.headers["location"] == "/statement"


async def test_sign_in_never_redirects_off_site(client: Client) -> None:
    answer = await post(
        client,
        "/login",
        {"email": "volker@example.org", "password": PASSWORD, "next": "//evil.example/x"},
    )
    assert answer.headers["location"] == "/home"


async def test_the_session_cookie_is_httponly_lax_and_only_hashed_in_the_database(
    client: Client, sessions: Sessions
) -> None:
    answer = await post(client, "/login", {"email": "volker@example.org", "password": PASSWORD})
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("tb_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    token = client.cookies["tb_session"]
    async with transaction(sessions) as s:
        hashes = (await s.exec(select(WebSession.token_hash))).all()
    assert hashes == [signin.token_hash(token)]


async def test_a_wrong_password_shows_the_form_again_with_the_email_kept(client: Client) -> None:
    answer = await post(client, "/login", {"email": "volker@example.org", "password": "nope"})
    assert answer.status_code == 400
    page = main_of(answer.text)
    assert 'value="volker@example.org"' in page
    assert 'id="email-error"' in page
    assert "nope" not in page
    assert "tb_session" not in client.cookies


async def test_a_guesser_is_slowed_down_and_told_in_words_when_to_try_again(
    client: Client,
) -> None:
    for _ in range(signin.FREE_FAILURES):
        answer = await post(client, "/login", {"email": "volker@example.org", "password": "no"})
        assert answer.status_code == 400
    # From the same browser, the right password too must wait (it could be the guesser's).
    answer = await post(client, "/login", {"email": "volker@example.org", "password": PASSWORD})
    assert answer.status_code == 429
    assert 0 < int(answer.headers["retry-after"]) <= 60
    assert "Bitte versuchen Sie es in 1 Minute noch einmal" in main_of(answer.text)
    assert "tb_session" not in client.cookies


async def test_signing_in_rotates_the_session(client: Client, sessions: Sessions) -> None:
    await sign_in(client, "volker@example.org")
    first = client.cookies["tb_session"]
    await sign_in(client, "volker@example.org")
    second = client.cookies["tb_session"]
    assert first != second
    async with transaction(sessions) as s:
        assert await signin.member_for_session(s, first) is None
        assert await signin.member_for_session(s, second) is not None


async def test_the_session_survives_a_restart_of_the_app(db_url: str, client: Client) -> None:
    await sign_in(client, "volker@example.org")
    token = client.cookies["tb_session"]
    async with AsyncTestClient(app=make_app(db_url), cookies={"tb_session": token}) as other:
        answer = await other.get("/home", follow_redirects=False)
    assert answer.status_code == 200
    assert "Volker Vogel" in answer.text


async def test_signing_out_ends_the_session(client: Client, sessions: Sessions) -> None:
    await sign_in(client, "volker@example.org")
    token = client.cookies["tb_session"]
    answer = await post(client, "/logout")
    assert answer.headers["location"] == "/login?done=signed_out"
    async with transaction(sessions) as s:
        assert await signin.member_for_session(s, token) is None
    assert (await client.get("/home", follow_redirects=False)).status_code == 303


# --- CSRF -------------------------------------------------------------------------------------


async def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    client: Client, world: World, sessions: Sessions
) -> None:
    await sign_in(client, "volker@example.org")
    data = {
        "receiver_id": str(world.senior.id),
        "performed_on": town_today().isoformat(),
        "hours": "2",
        "minutes": "0",
        "category": "shopping",
    }
    answer = await client.post("/exchanges/new", data=data, follow_redirects=False)
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/html")
    wrong = await client.post(
        "/exchanges/new", data={**data, "_csrf_token": "forged"}, follow_redirects=False
    )
    assert wrong.status_code == 403
    assert await exchanges_between(sessions, world.volunteer, world.senior) == []


async def test_the_api_needs_no_csrf_token_and_keeps_json_errors(client: Client) -> None:
    answer = await client.post("/api/v1/exchanges", json={})
    assert answer.status_code == 401
    assert answer.json()["code"] == "unauthorized"
    missing = await client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


# --- Logging hours, confirming, the statement --------------------------------------------------


async def test_logging_hours_then_the_senior_confirms_and_both_statements_show_it(
    db_url: str, client: Client, world: World, sessions: Sessions
) -> None:
    await sign_in(client, "volker@example.org")
    answer = await post(
        client,
        "/exchanges/new",
        {
            "receiver_number": str(world.senior.id),
            "performed_on": town_today().isoformat(),
            "hours": "2",
            "minutes": "0",
            "category": "shopping",
            "note": "Großeinkauf",
        },
    )
    assert answer.headers["location"] == "/home?done=logged"
    [logged] = await exchanges_between(sessions, world.volunteer, world.senior)
    assert (logged.minutes, logged.status, logged.assisted) == (120, "pending", False)

    async with AsyncTestClient(app=make_app(db_url)) as senior:
        await sign_in(senior, "sieglinde@example.org")
        home = main_of((await senior.get("/home")).text)
        assert "Volker Vogel hat Sieglinde Sommer 2:00 Std. geholfen" in home
        answer = await post(senior, f"/exchanges/{logged.id}/confirm")
        assert answer.headers["location"] == "/home?done=confirmed"
        mine = main_of((await senior.get(f"/members/{world.senior.id}/statement")).text)
        assert "Volker Vogel hat Ihnen geholfen" in mine
        assert '<td data-label="Stunden bekommen" class="num">2:00 Std.</td>' in mine

    [confirmed] = await exchanges_between(sessions, world.volunteer, world.senior)
    assert confirmed.status == "confirmed"
    statement = main_of((await client.get("/statement")).text)
    assert "Sie haben Sieglinde Sommer geholfen" in statement
    assert '<td data-label="Stunden gegeben" class="num">2:00 Std.</td>' in statement
    home = main_of((await client.get("/home")).text)
    assert "Sie haben 2:00 Std. gegeben und 0:00 Std. bekommen" in home


async def test_a_log_hours_form_sent_twice_books_once(
    client: Client, world: World, sessions: Sessions
) -> None:
    """A double click or a reload sends the same form again: it carries the key it was
    drawn with, so the second send finds the first entry instead of adding one."""
    await sign_in(client, "volker@example.org")
    drawn = main_of((await client.get("/exchanges/new")).text)
    found = re.search(r'name="idempotency_key" value="([^"]+)"', drawn)
    assert found is not None
    data = {
        "receiver_number": str(world.senior.id),
        "performed_on": town_today().isoformat(),
        "hours": "1",
        "minutes": "30",
        "category": "shopping",
        "idempotency_key": found.group(1),
    }
    first = await post(client, "/exchanges/new", data)
    second = await post(client, "/exchanges/new", data)
    assert first.status_code == second.status_code == 303
    assert len(await exchanges_between(sessions, world.volunteer, world.senior)) == 1

    # Back button, other values, same key: refused in plain words, a fresh key to go on with.
    changed = await post(client, "/exchanges/new", {**data, "hours": "3"})
    assert changed.status_code == 400
    page = main_of(changed.text)
    assert "Dieses Formular wurde schon abgeschickt" in page
    again = re.search(r'name="idempotency_key" value="([^"]+)"', page)
    assert again is not None and again.group(1) != found.group(1)
    assert [
        e.minutes for e in await exchanges_between(sessions, world.volunteer, world.senior)
    ] == [90]


async def test_form_errors_appear_next_to_the_field_with_the_values_kept(
    client: Client, world: World, sessions: Sessions
) -> None:
    await sign_in(client, "volker@example.org")
    tomorrow = (town_today() + timedelta(days=1)).isoformat()
    answer = await post(
        client,
        "/exchanges/new",
        {
            "receiver_number": str(world.senior.id),
            "performed_on": tomorrow,
            "hours": "1",
            "minutes": "30",
            "category": "garden",
            "note": "Hecke geschnitten",
        },
    )
    assert answer.status_code == 400
    page = main_of(answer.text)
    field = re.search(r'<div class="field has-error">.*?</div>', page, re.S)
    assert field is not None and 'name="performed_on"' in field.group(0)
    assert "Das Datum liegt in der Zukunft" in field.group(0)
    assert re.search(r'aria-describedby="[^"]*performed_on-error"', field.group(0))
    assert f'value="{tomorrow}"' in page
    assert ">Hecke geschnitten</textarea>" in page
    assert '<option value="garden" selected>' in page
    assert '<option value="30" selected>' in page
    assert await exchanges_between(sessions, world.volunteer, world.senior) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"hours": "zwei"}, "minutes"),
        ({"hours": "0", "minutes": "0"}, "minutes"),
        ({"receiver_number": ""}, "receiver_id"),
        ({"category": ""}, "category"),
        ({"performed_on": "31.02.2026"}, "performed_on"),
    ],
)
async def test_bad_input_is_named_at_its_field(
    client: Client, world: World, change: dict[str, str], field: str
) -> None:
    await sign_in(client, "volker@example.org")
    data = {
        "receiver_number": str(world.senior.id),
        "performed_on": town_today().isoformat(),
        "hours": "1",
        "minutes": "0",
        "category": "garden",
    }
    answer = await post(client, "/exchanges/new", {**data, **change})
    assert answer.status_code == 400
    assert f'id="{field}-error"' in main_of(answer.text)


async def test_an_entry_beyond_the_limit_is_held_for_the_office_not_refused(
    client: Client, world: World, sessions: Sessions
) -> None:
    """A professional's entry books at once; beyond the receiver's limit nobody is refused
    (issue 9): the entry is kept, held for the network office, and nothing is booked."""
    await sign_in(client, "paula@example.org")
    answer = await post(
        client,
        "/exchanges/assisted",
        {
            "receiver_id": str(world.client.id),
            "giver_id": str(world.volunteer.id),
            "performed_on": town_today().isoformat(),
            "hours": "24",
            "minutes": "0",
            "category": "visits",
        },
    )
    # 24 h is allowed for one exchange but beyond the 20 h a member may owe.
    assert answer.status_code == 303
    [entry] = await exchanges_between(sessions, world.volunteer, world.client)
    assert (entry.status, entry.held_for) == ("held", "minimum")


async def test_only_the_receiver_may_confirm(
    client: Client, world: World, sessions: Sessions
) -> None:
    async with transaction(sessions) as s:
        volunteer = await s.get(Member, world.volunteer.id)
        result = await exchanges.record_exchange(
            s,
            volunteer,  # type: ignore[arg-type]
            giver_id=world.volunteer.id,  # type: ignore[arg-type]
            receiver_id=world.senior.id,  # type: ignore[arg-type]
            minutes=60,
            performed_on=town_today(),
            category="visits",
        )
    await sign_in(client, "volker@example.org")
    answer = await post(client, f"/exchanges/{result.exchange.id}/confirm")
    assert answer.status_code == 403
    [still] = await exchanges_between(sessions, world.volunteer, world.senior)
    assert still.status == "pending"


async def test_a_professional_enters_help_for_a_client_marked_on_behalf(
    client: Client, world: World, sessions: Sessions
) -> None:
    await sign_in(client, "paula@example.org")
    form = (await client.get("/exchanges/assisted")).text
    assert "Karl Klient" in form
    answer = await post(
        client,
        "/exchanges/assisted",
        {
            "receiver_id": str(world.client.id),
            "giver_id": str(world.volunteer.id),
            "performed_on": town_today().isoformat(),
            "hours": "1",
            "minutes": "45",
            "category": "forms",
        },
    )
    assert answer.headers["location"] == "/home?done=assisted"
    [entry] = await exchanges_between(sessions, world.volunteer, world.client)
    assert (entry.status, entry.assisted, entry.entered_by_id) == (
        "confirmed",
        True,
        world.professional.id,
    )
    statement = main_of((await client.get(f"/members/{world.client.id}/statement")).text)
    assert "eingetragen im Auftrag von Paula Profi" in statement
    home = main_of((await client.get("/home")).text)
    assert "Von Ihnen für Klienten eingetragen" in home


async def test_a_volunteer_cannot_open_the_assisted_entry(client: Client) -> None:
    await sign_in(client, "volker@example.org")
    assert (await client.get("/exchanges/assisted")).status_code == 403
    await sign_in(client, "manager@example.org")
    answer = await client.get("/exchanges/assisted", follow_redirects=False)
    assert answer.headers["location"] == "/manage/assisted"


async def test_a_donation_to_the_pool(client: Client, world: World, sessions: Sessions) -> None:
    await sign_in(client, "sieglinde@example.org")
    answer = await post(client, "/donate", {"hours": "1", "minutes": "0"})
    assert answer.headers["location"] == "/home?done=donated"
    statement = main_of((await client.get("/statement", follow_redirects=True)).text)
    assert "Spende an den Gemeinschaftstopf" in statement
    too_much = await post(client, "/donate", {"hours": "24", "minutes": "0"})
    assert too_much.status_code == 400
    assert 'class="problem"' in main_of(too_much.text)


# --- Who may see what ---------------------------------------------------------------------------


async def test_a_volunteer_gets_403_for_another_members_statement(
    client: Client, world: World
) -> None:
    await sign_in(client, "volker@example.org")
    assert (await client.get(f"/members/{world.volunteer.id}/statement")).status_code == 200
    answer = await client.get(f"/members/{world.senior.id}/statement")
    assert answer.status_code == 403
    assert "Diese Seite dürfen Sie nicht sehen" in answer.text
    assert "Sieglinde" not in main_of(answer.text)


async def test_staff_see_statements_only_of_those_they_act_for(
    client: Client, world: World
) -> None:
    await sign_in(client, "paula@example.org")
    assert (await client.get(f"/members/{world.client.id}/statement")).status_code == 200
    assert (await client.get(f"/members/{world.volunteer.id}/statement")).status_code == 403
    await sign_in(client, "manager@example.org")
    assert (await client.get(f"/members/{world.volunteer.id}/statement")).status_code == 200


async def test_unknown_pages_get_a_friendly_404(client: Client) -> None:
    answer = await client.get("/no/such/page")
    assert answer.status_code == 404
    assert "Diese Seite gibt es nicht" in answer.text
    await sign_in(client, "volker@example.org")
    assert (await client.get("/members/99999/statement")).status_code == 404
    assert (await client.get("/requests/99999")).status_code == 404


# --- Asking for help and answering ---------------------------------------------------------------


async def test_a_senior_asks_for_help_and_a_fitting_volunteer_answers(
    db_url: str, client: Client, world: World, sessions: Sessions
) -> None:
    async with transaction(sessions) as s:
        shopping = await s.scalar(select(Category.id).where(Category.slug == "shopping"))
    await sign_in(client, "sieglinde@example.org")
    missing = await post(client, "/requests/new", {"title": "", "category_id": str(shopping)})
    assert 'id="title-error"' in main_of(missing.text)
    answer = await post(
        client,
        "/requests/new",
        {
            "member_id": str(world.senior.id),
            "title": "Einkauf am Donnerstag",
            "category_id": str(shopping),
            "district_id": str(world.north.id),
            "urgency": "high",
            "contact": "0421 123456",
        },
    )
    assert answer.status_code == 303
    async with transaction(sessions) as s:
        request = await s.scalar(select(HelpRequest))
    assert request is not None and request.member_id == world.senior.id

    async with AsyncTestClient(app=make_app(db_url)) as volunteer:
        await sign_in(volunteer, "volker@example.org")
        home = main_of((await volunteer.get("/home")).text)
        assert "Einkauf am Donnerstag" in home
        shown = main_of((await volunteer.get(f"/requests/{request.id}")).text)
        assert "0421 123456" not in shown  # contact only for the helper who is coming
        answer = await post(volunteer, f"/requests/{request.id}/respond", {"message": "Gern!"})
        assert answer.headers["location"] == f"/requests/{request.id}?done=responded"
        twice = await post(volunteer, f"/requests/{request.id}/respond")
        assert twice.status_code == 400

    page = main_of((await client.get(f"/requests/{request.id}")).text)
    assert "Volker Vogel" in page and "Gern!" in page
    answer = await post(
        client, f"/requests/{request.id}/accept", {"helper_id": str(world.volunteer.id)}
    )
    assert answer.status_code == 303
    home = main_of((await client.get("/home")).text)
    assert "Volker Vogel kommt" in home


async def test_a_volunteer_logs_hours_from_a_request(
    client: Client, world: World, sessions: Sessions
) -> None:
    async with transaction(sessions) as s:
        senior = await s.get(Member, world.senior.id)
        category = await s.scalar(select(Category.id).where(Category.slug == "visits"))
        request = await board.create_request(
            s,
            senior,  # type: ignore[arg-type]
            member_id=world.senior.id,  # type: ignore[arg-type]
            category_id=category,
            title="Besuch",
        )
    await sign_in(client, "volker@example.org")
    form = main_of((await client.get(f"/exchanges/new?request={request.id}")).text)
    assert f'<option value="{world.senior.id}" selected>Sieglinde Sommer</option>' in form
    assert '<option value="visits" selected>' in form
    assert f'name="request_id" value="{request.id}"' in form


async def test_the_request_page_shows_each_side_the_other_once_a_helper_is_chosen(
    db_url: str, client: Client, world: World, sessions: Sessions
) -> None:
    """Issue 9, point 3: the senior was shown his own number under "How to reach them"."""
    async with transaction(sessions) as s:
        volker = await s.get(Member, world.volunteer.id)
        assert volker is not None
        volker.phone, volker.best_time_to_call = "0176 2222", "abends ab 18 Uhr"
        senior = await s.get(Member, world.senior.id)
        assert senior is not None
        senior.best_time_to_call = "vormittags"
        category = await s.scalar(select(Category.id).where(Category.slug == "visits"))
        request = await board.create_request(
            s, senior, member_id=id_of(senior), category_id=category, title="Besuch",
            contact="0421 1111",
        )  # fmt: skip
        await board.respond(s, volker, id_of(request))
    path = f"/requests/{request.id}"

    async def shown(email: str) -> str:
        async with AsyncTestClient(app=make_app(db_url)) as other:
            await sign_in(other, email)
            return main_of((await other.get(path)).text)

    before = {email: await shown(email) for email in ("volker@example.org", "vera@example.org")}
    for page in before.values():
        assert "0421 1111" not in page and "vormittags" not in page
    await sign_in(client, "sieglinde@example.org")
    own = main_of((await client.get(path)).text)
    assert "0176 2222" not in own
    assert i18n.gettext_for("de", "Your phone number for the helper") in own  # as theirs
    await post(client, f"{path}/accept", {"helper_id": str(world.volunteer.id)})

    own = main_of((await client.get(path)).text)
    assert "0176 2222" in own and "abends ab 18 Uhr" in own and "vormittags" not in own
    helper = await shown("volker@example.org")
    assert "0421 1111" in helper and "vormittags" in helper and "0176 2222" not in helper
    third = await shown("vera@example.org")
    assert not {"0421 1111", "0176 2222", "vormittags", "abends"} & set(third.split())
    assert "0421" not in third and "0176" not in third
    office = await shown("manager@example.org")
    assert "0421 1111" in office and "0176 2222" in office


# --- Languages ---------------------------------------------------------------------------------


async def test_visitors_get_german_unless_their_browser_or_cookie_says_otherwise(
    client: Client,
) -> None:
    german = await client.get("/login")
    assert '<html lang="de"' in german.text and "Anmelden" in german.text
    english = await client.get("/login", headers={"accept-language": "fr;q=0.9, en-GB;q=0.8"})
    assert '<html lang="en"' in english.text and "<h1>Sign in</h1>" in english.text
    await post(client, "/language", {"lang": "ar", "next": "/login"})
    arabic = await client.get("/login", headers={"accept-language": "en"})
    assert '<html lang="ar" dir="rtl"' in arabic.text


async def test_a_members_language_is_remembered_on_the_member(
    client: Client, world: World, sessions: Sessions
) -> None:
    await sign_in(client, "volker@example.org")
    answer = await post(client, "/language", {"lang": "en", "next": "/home"})
    assert answer.headers["location"] == "/home"
    async with transaction(sessions) as s:
        member = await s.get(Member, world.volunteer.id)
        assert member is not None and member.language == "en"
    client.cookies.delete("lang")
    home = await client.get("/home", headers={"accept-language": "de"})
    assert "<h1>Hello, Volker Vogel</h1>" in home.text
    assert "0:00 h" in home.text


async def test_error_pages_speak_the_members_language(client: Client, world: World) -> None:
    await sign_in(client, "volker@example.org")
    await post(client, "/language", {"lang": "en", "next": "/home"})
    answer = await client.get(f"/members/{world.senior.id}/statement")
    assert answer.status_code == 403
    assert "You may not see this page" in answer.text


async def test_the_larger_text_switch_is_remembered(client: Client) -> None:
    answer = await post(client, "/text-size", {"size": "large", "next": "/login"})
    assert answer.headers["location"] == "/login"
    assert 'class="large-text"' in (await client.get("/login")).text
    await post(client, "/text-size", {"size": "normal", "next": "/login"})
    assert 'class="large-text"' not in (await client.get("/login")).text


def test_hours_are_written_the_way_each_language_writes_them() -> None:
    assert i18n.hours_and_minutes(870, "de") == "14:30 Std."
    assert i18n.hours_and_minutes(120, "en") == "2:00 h"
    assert i18n.decimal_hours(150, "de") == "2,5 Std."
    assert i18n.decimal_hours(150, "en") == "2.5 h"


# --- The friendly note about one's own balance ------------------------------------------------

GIVES_NOTE_DE = "Danke für alles, was Sie geben"


async def open_flag(sessions: Sessions, member: Member, kind: str, status: str = "open") -> None:
    async with transaction(sessions) as s:
        s.add(Flag(member_id=member.id, kind=kind, status=status, rule="balance"))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("email", "who"), [("volker@example.org", "volunteer"), ("sieglinde@example.org", "senior")]
)
async def test_a_member_who_gives_a_lot_gets_a_friendly_note_at_home(
    client: Client, sessions: Sessions, world: World, email: str, who: str
) -> None:
    await open_flag(sessions, getattr(world, who), "gives_without_taking")
    await sign_in(client, email)
    page = main_of((await client.get("/home")).text)
    # German by default, an invitation rather than a reproach, with the way to the pool.
    assert GIVES_NOTE_DE in page
    assert i18n.gettext_for("de", "Donate hours to the pool") in page and 'href="/donate"' in page
    assert "Thank you for all you give" not in page


async def test_no_note_without_an_open_flag_of_ones_own(
    client: Client, sessions: Sessions, world: World
) -> None:
    await open_flag(sessions, world.volunteer2, "gives_without_taking")  # someone else's
    await open_flag(sessions, world.volunteer, "gives_without_taking", status="resolved")
    await open_flag(sessions, world.volunteer, "takes_without_giving")  # never shown as a note
    await sign_in(client, "volker@example.org")
    page = main_of((await client.get("/home")).text)
    assert "friendly-note" not in page and GIVES_NOTE_DE not in page
