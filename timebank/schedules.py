"""Schedules as the manager writes them: crontab's five fields (minute hour day month
weekday), read into APScheduler triggers in the network's time zone."""

from __future__ import annotations

import re
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
