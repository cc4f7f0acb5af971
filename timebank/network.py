"""The network's settings and policy, in one place: the town's time zone (the one clock),
the schedules of the jobs, the review's thresholds, the reminder policy and how each role
is treated by the review.

One network runs per installation today; everything network-wide is read from here (the
``network_settings`` row and the ``review_policies`` rows), never from constants elsewhere,
so that several networks can later each have their own.

**The town clock.** "Today" and every local date come from the network's time zone, never
from the server's clock: ``await today(session)``, ``await town_clock(session)`` and the
``TownClock`` it returns (``now()``, ``today()``, ``day_of(moment)``, ``local(moment)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import access, schedules
from timebank.errors import Invalid
from timebank.models import (
    DEFAULT_TIMEZONE,
    GIVER_FULL_ACTIONS,
    LIMIT_HOLDERS,
    ROLES,
    UNCONFIRMED_ACTIONS,
    LimitDefault,
    Member,
    NetworkSettings,
    ReviewPolicy,
    utcnow,
)
from timebank.schedules import cron_trigger


async def network_settings(session: AsyncSession) -> NetworkSettings:
    found = await session.get(NetworkSettings, 1)
    # The migration seeds the row; a missing one means defaults (e.g. someone deleted it).
    return found if found is not None else NetworkSettings()


async def role_policies(session: AsyncSession) -> list[ReviewPolicy]:
    """How the review treats each role (a role without a row is reviewed, pool help counts)."""
    rows = await session.exec(select(ReviewPolicy).order_by(col(ReviewPolicy.role)))
    return list(rows.all())


# --- Policy values -----------------------------------------------------------------------------

# How many messages one sender may send through the public forms (/join) in a day: enough
# for a family sending for two people and a correction, too few for a spam run.
INTAKES_PER_SENDER_PER_DAY = 5


def earliest_help_day(network: NetworkSettings, today: date) -> date:
    """The oldest day help may still be logged for: ``help_days_back`` days before today
    (issue 9, point 8). Later than that nobody remembers it well enough to book it, and a
    date like 0001-01-01 is a typing mistake."""
    return today - timedelta(days=network.help_days_back)


@dataclass(frozen=True)
class HeldPolicy:
    """What confirming does with help that would cross a balance limit (``timebank.held``).

    ``pool_cover_minutes``: how much help beyond the receiver's minimum the community pool
    pays by itself, per member and calendar month of the town (0: none, the office decides
    each). ``giver_full_action``: when the giver's account would go above its maximum,
    ``hold`` keeps it for the office; ``pool`` books it from the receiver to the community
    pool instead of the giver (the giver is thanked and told)."""

    pool_cover_minutes: int
    giver_full_action: str


def held_policy(network: NetworkSettings) -> HeldPolicy:
    return HeldPolicy(max(network.pool_cover_minutes, 0), network.giver_full_action)


# --- The town clock ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TownClock:
    """The network's local time. Moments are stored in UTC; days are the town's days."""

    zone: ZoneInfo

    @classmethod
    def named(cls, timezone: str | None) -> TownClock:
        return cls(ZoneInfo(timezone or DEFAULT_TIMEZONE))

    def now(self) -> datetime:
        return utcnow().astimezone(self.zone)

    def today(self) -> date:
        return self.now().date()

    def local(self, moment: datetime) -> datetime:
        """A stored moment in the town's time (a naive one is taken as UTC)."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo("UTC"))
        return moment.astimezone(self.zone)

    def day_of(self, moment: datetime) -> date:
        return self.local(moment).date()


async def town_clock(session: AsyncSession) -> TownClock:
    return TownClock.named((await network_settings(session)).timezone)


async def today(session: AsyncSession) -> date:
    """Today in the network's town."""
    return (await town_clock(session)).today()


def today_in(network: NetworkSettings, now: datetime) -> date:
    """The town's date at the moment ``now``."""
    return TownClock.named(network.timezone).day_of(now)


# --- The manager's settings page ------------------------------------------------------------

# Form field → (lowest, highest), in the unit the manager enters. Fields in ``HOUR_FIELDS``
# are entered in whole hours and stored in minutes.
SETTING_RANGES: dict[str, tuple[int, int]] = {
    "takes_balance_below": (-1000, 0),
    "takes_ratio": (1, 100),
    "takes_min_received": (0, 1000),
    "gives_balance_above": (0, 1000),
    "gives_ratio": (1, 100),
    "gives_min_given": (0, 1000),
    "near_limit_percent": (0, 50),
    "review_window_days": (7, 730),
    "inactive_days": (7, 730),
    "remind_after_days": (1, 60),
    "unconfirmed_after_days": (1, 365),
    "unanswered_after_days": (1, 60),
    "expiry_notice_days": (1, 30),
    "help_days_back": (1, 366),
    "retention_days": (365, 10 * 365),
    "pool_cover_minutes": (0, 100),
}
HOUR_FIELDS = (
    "takes_balance_below",
    "takes_min_received",
    "gives_balance_above",
    "gives_min_given",
    "pool_cover_minutes",
)
# One schedule per scheduled job (timebank.jobs.registry names the job of each).
CRON_FIELDS = (
    "review_cron",
    "unconfirmed_cron",
    "unanswered_cron",
    "expiry_cron",
    "digest_cron",
    "summary_cron",
    "retention_cron",
)
# Network-wide balance limits per role (and for organisations and the pool), in whole hours;
# an account's own limits, set on the member's page, go before these.
LIMIT_HOURS = 10_000


@dataclass(frozen=True)
class PolicyChoice:
    reviewed: bool
    pool_help_counts: bool


@dataclass(frozen=True)
class SettingsChange:
    """Everything the settings page edits; numbers in the form's units (hours, days, …)."""

    numbers: dict[str, int]
    crons: dict[str, str]
    unconfirmed_action: str
    policies: dict[str, PolicyChoice] = field(default_factory=dict)
    giver_full_action: str = "hold"
    # holder -> (min, max) in hours; None is "no limit".
    limits: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class SettingsView:
    network: NetworkSettings
    policies: list[ReviewPolicy]
    limits: list[LimitDefault] = field(default_factory=list)

    def form(self) -> dict[str, str]:
        """The current values as the page's form shows them."""
        values = {
            name: str(getattr(self.network, name) // (60 if name in HOUR_FIELDS else 1))
            for name in SETTING_RANGES
        }
        values.update({name: getattr(self.network, name) for name in CRON_FIELDS})
        for name in CRON_FIELDS:
            words = schedules.plain(getattr(self.network, name))
            values[f"{name}_every"] = words.every
            values[f"{name}_day"] = str(words.weekday)
            values[f"{name}_at"] = words.at
        for limit in self.limits:
            for side in ("min", "max"):
                minutes = getattr(limit, f"{side}_minutes")
                shown = "" if minutes is None else str(minutes // 60)
                values[f"limit_{side}_{limit.holder}"] = shown
        values["unconfirmed_action"] = self.network.unconfirmed_action
        values["giver_full_action"] = self.network.giver_full_action
        for policy in self.policies:
            values[f"reviewed_{policy.role}"] = "1" if policy.reviewed else ""
            values[f"pool_help_counts_{policy.role}"] = "1" if policy.pool_help_counts else ""
        return values


async def settings_view(session: AsyncSession, actor: Member) -> SettingsView:
    access.require_edit_network_settings(actor)
    limits = list((await session.exec(select(LimitDefault))).all())
    return SettingsView(await network_settings(session), await role_policies(session), limits)


def _hours_or_none(form: dict[str, str], name: str) -> int | None:
    value = (form.get(name) or "").strip().replace("−", "-")
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise Invalid("please enter a whole number", field=name) from None


def settings_change_from_form(form: dict[str, str]) -> SettingsChange:
    """Read the page's fields; a field that is not a whole number is refused by name."""
    numbers: dict[str, int] = {}
    for name in SETTING_RANGES:
        value = (form.get(name) or "").strip()
        if not value:
            raise Invalid("please fill in this field", field=name)
        try:
            numbers[name] = int(value.replace("−", "-"))
        except ValueError:
            raise Invalid("please enter a whole number", field=name) from None
    policies = {
        role: PolicyChoice(
            reviewed=form.get(f"reviewed_{role}") == "1",
            pool_help_counts=form.get(f"pool_help_counts_{role}") == "1",
        )
        for role in ROLES
    }
    return SettingsChange(
        numbers=numbers,
        crons={
            name: schedules.cron_of(
                name,
                form.get(f"{name}_every") or "cron",
                form.get(f"{name}_day") or "",
                form.get(f"{name}_at") or "",
                form.get(name) or "",
            )
            for name in CRON_FIELDS
        },
        limits={
            holder: (
                _hours_or_none(form, f"limit_min_{holder}"),
                _hours_or_none(form, f"limit_max_{holder}"),
            )
            for holder in LIMIT_HOLDERS
            if f"limit_min_{holder}" in form or f"limit_max_{holder}" in form
        },
        unconfirmed_action=form.get("unconfirmed_action") or "",
        policies=policies,
        giver_full_action=form.get("giver_full_action") or "",
    )


def _check_settings(change: SettingsChange, timezone: str) -> None:
    for name, (low, high) in SETTING_RANGES.items():
        value = change.numbers.get(name)
        if value is None:
            raise Invalid("please fill in this field", field=name)
        if not low <= value <= high:
            raise Invalid("this number is outside the range shown", field=name)
    if change.numbers["unconfirmed_after_days"] <= change.numbers["remind_after_days"]:
        raise Invalid(
            "the deadline must come after the reminder (more days)", field="unconfirmed_after_days"
        )
    for name in CRON_FIELDS:
        try:
            cron_trigger(change.crons.get(name, ""), timezone)
        except Invalid:
            raise Invalid(
                "not a schedule we can read: five fields, minute hour day month weekday, "
                "for example 30 2 * * *",
                field=name,
            ) from None
    if change.unconfirmed_action not in UNCONFIRMED_ACTIONS:
        raise Invalid("please choose one", field="unconfirmed_action")
    if change.giver_full_action not in GIVER_FULL_ACTIONS:
        raise Invalid("please choose one", field="giver_full_action")
    for holder, (lowest, highest) in change.limits.items():
        if holder not in LIMIT_HOLDERS:
            raise Invalid("choose a role from the list", field="limits")
        if lowest is not None and not -LIMIT_HOURS <= lowest <= 0:
            raise Invalid(
                "the lowest balance must be 0 or below (at most {count} hours)",
                field=f"limit_min_{holder}",
                params={"count": LIMIT_HOURS},
            )
        if highest is not None and not 0 <= highest <= LIMIT_HOURS:
            raise Invalid(
                "the highest balance must be 0 or above (at most {count} hours)",
                field=f"limit_max_{holder}",
                params={"count": LIMIT_HOURS},
            )
    unknown = set(change.policies) - set(ROLES)
    if unknown:
        raise Invalid("choose a role from the list", field="policies")


async def update_settings(
    session: AsyncSession, actor: Member, change: SettingsChange
) -> NetworkSettings:
    """Check everything, then save all of it (or nothing). The scheduler picks up new
    schedules within ``SETTINGS_REFRESH``; the next review uses the new thresholds."""
    access.require_edit_network_settings(actor)
    network = await session.get(NetworkSettings, 1)
    if network is None:
        network = NetworkSettings()
    _check_settings(change, network.timezone)
    for name, value in change.numbers.items():
        setattr(network, name, value * 60 if name in HOUR_FIELDS else value)
    for name, expression in change.crons.items():
        setattr(network, name, " ".join(expression.split()))
    network.unconfirmed_action = change.unconfirmed_action
    network.giver_full_action = change.giver_full_action
    network.updated_at = utcnow()
    session.add(network)
    for holder, (low, high) in change.limits.items():
        limit = await session.get(LimitDefault, holder) or LimitDefault(holder=holder)
        limit.min_minutes = None if low is None else low * 60
        limit.max_minutes = None if high is None else high * 60
        session.add(limit)
    for role, choice in change.policies.items():
        policy = await session.get(ReviewPolicy, role) or ReviewPolicy(role=role)
        policy.reviewed = choice.reviewed
        policy.pool_help_counts = choice.pool_help_counts
        session.add(policy)
    await session.flush()
    return network


# --- The network office -----------------------------------------------------------------------


@dataclass(frozen=True)
class Office:
    """The network office as letters, pages and emails show it (issue 9, point 9): a copy of
    the settings, so a page drawn after its transaction ended can still show it. An empty
    field was not given and is left out wherever the office is shown."""

    name: str
    address: str = ""
    phone: str = ""
    hours: str = ""
    contact: str = ""
    email: str = ""

    @property
    def address_lines(self) -> list[str]:
        return [line.strip() for line in self.address.splitlines() if line.strip()]


def office_of(network: NetworkSettings) -> Office:
    return Office(
        name=network.network_name,
        address=network.office_address,
        phone=network.office_phone,
        hours=network.office_hours,
        contact=network.office_contact,
        email=network.office_email,
    )


async def office(session: AsyncSession) -> Office:
    """The network office (its name is the sender of every email and the head of every
    letter). Reads the settings row the session usually holds already."""
    return office_of(await network_settings(session))
