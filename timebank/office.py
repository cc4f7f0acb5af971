"""The network office as members and visitors see it (issue 9, point 9): its settings (name,
address, phone, opening hours, contact person, email) and the two legal pages, "Impressum"
and "Datenschutz".

The settings are columns of ``network_settings`` (``network.office`` reads them for every
page); this module checks and saves what the manager types. The legal pages show the
network's own text when the manager wrote one — plain text, paragraphs split at blank
lines, always shown escaped — and otherwise a default in the reader's language that the
templates write from the office's details (``templates/legal/``). The privacy text's
version (a date) changes whenever its text does, so a consent can cite the text it was
given to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import access, network
from timebank.errors import Invalid
from timebank.i18n import N_
from timebank.members import normalize_email
from timebank.models import Member, NetworkSettings, utcnow
from timebank.schemas import column_length

# The version of the default privacy text (templates/legal/_privacy_default.html): change it
# with the text.
DEFAULT_PRIVACY_VERSION = "2026-11-25"

# The office's fields on the settings page: (required, most lines). Lengths are the columns'.
OFFICE_FIELDS: dict[str, tuple[bool, int]] = {
    "network_name": (True, 1),
    "office_address": (True, 5),
    "office_phone": (True, 1),
    "office_hours": (False, 3),
    "office_contact": (True, 1),
    "office_email": (False, 1),
}
LEGAL_FIELDS = ("imprint_text", "privacy_text")

TOO_MANY_LINES = N_("please use at most {lines} lines")
NOT_A_PHONE = N_("please enter a phone number with digits only, like 04321 98765-0")
_PHONE = re.compile(r"\+?[0-9][0-9 ()/\-]{2,}")
# Control characters other than line breaks and tabs are nobody's typing.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class OfficeChange:
    """What the office settings page edits, as typed (trimmed)."""

    values: dict[str, str]


def office_form(settings: NetworkSettings) -> dict[str, str]:
    """The current values as the settings page shows them."""
    return {name: getattr(settings, name) or "" for name in (*OFFICE_FIELDS, *LEGAL_FIELDS)}


def office_change_from_form(form: dict[str, str]) -> OfficeChange:
    names = (*OFFICE_FIELDS, *LEGAL_FIELDS)
    return OfficeChange(
        {name: (form.get(name) or "").replace("\r\n", "\n").strip() for name in names}
    )


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


def _checked(change: OfficeChange) -> dict[str, str | None]:
    """Each field checked at its name; the first problem is refused."""
    checked: dict[str, str | None] = {}
    for name, (required, most_lines) in OFFICE_FIELDS.items():
        value = change.values.get(name, "")
        if _CONTROL.search(value):
            raise Invalid("this text contains a character that cannot be stored", field=name)
        lines = _lines(value)
        if required and not lines:
            raise Invalid("please fill in this field", field=name)
        if len(lines) > most_lines:
            raise Invalid(TOO_MANY_LINES, field=name, params={"lines": most_lines})
        value = ("\n" if most_lines > 1 else " ").join(lines)
        if len(value) > column_length(NetworkSettings, name):
            raise Invalid("this text is too long", field=name)
        checked[name] = value
    phone = checked["office_phone"] or ""
    if not _PHONE.fullmatch(phone) or sum(c.isdigit() for c in phone) < 3:
        raise Invalid(NOT_A_PHONE, field="office_phone")
    if checked["office_email"]:
        try:
            checked["office_email"] = normalize_email(checked["office_email"]) or ""
        except Invalid as refused:
            raise Invalid(refused.detail, field="office_email", params=refused.params) from None
    for name in LEGAL_FIELDS:
        value = change.values.get(name, "")
        if _CONTROL.search(value):
            raise Invalid("this text contains a character that cannot be stored", field=name)
        if len(value) > column_length(NetworkSettings, name):
            raise Invalid("this text is too long", field=name)
        checked[name] = value or None
    return checked


async def update_office(
    session: AsyncSession, actor: Member, change: OfficeChange
) -> NetworkSettings:
    """Check every field, then save all of them (or nothing). A changed privacy text gets
    today's date as its version; cleared, the default text's version comes back."""
    access.require_edit_network_settings(actor)
    checked = _checked(change)
    settings = await session.get(NetworkSettings, 1)
    if settings is None:
        settings = NetworkSettings()
    if checked["privacy_text"] != settings.privacy_text:
        settings.privacy_version = (
            (await network.today(session)).isoformat()
            if checked["privacy_text"]
            else DEFAULT_PRIVACY_VERSION
        )
    for name, value in checked.items():
        setattr(settings, name, value)
    settings.updated_at = utcnow()
    session.add(settings)
    await session.flush()
    return settings


async def office_settings(session: AsyncSession, actor: Member) -> NetworkSettings:
    access.require_edit_network_settings(actor)
    return await network.network_settings(session)


# --- The legal pages ------------------------------------------------------------------------


@dataclass(frozen=True)
class LegalPage:
    """A legal page: the network's own text as paragraphs of lines, or None for the
    default; ``version`` is the privacy text's."""

    paragraphs: list[list[str]] | None
    version: str

    @property
    def day(self) -> date | None:
        """The version as a date, to be shown in the reader's language."""
        try:
            return date.fromisoformat(self.version)
        except ValueError:
            return None


def paragraphs(text: str) -> list[list[str]]:
    """Plain text as paragraphs (split at blank lines) of lines, for escaped drawing."""
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip())
    return [lines for block in blocks if (lines := [ln.rstrip() for ln in block.split("\n")])]


async def imprint(session: AsyncSession) -> LegalPage:
    settings = await network.network_settings(session)
    text = settings.imprint_text
    return LegalPage(paragraphs(text) if text else None, settings.privacy_version)


async def privacy(session: AsyncSession) -> LegalPage:
    settings = await network.network_settings(session)
    text = settings.privacy_text
    return LegalPage(paragraphs(text) if text else None, settings.privacy_version)
