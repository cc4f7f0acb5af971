"""The nightly balance review: which members give and receive out of balance.

The whole network is judged by a handful of set-based statements, so the review costs the
same few queries for fifty members or a hundred thousand:

1. the findings (member, kind, figures) go into a temporary table, computed in one query;
2. an unresolved flag of the same member and kind gets the new figures (only if they changed);
3. a finding without an unresolved flag opens a new one;
4. an unresolved balance flag without a finding clears itself ("resolved by review");
5. snoozed flags whose date has come are woken up.

Running it twice in a row therefore changes nothing the second time. Two reviews started at
once (two ``timebank jobs run review``, or one beside the nightly tick) run one after the
other: on PostgreSQL each takes a transaction-scoped advisory lock first, so the second waits
for the first to commit and then finds its flags (SQLite serialises writers anyway). Opening
is ``ON CONFLICT DO NOTHING`` on the one-open-flag index as well, so it never fails on it.

Rules (all amounts in minutes; thresholds are in ``network_settings``):

- *takes without giving*: balance below ``takes_balance_below``, or, within the window,
  received more than ``takes_ratio`` × given while receiving at least ``takes_min_received``;
- *gives without taking*: balance above ``gives_balance_above``, or given more than
  ``gives_ratio`` × received while giving at least ``gives_min_given``;
- *near a limit*: within ``near_limit_percent`` % of the account's effective minimum (a
  negative one) or maximum (a positive one): its own override, else the role's default;
- *inactive*: helped or was helped before, but not for ``inactive_days``.

Help counts from ``exchange`` and ``pool_payment`` transfers that were not reversed. Help the
pool paid for counts as the receiver's taking only where ``review_policies`` says so (not for
seniors); roles whose policy says ``reviewed = false`` are not reviewed at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, text
from sqlalchemy.types import Date
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import flags
from timebank.models import BALANCE_KINDS, Flag, NetworkSettings, UTCDateTime, utcnow
from timebank.network import network_settings, today_in

_KIND_LIST = ", ".join(f"'{k}'" for k in BALANCE_KINDS)

# Every piece of help a member's account took part in, one row per side. ``given`` and
# ``received`` are minutes; ``at`` is when it was booked.
_HELP = """
help AS (
    SELECT a.member_id AS member_id, t.minutes AS given, 0 AS received, t.created_at AS at
    FROM transfers t JOIN accounts a ON a.id = t.to_account_id
    WHERE a.kind = 'member' AND t.kind IN ('exchange', 'pool_payment')
      AND NOT EXISTS (SELECT 1 FROM transfers r WHERE r.reverses_id = t.id)
    UNION ALL
    SELECT a.member_id, 0, t.minutes, t.created_at
    FROM transfers t JOIN accounts a ON a.id = t.from_account_id
    WHERE a.kind = 'member' AND t.kind = 'exchange'
      AND NOT EXISTS (SELECT 1 FROM transfers r WHERE r.reverses_id = t.id)
    UNION ALL
    SELECT e.receiver_id, 0,
           CASE WHEN p.pool_help_counts THEN t.minutes ELSE 0 END, t.created_at
    FROM transfers t
    JOIN exchanges e ON e.id = t.exchange_id
    JOIN members m ON m.id = e.receiver_id
    JOIN review_policies p ON p.role = m.role
    WHERE t.kind = 'pool_payment'
      AND NOT EXISTS (SELECT 1 FROM transfers r WHERE r.reverses_id = t.id)
)"""

_REVIEWED = """
activity AS (
    SELECT member_id,
           SUM(CASE WHEN at >= :window_start THEN given ELSE 0 END) AS given,
           SUM(CASE WHEN at >= :window_start THEN received ELSE 0 END) AS received,
           MAX(at) AS last_at
    FROM help GROUP BY member_id
),
reviewed AS (
    SELECT m.id AS member_id, acc.balance_minutes AS balance,
           COALESCE(acc.min_minutes, d.min_minutes) AS min_m,
           COALESCE(acc.max_minutes, d.max_minutes) AS max_m,
           COALESCE(x.given, 0) AS given, COALESCE(x.received, 0) AS received,
           x.last_at AS last_at
    FROM members m
    JOIN accounts acc ON acc.member_id = m.id
    JOIN review_policies p ON p.role = m.role
    LEFT JOIN limit_defaults d ON d.holder = m.role
    LEFT JOIN activity x ON x.member_id = m.id
    WHERE m.active AND p.reviewed
)"""

_FINDINGS = f"""
WITH {_HELP}, {_REVIEWED}
SELECT member_id, 'takes_without_giving' AS kind,
       CASE WHEN balance < :takes_balance THEN 'balance' ELSE 'ratio' END AS rule,
       balance, given, received, CAST(NULL AS INTEGER) AS limit_m, last_at
FROM reviewed
WHERE balance < :takes_balance
   OR (received > :takes_ratio * given AND received >= :takes_min)
UNION ALL
SELECT member_id, 'gives_without_taking',
       CASE WHEN balance > :gives_balance THEN 'balance' ELSE 'ratio' END,
       balance, given, received, NULL, last_at
FROM reviewed
WHERE balance > :gives_balance
   OR (given > :gives_ratio * received AND given >= :gives_min)
UNION ALL
SELECT member_id, 'near_limit',
       CASE WHEN min_m < 0 AND balance * 100 <= min_m * 100 - min_m * :near_percent
            THEN 'min' ELSE 'max' END,
       balance, given, received,
       CASE WHEN min_m < 0 AND balance * 100 <= min_m * 100 - min_m * :near_percent
            THEN min_m ELSE max_m END,
       last_at
FROM reviewed
WHERE (min_m < 0 AND balance * 100 <= min_m * 100 - min_m * :near_percent)
   OR (max_m > 0 AND balance * 100 >= max_m * 100 - max_m * :near_percent)
UNION ALL
SELECT member_id, 'inactive', 'inactive', balance, given, received, NULL, last_at
FROM reviewed
WHERE last_at IS NOT NULL AND last_at < :inactive_since
"""

_UNRESOLVED_MATCH = """
    flags.member_id = f.member_id AND flags.kind = f.kind AND flags.subject_id = 0
    AND flags.status <> 'resolved'"""

_UPDATE = f"""
UPDATE flags SET rule = f.rule, balance_minutes = f.balance, given_minutes = f.given,
       received_minutes = f.received, limit_minutes = f.limit_m,
       last_activity_at = f.last_at, updated_at = :now
FROM review_findings f
WHERE {_UNRESOLVED_MATCH}
  AND (flags.rule IS DISTINCT FROM f.rule
       OR flags.balance_minutes IS DISTINCT FROM f.balance
       OR flags.given_minutes IS DISTINCT FROM f.given
       OR flags.received_minutes IS DISTINCT FROM f.received
       OR flags.limit_minutes IS DISTINCT FROM f.limit_m
       OR flags.last_activity_at IS DISTINCT FROM f.last_at)
"""

# The conflict target names uq_flags_one_open (its columns and its predicate); SQLite needs
# the WHERE of the SELECT to tell the upsert's ON from a join's.
_INSERT = f"""
INSERT INTO flags (member_id, kind, subject_id, status, rule, balance_minutes, given_minutes,
                   received_minutes, limit_minutes, last_activity_at, district_id,
                   opened_at, updated_at)
SELECT f.member_id, f.kind, 0, 'open', f.rule, f.balance, f.given, f.received, f.limit_m,
       f.last_at, m.district_id, :now, :now
FROM review_findings f JOIN members m ON m.id = f.member_id
WHERE NOT EXISTS (SELECT 1 FROM flags WHERE {_UNRESOLVED_MATCH})
ON CONFLICT (member_id, kind, subject_id) WHERE status <> 'resolved' DO NOTHING
"""

# Any fixed number, apart from the scheduler's leader lock: "tbreview" in ASCII.
REVIEW_LOCK_KEY = 0x7462726576696577

_CLEARED = f"""
flags.kind IN ({_KIND_LIST}) AND flags.status <> 'resolved'
AND NOT EXISTS (SELECT 1 FROM review_findings f
                WHERE f.member_id = flags.member_id AND f.kind = flags.kind)
"""

_OPEN_EVENTS = """
INSERT INTO flag_events (flag_id, action, actor_id, note, created_at)
SELECT flags.id, 'open', NULL, NULL, :now FROM flags
WHERE flags.status <> 'resolved'
  AND NOT EXISTS (SELECT 1 FROM flag_events e WHERE e.flag_id = flags.id)
"""

_WAKE = "flags.status = 'snoozed' AND flags.snoozed_until <= :today"


@dataclass(frozen=True)
class ReviewResult:
    opened: int
    updated: int
    cleared: int
    woken: int
    open_by_kind: dict[str, int]

    def counts(self) -> dict[str, int]:
        return {
            "opened": self.opened,
            "updated": self.updated,
            "cleared": self.cleared,
            "woken": self.woken,
            **{f"open_{k}": v for k, v in sorted(self.open_by_kind.items())},
        }


def _parameters(settings: NetworkSettings, now: datetime) -> dict[str, Any]:
    return {
        "window_start": now - timedelta(days=settings.review_window_days),
        "inactive_since": now - timedelta(days=settings.inactive_days),
        "takes_balance": settings.takes_balance_below,
        "takes_ratio": settings.takes_ratio,
        "takes_min": settings.takes_min_received,
        "gives_balance": settings.gives_balance_above,
        "gives_ratio": settings.gives_ratio,
        "gives_min": settings.gives_min_given,
        "near_percent": settings.near_limit_percent,
    }


def _typed(sql: str, **types: Any) -> Any:
    """A text statement whose datetime/date parameters go through the column types, so
    SQLite gets the same naive-UTC text it stores."""
    statement = text(sql)
    return statement.bindparams(*(bindparam(name, type_=t) for name, t in types.items()))


async def _execute(session: AsyncSession, statement: Any, params: dict[str, Any]) -> int:
    conn = await session.connection()
    done = await conn.execute(statement, params)
    return max(done.rowcount or 0, 0)


_TEMP_TABLE = """
CREATE TEMPORARY TABLE review_findings (
    member_id INTEGER NOT NULL, kind VARCHAR(30) NOT NULL, rule VARCHAR(20) NOT NULL,
    balance INTEGER NOT NULL, given BIGINT NOT NULL, received BIGINT NOT NULL,
    limit_m INTEGER, last_at {timestamp}, PRIMARY KEY (member_id, kind)
)"""


async def run_review(session: AsyncSession, *, now: datetime | None = None) -> ReviewResult:
    """Review every member at once and bring the balance flags up to date. Flushes only.

    On PostgreSQL it first waits for any review running in another transaction to end."""
    now = now or utcnow()
    postgres = (await session.connection()).dialect.name == "postgresql"
    if postgres:
        # Held to the end of the caller's transaction; every statement after it sees what
        # the review before committed (READ COMMITTED takes a new snapshot per statement).
        await _execute(
            session, text("SELECT pg_advisory_xact_lock(:key)"), {"key": REVIEW_LOCK_KEY}
        )
    settings = await network_settings(session)
    await session.flush()
    at_now = {"now": now}
    now_type = {"now": UTCDateTime()}

    # A table of its own (not CREATE TABLE AS: PostgreSQL cannot prepare that with
    # parameters); it lives as long as this transaction, or until dropped at the end.
    timestamp = "TIMESTAMP WITH TIME ZONE" if postgres else "DATETIME"
    suffix = " ON COMMIT DROP" if postgres else ""
    await _execute(session, text(_TEMP_TABLE.format(timestamp=timestamp) + suffix), {})
    await _execute(
        session,
        _typed(
            "INSERT INTO review_findings (member_id, kind, rule, balance, given, received, "
            "limit_m, last_at) " + _FINDINGS,
            window_start=UTCDateTime(),
            inactive_since=UTCDateTime(),
        ),
        _parameters(settings, now),
    )
    if postgres:  # temporary tables get no statistics otherwise, and the joins need them
        await _execute(session, text("ANALYZE review_findings"), {})
    updated = await _execute(session, _typed(_UPDATE, **now_type), at_now)
    opened = await _execute(session, _typed(_INSERT, **now_type), at_now)
    await _execute(session, _typed(_OPEN_EVENTS, **now_type), at_now)
    cleared = await flags.resolve_by_review(session, _CLEARED, now)
    await _execute(session, text("DROP TABLE review_findings"), {})
    woken = await wake_snoozed(session, now=now, today=today_in(settings, now))
    return ReviewResult(opened, updated, cleared, woken, await open_flags_by_kind(session))


async def wake_snoozed(session: AsyncSession, *, now: datetime, today: date) -> int:
    """Snoozed flags whose date has come are open again (recorded as a 'wake' event)."""
    params = {"now": now, "today": today}
    types = {"now": UTCDateTime(), "today": Date()}
    await _execute(
        session,
        _typed(
            "INSERT INTO flag_events (flag_id, action, actor_id, note, created_at) "
            f"SELECT flags.id, 'wake', NULL, NULL, :now FROM flags WHERE {_WAKE}",
            **types,
        ),
        params,
    )
    return await _execute(
        session,
        _typed(
            "UPDATE flags SET status = 'open', snoozed_until = NULL, updated_at = :now "
            f"WHERE {_WAKE}",
            **types,
        ),
        params,
    )


async def open_flags_by_kind(session: AsyncSession) -> dict[str, int]:
    rows = await session.exec(
        select(Flag.kind, func.count()).where(Flag.status != "resolved").group_by(Flag.kind)
    )
    return {kind: int(n) for kind, n in rows.all()}
