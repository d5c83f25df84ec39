"""`hygiene schedule`: what it prints and how it exits."""

from __future__ import annotations

import runpy
import sys

import pytest

from instance_hygiene.cli import main

DST_MARKER = "  <- UTC offset changes (DST)"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def test_given_london_0900_across_the_march_change_when_listed_then_the_dst_run_is_marked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given / When
    code, lines, err = run_cli(
        capsys, "schedule", "cron(0 9 ? * * *)", "--start", "2026-03-27T00:00Z", "--count", "3"
    )

    # Then
    assert code == 0
    assert err == ""
    assert lines == [
        "cron(0 9 ? * * *) in Europe/London: next 3 runs from Fri 2026-03-27 00:00:00 GMT (UTC+00:00)",
        "  Fri 2026-03-27 09:00:00 GMT (UTC+00:00)  =  Fri 2026-03-27 09:00:00 UTC",
        "  Sat 2026-03-28 09:00:00 GMT (UTC+00:00)  =  Sat 2026-03-28 09:00:00 UTC",
        "  Sun 2026-03-29 09:00:00 BST (UTC+01:00)  =  Sun 2026-03-29 08:00:00 UTC" + DST_MARKER,
    ]


def test_given_new_york_across_november_when_listed_then_utc_moves_an_hour_later(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, lines, _ = run_cli(
        capsys,
        "schedule",
        "cron(0 9 ? * * *)",
        "--timezone",
        "America/New_York",
        "--start",
        "2026-10-31T12:00Z",
        "--count",
        "2",
    )

    assert code == 0
    assert lines[1:] == [
        "  Sat 2026-10-31 09:00:00 EDT (UTC-04:00)  =  Sat 2026-10-31 13:00:00 UTC",
        "  Sun 2026-11-01 09:00:00 EST (UTC-05:00)  =  Sun 2026-11-01 14:00:00 UTC" + DST_MARKER,
    ]


def test_given_a_run_in_the_spring_gap_when_listed_then_the_shift_is_explained(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, lines, _ = run_cli(
        capsys, "schedule", "cron(30 1 ? * * *)", "--start", "2026-03-29T00:00Z", "--count", "1"
    )

    assert code == 0
    assert lines[1] == (
        "  Sun 2026-03-29 02:30:00 BST (UTC+01:00)  =  Sun 2026-03-29 01:30:00 UTC"
        "  <- UTC offset changes (DST); 01:30 does not exist (clocks go forward), shifted to 02:30"
    )


def test_given_a_run_in_the_repeated_autumn_hour_when_listed_then_it_says_it_runs_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, lines, _ = run_cli(
        capsys, "schedule", "cron(30 1 ? * * *)", "--start", "2026-10-25T00:00Z", "--count", "2"
    )

    assert code == 0
    assert lines[1:] == [
        "  Sun 2026-10-25 01:30:00 BST (UTC+01:00)  =  Sun 2026-10-25 00:30:00 UTC"
        "  <- 01:30 happens twice (clocks go back), runs once, at the first",
        "  Mon 2026-10-26 01:30:00 GMT (UTC+00:00)  =  Mon 2026-10-26 01:30:00 UTC" + DST_MARKER,
    ]


def test_given_a_start_without_offset_then_it_is_local_to_the_time_zone(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, lines, _ = run_cli(
        capsys,
        "schedule",
        "rate(1 hour)",
        "--timezone",
        "Australia/Sydney",
        "--start",
        "2026-07-01T09:00",
        "--count",
        "1",
    )

    assert code == 0
    assert lines[1] == "  Wed 2026-07-01 09:00:00 AEST (UTC+10:00)  =  Tue 2026-06-30 23:00:00 UTC"


def test_given_a_schedule_offset_when_listed_then_header_and_runs_include_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, lines, _ = run_cli(
        capsys,
        "schedule",
        "cron(30 23 ? * TUE#3 *)",
        "--offset",
        "2",
        "--timezone",
        "UTC",
        "--start",
        "2026-01-01T00:00Z",
        "--count",
        "1",
    )

    assert code == 0
    assert lines[0].startswith("cron(30 23 ? * TUE#3 *) + ScheduleOffset 2 days in UTC: next 1 run from")
    assert lines[1] == "  Thu 2026-01-22 23:30:00 UTC (UTC+00:00)  =  Thu 2026-01-22 23:30:00 UTC"


def test_given_no_start_or_count_then_ten_runs_from_now(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = run_cli(capsys, "schedule", "rate(1 day)")

    assert code == 0
    assert "in Europe/London: next 10 runs from" in lines[0]
    assert len(lines) == 11


def test_given_an_at_in_the_past_then_it_says_there_are_no_runs(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = run_cli(capsys, "schedule", "at(2025-07-07T15:55:00)", "--start", "2026-01-01T00:00Z")

    assert code == 0
    assert lines[1:] == ["  (no runs at or after the start)"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["cron(0 9 ? * 8 *)"],
            "hygiene: error: cron field 5 (day-of-week) '8': value out of range 1-7 (SUN-SAT)\n",
        ),
        (
            ["cron(0 9 1 * MON *)"],
            "hygiene: error: cron: use '?' in exactly one of day-of-month (field 3) and day-of-week"
            " (field 5); found '1' and 'MON'\n",
        ),
        (
            ["cron(*/2 * ? * * *)"],
            "hygiene: error: cron field 1 (minutes) '*/2': runs 2 minutes apart (minute 0 to 2);"
            " AWS does not support schedules more frequent than every 5 minutes\n",
        ),
        (
            ["rate(1 day)", "--offset", "2"],
            "hygiene: error: ScheduleOffset 2: only cron schedules take an offset, not 'rate(1 day)'\n",
        ),
        (
            ["cron(0 9 ? * * *)", "--offset", "7"],
            "hygiene: error: ScheduleOffset 7: must be 1-6 days\n",
        ),
        (
            ["cron(0 9 ? * * *)", "--timezone", "Europe/Londn"],
            "hygiene: error: unknown time zone 'Europe/Londn'; expected an IANA name such as Europe/London\n",
        ),
    ],
    ids=["bad-field", "question-mark", "too-frequent", "offset-on-rate", "offset-range", "unknown-zone"],
)
def test_given_an_invalid_schedule_when_run_then_one_error_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    # Given an invalid schedule / When the command runs
    code, lines, err = run_cli(capsys, "schedule", *argv)

    # Then exit 2, nothing on stdout, one line on stderr, no traceback
    assert code == 2
    assert lines == []
    assert err == message


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["schedule", "rate(1 day)", "--count", "0"], "argument --count: must be at least 1, not 0"),
        (["schedule", "rate(1 day)", "--count", "ten"], "argument --count: 'ten' is not a whole number"),
        (["schedule", "rate(1 day)", "--start", "next tuesday"], "argument --start: 'next tuesday' is not"),
        (["schedule"], "the following arguments are required: EXPR"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_given_bad_command_line_arguments_then_argparse_usage_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    code, lines, err = run_cli(capsys, *argv)

    assert code == 2
    assert lines == []
    assert err.startswith("usage: hygiene")
    assert fragment in err


def test_given_help_then_exit_0_and_the_schedule_command_is_listed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, lines, _ = run_cli(capsys, "--help")

    assert code == 0
    assert any(line.strip().startswith("schedule") for line in lines)


def test_given_python_dash_m_then_the_same_cli_runs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given `python -m instance_hygiene schedule ...`
    monkeypatch.setattr(
        sys,
        "argv",
        ["instance_hygiene", "schedule", "rate(7 days)", "--start", "2026-01-01T00:00Z", "--count", "1"],
    )

    # When the package runs as __main__
    with pytest.raises(SystemExit) as exit_:
        runpy.run_module("instance_hygiene", run_name="__main__", alter_sys=True)

    # Then it exits 0 with the listing
    assert exit_.value.code == 0
    assert "rate(7 days) in Europe/London: next 1 run from" in capsys.readouterr().out
