"""The office's post: what members without an email address are told on paper or by phone
(issue 9, point 2).

Every notice is a row (``timebank.notifications``); a notice for a member without an
address is marked when it is written (``paper_for``): *due for a letter*, or — for news
better said in person to someone with a phone (help held for the office, a dispute, a
request about to end) — *due for a call*. The office's post page gathers the letters, one
per member, in the member's language (the notice's text already is), prints them and marks
them sent; the call list is marked done. Only the network manager handles the post.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import access, network
from timebank.models import Member, Notification, id_of, utcnow

# Notices better said by phone than in a letter: they ask for a conversation or an answer
# soon, and a letter would arrive late or worry someone alone with it.
CALL_KINDS = frozenset(
    {
        "help_held",
        "dispute_opened",
        "dispute_settled",
        "request_expiring",
    }
)
# A page of letters is printed at once; more than this waits for the next printing.
MOST_NOTICES = 500


def paper_for(member: Member, kind: str) -> tuple[str, str]:
    """``(letter_status, call_status)`` of a new notice for ``member``: nothing for someone
    who reads email; otherwise a call for the kinds in ``CALL_KINDS`` when there is a phone
    number, else a letter."""
    if member.email or not member.active:
        return "none", "none"
    if kind in CALL_KINDS and member.phone:
        return "none", "due"
    return "due", "none"


@dataclass(frozen=True)
class News:
    """What is due for one member (a letter, or a call), oldest notice first."""

    member: Member
    notices: list[Notification]

    @property
    def ids(self) -> list[int]:
        return [id_of(notice) for notice in self.notices]

    @property
    def address_lines(self) -> list[str]:
        """The window envelope's address: name, street, postcode and town (what is known)."""
        member = self.member
        town = " ".join(part for part in (member.postcode, member.town) if part)
        return [line for line in (member.name, member.street, town) if line]

    @property
    def has_address(self) -> bool:
        return bool(self.member.street and self.member.town)


@dataclass(frozen=True)
class Post:
    day: date
    letters: list[News]
    calls: list[News]


async def _due(session: AsyncSession, *, letters: bool) -> list[News]:
    status = Notification.letter_status if letters else Notification.call_status
    rows = await session.exec(
        select(Notification, Member)
        .join(Member, col(Member.id) == Notification.member_id)
        .where(status == "due")
        .order_by(col(Member.name), col(Member.id), col(Notification.id))
        .limit(MOST_NOTICES)
    )
    grouped: dict[int, News] = {}
    for notice, member in rows.all():
        grouped.setdefault(id_of(member), News(member, [])).notices.append(notice)
    return list(grouped.values())


async def post_due(session: AsyncSession, actor: Member) -> Post:
    """The letters to print and the calls to make, each grouped by member (by name)."""
    access.require_manager(actor)
    return Post(
        day=await network.today(session),
        letters=await _due(session, letters=True),
        calls=await _due(session, letters=False),
    )


async def mark_letters_sent(session: AsyncSession, actor: Member, ids: list[int]) -> int:
    """The letters of these notices were printed and sent: they leave the list. Only the
    notices named (a notice that arrived after printing stays due). Returns how many."""
    access.require_manager(actor)
    if not ids:
        return 0
    result = await session.exec(
        update(Notification)
        .where(col(Notification.id).in_(ids), col(Notification.letter_status) == "due")
        .values(letter_status="sent", letter_sent_at=utcnow())
    )
    await session.flush()
    return int(result.rowcount or 0)


async def mark_calls_done(session: AsyncSession, actor: Member, ids: list[int]) -> int:
    """The office called about these notices: they leave the call list."""
    access.require_manager(actor)
    if not ids:
        return 0
    result = await session.exec(
        update(Notification)
        .where(col(Notification.id).in_(ids), col(Notification.call_status) == "due")
        .values(call_status="done", call_done_at=utcnow())
    )
    await session.flush()
    return int(result.rowcount or 0)
