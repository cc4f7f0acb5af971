"""The network office is visible (issue 9, point 9) and writes to members without email (point
2, on paper): its letterhead in every footer, on the sign-in page and sheet; its settings
checked at each field; the legal pages public, editable by the manager only, always escaped;
letters in the member's language that leave the list when sent; the call list; the print
stylesheet that puts the address in the envelope's window (both databases)."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

from sqlmodel import select

from tests.support import Sessions, World, town_today
from tests.web.support import Client, error_of, main_of, manager, post, sign_in
from timebank import notifications
from timebank.db import transaction
from timebank.i18n import Minutes, gettext_for
from timebank.models import Member, NetworkSettings, Notification

STYLESHEET = Path(__file__).resolve().parents[2] / "timebank/web/static/timebank.css"

OFFICE = {
    "network_name": "Zeitbank Testhausen",
    "office_address": "Nachbarschaftshaus\nMarktstraße 12\n34567 Testhausen",
    "office_phone": "04321 98765-0",
    "office_hours": "Mo–Do 9–12 Uhr",
    "office_contact": "Martina Manager",
    "office_email": "buero@testhausen.example",
    "imprint_text": "",
    "privacy_text": "",
}


async def set_office(sessions: Sessions, **values: str) -> None:
    async with transaction(sessions) as s:
        settings = await s.get(NetworkSettings, 1) or NetworkSettings()
        for name, value in {**OFFICE, **values}.items():
            setattr(settings, name, (value or None) if name.endswith("_text") else value)
        s.add(settings)


def footer_of(html: str) -> str:
    return unescape(html.split('<footer class="site-footer">', 1)[1].split("</footer>", 1)[0])


# --- Where the office is shown ------------------------------------------------------------------


async def test_the_office_is_in_the_footer_on_the_sign_in_page_and_the_login_sheet(
    client: Client, world: World, sessions: Sessions
) -> None:
    await set_office(sessions)
    signin = await client.get("/login")
    assert "04321 98765-0" in main_of(signin.text)  # next to "call the network office"
    footer = footer_of(signin.text)
    for shown in ("Zeitbank Testhausen", "Marktstraße 12", "04321 98765-0", "Mo–Do 9–12 Uhr"):
        assert shown in footer
    assert 'href="/impressum"' in footer and 'href="/datenschutz"' in footer
    await sign_in(client, "volker@example.org")
    assert "Zeitbank Testhausen" in footer_of((await client.get("/home")).text)
    await post(client, "/logout")
    await manager(client)
    sheet = await client.get(f"/manage/members/{world.volunteer.id}/login-sheet")
    article = unescape(
        sheet.text.split('<article class="login-sheet"', 1)[1].split("</article>")[0]
    )
    assert "Zeitbank Testhausen" in article and "04321 98765-0" in article


# --- Settings -------------------------------------------------------------------------------------


async def test_the_manager_edits_the_office_and_each_field_is_checked(
    client: Client, sessions: Sessions
) -> None:
    await manager(client)
    form = await client.get("/manage/office")
    assert form.status_code == 200
    assert 'name="office_address"' in form.text
    for field, value in (
        ("network_name", ""),
        ("office_address", "1\n2\n3\n4\n5\n6"),
        ("office_phone", "call me"),
        ("office_contact", " "),
        ("office_email", "not an address"),
        ("privacy_text", "x" * 20001),
    ):
        refused = await post(client, "/manage/office", {**OFFICE, field: value})
        assert refused.status_code == 400, field
        assert error_of(refused.text, field), field
    async with transaction(sessions) as s:
        assert (await s.get(NetworkSettings, 1)).network_name != OFFICE["network_name"]  # type: ignore[union-attr]

    saved = await post(client, "/manage/office", OFFICE)
    assert saved.status_code == 303
    page = await client.get("/manage/office")
    assert "Zeitbank Testhausen" in footer_of(page.text)
    assert "buero@testhausen.example" in page.text


# --- The legal pages ------------------------------------------------------------------------------


async def test_the_legal_pages_are_public_with_a_default_that_says_what_is_stored(
    client: Client, sessions: Sessions
) -> None:
    await set_office(sessions)
    privacy = await client.get("/datenschutz", headers={"Accept-Language": "en"})
    assert privacy.status_code == 200
    text = main_of(privacy.text)
    for said in (
        "Your name, your language and your district.",
        "The hours you gave and the hours you received",
        "Your requests for help",
        "The notices we send you",
        "As long as you are a member.",
        "Please ask the network office",
        "04321 98765-0",
    ):
        assert said in text, said
    assert "November 25, 2026" in text  # the default text's version
    imprint = await client.get("/impressum")
    assert imprint.status_code == 200
    assert "Zeitbank Testhausen" in main_of(imprint.text)
    assert "Martina Manager" in main_of(imprint.text)
    turkish = await client.get("/datenschutz", headers={"Accept-Language": "tr"})
    assert gettext_for("tr", "Your name, your language and your district.") in turkish.text


async def test_the_managers_legal_text_is_shown_escaped_and_versioned(
    client: Client, sessions: Sessions
) -> None:
    await set_office(sessions, privacy_version="2020-01-01")
    await manager(client)
    own = "Wir speichern wenig.\n<script>alert(1)</script>\n\nZweiter Absatz & mehr."
    saved = await post(client, "/manage/office", {**OFFICE, "privacy_text": own})
    assert saved.status_code == 303
    await post(client, "/logout")
    page = (await client.get("/datenschutz")).text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Wir speichern wenig.<br>" in page and "<p>Zweiter Absatz &amp; mehr.</p>" in page
    assert "Your name, your language and your district." not in page
    async with transaction(sessions) as s:
        settings = await s.get(NetworkSettings, 1)
        assert settings is not None and settings.privacy_version == town_today().isoformat()


# --- The post -------------------------------------------------------------------------------------


async def tell_karl(sessions: Sessions, world: World, kind: str = "help_confirmed") -> None:
    async with transaction(sessions) as s:
        karl = await s.get(Member, world.client.id)
        assert karl is not None
        await notifications.notify(
            s,
            karl,
            kind=kind,
            subject=notifications.HELP_CONFIRMED[0],
            body=notifications.HELP_CONFIRMED[1],
            params={
                "receiver": "Ayşe Yılmaz",
                "giver": "Timo",
                "day": town_today(),
                "minutes": Minutes(90),
            },
        )


async def karl_speaks(sessions: Sessions, world: World, language: str, **fields: str) -> None:
    async with transaction(sessions) as s:
        karl = await s.get(Member, world.client.id)
        assert karl is not None
        karl.language = language
        karl.name = "Ayşe Yılmaz"
        for name, value in fields.items():
            setattr(karl, name, value)
        s.add(karl)


async def test_a_turkish_senior_gets_a_turkish_letter_and_sent_letters_leave_the_list(
    client: Client, world: World, sessions: Sessions
) -> None:
    await set_office(sessions)
    await karl_speaks(
        sessions, world, "tr", street="Lindenallee 3", postcode="34567", town="Testhausen"
    )
    await tell_karl(sessions, world)
    await manager(client)
    page = await client.get("/manage/post")
    assert page.status_code == 200
    letter = re.search(
        r'<article class="letter" lang="(\w+)" dir="(\w+)".*?</article>', page.text, re.S
    )
    assert letter, page.text
    assert letter.group(1) == "tr"
    words = unescape(letter.group(0))
    assert gettext_for("tr", "Hello %(name)s,").split("%")[0].strip() in words
    assert gettext_for("tr", "Your help was confirmed") in words  # the notice, in Turkish
    assert gettext_for("tr", "With kind regards") in words
    assert "Lindenallee 3" in words and "34567 Testhausen" in words
    assert "Zeitbank Testhausen" in words  # the letterhead
    assert gettext_for("en", "With kind regards") not in words

    async with transaction(sessions) as s:
        due = (
            await s.exec(
                select(Notification.id).where(
                    Notification.member_id == world.client.id,
                    Notification.letter_status == "due",
                )
            )
        ).all()
    assert due
    sent = await post(client, "/manage/post/letters", {"notice": [str(i) for i in due]})
    assert sent.status_code == 303
    assert "Ayşe Yılmaz" not in (await client.get("/manage/post")).text


async def test_news_better_said_by_phone_is_on_the_call_list_until_done(
    client: Client, world: World, sessions: Sessions
) -> None:
    await karl_speaks(sessions, world, "de", phone="04321 55555")
    await tell_karl(sessions, world, kind="request_expiring")
    await manager(client)
    page = (await client.get("/manage/post")).text
    calls = page.split('id="calls-title"', 1)[1]
    assert "Ayşe Yılmaz" in calls and "04321 55555" in calls
    async with transaction(sessions) as s:
        due = (await s.exec(select(Notification.id).where(Notification.call_status == "due"))).all()
    assert len(due) == 1
    done = await post(client, "/manage/post/calls", {"notice": str(due[0])})
    assert done.status_code == 303
    calls = (await client.get("/manage/post")).text.split('id="calls-title"', 1)[1]
    assert "04321 55555" not in calls


async def test_the_managers_member_form_keeps_a_postal_address(
    client: Client, world: World, sessions: Sessions
) -> None:
    await manager(client)
    url = f"/manage/members/{world.client.id}"
    base = {
        "name": world.client.name,
        "role": "senior",
        "language": "de",
        "organization_id": str(world.org.id),
    }
    refused = await post(client, url, {**base, "postcode": "34567"})
    assert refused.status_code == 400 and error_of(refused.text, "street")
    saved = await post(
        client, url, {**base, "street": "Lindenallee 3", "postcode": "34567", "town": "Testhausen"}
    )
    assert saved.status_code == 303
    async with transaction(sessions) as s:
        karl = await s.get(Member, world.client.id)
        assert karl is not None and (karl.street, karl.postcode, karl.town) == (
            "Lindenallee 3",
            "34567",
            "Testhausen",
        )


def test_the_print_stylesheet_puts_the_address_in_the_window_of_a_din_envelope() -> None:
    css = STYLESHEET.read_text()
    printed = css.split("@page letter", 1)[1]
    page = re.match(
        r"\s*\{\s*size:\s*A4;\s*margin:\s*([\d.]+)mm ([\d.]+)mm [\d.]+mm ([\d.]+)mm;", printed
    )
    assert page, printed[:200]
    top, _, left = (float(page.group(i)) for i in (1, 2, 3))

    def rules_of(selector: str) -> dict[str, str]:
        found = re.search(rf"{re.escape(selector)}\s*\{{([^}}]*)\}}", printed)
        assert found, selector
        return {k: v.strip() for k, v in re.findall(r"([\w-]+)\s*:\s*([^;]+);", found.group(1))}

    window = rules_of(".letter-window")
    # From the paper's edges: the page's margin and the window's place inside it. The sheet
    # is left to right in every language, so inline-start is the left edge.
    assert top + float(window["inset-block-start"].removesuffix("mm")) == 45
    assert left + float(window["inset-inline-start"].removesuffix("mm")) == 20
    assert (window["width"], window["height"]) == ("85mm", "45mm")
    letter = rules_of(".letter")
    assert (letter["page"], letter["break-before"]) == ("letter", "page")  # a page each


async def test_the_managers_hub_links_to_every_office_page(client: Client) -> None:
    await manager(client)
    hub = (await client.get("/manage")).text
    for path in (
        "/manage/flags",
        "/manage/jobs",
        "/manage/flags/settings",
        "/manage/held",
        "/manage/disputes",
        "/manage/post",
        "/manage/office",
    ):
        assert f'href="{path}"' in hub, path
