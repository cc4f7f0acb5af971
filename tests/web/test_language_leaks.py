"""No page shows English to a member who reads another language.

On the demo network (seeded once, with every job run once), for each role and a visitor who
is not signed in, the test walks the site in English with the crawl of tests/web/test_links.py
(tests/web/support.py ``walk``), then draws every page it reached again, on the same data, in
German, Turkish, Russian and Arabic. A
sentence of the English page that comes back unchanged in another language is a leak: an
English text in a template, an untranslated attribute, a message built in Python.

Compared are the visible text nodes and the texts of ``title``, ``placeholder``,
``aria-label``, ``alt`` and of input buttons. What is the same in every language by nature
is ignored: what members typed (names, notes, titles, districts…), numbers, dates, times,
emails, the brand, the languages' own names, and a few words spelled alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from html.parser import HTMLParser
from zoneinfo import available_timezones

from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.web.support import ROLES, Client, make_app, post, seed_demo, walk
from timebank import i18n
from timebank.db import transaction
from timebank.exchanges import SYSTEM_NOTES
from timebank.jobs.registry import JOBS
from timebank.jobs.runs import run_job
from timebank.models import (
    ApiToken,
    Category,
    Dispute,
    District,
    Exchange,
    FlagEvent,
    HelpRequest,
    JobRun,
    Member,
    NetworkSettings,
    Offer,
    Organization,
    RequestResponse,
    Transfer,
    utcnow,
)

Sessions = async_sessionmaker[AsyncSession]

LANGUAGES = ("de", "tr", "ru", "ar")
# Links of one shape drawn per role: enough to meet each template with its kinds of rows,
# few enough that a role takes seconds in five languages.
PER_SHAPE = 3

# Pages no link leads to (the manager opens them by address): walked from as well.
UNLINKED = {
    "manager": (
        "flag_list", "job_run_list", "settings_form",
        "manage_exports", "manage_audit", "organization_list",
    )
}  # fmt: skip

# Words each language spells as English does (``Name`` in German, month names).
SAME_BY_NATURE = {
    "de": {"Name", "Organisation", "normal", "April", "August", "September", "November"},
    "tr": {"No.", "normal"},
    "ru": set(),
    "ar": set(),
}
# Written the same way in every language: the languages' own names, a code in an example.
CODES = {*i18n.NATIVE_NAMES.values(), "pets"}
BRAND = re.compile(r"timebank", re.I)
NUMBERISH = re.compile(r"[+−-]?\d[\d.,:/ ]*")
EMAIL = re.compile(r"\S+@\S+|https?://\S+")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}
# Where one text is more than one sentence.
SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+|\s+[·—–|]\s+")
EDGE = " \t\n.,:;!?()[]{}\"'«»„“”‹›-–—·|/*+−"

# What people typed: the same in every language, shown as it was written. Not the codes the
# app writes (roles, statuses): a code on a page is a leak.
TYPED = (
    Organization.name,
    District.name,
    Category.slug,
    Category.name_de,  # the English name is the English page's text, not typed data
    Member.name,
    Member.email,
    Member.phone,
    Member.availability,
    Member.best_time_to_call,
    Exchange.note,
    Dispute.note,
    Dispute.settlement_note,
    Exchange.reject_reason,
    Transfer.reason,
    Transfer.override_reason,
    HelpRequest.title,
    HelpRequest.description,
    HelpRequest.when_text,
    HelpRequest.contact,
    RequestResponse.message,
    Offer.title,
    Offer.description,
    FlagEvent.note,
    ApiToken.label,
    NetworkSettings.timezone,
    NetworkSettings.review_cron,
    NetworkSettings.unconfirmed_cron,
    NetworkSettings.unanswered_cron,
    NetworkSettings.expiry_cron,
    NetworkSettings.digest_cron,
    # An organisation's contact details as the office typed them.
    Organization.contact_person,
    Organization.address,
    Organization.phone,
    NetworkSettings.summary_cron,
    # The network office as the manager typed it (its address: each line on its own too).
    NetworkSettings.network_name,
    NetworkSettings.office_address,
    NetworkSettings.office_phone,
    NetworkSettings.office_hours,
    NetworkSettings.office_contact,
    NetworkSettings.office_email,
    NetworkSettings.imprint_text,
    NetworkSettings.privacy_text,
    Member.street,
    Member.postcode,
    Member.town,
    JobRun.runner,  # the machine and process that ran a job
)


class _Texts(HTMLParser):
    """The texts a reader meets on a page: text nodes and the attributes read aloud or shown,
    in the page's language. A part marked with another ``lang`` (a member's statement or
    login sheet, drawn in the member's language whoever prints it; the language menu) is
    left out: it is meant to be the same in every language of the reader."""

    SHOWN = ("title", "placeholder", "aria-label", "alt")

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._hidden = 0
        self._page_lang = ""
        # The elements with a ``lang`` open now: [tag, lang, same tags opened inside].
        self._langs: list[list[object]] = []

    def _elsewhere(self) -> bool:
        return bool(self._langs) and self._langs[-1][1] != self._page_lang

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self._page_lang = a.get("lang", "")
        if tag in ("script", "style"):
            self._hidden += 1
        if self._langs and self._langs[-1][0] == tag:
            self._langs[-1][2] += 1  # type: ignore[operator]
        if "lang" in a and tag not in VOID:
            self._langs.append([tag, a["lang"], 0])
        if self._elsewhere():
            return
        self.texts += [a[name] for name in self.SHOWN if a.get(name)]
        if tag == "input" and a.get("type") in ("submit", "button", "reset") and a.get("value"):
            self.texts.append(a["value"])

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden -= 1
        if self._langs and self._langs[-1][0] == tag:
            if self._langs[-1][2]:
                self._langs[-1][2] -= 1  # type: ignore[operator]
            else:
                self._langs.pop()

    def handle_data(self, data: str) -> None:
        if not self._hidden and not self._elsewhere():
            self.texts.append(data)


def sentences(html: str) -> list[str]:
    parser = _Texts()
    parser.feed(html)
    found = []
    for text in parser.texts:
        for part in SENTENCE_END.split(" ".join(text.split())):
            part = part.strip(EDGE)
            if part:
                found.append(part)
    return found


@dataclass
class Neutral:
    """Decides which English sentences are the same in every language by nature."""

    typed: list[str]

    @cached_property
    def _typed_text(self) -> str:
        return "\n".join(self.typed)

    @cached_property
    def _typed_longest_first(self) -> list[str]:
        return sorted({t for t in self.typed if len(t) > 1}, key=len, reverse=True)

    def __call__(self, sentence: str, language: str) -> bool:
        if re.search(rf"(?<!\w){re.escape(sentence)}(?!\w)", self._typed_text):
            return True  # a piece of what someone typed
        rest = sentence
        for typed in self._typed_longest_first:
            if typed in rest:
                rest = rest.replace(typed, " ")
        rest = BRAND.sub(" ", EMAIL.sub(" ", rest))
        rest = NUMBERISH.sub(" ", rest)
        words = [w.strip(EDGE) for w in rest.split()]
        alike = {w.strip(EDGE) for w in SAME_BY_NATURE[language]} | CODES
        return not any(re.search(r"[A-Za-z]{2}", w) and w not in alike for w in words)


def leaks(english: list[str], other: str, language: str, neutral: Neutral) -> list[str]:
    """The sentences of the English page (``english``) that ``other`` shows unchanged."""
    theirs = sentences(other)
    their_set, their_text = set(theirs), "\n".join(theirs)
    found = []
    for sentence in english:
        if sentence in their_set or (
            len(sentence.split()) >= 3
            and re.search(rf"(?<!\w){re.escape(sentence)}(?!\w)", their_text)
        ):
            if not neutral(sentence, language):
                found.append(sentence)
    return found


async def typed_texts(sessions: Sessions) -> list[str]:
    texts: list[str] = list(available_timezones())
    async with transaction(sessions) as s:
        for column in TYPED:
            for value in (await s.exec(select(column))).all():
                texts += [value, *value.splitlines()] if value else []
    # Notes the app writes itself are shown translated, never as typed.
    return [t for t in texts if t not in SYSTEM_NOTES]


async def read_in(
    client: Client, sessions: Sessions, member_email: str | None, language: str
) -> None:
    """Set the language the pages are drawn in: the member's own, or the visitor's cookie."""
    if member_email is None:
        client.cookies.set("lang", language)
        return
    async with transaction(sessions) as s:
        await s.exec(
            update(Member).where(col(Member.email) == member_email).values(language=language)
        )


async def leaks_of_role(
    client: Client, sessions: Sessions, email: str | None, role: str, typed: list[str]
) -> dict[str, dict[str, list[str]]]:
    """``{sentence: {language: [pages]}}`` of the English left on ``role``'s pages."""
    report: dict[str, dict[str, list[str]]] = {}
    await read_in(client, sessions, email, "en")
    starts = [client.app.route_reverse(name) for name in ("index", *UNLINKED.get(role, ()))]
    english = await walk(client, role, starts, per_shape=PER_SHAPE)
    assert not english.dead, english.dead
    assert len(english.html) > (0 if email is None else 5), english.html.keys()
    neutral = Neutral(typed)
    read = {url: list(dict.fromkeys(sentences(page))) for url, page in english.html.items()}
    for language in LANGUAGES:
        await read_in(client, sessions, email, language)
        for url, page in read.items():
            answer = await client.get(url, follow_redirects=False)
            assert answer.status_code == 200, f"{url} in {language}: {answer.status_code}"
            for sentence in leaks(page, answer.text, language, neutral):
                report.setdefault(sentence, {}).setdefault(language, []).append(url)
    return report


async def test_no_page_shows_english_in_another_language(db_url: str, sessions: Sessions) -> None:
    # One demo network for all roles: seeding is most of the test's time, and each role
    # changes nothing but its own member's language.
    logins = await seed_demo(sessions)
    app = make_app(db_url)
    for job in JOBS:  # so the job page shows results of every job
        await run_job(sessions, app.state.settings, job, scheduled_for=utcnow(), trigger="manual")
    typed = await typed_texts(sessions)
    lines = []
    for role in ("anonymous", *ROLES):
        email = None if role == "anonymous" else dict(logins.emails)[role]
        async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
            if email is not None:
                answer = await post(
                    client,
                    app.route_reverse("login"),
                    {"email": email, "password": logins.password},
                )
                assert answer.status_code == 303, answer.text
            report = await leaks_of_role(client, sessions, email, role, typed)
        lines += [
            f"{role}: {sentence!r} in {', '.join(sorted(where))} "
            f"(e.g. {next(iter(where.values()))[0]})"
            for sentence, where in sorted(report.items())
        ]
    assert not lines, "English on pages in other languages:\n" + "\n".join(lines)


def test_the_comparison_finds_english_and_ignores_what_is_the_same_by_nature() -> None:
    """The rules above on a made-up page, so that the crawl cannot pass by seeing nothing."""

    def page(lang: str, body: str) -> str:
        return f'<html lang="{lang}"><head><title>T {lang}</title></head><body>{body}</body></html>'

    english = page(
        "en",
        "<h1>Your hours</h1><p>Helga Müller helped you for 2:30 h on 3.11.2026.</p>"
        '<button title="Send it now">Send</button><p>Nothing to confirm. Call the office.</p>'
        '<div lang="de">Kontoauszug von Helga</div><input type="submit" value="Save">',
    )
    turkish = page(
        "tr",
        "<h1>Saatleriniz</h1><p>Helga Müller helped you for 2:30 h on 3.11.2026.</p>"
        '<button title="Send it now">Gönder</button><p>Onaylanacak bir şey yok. Call the office.'
        '</p><div lang="de">Kontoauszug von Helga</div><input type="submit" value="Save">',
    )
    neutral = Neutral(["Helga Müller"])
    found = leaks(list(dict.fromkeys(sentences(english))), turkish, "tr", neutral)
    assert found == ["Helga Müller helped you for 2:30 h on 3.11.2026", "Send it now",
                     "Call the office", "Save"]  # fmt: skip
    assert leaks(sentences(page("en", "<p>Helga Müller, 2:30 h</p>")),
                 page("tr", "<p>Helga Müller, 2:30 h</p>"), "tr", neutral) == []  # fmt: skip
