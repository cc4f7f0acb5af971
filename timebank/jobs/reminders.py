"""The daily follow-ups: exchanges nobody confirmed, requests nobody answered, offers and
requests past their date.

Each job is safe to run twice for the same day: reminders carry a notification key, flags
are opened only where none is unresolved, expired things are expired once.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import board, exchanges, flags, notifications
from timebank.i18n import N_, Minutes
from timebank.models import (
    Exchange,
    HelpRequest,
    Member,
    NetworkSettings,
    Offer,
    UTCDateTime,
    id_of,
)
from timebank.notifications import notify

# --- Unconfirmed exchanges -----------------------------------------------------------------


async def unconfirmed_exchanges(
    session: AsyncSession, network: NetworkSettings, *, now: datetime, email: bool
) -> dict[str, int]:
    """Remind the receiver (or their staff) of help waiting for confirmation; after the
    network's deadline confirm it automatically or flag it for the manager."""
    remind_from = now - timedelta(days=network.remind_after_days)
    act_from = now - timedelta(days=network.unconfirmed_after_days)
    pending = (
        await session.exec(
            select(Exchange)
            .where(Exchange.status == "pending", Exchange.created_at <= remind_from)
            .order_by(col(Exchange.id))
            .with_for_update()
        )
    ).all()
    counts = {"reminded": 0, "confirmed": 0, "held": 0, "flagged": 0}
    for exchange in pending:
        giver = await session.get(Member, exchange.giver_id)
        receiver = await session.get(Member, exchange.receiver_id)
        assert giver is not None and receiver is not None  # foreign keys
        params: dict[str, object] = {
            "giver": giver.name,
            "receiver": receiver.name,
            "minutes": Minutes(exchange.minutes),
            "day": exchange.performed_on,
        }
        if exchange.created_at <= act_from:
            if network.unconfirmed_action == "confirm" and await exchanges.auto_confirm(
                session, exchange, at=now
            ):
                if exchange.status == "held":
                    # Beyond a limit: held for the office, who were told (timebank.held).
                    counts["held"] += 1
                    continue
                counts["confirmed"] += 1
                for person in {giver.id: giver, receiver.id: receiver}.values():
                    for member in await notifications.people_to_tell(session, person):
                        await notify(
                            session,
                            member,
                            kind="exchange_auto_confirmed",
                            subject=N_("Help confirmed automatically"),
                            body=N_(
                                "{giver} helped {receiver} on {day} for {minutes}. Nobody "
                                "confirmed or rejected it in time, so it has now been "
                                "confirmed automatically. If it is wrong, please tell the "
                                "network manager."
                            ),
                            params=params,
                            key=f"auto-confirmed:{exchange.id}:{member.id}",
                            email=email,
                        )
            elif await flags.open_flag(
                session,
                member_id=id_of(receiver),
                kind="unconfirmed_exchange",
                subject_id=id_of(exchange),
                now=now,
                rule="waiting",
                received_minutes=exchange.minutes,
                last_activity_at=exchange.created_at,
                district_id=receiver.district_id,
            ):
                counts["flagged"] += 1
            continue
        for member in await notifications.people_to_tell(session, receiver):
            done = await notify(
                session,
                member,
                kind="exchange_reminder",
                subject=N_("Please confirm the help you received"),
                body=N_(
                    "{giver} logged help for {receiver} on {day}: {minutes}. Please confirm "
                    "it, or reject it if it is not right."
                ),
                params=params,
                key=f"remind-exchange:{exchange.id}:{member.id}",
                link="/home",
                email=email,
            )
            counts["reminded"] += done is not None
    counts["cleared"] = await flags.resolve_where(
        session,
        "unconfirmed_exchange",
        "EXISTS (SELECT 1 FROM exchanges e WHERE e.id = flags.subject_id AND e.status = 'pending')",
        now,
    )
    return counts


# --- Unanswered requests ----------------------------------------------------------------------

_UNANSWERED = (
    "r.status = 'open' AND r.helper_id IS NULL "
    "AND NOT EXISTS (SELECT 1 FROM request_responses p WHERE p.request_id = r.id)"
)


async def unanswered_requests(
    session: AsyncSession, network: NetworkSettings, *, now: datetime
) -> dict[str, int]:
    """Flag help requests nobody offered to take for a few days, with their district and
    category: the manager's map of where help does not reach."""
    since = now - timedelta(days=network.unanswered_after_days)
    conn = await session.connection()
    params = {"now": now, "since": since}
    types = (bindparam("now", type_=UTCDateTime()), bindparam("since", type_=UTCDateTime()))
    opened = await conn.execute(
        text(
            "INSERT INTO flags (member_id, kind, subject_id, status, rule, last_activity_at, "
            "district_id, category_id, opened_at, updated_at) "
            "SELECT r.member_id, 'unanswered_request', r.id, 'open', 'waiting', r.created_at, "
            "r.district_id, r.category_id, :now, :now FROM help_requests r "
            f"WHERE {_UNANSWERED} AND r.created_at <= :since "
            "AND NOT EXISTS (SELECT 1 FROM flags f WHERE f.member_id = r.member_id "
            "AND f.kind = 'unanswered_request' AND f.subject_id = r.id "
            "AND f.status <> 'resolved')"
        ).bindparams(*types),
        params,
    )
    await conn.execute(
        text(
            "INSERT INTO flag_events (flag_id, action, actor_id, note, created_at) "
            "SELECT flags.id, 'open', NULL, NULL, :now FROM flags "
            "WHERE flags.kind = 'unanswered_request' AND flags.status <> 'resolved' "
            "AND NOT EXISTS (SELECT 1 FROM flag_events e WHERE e.flag_id = flags.id)"
        ).bindparams(types[0]),
        {"now": now},
    )
    cleared = await flags.resolve_where(
        session,
        "unanswered_request",
        f"EXISTS (SELECT 1 FROM help_requests r WHERE r.id = flags.subject_id AND {_UNANSWERED})",
        now,
    )
    return {"flagged": max(opened.rowcount or 0, 0), "cleared": cleared}


# --- Expiry -----------------------------------------------------------------------------------


EXPIRED = {
    "request": (
        N_("Your request for help has expired"),
        N_(
            "The request “{title}” of {owner} passed its date ({day}) and is now closed. "
            "If help is still needed, please ask again."
        ),
    ),
    "offer": (
        N_("Your offer of help has expired"),
        N_(
            "The offer “{title}” of {owner} passed its date ({day}) and is now closed. "
            "Thank you! You are welcome to offer it again."
        ),
    ),
}


async def expiring_soon(
    session: AsyncSession, network: NetworkSettings, *, today: date, email: bool
) -> dict[str, int]:
    """Tell the owners of open requests that leave the board within the network's notice
    days; each request once (the notice's key), however often the job runs."""
    until = today + timedelta(days=network.expiry_notice_days)
    soon = (
        await session.exec(
            select(HelpRequest)
            .where(
                HelpRequest.status == "open",
                col(HelpRequest.expires_on) >= today,
                col(HelpRequest.expires_on) <= until,
            )
            .order_by(col(HelpRequest.id))
        )
    ).all()
    warned = 0
    for request in soon:
        warned += await notifications.request_expiring(session, request, email=email)
    return {"warned": warned}


async def expire_past(session: AsyncSession, *, today: date, email: bool) -> dict[str, int]:
    """Close offers and requests whose date has passed, and tell their owners."""
    requests = (
        await session.exec(
            select(HelpRequest).where(
                HelpRequest.status == "open",
                col(HelpRequest.expires_on) < today,
            )
        )
    ).all()
    offers = (
        await session.exec(
            select(Offer).where(Offer.status == "open", col(Offer.expires_on) < today)
        )
    ).all()
    await board.expire_past(session, today=today)
    told = 0
    for what, rows in (("request", requests), ("offer", offers)):
        for row in rows:
            owner = await session.get(Member, row.member_id)
            assert owner is not None  # foreign key
            for member in await notifications.people_to_tell(session, owner):
                done = await notify(
                    session,
                    member,
                    kind=f"{what}_expired",
                    subject=EXPIRED[what][0],
                    body=EXPIRED[what][1],
                    params={"title": row.title, "owner": owner.name, "day": row.expires_on},
                    key=f"expired-{what}:{row.id}:{member.id}",
                    email=email,
                )
                told += done is not None
    return {"requests": len(requests), "offers": len(offers), "told": told}
