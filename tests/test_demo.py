"""The demo network: realistic, booked through the ledger so the books verify, the same for the
same seed, and with the shapes the nightly review is meant to find (both databases)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import demo, ledger, members
from timebank.db import transaction
from timebank.models import (
    Account,
    Category,
    District,
    Exchange,
    HelpRequest,
    Member,
    Offer,
    Organization,
    RequestResponse,
    Transfer,
)

Sessions = async_sessionmaker[AsyncSession]
TODAY = date(2026, 11, 24)


async def seeded(sessions: Sessions, seed: int = 7) -> demo.DemoSummary:
    async with transaction(sessions) as s:
        return await demo.seed_demo(s, seed, today=TODAY)


async def fingerprint(s: AsyncSession) -> tuple[object, ...]:
    """Everything that makes the network what it is, by name rather than by database id
    (PostgreSQL does not hand ids out again after a rollback)."""
    people = {m.id: m for m in (await s.exec(select(Member))).all()}
    slugs = {c.id: c.slug for c in (await s.exec(select(Category))).all()}
    orgs = {o.id: o.name for o in (await s.exec(select(Organization))).all()}
    holder: dict[int, str] = {}
    for a in (await s.exec(select(Account))).all():
        if a.member_id is not None:
            holder[a.id] = people[a.member_id].name  # type: ignore[assignment]
        else:
            holder[a.id] = orgs[a.organization_id] if a.organization_id else a.kind  # type: ignore[index,assignment]
    return (
        sorted((m.name, m.role, m.email, m.language, str(m.joined_on)) for m in people.values()),
        sorted(
            (
                people[x.giver_id].name,
                people[x.receiver_id].name,
                x.minutes,
                str(x.performed_on),
                slugs[x.category_id],
                x.status,
                x.note,
                x.created_at.isoformat(),
            )
            for x in (await s.exec(select(Exchange))).all()
        ),
        sorted(
            (holder[t.from_account_id], holder[t.to_account_id], t.minutes, t.kind)
            for t in (await s.exec(select(Transfer))).all()
        ),
        sorted((holder[a.id], a.balance_minutes) for a in (await s.exec(select(Account))).all()),
        sorted(r.title for r in (await s.exec(select(HelpRequest))).all()),
    )


async def fingerprint_of_seed(sessions: Sessions, seed: int) -> tuple[object, ...]:
    async with sessions() as s:
        await s.begin()
        await demo.seed_demo(s, seed, today=TODAY)
        print_ = await fingerprint(s)
        await s.rollback()
    return print_


async def test_the_books_of_the_demo_verify(sessions):
    summary = await seeded(sessions)
    async with transaction(sessions) as s:
        report = await ledger.verify(s)
    assert report.ok, report.mismatches
    assert report.transfers == summary.transfers > 150


async def test_the_same_seed_gives_the_same_network_and_another_seed_another(sessions):
    first = await fingerprint_of_seed(sessions, 11)
    again = await fingerprint_of_seed(sessions, 11)
    other = await fingerprint_of_seed(sessions, 12)
    assert first == again
    assert first != other


async def test_the_network_looks_like_a_real_one(sessions):
    summary = await seeded(sessions)
    assert (summary.organizations, summary.districts) == (3, 8)
    assert 55 <= summary.members <= 65
    async with transaction(sessions) as s:
        people = (await s.exec(select(Member))).all()
        roles = defaultdict(list)
        for m in people:
            roles[m.role].append(m)
        assert {r: len(ms) >= 1 for r, ms in roles.items()} == dict.fromkeys(
            ("manager", "professional", "volunteer", "senior"), True
        )
        # Seniors without email are clients of an organisation, whose staff act for them.
        offline = [m for m in roles["senior"] if m.email is None]
        assert len(offline) >= 5
        assert all(m.organization_id is not None for m in offline)
        assert all(m.organization_id is not None for m in roles["professional"])
        assert {"tr", "ru", "ar"} <= {m.language for m in people}
        kinds = {o.kind for o in (await s.exec(select(Organization))).all()}
        assert len(kinds) == 3
        assert len((await s.exec(select(District))).all()) == 8

        xs = (await s.exec(select(Exchange))).all()
        assert min(x.performed_on for x in xs) <= TODAY - timedelta(days=330)
        assert len({x.category_id for x in xs}) >= 8
        assert any(x.assisted and x.status == "confirmed" for x in xs)
        assert any(x.status == "rejected" and x.reject_reason for x in xs)
        transfers = (await s.exec(select(Transfer))).all()
        by_kind = defaultdict(int)
        for t in transfers:
            by_kind[t.kind] += 1
        assert by_kind["donation"] >= 2 and by_kind["pool_payment"] >= 1
        assert by_kind["reversal"] == 1
        # History is backdated, not all booked at the moment of seeding.
        assert min(t.created_at for t in transfers).date() <= TODAY - timedelta(days=300)
        offers = (await s.exec(select(Offer).where(Offer.status == "open"))).all()
        assert len(offers) >= 3


async def test_the_review_finds_takers_givers_an_inactive_member_and_stale_items(sessions):
    await seeded(sessions)
    recent = TODAY - timedelta(days=90)
    async with transaction(sessions) as s:
        xs = (await s.exec(select(Exchange).where(Exchange.status == "confirmed"))).all()
        given, received, received_recently = defaultdict(int), defaultdict(int), defaultdict(int)
        last_seen: dict[int, date] = {}
        for x in xs:
            given[x.giver_id] += x.minutes
            received[x.receiver_id] += x.minutes
            if x.performed_on >= recent:
                received_recently[x.receiver_id] += x.minutes
            for who in (x.giver_id, x.receiver_id):
                last_seen[who] = max(last_seen.get(who, x.performed_on), x.performed_on)
        balances = {
            a.member_id: a.balance_minutes
            for a in (await s.exec(select(Account).where(Account.kind == "member"))).all()
        }
        takers = [
            m
            for m, got in received_recently.items()
            if got >= 5 * 60 and given[m] == 0 and balances[m] <= -10 * 60
        ]
        assert len(takers) >= 3
        givers = [m for m, gave in given.items() if gave >= 10 * 60 and gave > 4 * received[m]]
        assert len(givers) >= 3
        assert max(balances.values()) > 40 * 60
        inactive = [m for m, day in last_seen.items() if day < TODAY - timedelta(days=90)]
        assert inactive, "someone who was active and stopped 90+ days ago"

        stale = (
            await s.exec(
                select(Exchange).where(
                    Exchange.status == "pending",
                    Exchange.performed_on < TODAY - timedelta(days=14),
                )
            )
        ).all()
        assert stale
        assert all(x.created_at.date() < TODAY - timedelta(days=14) for x in stale)
        answered = select(RequestResponse.request_id)
        unanswered = (
            await s.exec(
                select(HelpRequest).where(
                    HelpRequest.status == "open",
                    HelpRequest.id.not_in(answered),  # type: ignore[union-attr]
                )
            )
        ).all()
        assert any(r.created_at.date() < TODAY - timedelta(days=3) for r in unanswered)
        assert len((await s.exec(select(HelpRequest))).all()) > len(unanswered)


async def test_seeding_if_empty_seeds_once_and_the_logins_work(db_url, sessions):
    logins = await demo.seed_demo_if_empty(db_url, seed=3)
    assert [role for role, _ in logins.emails] == ["manager", "professional", "volunteer", "senior"]
    async with transaction(sessions) as s:
        count = len((await s.exec(select(Member))).all())
        for role, email in logins.emails:
            member = await members.member_by_email(s, email)
            assert member is not None and member.role == role
            assert members.password_matches(member, logins.password)
    again = await demo.seed_demo_if_empty(db_url, seed=3)
    assert again == logins
    async with transaction(sessions) as s:
        assert len((await s.exec(select(Member))).all()) == count


async def test_a_database_with_another_network_is_left_alone(db_url, sessions, world):
    logins = await demo.seed_demo_if_empty(db_url)
    assert logins.emails == []
    async with transaction(sessions) as s:
        assert len((await s.exec(select(Member))).all()) == len(world.all())
