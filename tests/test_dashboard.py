"""The dashboard's and the report's figures equal direct SQL on the transfers, exchanges,
members and requests of the demo network (both databases): the aggregates they read say
what the books say."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import town_today
from timebank import dashboard, demo, ledger, network
from timebank.dashboard import Period
from timebank.db import transaction
from timebank.errors import Forbidden, Invalid
from timebank.models import Member

Sessions = async_sessionmaker[AsyncSession]

# Help that still stands: exchanges and pool payments that were not reversed, with the
# exchange's date, kind of help and both people's district and role.
HELP = """
SELECT e.performed_on, e.category_id, t.minutes, g.district_id, r.district_id,
       g.role, r.role, g.id, r.id
FROM transfers t
JOIN exchanges e ON e.id = t.exchange_id
JOIN members g ON g.id = e.giver_id
JOIN members r ON r.id = e.receiver_id
WHERE t.kind IN ('exchange', 'pool_payment')
  AND NOT EXISTS (SELECT 1 FROM transfers x WHERE x.reverses_id = t.id)
"""


def as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


@pytest.fixture
async def demo_network(sessions: Sessions) -> Member:
    async with transaction(sessions) as s:
        await demo.seed_demo(s, today=town_today())
        manager = await s.scalar(select(Member).where(Member.role == "manager"))
    assert manager is not None
    return manager


async def help_rows(s: AsyncSession, period: Period) -> list[tuple]:  # type: ignore[type-arg]
    rows = (await s.exec(text(HELP))).all()  # type: ignore[call-overload]
    return [
        (as_date(day), *rest) for day, *rest in rows if period.first <= as_date(day) < period.end
    ]


async def dashboard_equals_direct_sql(sessions: Sessions, demo_network: Member) -> None:
    async with transaction(sessions) as s:
        figures = await dashboard.dashboard(s, demo_network, 24)
        period = figures.period
        rows = await help_rows(s, period)
        assert rows, "the demo has help in the last 24 months"

        by_month: Counter[tuple[date, int]] = Counter()
        given: Counter[int | None] = Counter()
        received: Counter[int | None] = Counter()
        helped: set[int] = set()
        for day, category, minutes, giver_district, receiver_district, *_, g, r in rows:
            by_month[day.replace(day=1), category] += minutes
            given[giver_district] += minutes
            received[receiver_district] += minutes
            helped |= {g, r}
        assert figures.by_month.minutes == dict(by_month)
        assert {d.key: (d.given, d.received) for d in figures.districts} == {
            k: (given[k], received[k]) for k in set(given) | set(received)
        }

        members = (await s.exec(select(Member))).all()
        by_role = Counter(m.role for m in members if m.active)
        active_by_role = Counter(m.role for m in members if m.id in helped)
        assert {r.role: (r.members, r.active) for r in figures.roles} == {
            role: (by_role[role], active_by_role[role])
            for role in set(by_role) | set(active_by_role)
        }
        joined = Counter(
            m.joined_on.replace(day=1) for m in members if period.first <= m.joined_on < period.end
        )
        assert {n.month: n.count for n in figures.new_members if n.count} == dict(joined)

        zone = (await network.town_clock(s)).zone
        start = datetime.combine(period.first, datetime.min.time(), zone).astimezone(UTC)
        requests = (
            await s.exec(  # type: ignore[call-overload]
                text(
                    "SELECT q.district_id, q.created_at, q.status, q.helper_id, "
                    "(SELECT count(*) FROM request_responses p WHERE p.request_id = q.id) "
                    "FROM help_requests q"
                )
            )
        ).all()
        made: Counter[int | None] = Counter()
        unanswered: Counter[int | None] = Counter()
        for district, created, status, helper, responses in requests:
            created = created if isinstance(created, datetime) else datetime.fromisoformat(created)
            if created.replace(tzinfo=created.tzinfo or UTC) >= start:
                made[district] += 1
            if status == "open" and helper is None and responses == 0:
                unanswered[district] += 1
        assert {r.district_id: r.requests for r in figures.requests} == dict(made)
        assert {u.district_id: u.count for u in figures.unanswered} == dict(unanswered)

        pool = await ledger.pool_account(s)
        assert figures.pool[-1].balance == pool.balance_minutes
        flags = (
            await s.exec(  # type: ignore[call-overload]
                text("SELECT kind, count(*) FROM flags WHERE status <> 'resolved' GROUP BY kind")
            )
        ).all()
        assert figures.flags == dict(flags)


async def report_equals_direct_sql(sessions: Sessions, demo_network: Member) -> None:
    today = town_today()
    period = Period.last_months(today, 12)
    async with transaction(sessions) as s:
        report = await dashboard.report(s, demo_network, period)
        rows = await help_rows(s, period)
        members = {m.id: m for m in (await s.exec(select(Member))).all()}
    by_month: Counter[date] = Counter()
    by_role: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_organization: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for day, _, minutes, _, _, giver_role, receiver_role, g, r in rows:
        by_month[day.replace(day=1)] += minutes
        by_role[giver_role][0] += minutes
        by_role[receiver_role][1] += minutes
        for who, side in ((g, 0), (r, 1)):
            organization = members[who].organization_id
            if organization is not None:
                by_organization[organization][side] += minutes
    assert {m.key: m.given for m in report.months if m.given} == dict(by_month)
    assert report.given == sum(by_month.values())
    assert {h.key: [h.given, h.received] for h in report.roles} == dict(by_role)
    assert {h.key: [h.given, h.received] for h in report.organizations} == dict(by_organization)
    new = sum(1 for m in members.values() if period.first <= m.joined_on < period.end)
    assert report.members.new == new
    assert report.members.active == len({x for row in rows for x in row[-2:]})


async def certificate_counts_the_help_given(sessions: Sessions, demo_network: Member) -> None:
    today = town_today()
    period = Period.last_months(today, 24)
    async with transaction(sessions) as s:
        rows = await help_rows(s, period)
        given: Counter[int] = Counter()
        for *_, minutes, _, _, _, _, g, _ in [(r[0], r[1], r[2], *r[3:]) for r in rows]:
            given[g] += minutes
        helper_id, minutes = given.most_common(1)[0]
        found = await dashboard.certificate(s, demo_network, helper_id, period)
        assert found.total == minutes
        helper = await s.get(Member, helper_id)
        assert (await dashboard.certificate(s, helper, helper_id, period)).total == minutes  # type: ignore[arg-type]
        other = next(
            m
            for m in (await s.exec(select(Member))).all()
            if m.role == "volunteer" and m.id != helper_id
        )
        with pytest.raises(Forbidden):
            await dashboard.certificate(s, other, helper_id, period)


async def test_the_figures_equal_direct_sql_on_the_demo(sessions, demo_network):
    """One seeding of the demo (it takes a while) for the dashboard, a report and a
    certificate."""
    await dashboard_equals_direct_sql(sessions, demo_network)
    await report_equals_direct_sql(sessions, demo_network)
    await certificate_counts_the_help_given(sessions, demo_network)


def test_a_period_is_whole_months_and_refuses_nonsense():
    assert Period.last_months(date(2026, 3, 15), 3) == Period(date(2026, 1, 1), date(2026, 3, 1))
    assert Period.year(2025).months[-1] == date(2025, 12, 1)
    assert dashboard.parse_month("2026-02", "from") == date(2026, 2, 1)
    with pytest.raises(Invalid) as bad:
        dashboard.parse_month("Feb", "from")
    assert bad.value.field == "from"
    with pytest.raises(Invalid):
        dashboard.period_between(date(2026, 5, 1), date(2026, 1, 1))
    with pytest.raises(Invalid):
        dashboard.period_between(date(2000, 1, 1), date(2026, 1, 1))
