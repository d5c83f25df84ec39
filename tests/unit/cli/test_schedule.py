"""hygiene_cli.schedule: a parsed schedule's next runs in a time zone, daylight saving and offsets."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from hygiene_cli.expressions import (
    ScheduleError,
    parse_schedule,
)
from hygiene_cli.schedule import DstAdjustment, next_runs, resolve_wall_clock

LONDON = "Europe/London"
NEW_YORK = "America/New_York"
SYDNEY = "Australia/Sydney"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def utc_times(expr: str, tz: str, start: str, count: int, offset_days: int = 0) -> list[datetime]:
    runs = next_runs(parse_schedule(expr), tz, utc(start), count, offset_days=offset_days)
    return [run.utc for run in runs]


# ----------------------------------------------------------------------------- valid


VALID = [
    # (expression, first runs from 2026-01-01T00:00Z in UTC; 2026-01-01 is a Thursday)
    ("cron(0 9 ? * * *)", ["2026-01-01T09:00", "2026-01-02T09:00"]),
    ("cron(30 09 * * ? *)", ["2026-01-01T09:30", "2026-01-02T09:30"]),
    ("cron(15 10 ? * MON-FRI *)", ["2026-01-01T10:15", "2026-01-02T10:15", "2026-01-05T10:15"]),
    ("cron(0 2 ? * THU#3 *)", ["2026-01-15T02:00", "2026-02-19T02:00"]),
    ("cron(0 6 ? * sun#1 *)", ["2026-01-04T06:00", "2026-02-01T06:00"]),
    ("cron(0 0 ? * 7#5 *)", ["2026-01-31T00:00", "2026-05-30T00:00"]),
    ("cron(0 2 L * ? *)", ["2026-01-31T02:00", "2026-02-28T02:00"]),
    ("cron(15 10 ? * 6L *)", ["2026-01-30T10:15", "2026-02-27T10:15"]),
    ("cron(15 10 ? * FRIL *)", ["2026-01-30T10:15", "2026-02-27T10:15"]),
    ("cron(0 6 ? * L *)", ["2026-01-03T06:00", "2026-01-10T06:00"]),
    ("cron(0 9 3W * ? *)", ["2026-01-02T09:00", "2026-02-03T09:00"]),
    ("cron(0 9 1W FEB ? *)", ["2026-02-02T09:00", "2027-02-01T09:00"]),
    ("cron(0 18 LW * ? *)", ["2026-01-30T18:00", "2026-02-27T18:00", "2026-03-31T18:00"]),
    ("cron(30 23 ? JAN-MAR,JUL SUN *)", ["2026-01-04T23:30", "2026-01-11T23:30"]),
    ("cron(0/15 8-17 ? * MON-FRI *)", ["2026-01-01T08:00", "2026-01-01T08:15"]),
    ("cron(5/20 * * * ? *)", ["2026-01-01T00:05", "2026-01-01T00:25", "2026-01-01T00:45"]),
    ("cron(0 0 1 1/3 ? *)", ["2026-01-01T00:00", "2026-04-01T00:00", "2026-07-01T00:00"]),
    ("cron(0 0 ? * 2/2 *)", ["2026-01-02T00:00", "2026-01-05T00:00", "2026-01-07T00:00"]),
    ("cron(0 12 ? * 1,7 2027)", ["2027-01-02T12:00", "2027-01-03T12:00"]),
    ("cron(0 12 29 2 ? 2027-2030)", ["2028-02-29T12:00"]),
    ("cron(0 0 1 1 ? 2150)", ["2150-01-01T00:00"]),
    ("cron(0,55 9 ? * * *)", ["2026-01-01T09:00", "2026-01-01T09:55", "2026-01-02T09:00"]),
    ("cron(0/5 * ? * * *)", ["2026-01-01T00:00", "2026-01-01T00:05"]),
    ("rate(5 minutes)", ["2026-01-01T00:00", "2026-01-01T00:05"]),
    ("rate(1 hour)", ["2026-01-01T00:00", "2026-01-01T01:00"]),
    ("rate(25 days)", ["2026-01-01T00:00", "2026-01-26T00:00"]),
    ("at(2026-07-07T15:55:00)", ["2026-07-07T15:55"]),
]


@pytest.mark.parametrize(("expr", "expected"), VALID, ids=[expr for expr, _ in VALID])
def test_given_a_valid_expression_when_listing_runs_in_utc_then_they_match_the_calendar(
    expr: str, expected: list[str]
) -> None:
    # Given a valid expression / When its next runs are listed from 2026-01-01 in UTC
    runs = utc_times(expr, "UTC", "2026-01-01T00:00", len(expected))

    # Then they fall on the expected dates
    assert runs == [utc(text) for text in expected]


# ----------------------------------------------------------------- daylight saving


@pytest.mark.parametrize(
    ("tz", "start", "expected_utc", "changed"),
    [
        (
            LONDON,
            "2026-03-27T00:00",
            ["2026-03-27T09:00", "2026-03-28T09:00", "2026-03-29T08:00", "2026-03-30T08:00"],
            [False, False, True, False],
        ),
        (
            LONDON,
            "2026-10-23T00:00",
            ["2026-10-23T08:00", "2026-10-24T08:00", "2026-10-25T09:00", "2026-10-26T09:00"],
            [False, False, True, False],
        ),
        (
            NEW_YORK,
            "2026-03-06T00:00",
            ["2026-03-06T14:00", "2026-03-07T14:00", "2026-03-08T13:00", "2026-03-09T13:00"],
            [False, False, True, False],
        ),
        (
            NEW_YORK,
            "2026-10-30T00:00",
            ["2026-10-30T13:00", "2026-10-31T13:00", "2026-11-01T14:00", "2026-11-02T14:00"],
            [False, False, True, False],
        ),
        (
            SYDNEY,
            "2026-04-03T00:00",
            ["2026-04-03T22:00", "2026-04-04T23:00", "2026-04-05T23:00"],
            [False, True, False],
        ),
        (
            SYDNEY,
            "2026-10-02T00:00",
            ["2026-10-02T23:00", "2026-10-03T22:00", "2026-10-04T22:00"],
            [False, True, False],
        ),
    ],
    ids=[
        "london-march",
        "london-october",
        "new-york-march",
        "new-york-november",
        "sydney-april",
        "sydney-october",
    ],
)
def test_given_daily_0900_local_when_clocks_change_then_utc_time_moves_and_is_flagged(
    tz: str, start: str, expected_utc: list[str], changed: list[bool]
) -> None:
    # Given cron(0 9 ? * * *) in a zone with daylight saving
    schedule = parse_schedule("cron(0 9 ? * * *)")

    # When the runs around a transition are listed
    runs = next_runs(schedule, tz, utc(start), len(expected_utc))

    # Then every run is 09:00 local, and the UTC time shifts on the transition day
    assert [run.utc for run in runs] == [utc(text) for text in expected_utc]
    assert [run.utc_offset_changed for run in runs] == changed
    assert {(run.local.hour, run.local.minute) for run in runs} == {(9, 0)}
    assert all(run.dst_adjustment is DstAdjustment.NONE for run in runs)
    assert all(run.local.tzinfo == ZoneInfo(tz) for run in runs)


def test_given_0130_london_when_clocks_go_forward_then_run_shifts_to_0230_bst() -> None:
    # Given 01:30 every day; on 2026-03-29 London clocks jump from 01:00 GMT to 02:00 BST
    schedule = parse_schedule("cron(30 1 ? * * *)")

    # When the runs over that day are listed
    before, gap, after = next_runs(schedule, LONDON, utc("2026-03-28T00:00"), 3)

    # Then the nonexistent 01:30 runs at 02:30 BST (01:30 UTC), and is marked as shifted
    assert before.utc == utc("2026-03-28T01:30")
    assert gap.wall_clock == datetime(2026, 3, 29, 1, 30)
    assert gap.local.replace(tzinfo=None) == datetime(2026, 3, 29, 2, 30)
    assert gap.local.tzname() == "BST"
    assert gap.utc == utc("2026-03-29T01:30")
    assert gap.dst_adjustment is DstAdjustment.SHIFTED_FORWARD
    assert gap.utc_offset_changed
    assert after.utc == utc("2026-03-30T00:30")
    assert after.dst_adjustment is DstAdjustment.NONE


def test_given_0130_london_when_clocks_go_back_then_it_runs_once_at_the_first_0130() -> None:
    # Given 01:30 every day; on 2026-10-25 London passes 01:00-02:00 twice (BST, then GMT)
    schedule = parse_schedule("cron(30 1 ? * * *)")

    # When the runs over that day are listed
    before, repeated, after = next_runs(schedule, LONDON, utc("2026-10-24T00:00"), 3)

    # Then the ambiguous 01:30 runs once, on summer time (00:30 UTC), not again at 01:30 UTC
    assert before.utc == utc("2026-10-24T00:30")
    assert repeated.utc == utc("2026-10-25T00:30")
    assert repeated.local.tzname() == "BST"
    assert repeated.dst_adjustment is DstAdjustment.FIRST_OF_REPEATED
    assert not repeated.utc_offset_changed
    assert after.utc == utc("2026-10-26T01:30")
    assert after.utc_offset_changed


def test_given_new_york_gap_and_overlap_then_same_rules_apply() -> None:
    gap = next_runs(parse_schedule("cron(30 2 ? * * *)"), NEW_YORK, utc("2026-03-08T00:00"), 1)[0]
    fold = next_runs(parse_schedule("cron(30 1 ? * * *)"), NEW_YORK, utc("2026-11-01T00:00"), 1)[0]

    assert (gap.local.hour, gap.local.minute, gap.local.tzname()) == (3, 30, "EDT")
    assert gap.utc == utc("2026-03-08T07:30")
    assert gap.dst_adjustment is DstAdjustment.SHIFTED_FORWARD
    assert fold.utc == utc("2026-11-01T05:30")
    assert fold.local.tzname() == "EDT"
    assert fold.dst_adjustment is DstAdjustment.FIRST_OF_REPEATED


def test_given_every_30_minutes_when_clocks_go_forward_then_utc_runs_stay_30_minutes_apart() -> None:
    # Given runs every 30 minutes; 01:00 and 01:30 do not exist in London on 2026-03-29
    # When listed from midnight / Then shifted runs merge with 02:00 and 02:30 BST: no duplicates
    runs = utc_times("cron(0/30 * ? * * *)", LONDON, "2026-03-29T00:00", 5)

    assert runs == [utc(f"2026-03-29T{hhmm}") for hhmm in ("00:00", "00:30", "01:00", "01:30", "02:00")]


def test_given_every_30_minutes_when_clocks_go_back_then_the_repeated_hour_does_not_run_again() -> None:
    # Given runs every 30 minutes, listed from 00:00 BST on 2026-10-25 (23:00 UTC the day before)
    runs = next_runs(parse_schedule("cron(0/30 * ? * * *)"), LONDON, utc("2026-10-24T23:00"), 5)

    # Then 01:00 and 01:30 run once (BST) and the next run is 02:00 GMT, 90 minutes later
    assert [run.utc for run in runs] == [
        utc("2026-10-24T23:00"),
        utc("2026-10-24T23:30"),
        utc("2026-10-25T00:00"),
        utc("2026-10-25T00:30"),
        utc("2026-10-25T02:00"),
    ]
    assert [run.dst_adjustment for run in runs[2:4]] == [DstAdjustment.FIRST_OF_REPEATED] * 2


def test_given_a_shifted_run_that_lands_on_a_regular_run_then_they_count_as_one() -> None:
    # Given 01:15, 01:45, 02:15, 02:45: on 2026-03-29 London 01:15 becomes 02:15 BST, and so on
    runs = next_runs(parse_schedule("cron(15,45 1,2 ? * * *)"), LONDON, utc("2026-03-29T00:00"), 3)

    assert [run.local.strftime("%H:%M %Z") for run in runs] == ["02:15 BST", "02:45 BST", "01:15 BST"]
    assert [run.utc for run in runs] == [
        utc("2026-03-29T01:15"),
        utc("2026-03-29T01:45"),
        utc("2026-03-30T00:15"),
    ]


def test_given_a_shifted_run_that_overtakes_a_later_wall_clock_time_then_runs_stay_in_utc_order() -> None:
    # Given every 20 minutes on Lord Howe Island, whose clocks go from 02:00 to 02:30 on 2026-10-04:
    # 02:00 and 02:20 do not exist and shift to 02:30 and 02:50, around the real 02:40
    runs = next_runs(
        parse_schedule("cron(0/20 * ? * * *)"), "Australia/Lord_Howe", utc("2026-10-03T15:00"), 5
    )

    assert [run.local.strftime("%H:%M") for run in runs] == ["01:40", "02:30", "02:40", "02:50", "03:00"]
    assert [run.utc for run in runs] == [
        utc(f"2026-10-03T{t}") for t in ("15:10", "15:30", "15:40", "15:50", "16:00")
    ]
    assert [run.dst_adjustment for run in runs] == [
        DstAdjustment.NONE,
        DstAdjustment.SHIFTED_FORWARD,
        DstAdjustment.NONE,
        DstAdjustment.SHIFTED_FORWARD,
        DstAdjustment.NONE,
    ]


def test_given_start_in_the_second_pass_of_a_repeated_hour_then_the_first_occurrence_is_past() -> None:
    # Given 01:10 GMT on 2026-10-25 (the second 01:10 in London), after 01:30 BST has run
    runs = utc_times("cron(30 1 ? * * *)", LONDON, "2026-10-25T01:10", 1)

    assert runs == [utc("2026-10-26T01:30")]


@pytest.mark.parametrize(
    ("wall_clock", "local", "adjustment"),
    [
        (datetime(2026, 7, 1, 12, 0), "2026-07-01T12:00:00+01:00", DstAdjustment.NONE),
        (datetime(2026, 3, 29, 1, 0), "2026-03-29T02:00:00+01:00", DstAdjustment.SHIFTED_FORWARD),
        (datetime(2026, 10, 25, 1, 59), "2026-10-25T01:59:00+01:00", DstAdjustment.FIRST_OF_REPEATED),
    ],
)
def test_given_a_london_wall_clock_when_resolved_then_the_documented_rule_applies(
    wall_clock: datetime, local: str, adjustment: DstAdjustment
) -> None:
    resolved, got = resolve_wall_clock(wall_clock, ZoneInfo(LONDON))

    assert resolved.isoformat() == local
    assert got is adjustment


# ------------------------------------------------------------------ start, rate, at


def test_given_a_cron_run_exactly_at_start_then_it_is_included() -> None:
    assert utc_times("cron(0 9 ? * * *)", "UTC", "2026-01-01T09:00", 1) == [utc("2026-01-01T09:00")]


def test_given_rate_then_runs_are_anchored_at_start() -> None:
    runs = utc_times("rate(5 minutes)", "UTC", "2026-01-01T10:03:27", 3)

    assert runs == [utc("2026-01-01T10:03:27"), utc("2026-01-01T10:08:27"), utc("2026-01-01T10:13:27")]


def test_given_daily_rate_when_clocks_go_forward_then_it_keeps_24_hours_and_local_time_moves() -> None:
    runs = next_runs(parse_schedule("rate(1 day)"), LONDON, utc("2026-03-28T12:00"), 3)

    assert [run.local.strftime("%d %H:%M %Z") for run in runs] == [
        "28 12:00 GMT",
        "29 13:00 BST",
        "30 13:00 BST",
    ]
    assert [run.utc_offset_changed for run in runs] == [False, True, False]


def test_given_at_then_it_is_local_to_the_zone_and_runs_once() -> None:
    runs = next_runs(parse_schedule("at(2026-07-07T15:55:00)"), LONDON, utc("2026-01-01T00:00"), 5)

    assert [run.utc for run in runs] == [utc("2026-07-07T14:55")]
    assert runs[0].utc_offset_changed  # GMT at start, BST at the run


def test_given_at_in_the_past_then_there_are_no_runs() -> None:
    assert utc_times("at(2025-07-07T15:55:00)", LONDON, "2026-01-01T00:00", 5) == []


def test_given_at_in_a_dst_gap_then_it_shifts_forward() -> None:
    (run,) = next_runs(parse_schedule("at(2026-03-29T01:30:00)"), LONDON, utc("2026-01-01T00:00"), 5)

    assert run.utc == utc("2026-03-29T01:30")
    assert run.dst_adjustment is DstAdjustment.SHIFTED_FORWARD


def test_given_all_years_in_the_past_then_there_are_no_runs() -> None:
    assert utc_times("cron(0 0 1 1 ? 2020-2025)", "UTC", "2026-01-01T00:00", 3) == []


def test_given_a_rate_that_outruns_the_calendar_then_the_list_ends() -> None:
    assert utc_times("rate(3000000 days)", "UTC", "2026-01-01T00:00", 5) == [utc("2026-01-01T00:00")]


def test_given_a_count_of_zero_then_no_runs() -> None:
    assert utc_times("cron(0 9 ? * * *)", "UTC", "2026-01-01T00:00", 0) == []


def test_given_an_unknown_time_zone_then_the_error_names_it() -> None:
    with pytest.raises(ScheduleError, match="unknown time zone 'Europe/Londn'"):
        next_runs(parse_schedule("cron(0 9 ? * * *)"), "Europe/Londn", utc("2026-01-01T00:00"), 1)


def test_given_a_naive_start_then_it_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_runs(parse_schedule("cron(0 9 ? * * *)"), LONDON, datetime(2026, 1, 1), 1)


# --------------------------------------------------------------------- ScheduleOffset


def test_given_offset_2_when_third_tuesday_then_it_runs_two_days_later() -> None:
    # Given the AWS documentation's example: cron(30 23 ? * TUE#3 *) with ScheduleOffset 2
    runs = utc_times("cron(30 23 ? * TUE#3 *)", "UTC", "2026-01-01T00:00", 2, offset_days=2)

    # Then it runs on the Thursday after the third Tuesday (2026-01-20, 2026-02-17)
    assert runs == [utc("2026-01-22T23:30"), utc("2026-02-19T23:30")]


def test_given_offset_when_cron_date_passed_but_offset_day_is_ahead_then_that_period_is_skipped() -> None:
    # Given start on 2026-01-21: after the third Tuesday (20th), before its offset day (22nd)
    runs = utc_times("cron(30 23 ? * TUE#3 *)", "UTC", "2026-01-21T00:00", 1, offset_days=2)

    # Then, as AWS documents, the window waits for the next period
    assert runs == [utc("2026-02-19T23:30")]


def test_given_offset_across_a_dst_change_then_local_time_is_kept_on_the_offset_day() -> None:
    # Given the fourth Saturday (2026-03-28, GMT) plus one day: Sunday 29th, already BST
    (run,) = next_runs(
        parse_schedule("cron(0 9 ? * SAT#4 *)"), LONDON, utc("2026-03-01T00:00"), 1, offset_days=1
    )

    assert run.local.strftime("%a %d %H:%M %Z") == "Sun 29 09:00 BST"
    assert run.utc == utc("2026-03-29T08:00")


@pytest.mark.parametrize(
    ("expr", "offset", "message"),
    [
        ("cron(0 9 ? * * *)", 7, "ScheduleOffset 7: must be 1-6 days"),
        ("cron(0 9 ? * * *)", -1, "ScheduleOffset -1: must be 1-6 days"),
        ("rate(1 day)", 2, "ScheduleOffset 2: only cron schedules take an offset, not 'rate(1 day)'"),
        ("at(2026-07-07T15:55:00)", 1, "only cron schedules take an offset"),
    ],
)
def test_given_an_invalid_schedule_offset_then_it_is_refused(expr: str, offset: int, message: str) -> None:
    with pytest.raises(ScheduleError, match=re.escape(message)):
        next_runs(parse_schedule(expr), LONDON, utc("2026-01-01T00:00"), 1, offset_days=offset)
