"""Maintenance-window schedules: the next runs of a parsed expression (expressions.py) in a time zone.

Pure module (no AWS calls).

Iteration uses croniter for the calendar work (months, day-of-month, day-of-week, ``L``,
``W``, ``#``) on naive local wall-clock times; this module filters the year (croniter's year
field stops at 2099, AWS allows 1970-2199) and ``LW`` (croniter has no "last weekday"), then
maps every wall-clock time to an instant with :mod:`zoneinfo`.

Daylight saving. AWS does not document what a maintenance window does when its local time is
skipped or repeated. This module chooses, deterministically:

* Nonexistent local time (spring-forward gap, e.g. 01:30 on 2026-03-29 in Europe/London):
  the run is kept and moved forward by the length of the gap, to 02:30 BST (the instant
  01:30 would have been on the old offset; PEP 495 ``fold=0``). If that instant coincides
  with a regular run of the same schedule, the two count as one run.
  ``Run.dst_adjustment`` is ``SHIFTED_FORWARD``.
* Ambiguous local time (fall-back overlap, e.g. 01:30 on 2026-10-25 in Europe/London): the
  run happens once, at the first occurrence (still on summer time, 00:30 UTC); the repeated
  hour produces no second run. ``Run.dst_adjustment`` is ``FIRST_OF_REPEATED``.

``rate()`` runs are anchored at ``start`` and step in elapsed time, so across a change of UTC
offset their local time moves by the size of the change.
"""

from __future__ import annotations

import calendar
import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

from hygiene_cli.expressions import AtSchedule, CronSchedule, RateSchedule, Schedule, ScheduleError

__all__ = [
    "DstAdjustment",
    "Run",
    "next_runs",
    "resolve_wall_clock",
    "time_zone",
    "validate_schedule_offset",
]

SCHEDULE_OFFSET_DAYS: Final = range(1, 7)
"""ScheduleOffset of AWS::SSM::MaintenanceWindow: 1-6 days, cron schedules only."""

# Any later wall-clock time maps to an instant no earlier than this much before it
# (UTC offsets stay within -12h..+14h).
_OFFSET_MARGIN: Final = timedelta(days=1)


class DstAdjustment(StrEnum):
    """How a run's wall-clock time was mapped to an instant around a UTC-offset change."""

    NONE = "none"
    SHIFTED_FORWARD = "shifted-forward"
    """The local time does not exist (clocks went forward); run moved forward by the gap."""
    FIRST_OF_REPEATED = "first-of-repeated"
    """The local time happens twice (clocks went back); run at the first occurrence only."""


@dataclass(frozen=True, slots=True)
class Run:
    """One maintenance-window run.

    ``utc_offset_changed`` is true when the zone's UTC offset differs from the previous run's
    (for the first run: from the offset at ``start``). ``wall_clock`` is the naive local time
    the schedule names; it differs from ``local`` only for ``SHIFTED_FORWARD`` runs.
    """

    local: datetime
    utc: datetime
    utc_offset_changed: bool
    wall_clock: datetime
    dst_adjustment: DstAdjustment = DstAdjustment.NONE


# ------------------------------------------------------------------------- iteration


def time_zone(name: str) -> ZoneInfo:
    """Load an IANA time zone, raising ScheduleError that names it when it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(
            f"unknown time zone '{name}'; expected an IANA name such as Europe/London"
        ) from exc


def resolve_wall_clock(wall_clock: datetime, zone: ZoneInfo) -> tuple[datetime, DstAdjustment]:
    """Map a naive local wall-clock time to an aware local time, by the module's DST rules.

    A nonexistent time moves forward by the gap (``SHIFTED_FORWARD``); an ambiguous time
    resolves to its first occurrence (``FIRST_OF_REPEATED``).
    """
    first = wall_clock.replace(tzinfo=zone, fold=0)
    second = wall_clock.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first, DstAdjustment.NONE
    normalised = first.astimezone(UTC).astimezone(zone)
    if normalised.replace(tzinfo=None) != wall_clock:
        return normalised, DstAdjustment.SHIFTED_FORWARD
    return first, DstAdjustment.FIRST_OF_REPEATED


def validate_schedule_offset(schedule: Schedule, offset_days: int) -> None:
    """Check a maintenance window's ScheduleOffset (0 meaning none) against its schedule."""
    if offset_days == 0:
        return
    if offset_days not in SCHEDULE_OFFSET_DAYS:
        raise ScheduleError(f"ScheduleOffset {offset_days}: must be 1-6 days")
    if not isinstance(schedule, CronSchedule):
        raise ScheduleError(
            f"ScheduleOffset {offset_days}: only cron schedules take an offset, not '{schedule.expression}'"
        )


def next_runs(schedule: Schedule, tz: str, start: datetime, count: int, *, offset_days: int = 0) -> list[Run]:
    """The first ``count`` runs at or after ``start`` (aware), in time zone ``tz``.

    ``offset_days`` is the window's ScheduleOffset: each cron occurrence at or after
    ``start`` runs that many days later at the same local time. (As AWS documents, an
    occurrence before ``start`` whose offset day falls after it does not run.)
    """
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start must be timezone-aware")
    if count < 0:
        raise ValueError("count must not be negative")
    zone = time_zone(tz)
    validate_schedule_offset(schedule, offset_days)
    start_utc = start.astimezone(UTC)

    match schedule:
        case CronSchedule():
            candidates = _cron_runs(schedule, zone, start_utc, timedelta(days=offset_days))
        case RateSchedule():
            candidates = _rate_runs(schedule, zone, start_utc)
        case AtSchedule():
            candidates = _at_runs(schedule, zone, start_utc)

    runs: list[Run] = []
    previous_offset = start.astimezone(zone).utcoffset()
    for utc, local, wall_clock, adjustment in candidates:
        if len(runs) >= count:
            break
        if runs and utc == runs[-1].utc:
            continue  # a run shifted out of a DST gap landed on a regular run
        offset = local.utcoffset()
        runs.append(Run(local, utc, offset != previous_offset, wall_clock, adjustment))
        previous_offset = offset
    return runs


type _Candidate = tuple[datetime, datetime, datetime, DstAdjustment]  # utc, local, wall, adj


def _cron_runs(
    schedule: CronSchedule, zone: ZoneInfo, start_utc: datetime, offset: timedelta
) -> Iterator[_Candidate]:
    """Runs in UTC order. Resolving DST can reorder wall-clock times, so hold candidates in
    a heap until no later wall-clock time can map to an earlier instant."""
    pending: list[_Candidate] = []
    after = start_utc.astimezone(zone).replace(tzinfo=None) - _OFFSET_MARGIN
    for occurrence in _cron_wall_clock(schedule, after):
        fires, _ = resolve_wall_clock(occurrence, zone)
        if fires < start_utc:
            continue
        wall_clock = occurrence + offset
        local, adjustment = resolve_wall_clock(wall_clock, zone)
        heapq.heappush(pending, (local.astimezone(UTC), local, wall_clock, adjustment))
        settled = wall_clock.replace(tzinfo=UTC) - _OFFSET_MARGIN
        while pending and pending[0][0] < settled:
            yield heapq.heappop(pending)
    while pending:
        yield heapq.heappop(pending)


def _cron_wall_clock(schedule: CronSchedule, after: datetime) -> Iterator[datetime]:
    """Naive local times strictly after ``after`` that match the expression."""
    years = frozenset(schedule.years)
    cursor = after
    while True:
        times = croniter(schedule.croniter_expression, cursor)
        while True:
            try:
                wall_clock = times.get_next(datetime)
            except CroniterBadDateError:
                return  # croniter found no match within its search horizon
            if wall_clock.year not in years:
                break
            if schedule.last_weekday_of_month and wall_clock.day != _last_weekday(
                wall_clock.year, wall_clock.month
            ):
                continue
            yield wall_clock
        later_years = [year for year in schedule.years if year > wall_clock.year]
        if not later_years:
            return
        cursor = datetime(later_years[0], 1, 1) - timedelta(minutes=1)


def _last_weekday(year: int, month: int) -> int:
    last_day = calendar.monthrange(year, month)[1]
    weekday = calendar.weekday(year, month, last_day)  # Monday=0 .. Sunday=6
    return last_day - max(0, weekday - 4)


def _rate_runs(schedule: RateSchedule, zone: ZoneInfo, start_utc: datetime) -> Iterator[_Candidate]:
    utc = start_utc
    while True:
        local = utc.astimezone(zone)
        yield utc, local, local.replace(tzinfo=None), DstAdjustment.NONE
        try:
            utc += schedule.interval
        except OverflowError:
            return  # past datetime.max


def _at_runs(schedule: AtSchedule, zone: ZoneInfo, start_utc: datetime) -> Iterator[_Candidate]:
    local, adjustment = resolve_wall_clock(schedule.wall_clock, zone)
    utc = local.astimezone(UTC)
    if utc >= start_utc:
        yield utc, local, schedule.wall_clock, adjustment
