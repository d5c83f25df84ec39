"""hygiene_cli.expressions: maintenance-window schedule expressions, validated as AWS does and parsed."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from hygiene_cli.expressions import (
    AtSchedule,
    CronSchedule,
    RateSchedule,
    ScheduleError,
    parse_schedule,
)

# --------------------------------------------------------------------------- invalid


INVALID = [
    # (expression, text the message must contain: the field by name and position)
    ("cron(0 9 * * *)", "cron: expected 6 fields"),
    ("cron(0 0 9 ? * * *)", "got 7 (the optional leading seconds field is not supported)"),
    ("cron(0 9 ? * ? *)", "use '?' in exactly one of day-of-month (field 3) and day-of-week (field 5)"),
    ("cron(0 9 1 * MON *)", "use '?' in exactly one of day-of-month (field 3) and day-of-week (field 5)"),
    ("cron(60 9 ? * * *)", "cron field 1 (minutes) '60': value out of range 0-59"),
    ("cron(0 24 ? * * *)", "cron field 2 (hours) '24': value out of range 0-23"),
    ("cron(0 9 32 * ? *)", "cron field 3 (day-of-month) '32': value out of range 1-31"),
    ("cron(0 9 0 * ? *)", "cron field 3 (day-of-month) '0': value out of range 1-31"),
    ("cron(0 9 ? 13 * *)", "cron field 4 (month) '13': value out of range 1-12 (JAN-DEC)"),
    ("cron(0 9 ? * 8 *)", "cron field 5 (day-of-week) '8': value out of range 1-7 (SUN-SAT)"),
    ("cron(0 9 ? * 0 *)", "cron field 5 (day-of-week) '0': value out of range 1-7 (SUN-SAT)"),
    ("cron(0 9 ? * MON,8 *)", "cron field 5 (day-of-week) 'MON,8': value '8' out of range 1-7"),
    ("cron(0 9 ? * * 1969)", "cron field 6 (year) '1969': value out of range 1970-2199"),
    ("cron(0 9 ? * * 2200)", "cron field 6 (year) '2200': value out of range 1970-2199"),
    ("cron(*/2 * ? * * *)", "cron field 1 (minutes) '*/2': runs 2 minutes apart"),
    ("cron(0,3 * ? * * *)", "cron field 1 (minutes) '0,3': runs 3 minutes apart"),
    ("cron(0,58 * ? * * *)", "cron field 1 (minutes) '0,58': runs 2 minutes apart (minute 58 to 0 of"),
    ("cron(0,56 9,10 ? * * *)", "cron field 1 (minutes) '0,56': runs 4 minutes apart"),
    ("cron(? 9 * * ? *)", "cron field 1 (minutes) '?': '?' is only allowed in day-of-month"),
    ("cron(0 9 ?,1 * ? *)", "cron field 3 (day-of-month) '?,1': '?' must be used alone"),
    ("cron(0 L ? * * *)", "cron field 2 (hours) 'L': 'L' is not a number"),
    ("cron(0 9 ? FOO * *)", "cron field 4 (month) 'FOO': unknown name; expected 1-12 (JAN-DEC)"),
    ("cron(0 9 ? * FUN *)", "cron field 5 (day-of-week) 'FUN': unknown name; expected 1-7 (SUN-SAT)"),
    ("cron(0 9 ? * FRI-MON *)", "cron field 5 (day-of-week) 'FRI-MON': range starts after it ends"),
    ("cron(0 9 ? * * 2027-2026)", "cron field 6 (year) '2027-2026': range starts after it ends"),
    ("cron(0 9 ? * MON#6 *)", "cron field 5 (day-of-week) 'MON#6': the number after '#' must be 1-5"),
    ("cron(0 9 ? * 2#1,4#1 *)", "cron field 5 (day-of-week) '2#1,4#1': 'L' and '#' must be used alone"),
    ("cron(0 9 ? * 6L,2 *)", "cron field 5 (day-of-week) '6L,2': 'L' and '#' must be used alone"),
    ("cron(0 9 ? * 9L *)", "cron field 5 (day-of-week) '9L': value '9' out of range 1-7"),
    ("cron(0 9 L,15 * ? *)", "cron field 3 (day-of-month) 'L,15': 'L' and 'W' must be used alone"),
    ("cron(0 9 1-15W * ? *)", "cron field 3 (day-of-month) '1-15W': 'L' and 'W' must be used alone"),
    ("cron(0 9 32W * ? *)", "cron field 3 (day-of-month) '32W': day before 'W' out of range 1-31"),
    ("cron(0 9 30 FEB ? *)", "cron field 3 (day-of-month) '30': never occurs in month field"),
    ("cron(0/0 9 ? * * *)", "cron field 1 (minutes) '0/0': step '0' after '/'"),
    ("cron(0 9 1,,2 * ? *)", "cron field 3 (day-of-month) '1,,2': empty value in list"),
    ("cron(0 9-/2 ? * * *)", "cron field 2 (hours) '9-/2': cannot read"),
    ("rate(0 minutes)", "rate field 1 (value) '0': must be a positive whole number"),
    ("rate(1 hours)", "rate field 2 (unit) 'hours': use 'hour' when the value is 1"),
    ("rate(5 hour)", "rate field 2 (unit) 'hour': use 'hours' when the value is not 1"),
    ("rate(2 minutes)", "rate field 1 (value) '2': every 2 minutes is more frequent than every 5 minutes"),
    ("rate(7 weeks)", "rate field 2 (unit) 'weeks': expected minute(s), hour(s) or day(s)"),
    ("rate(7)", "rate: expected rate(value unit)"),
    ("rate(99999999999 days)", "rate field 1 (value) '99999999999': too large"),
    ("at(2026-02-30T10:00:00)", "at: '2026-02-30T10:00:00' is not a valid date and time"),
    ("at(2026-07-07 15:55:00)", "at: '2026-07-07 15:55:00' is not yyyy-mm-ddThh:mm:ss"),
    ("every day at 9", "expected cron(...), rate(...) or at(...)"),
]


@pytest.mark.parametrize(("expr", "message"), INVALID, ids=[expr for expr, _ in INVALID])
def test_given_an_expression_aws_rejects_when_parsed_then_the_error_names_the_field(
    expr: str, message: str
) -> None:
    # Given an invalid expression / When it is parsed / Then the message points at the bad part
    with pytest.raises(ScheduleError) as error:
        parse_schedule(expr)

    assert message in str(error.value)


def test_given_a_schedule_error_then_it_is_a_value_error() -> None:
    assert issubclass(ScheduleError, ValueError)


# ----------------------------------------------------------------------------- valid


@pytest.mark.parametrize(
    ("expr", "croniter_expression"),
    [
        ("cron(0 9 ? * MON-FRI *)", "0 9 * * 1,2,3,4,5"),
        ("cron(0 9 ? * 1,7 *)", "0 9 * * 0,6"),
        ("cron(0 9 ? * * *)", "0 9 * * *"),
        ("cron(15 10 ? * 6L *)", "15 10 * * L5"),
        ("cron(30 23 ? * TUE#3 *)", "30 23 * * 2#3"),
        ("cron(0 2 L * ? *)", "0 2 l * *"),
        ("cron(0 2 15W * ? *)", "0 2 15w * *"),
        ("cron(0 2 1 JAN,jul ? *)", "0 2 1 1,7 *"),
    ],
)
def test_given_aws_fields_when_parsed_then_they_translate_to_croniter_syntax(
    expr: str, croniter_expression: str
) -> None:
    schedule = parse_schedule(expr)

    assert isinstance(schedule, CronSchedule)
    assert schedule.croniter_expression == croniter_expression


def test_given_last_weekday_when_parsed_then_croniter_gets_days_26_to_31_and_we_filter() -> None:
    schedule = parse_schedule("cron(0 18 LW * ? *)")

    assert isinstance(schedule, CronSchedule)
    assert schedule.croniter_expression == "0 18 26-31 * *"
    assert schedule.last_weekday_of_month


def test_given_the_three_forms_when_parsed_then_each_has_its_own_frozen_type() -> None:
    cron = parse_schedule("  cron(0 9 ? * MON *)  ")
    rate = parse_schedule("rate(7 days)")
    once = parse_schedule("at(2026-07-07T15:55:00)")

    assert isinstance(cron, CronSchedule)
    assert cron.expression == "cron(0 9 ? * MON *)"
    assert cron.days_of_week == (2,)
    assert rate == RateSchedule("rate(7 days)", 7, "days", timedelta(days=7))
    assert once == AtSchedule("at(2026-07-07T15:55:00)", datetime(2026, 7, 7, 15, 55))
    with pytest.raises(dataclasses.FrozenInstanceError):
        cron.expression = "rate(1 day)"  # type: ignore[misc]
