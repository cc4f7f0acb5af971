"""A member's papers and the system's own words, in the reader's language (issue 10, point 4):
the sign-in sheet and the statement in the member's language whoever prints them, inside a
frame in the printer's; job results, role names and the notes the system writes into the
books translated, never their English ids (both databases)."""

from __future__ import annotations

import re
from html import unescape

from sqlmodel import select

from tests.support import Sessions, World, set_balance
from tests.web.support import SECRET, Client, main_of, manager, post, sign_in
from timebank import exchanges
from timebank.config import Settings
from timebank.db import transaction
from timebank.i18n import gettext_for
from timebank.jobs import registry, runs
from timebank.models import Member, Transfer, utcnow


async def speaks(sessions: Sessions, member: Member, language: str, name: str = "") -> None:
    async with transaction(sessions) as s:
        row = await s.get(Member, member.id)
        assert row is not None
        row.language = language
        row.name = name or row.name
        s.add(row)


def paper_of(html: str, tag: str) -> str:
    """The element ``<tag … lang=…>`` drawn for the member, with its language and direction."""
    found = re.search(rf'<{tag} class="[^"]*" lang="(\w+)" dir="(\w+)">(.*?)</{tag}>', html, re.S)
    assert found, html
    return f"{found.group(1)} {found.group(2)} {unescape(found.group(3))}"


def html_lang(html: str) -> str:
    found = re.search(r'<html lang="(\w+)"', html)
    assert found
    return found.group(1)


# --- Papers in the member's language -------------------------------------------------------------


async def test_fatimas_login_sheet_prints_in_arabic_for_the_german_manager(
    client: Client, world: World, sessions: Sessions
) -> None:
    await speaks(sessions, world.senior, "ar", "Fatima Haddad")
    await speaks(sessions, world.manager, "de")
    await manager(client)
    for answer in (
        await client.get(f"/manage/members/{world.senior.id}/login-sheet"),
        await post(client, f"/manage/members/{world.senior.id}/password", {"password": ""}),
    ):
        assert answer.status_code == 200, answer.text
        sheet = paper_of(answer.text, "article")
        assert sheet.startswith("ar rtl ")
        assert gettext_for("ar", "How to sign in to the neighbourhood time bank") in sheet
        assert gettext_for("ar", "Enter your password:") in sheet
        assert "Fatima Haddad" in sheet and "sieglinde@example.org" in sheet
        assert gettext_for("de", "Enter your password:") not in sheet
        # The frame around the sheet stays in the manager's German.
        assert html_lang(answer.text) == "de"
        page = main_of(answer.text)
        assert gettext_for("de", "Print this sheet") in page
        assert "العربية" in page  # the manager is told which language the sheet is in


async def test_fatimas_statement_is_arabic_when_the_german_manager_prints_it(
    client: Client, world: World, sessions: Sessions
) -> None:
    await speaks(sessions, world.senior, "ar", "Fatima Haddad")
    await speaks(sessions, world.manager, "de")
    await set_balance(sessions, world, world.senior, 180)
    async with transaction(sessions) as s:
        fatima = await s.get(Member, world.senior.id)
        assert fatima is not None
        await exchanges.donate_to_pool(s, fatima, 60)
    await manager(client)
    answer = await client.get(f"/members/{world.senior.id}/statement")
    assert answer.status_code == 200, answer.text
    statement = paper_of(answer.text, "div")
    assert statement.startswith("ar rtl ")
    assert gettext_for("ar", "Statement of %(name)s") % {"name": "Fatima Haddad"} in statement
    assert gettext_for("ar", "Donation to the community pool") in statement
    assert gettext_for("ar", "Balance today:") in statement
    assert html_lang(answer.text) == "de"
    assert gettext_for("de", "Older entries") not in statement
    # Fatima herself reads it in Arabic, frame and all.
    await sign_in(client, "sieglinde@example.org")
    own = await client.get("/statement", follow_redirects=True)
    assert html_lang(own.text) == "ar"
    assert gettext_for("ar", "My statement") in paper_of(own.text, "div")


async def test_a_professional_prints_a_clients_statement_in_the_clients_language(
    client: Client, world: World, sessions: Sessions
) -> None:
    await speaks(sessions, world.client, "tr")
    await speaks(sessions, world.professional, "ru")
    await sign_in(client, "paula@example.org")
    answer = await client.get(f"/members/{world.client.id}/statement")
    assert answer.status_code == 200, answer.text
    statement = paper_of(answer.text, "div")
    assert statement.startswith("tr ltr ")
    assert gettext_for("tr", "Statement of %(name)s") % {"name": "Karl Klient"} in statement
    assert html_lang(answer.text) == "ru"
    note = gettext_for("ru", "The statement is in the language set for %(name)s: %(language)s.")
    assert note % {"name": "Karl Klient", "language": "Türkçe"} in main_of(answer.text)


async def test_the_manager_sees_and_changes_a_members_language(
    client: Client, world: World, sessions: Sessions
) -> None:
    await manager(client)
    page = (await client.get(f"/manage/members/{world.senior.id}")).text
    assert re.search(r'<option value="en"[^>]*selected', page)
    assert "whoever prints them" in page
    form = {"name": "Sieglinde Sommer", "role": "senior", "email": "sieglinde@example.org"}
    answer = await post(client, f"/manage/members/{world.senior.id}", {**form, "language": "ru"})
    assert answer.status_code == 303, answer.text
    async with transaction(sessions) as s:
        assert (await s.get(Member, world.senior.id)).language == "ru"  # type: ignore[union-attr]
    sheet = (await client.get(f"/manage/members/{world.senior.id}/login-sheet")).text
    assert paper_of(sheet, "article").startswith("ru ltr ")


# --- The system's own words -----------------------------------------------------------------------


async def test_the_flag_role_filter_names_the_roles_in_the_managers_language(
    client: Client, world: World, sessions: Sessions
) -> None:
    await speaks(sessions, world.manager, "de")
    await manager(client)
    page = main_of((await client.get("/manage/flags")).text)
    roles = re.search(r'<select id="role".*?</select>', page, re.S)
    assert roles
    shown = re.findall(r'<option value="\w+"[^>]*>([^<]+)</option>', roles.group(0))
    assert shown == [
        gettext_for("de", name) for name in ("Volunteer", "Senior", "Professional", "Manager")
    ]
    assert not {"volunteer", "senior", "professional", "manager"} & set(shown)


def texts_of(html: str) -> set[str]:
    """The sentences of a page's content: its text between tags, digits taken out."""
    found = {
        re.sub(r"[\d:.,−-]+", "#", unescape(t)).strip() for t in re.findall(r">([^<]+)<", html)
    }
    return {t for t in found if re.search(r"[A-Za-z]{3,}", t)}


async def test_the_job_runs_page_in_turkish_shows_no_english(
    client: Client, world: World, sessions: Sessions
) -> None:
    await set_balance(sessions, world, world.client, -700)  # the review finds something
    settings = Settings(database_url="unused", secret_key=SECRET, run_scheduler=False)
    for name in registry.JOBS:
        outcome = await runs.run_job(sessions, settings, name, scheduled_for=utcnow())
        assert outcome.ran
    await manager(client)
    english = (await client.get("/manage/jobs")).text
    await speaks(sessions, world.manager, "tr")
    turkish = (await client.get("/manage/jobs")).text
    for key in ("open_takes_without_giving", "managers_told", "help_minutes", "opened", "told"):
        assert key not in main_of(turkish)
    assert "1 open flag: takes without giving" in main_of(english)
    tr_open = gettext_for("tr", "%(num)d open flag: %(kind)s") % {
        "num": 1,
        "kind": gettext_for("tr", "takes without giving"),
    }
    assert tr_open in main_of(turkish)
    runner = re.escape(runs.runner_name())
    leaks = {t for t in texts_of(main_of(english)) & texts_of(main_of(turkish))}
    assert {t for t in leaks if not re.fullmatch(runner, t)} == set()


async def test_every_count_of_every_job_is_a_sentence(
    client: Client, world: World, sessions: Sessions
) -> None:
    settings = Settings(database_url="unused", secret_key=SECRET, run_scheduler=False)
    keys: set[str] = set()
    for name in registry.JOBS:
        keys |= set((await runs.run_job(sessions, settings, name, scheduled_for=utcnow())).counts)
    await manager(client)
    page = main_of((await client.get("/manage/jobs")).text)
    assert "<code>" not in page, page  # a count without a sentence shows its key
    assert len(keys) > 10


async def test_the_pool_note_and_a_default_dispute_show_in_the_readers_language(
    client: Client, world: World, sessions: Sessions
) -> None:
    await speaks(sessions, world.manager, "de")
    await speaks(sessions, world.senior, "ar", "Fatima Haddad")
    await set_balance(sessions, world, world.senior, 180)
    async with transaction(sessions) as s:
        fatima = await s.get(Member, world.senior.id)
        assert fatima is not None
        await exchanges.donate_to_pool(s, fatima, 60)
        done = await exchanges.record_exchange(
            s,
            world.volunteer,
            giver_id=world.volunteer.id,
            receiver_id=world.senior.id,
            minutes=60,
            performed_on=utcnow().date(),
            category="shopping",
        )
    await sign_in(client, "sieglinde@example.org")
    answer = await post(client, f"/exchanges/{done.exchange.id}/reject", {"why": "did_not_happen"})
    assert answer.status_code == 303
    async with transaction(sessions) as s:
        donation = await s.scalar(select(Transfer).where(Transfer.kind == "donation"))
    assert donation is not None and donation.reason == "donation to the community pool"  # the books
    await post(client, "/logout")
    await manager(client)
    bookings = main_of((await client.get("/manage/transfers")).text)
    assert "Spende an den Gemeinschaftstopf" in bookings
    assert "donation to the community pool" not in bookings
    disputed = main_of((await client.get("/manage/disputes")).text)
    assert gettext_for("de", "This help did not happen.") in disputed
    assert gettext_for("ar", "This help did not happen.") not in disputed
