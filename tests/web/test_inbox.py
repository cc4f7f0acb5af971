"""The inbox, the unread count in the menu, the choice of email and the one-click unsubscribe
link (both databases)."""

from __future__ import annotations

import re

import httpx
from sqlmodel import select

from tests.support import World
from tests.web.support import SECRET, Client, main_of, post, sign_in
from timebank import notifications
from timebank.db import transaction
from timebank.models import Member, Notification


async def write(sessions, member: Member, subject: str, link: str | None = None) -> int:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as s:
        note = await notifications.notify(
            s, member, kind="x", subject=subject, body=f"Text of {subject}", link=link
        )
    assert note is not None and note.id is not None
    return note.id


async def email_choice(sessions, member: Member) -> str:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as s:
        row = await s.get(Member, member.id)
        assert row is not None
        return row.email_notices


def unread_label(html: str) -> str:
    nav = html.split('class="main-nav"', 1)[1].split("</nav>", 1)[0]
    found = re.search(r'<span class="visually-hidden">, ([^<]*)</span>', nav)
    return found.group(1) if found else ""


async def test_the_inbox_shows_notices_newest_first_with_the_unread_count(
    client: Client, sessions, world: World
):
    await write(sessions, world.senior, "First notice", link=notifications.request_path(3))
    second = await write(sessions, world.senior, "Second notice")
    await write(sessions, world.volunteer, "Not for Sieglinde")
    await sign_in(client, "sieglinde@example.org")
    home = await client.get("/home")
    assert unread_label(home.text) == "2 unread messages"
    page = await client.get("/notifications")
    text = main_of(page.text)
    assert text.index("Second notice") < text.index("First notice")
    assert "Not for Sieglinde" not in text
    assert text.count("New") == 2 and 'href="/requests/3"' in page.text

    read = await post(client, f"/notifications/{second}/read")
    assert read.status_code == 303
    page = await client.get("/notifications")
    assert unread_label(page.text) == "1 unread message"
    assert 'aria-current="page"' in page.text.split("</nav>", 1)[0]

    await post(client, "/notifications/read")
    page = await client.get("/notifications")
    assert unread_label(page.text) == "" and "No unread messages." in main_of(page.text)


async def test_someone_elses_notice_is_not_found(client: Client, sessions, world: World):
    theirs = await write(sessions, world.volunteer, "Volker's")
    await sign_in(client, "sieglinde@example.org")
    answer = await post(client, f"/notifications/{theirs}/read")
    assert answer.status_code == 404
    async with transaction(sessions) as s:
        note = await s.get(Notification, theirs)
    assert note is not None and note.read_at is None


async def test_the_unread_count_reads_in_german(client: Client, sessions, world: World):
    for n in range(3):
        await write(sessions, world.senior, f"Nachricht {n}")
    async with transaction(sessions) as s:
        senior = await s.get(Member, world.senior.id)
        senior.language = "de"  # type: ignore[union-attr]
        s.add(senior)
    await sign_in(client, "sieglinde@example.org")
    assert unread_label((await client.get("/home")).text) == "3 ungelesene Nachrichten"


async def test_a_member_chooses_their_emails(client: Client, sessions, world: World):
    await sign_in(client, "volker@example.org")
    form = await client.get("/notifications/email")
    assert 'value="each" checked' in form.text
    saved = await post(client, "/notifications/email", {"email_notices": "daily"})
    assert saved.status_code == 303
    assert await email_choice(sessions, world.volunteer) == "daily"
    refused = await post(client, "/notifications/email", {"email_notices": "hourly"})
    assert refused.status_code == 400 and 'id="email_notices-error"' in refused.text
    assert await email_choice(sessions, world.volunteer) == "daily"


async def test_one_click_unsubscribe_works_without_login_or_form_token(
    client: Client, sessions, world: World
):
    token = notifications.unsubscribe_token(SECRET, world.senior)
    # What a mail program sends (RFC 8058): no cookie, no CSRF token.
    client.cookies = httpx.Cookies()
    shown = await client.get(f"/unsubscribe/{token}")
    assert shown.status_code == 200
    assert await email_choice(sessions, world.senior) == "each"  # opening it changes nothing
    done = await client.post(
        f"/unsubscribe/{token}",
        content="List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200, done.text
    assert await email_choice(sessions, world.senior) == "none"


async def test_a_forged_unsubscribe_token_is_refused(client: Client, sessions, world: World):
    real = notifications.unsubscribe_token(SECRET, world.senior)
    other = notifications.unsubscribe_token("another-secret-of-enough-length", world.senior)
    forged = [
        other,
        real.replace(f"{world.senior.id}.", f"{world.volunteer.id}.", 1),
        f"{world.senior.id}.",
        "99999999999999999999.abc",
        "nothing",
    ]
    client.cookies = httpx.Cookies()
    for token in forged:
        answer = await client.post(
            f"/unsubscribe/{token}",
            content="List-Unsubscribe=One-Click",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert answer.status_code == 404, token
    async with transaction(sessions) as s:
        choices = set((await s.exec(select(Member.email_notices))).all())
    assert choices == {"each"}
    # Only the unsubscribe address goes without a form token: the email choice page does not.
    await sign_in(client, "sieglinde@example.org")
    answer = await client.post("/notifications/email", data={"email_notices": "none"})
    assert answer.status_code == 403


async def test_notice_links_are_the_routes_they_name(client: Client):
    app = client.app
    assert notifications.INBOX_PATH == app.route_reverse("notifications")
    assert notifications.PREFERENCES_PATH == app.route_reverse("email_notices_form")
    assert notifications.HOME_PATH == app.route_reverse("home")
    assert notifications.STATEMENT_PATH == app.route_reverse("my_statement")
    assert notifications.request_path(5) == app.route_reverse("show_request", request_id=5)
    assert notifications.unsubscribe_path("1.x") == app.route_reverse("unsubscribe", token="1.x")
