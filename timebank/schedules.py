"""Schedules as the manager writes them: crontab's five fields (minute hour day month
weekday), read into APScheduler triggers in the network's time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from timebank.errors import Invalid

_CRONTAB_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _crontab_weekdays(value: str) -> str:
    # APScheduler 3 counts weekdays from Monday = 0; crontab from Sunday = 0 (and 7).
    def name(match: re.Match[str]) -> str:
        number = int(match.group(0))
        if number > 7:
            raise Invalid(
                "there is no weekday {number} (use 0 to 7, or mon to sun)",
                field="cron",
                params={"number": number},
            )
        return _CRONTAB_DAYS[number]

    return re.sub(r"(?<![/\d])\d+", name, value)


def cron_trigger(expression: str, timezone: str) -> CronTrigger:
    """A cron expression as crontab writes it (minute hour day month weekday), optionally
    with seconds in front; weekdays as crontab numbers (0 or 7 = Sunday) or names."""
    fields = expression.split()
    if len(fields) == 5:
        fields.insert(0, "0")
    if len(fields) != 6:
        raise Invalid(
            "a schedule needs five fields (minute hour day month weekday): '{expression}'",
            field="cron",
            params={"expression": expression},
        )
    second, minute, hour, day, month, weekday = fields
    try:
        return CronTrigger(
            second=second,
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=_crontab_weekdays(weekday),
            timezone=ZoneInfo(timezone),
        )
    except (ValueError, KeyError):
        # APScheduler's reason is English library text: the sentence names the schedule only.
        raise Invalid(
            "this schedule cannot be read: '{expression}'",
            field="cron",
            params={"expression": expression},
        ) from None


_LOOKBACK = (
    timedelta(seconds=2),
    timedelta(minutes=1),
    timedelta(hours=1),
    timedelta(days=1),
    timedelta(days=8),
    timedelta(days=32),
    timedelta(days=367),
)


def latest_tick(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The last time at or before ``now`` that the schedule fired (UTC), or None."""
    for window in _LOOKBACK:
        tick = trigger.get_next_fire_time(None, now - window)
        last = None
        while tick is not None and tick <= now:
            last = tick
            tick = trigger.get_next_fire_time(tick, tick + timedelta(microseconds=1))
        if last is not None:
            return last.astimezone(UTC)
    return None


# --- Schedules in plain words (issue 11, point 7) ---------------------------------------------

# How the settings page offers a schedule: every day at a time, every week on a day at a
# time, or a cron expression for the experts.
EVERY = ("daily", "weekly", "cron")
_PLAIN = re.compile(r"^(\d{1,2}) (\d{1,2}) \* \* (\*|[0-7])$")
_TIME = re.compile(r"^(\d{1,2})[:.](\d{2})$")


@dataclass(frozen=True)
class Plain:
    """A schedule as words: ``every`` is daily, weekly or cron; ``weekday`` counts from
    Monday = 0 (weekly only); ``at`` is "HH:MM"."""

    every: str
    weekday: int = 0
    at: str = ""


def plain(expression: str) -> Plain:
    """The words for a cron expression, when it is one a person would say in words."""
    found = _PLAIN.match(" ".join(expression.split()))
    if found is None:
        return Plain("cron")
    minute, hour, weekday = int(found.group(1)), int(found.group(2)), found.group(3)
    if minute > 59 or hour > 23:
        return Plain("cron")
    at = f"{hour:02d}:{minute:02d}"
    if weekday == "*":
        return Plain("daily", at=at)
    # crontab: 0 and 7 are Sunday; here Monday is 0.
    return Plain("weekly", weekday=(int(weekday) - 1) % 7, at=at)


def cron_of(field: str, every: str, weekday: str, at: str, expression: str) -> str:
    """The cron expression for what the settings page chose; errors name the field
    (``<field>_at``, ``<field>_day``, ``<field>``)."""
    if every == "cron":
        return expression.strip()
    if every not in EVERY:
        raise Invalid("please choose one", field=f"{field}_every")
    found = _TIME.match(at.strip())
    if found is None or int(found.group(1)) > 23 or int(found.group(2)) > 59:
        raise Invalid("please give a time such as 02:30", field=f"{field}_at")
    hour, minute = int(found.group(1)), int(found.group(2))
    if every == "daily":
        return f"{minute} {hour} * * *"
    if weekday not in {str(d) for d in range(7)}:
        raise Invalid("please choose a weekday", field=f"{field}_day")
    return f"{minute} {hour} * * {(int(weekday) + 1) % 7}"
