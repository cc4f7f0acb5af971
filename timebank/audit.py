"""The audit log: what the office did with people's data (issue 11, point 6, "Accountability").

One function writes an entry, ``record``; it only adds and flushes, in the transaction of the
act it records, so an export refused or a sheet not drawn leaves no entry, and an entry is
never updated or deleted. The actions (``models.AUDIT_ACTIONS``):

- ``export``: a list of the network exported (``exports``), details: ``export``, ``from``, ``to``;
- ``login_sheet``: a member's sign-in sheet printed (with a new password or without);
- ``erasure``: a member's personal data erased (``member_id`` the erased member; details:
  ``reason``) — for the erasure of issue 11, point 6: call
  ``audit.record(session, actor, "erasure", member_id=..., details={"reason": ...})``;
- ``personal_export``: a member's own data handed out (access and portability).

The manager reads the log newest first, a page at a time (``entries``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import access
from timebank.i18n import N_
from timebank.models import AUDIT_ACTIONS, AuditEntry, Member
from timebank.paging import Page

# What the log page calls each action (message ids; the page translates them).
ACTION_NAMES = {
    "export": N_("List exported"),
    "login_sheet": N_("Sign-in sheet printed"),
    "erasure": N_("Personal data erased"),
    "personal_export": N_("Personal data handed out"),
}
PER_PAGE = 50


async def record(
    session: AsyncSession,
    actor: Member | None,
    action: str,
    *,
    member_id: int | None = None,
    details: dict[str, str] | None = None,
) -> AuditEntry:
    """Write one entry: ``actor`` did ``action`` about ``member_id``. ``actor`` None is the
    operator at the command line."""
    if action not in AUDIT_ACTIONS:
        # A programming mistake, not a person's: the CHECK would refuse it anyway.
        raise ValueError(f"unknown audit action {action!r}")
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        action=action,
        member_id=member_id,
        details={k: str(v) for k, v in (details or {}).items()},
    )
    session.add(entry)
    await session.flush()
    return entry


@dataclass(frozen=True)
class EntryLine:
    id: int
    created_at: datetime
    action: str
    actor_name: str | None
    member_id: int | None
    member_name: str | None
    details: dict[str, str]


async def entries(session: AsyncSession, actor: Member, *, page: int = 1) -> Page[EntryLine]:
    """The log for the manager, newest first."""
    access.require_manager(actor)
    page = max(1, page)
    total = int(await session.scalar(select(func.count()).select_from(AuditEntry)) or 0)
    who, whom = aliased(Member), aliased(Member)
    rows = await session.exec(
        select(AuditEntry, who.name, whom.name)
        .join(who, col(AuditEntry.actor_id) == who.id, isouter=True)
        .join(whom, col(AuditEntry.member_id) == whom.id, isouter=True)
        .order_by(col(AuditEntry.created_at).desc(), col(AuditEntry.id).desc())
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE)
    )
    items = [
        EntryLine(
            id=entry.id or 0,
            created_at=entry.created_at,
            action=entry.action,
            actor_name=actor_name,
            member_id=entry.member_id,
            member_name=member_name,
            details=dict(entry.details or {}),
        )
        for entry, actor_name, member_name in rows.all()
    ]
    return Page(items, total, page, PER_PAGE)
