"""Maintenance-window schedule expressions: parse and validate them (schedule.py lists the runs).

Pure module (no AWS calls). It understands the three forms AWS Systems Manager accepts in a
maintenance window's ``Schedule``:

``cron(minutes hours day-of-month month day-of-week year)``
    Exactly six fields (the optional leading seconds field AWS also accepts is rejected here).
    ``?`` must appear in exactly one of day-of-month and day-of-week. Day-of-week counts
    1=SUN .. 7=SAT (AWS/Quartz numbering, not Unix 0-6). Day-of-month takes ``L`` (last day),
    ``LW`` (last weekday) and ``nW`` (weekday nearest day n, never leaving the month);
    day-of-week takes ``L`` (the last day of the week, SAT), ``nL`` (last day n of the month,
    e.g. ``6L`` = last Friday) and ``n#k`` (k-th day n, e.g. ``2#1`` = first Monday). These
    special forms stand alone in their field. Ranges must not wrap (``FRI-MON`` is rejected).
    Names (``JAN``, ``MON``) and ``L``/``W`` are case-insensitive.
``rate(value unit)``
    ``minute``/``hour``/``day`` when the value is 1, ``minutes``/``hours``/``days`` otherwise.
``at(yyyy-mm-ddThh:mm:ss)``
    One run. The timestamp is read as wall-clock time in the window's time zone (as
    EventBridge Scheduler documents for its ``at()``); the SSM documentation only calls it
    "UTC format", so this is an assumption.

The five-minute floor: the SSM user guide ("Reference: Cron and rate expressions for Systems
Manager") says "Cron expressions that lead to rates faster than five (5) minute aren't
supported". It documents no minimum for ``rate()`` (the value is "a positive number"); the
same five-minute floor is applied to ``rate(N minutes)`` by analogy, which is UNVERIFIED
against the API.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

__all__ = [
    "MINIMUM_INTERVAL",
    "AtSchedule",
    "CronSchedule",
    "RateSchedule",
    "Schedule",
    "ScheduleError",
    "parse_schedule",
]

MINIMUM_INTERVAL: Final = timedelta(minutes=5)
"""AWS: "Cron expressions that lead to rates faster than five (5) minute aren't supported"."""


class ScheduleError(ValueError):
    """A schedule expression, time zone or schedule offset that AWS would not accept."""


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """A validated ``cron(...)`` expression.

    The numeric fields use AWS numbering (``days_of_week`` 1=SUN .. 7=SAT); an empty
    ``days_of_month`` / ``days_of_week`` means the field is ``?`` or uses a special form,
    spelled out in ``croniter_expression``.
    """

    expression: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days_of_month: tuple[int, ...]
    months: tuple[int, ...]
    days_of_week: tuple[int, ...]
    years: tuple[int, ...]
    croniter_expression: str
    """Five-field croniter equivalent (minute hour dom month dow, Unix 0=SUN numbering)."""
    last_weekday_of_month: bool = False
    """``LW``: croniter lacks it, so croniter yields days 26-31 and this module filters."""


@dataclass(frozen=True, slots=True)
class RateSchedule:
    """A validated ``rate(value unit)`` expression."""

    expression: str
    value: int
    unit: str
    interval: timedelta


@dataclass(frozen=True, slots=True)
class AtSchedule:
    """A validated ``at(yyyy-mm-ddThh:mm:ss)`` expression (naive local wall-clock time)."""

    expression: str
    wall_clock: datetime


type Schedule = CronSchedule | RateSchedule | AtSchedule


# --------------------------------------------------------------------------- parsing


_MONTH_NAMES: Final = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")  # fmt: skip
_DAY_NAMES: Final = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_DAYS_IN_MONTH: Final = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # leap-year Feb


@dataclass(frozen=True, slots=True)
class _Field:
    position: int
    name: str
    low: int
    high: int
    aliases: Mapping[str, int]

    @property
    def bounds(self) -> str:
        text = f"{self.low}-{self.high}"
        if self.aliases:
            names = sorted(self.aliases, key=self.aliases.__getitem__)
            text += f" ({names[0]}-{names[-1]})"
        return text

    def error(self, text: str, problem: str) -> ScheduleError:
        return ScheduleError(f"cron field {self.position} ({self.name}) '{text}': {problem}")


_MINUTES: Final = _Field(1, "minutes", 0, 59, {})
_HOURS: Final = _Field(2, "hours", 0, 23, {})
_DAY_OF_MONTH: Final = _Field(3, "day-of-month", 1, 31, {})
_MONTH: Final = _Field(4, "month", 1, 12, {n: i for i, n in enumerate(_MONTH_NAMES, 1)})
_DAY_OF_WEEK: Final = _Field(5, "day-of-week", 1, 7, {n: i for i, n in enumerate(_DAY_NAMES, 1)})
_YEAR: Final = _Field(6, "year", 1970, 2199, {})
_FIELDS: Final = (_MINUTES, _HOURS, _DAY_OF_MONTH, _MONTH, _DAY_OF_WEEK, _YEAR)

_ELEMENT: Final = re.compile(r"(?P<start>\*|[0-9A-Za-z]+)(?:-(?P<end>[0-9A-Za-z]+))?(?:/(?P<step>[^/]*))?")
_NEAREST_WEEKDAY: Final = re.compile(r"([0-9]+)W")
_DAY_TOKEN: Final = r"([0-9]+|" + "|".join(_DAY_NAMES) + r")"
_LAST_DAY_OF_WEEK: Final = re.compile(_DAY_TOKEN + r"L")
_NTH_DAY_OF_WEEK: Final = re.compile(_DAY_TOKEN + r"#([0-9]*)")
_RATE_UNITS: Final = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
_AT: Final = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})")


def parse_schedule(expr: str) -> Schedule:
    """Parse and validate a maintenance-window schedule expression.

    Raises ScheduleError naming the offending field (by name and position) when AWS would
    reject the expression or when it can never fire.
    """
    text = expr.strip()
    for keyword, parse in (("cron", _parse_cron), ("rate", _parse_rate), ("at", _parse_at)):
        if text.startswith(f"{keyword}(") and text.endswith(")"):
            return parse(text, text[len(keyword) + 1 : -1])
    raise ScheduleError(
        f"schedule '{expr}': expected cron(...), rate(...) or at(...),"
        " e.g. cron(0 9 ? * TUE#2 *), rate(7 days) or at(2026-07-07T15:55:00)"
    )


def _parse_cron(expression: str, body: str) -> CronSchedule:
    texts = body.split()
    if len(texts) != len(_FIELDS):
        hint = " (the optional leading seconds field is not supported)" if len(texts) == 7 else ""
        raise ScheduleError(
            f"cron: expected 6 fields (minutes hours day-of-month month day-of-week year),"
            f" got {len(texts)}{hint}"
        )
    minutes_text, hours_text, dom_text, month_text, dow_text, year_text = texts
    if (dom_text == "?") == (dow_text == "?"):
        found = "both are '?'" if dom_text == "?" else f"found '{dom_text}' and '{dow_text}'"
        raise ScheduleError(
            f"cron: use '?' in exactly one of day-of-month (field 3) and day-of-week (field 5); {found}"
        )

    minutes = _parse_values(_MINUTES, minutes_text)
    hours = _parse_values(_HOURS, hours_text)
    dom_values, dom_cron, last_weekday = _parse_day_of_month(dom_text)
    months = _parse_values(_MONTH, month_text)
    dow_values, dow_cron = _parse_day_of_week(dow_text)
    years = _parse_values(_YEAR, year_text)

    _check_minimum_interval(minutes_text, minutes, hours)
    _check_day_can_occur(dom_text, dom_values, month_text, months)

    croniter_expression = " ".join(
        (_cron_list(minutes), _cron_list(hours), dom_cron, _cron_list(months, 12), dow_cron)
    )
    return CronSchedule(
        expression=expression,
        minutes=minutes,
        hours=hours,
        days_of_month=dom_values,
        months=months,
        days_of_week=dow_values,
        years=years,
        croniter_expression=croniter_expression,
        last_weekday_of_month=last_weekday,
    )


def _parse_values(field: _Field, text: str) -> tuple[int, ...]:
    """Expand a list of values, ranges and steps (``,`` ``-`` ``*`` ``/``) into a sorted set."""
    values: set[int] = set()
    for element in text.split(","):
        values.update(_parse_element(field, text, element))
    return tuple(sorted(values))


def _parse_element(field: _Field, text: str, element: str) -> range:
    if not element:
        raise field.error(text, "empty value in list")
    if "?" in element:
        if field in (_DAY_OF_MONTH, _DAY_OF_WEEK):
            raise field.error(text, "'?' must be used alone")
        raise field.error(text, "'?' is only allowed in day-of-month (field 3) or day-of-week (field 5)")
    match = _ELEMENT.fullmatch(element)
    if match is None:
        raise field.error(text, f"cannot read{_which(text, element)}; {_expected(field)}")
    start, end, step_text = match.group("start", "end", "step")
    step = 1
    if step_text is not None:
        if not step_text.isdigit() or int(step_text) < 1:
            raise field.error(text, f"step '{step_text}' after '/' must be a whole number of at least 1")
        step = int(step_text)
    if start == "*":
        if end is not None:
            raise field.error(text, "'*' cannot start a range")
        return range(field.low, field.high + 1, step)
    first = _parse_value(field, text, start)
    if end is None:
        last = field.high if step_text is not None else first
    else:
        last = _parse_value(field, text, end)
        if first > last:
            raise field.error(
                text,
                f"range{_which(text, element)} starts after it ends (wrap-around ranges are not supported)",
            )
    return range(first, last + 1, step)


def _parse_value(field: _Field, text: str, token: str) -> int:
    if token.isdigit():
        value = int(token)
    elif token.upper() in field.aliases:
        value = field.aliases[token.upper()]
    elif field.aliases:
        raise field.error(text, f"unknown name{_which(text, token)}; expected {field.bounds}")
    else:
        special = (
            " (L, W and # are only allowed in the day fields)"
            if field in (_MINUTES, _HOURS, _MONTH, _YEAR) and re.search("[LWlw]", token)
            else ""
        )
        raise field.error(text, f"'{token}' is not a number{special}")
    if not field.low <= value <= field.high:
        raise field.error(text, f"value{_which(text, token)} out of range {field.bounds}")
    return value


def _parse_day_of_month(text: str) -> tuple[tuple[int, ...], str, bool]:
    """Return (plain days, croniter token, last-weekday flag)."""
    field = _DAY_OF_MONTH
    upper = text.upper()
    if upper == "?":
        return (), "*", False
    if upper == "L":
        return (), "l", False
    if upper == "LW":
        return (), "26-31", True  # the last weekday always falls on day 26-31
    nearest = _NEAREST_WEEKDAY.fullmatch(upper)
    if nearest is not None:
        day = int(nearest.group(1))
        if not field.low <= day <= field.high:
            raise field.error(text, f"day before 'W' out of range {field.bounds}")
        return (day,), f"{day}w", False
    if re.search("[LW]", upper):
        raise field.error(
            text,
            "'L' and 'W' must be used alone as L, LW or nW (e.g. 15W), not in a list, range or step",
        )
    days = _parse_values(field, text)
    return days, _cron_list(days, 31), False


def _parse_day_of_week(text: str) -> tuple[tuple[int, ...], str]:
    """Return (plain days in AWS numbering, croniter token in Unix numbering)."""
    field = _DAY_OF_WEEK
    upper = text.upper()
    if upper == "?":
        return (), "*"
    if upper == "L":
        return (7,), "6"  # the last day of the week: SAT
    last = _LAST_DAY_OF_WEEK.fullmatch(upper)
    if last is not None:
        day = _parse_value(field, text, last.group(1))
        return (), f"L{day - 1}"
    nth = _NTH_DAY_OF_WEEK.fullmatch(upper)
    if nth is not None:
        day = _parse_value(field, text, nth.group(1))
        if not nth.group(2).isdigit() or not 1 <= int(nth.group(2)) <= 5:
            raise field.error(text, "the number after '#' must be 1-5 (which week of the month)")
        return (), f"{day - 1}#{int(nth.group(2))}"
    # Day names hold no 'L', so an 'L' outside a name is a misplaced special form.
    if "#" in upper or any(("L" in e and not e.isalpha()) or e == "L" for e in upper.split(",")):
        raise field.error(
            text,
            "'L' and '#' must be used alone as L, nL (e.g. 6L) or n#k (e.g. 2#1),"
            " not in a list, range or step",
        )
    days = _parse_values(field, text)
    return days, _cron_list(tuple(day - 1 for day in days), 7)


def _check_minimum_interval(text: str, minutes: tuple[int, ...], hours: tuple[int, ...]) -> None:
    """Reject minute patterns that fire less than five minutes apart.

    The gap from the last minute of an hour to the first minute of the next counts only when
    the hours field holds two consecutive hours (23 and 0 count as consecutive).
    """
    gaps = [(later - earlier, f"{earlier} to {later}") for earlier, later in itertools.pairwise(minutes)]
    hour_set = set(hours)
    if len(minutes) > 1 and any((hour + 1) % 24 in hour_set for hour in hour_set):
        gaps.append((minutes[0] + 60 - minutes[-1], f"{minutes[-1]} to {minutes[0]} of the next hour"))
    if not gaps:
        return
    gap, where = min(gaps)
    if timedelta(minutes=gap) < MINIMUM_INTERVAL:
        raise _MINUTES.error(
            text,
            f"runs {gap} minute{'s' if gap != 1 else ''} apart (minute {where});"
            " AWS does not support schedules more frequent than every 5 minutes",
        )


def _check_day_can_occur(
    dom_text: str, days: tuple[int, ...], month_text: str, months: tuple[int, ...]
) -> None:
    if days and min(days) > max(_DAYS_IN_MONTH[month - 1] for month in months):
        raise _DAY_OF_MONTH.error(dom_text, f"never occurs in month field (field 4) '{month_text}'")


def _cron_list(values: tuple[int, ...], size: int = 0) -> str:
    """croniter spelling of an explicit value set; ``*`` when it is the whole field."""
    if size and len(values) == size:
        return "*"
    return ",".join(str(value) for value in values)


def _which(text: str, part: str) -> str:
    return "" if part == text else f" '{part}'"


def _expected(field: _Field) -> str:
    names = " or a name" if field.aliases else ""
    return f"expected a number{names} in {field.bounds}, '*', a range a-b or a step a/n"


def _parse_rate(expression: str, body: str) -> RateSchedule:
    parts = body.split()
    if len(parts) != 2:
        raise ScheduleError(f"rate: expected rate(value unit), e.g. rate(30 minutes); got '{expression}'")
    value_text, unit = parts
    if not value_text.isdigit() or int(value_text) < 1:
        raise ScheduleError(f"rate field 1 (value) '{value_text}': must be a positive whole number")
    value = int(value_text)
    singular = unit.removesuffix("s")
    if singular not in _RATE_UNITS:
        raise ScheduleError(f"rate field 2 (unit) '{unit}': expected minute(s), hour(s) or day(s)")
    if value == 1 and unit != singular:
        raise ScheduleError(f"rate field 2 (unit) '{unit}': use '{singular}' when the value is 1")
    if value != 1 and unit == singular:
        raise ScheduleError(f"rate field 2 (unit) '{unit}': use '{singular}s' when the value is not 1")
    try:
        interval = value * _RATE_UNITS[singular]
    except OverflowError:
        raise ScheduleError(f"rate field 1 (value) '{value_text}': too large") from None
    if interval < MINIMUM_INTERVAL:
        raise ScheduleError(
            f"rate field 1 (value) '{value_text}': every {value} {unit} is more frequent than"
            " every 5 minutes, the AWS minimum for cron schedules (assumed for rate as well)"
        )
    return RateSchedule(expression=expression, value=value, unit=f"{singular}s", interval=interval)


def _parse_at(expression: str, body: str) -> AtSchedule:
    match = _AT.fullmatch(body)
    if match is None:
        raise ScheduleError(f"at: '{body}' is not yyyy-mm-ddThh:mm:ss, e.g. at(2026-07-07T15:55:00)")
    try:
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        wall_clock = datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        raise ScheduleError(f"at: '{body}' is not a valid date and time: {exc}") from exc
    return AtSchedule(expression=expression, wall_clock=wall_clock)
