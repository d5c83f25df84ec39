"""hygiene_cli.main: `hygiene explain`, `hygiene report` and `hygiene schedule` from the command line."""

from __future__ import annotations

import io
import json
import re
import runpy
import sys
from pathlib import Path

import jsonschema
import pytest

from hygiene_cli import main as cli_main
from hygiene_cli.main import main

# --------------------------------------------------------------------------- hygiene explain


LOGS = Path(__file__).resolve().parents[2] / "fixtures" / "logs"


# zypper's lock message (github.com/geckolinux/geckolinux-project/issues/180).
ZYPPER = (
    "System management is locked by the application with pid 739 (/usr/bin/zypper).\n"
    "Close this application before trying again.\n"
)


def test_a_log_on_stdin_is_explained_with_its_rule_and_next_step(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(ZYPPER.encode())))

    assert main(["explain", "-"]) == 0

    out = capsys.readouterr().out
    assert "reason:    zypper: package management is locked by /usr/bin/zypper (pid 739)" in out
    assert "rule:      zypper.locked (high)" in out
    assert "next step: wait for /usr/bin/zypper to finish" in out
    assert "Close this application" not in out.split("excerpt:")[0]


def test_a_file_with_its_stderr_is_explained_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "explain",
            str(LOGS / "windows_update_search_failed.stdout"),
            "--stderr",
            str(LOGS / "windows_update_search_failed.stderr"),
            "--step",
            "PatchWindows",
            "--exit-code",
            "-1",
            "--format",
            "json",
        ]
    )

    result = json.loads(capsys.readouterr().out)
    assert code == 0
    assert result["rule"] == "windows_update.action-failed"
    assert result["reason"].startswith("Windows Update search failed with 0x80240437: ")
    assert result["excerpt"]


def test_a_rule_of_your_own_can_be_tried_on_a_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(
        "[[rule]]\nid = 'site.locked'\nmatch = 'locked by the application with pid (?P<pid>[0-9]+)'\n"
        "reason = 'our zypper rule: pid {pid}'\nseverity = 'critical'\n"
    )
    log = tmp_path / "stdout"
    log.write_text(ZYPPER)

    assert main(["explain", str(log), "--rules", str(rules)]) == 0

    assert "reason:    our zypper rule: pid 739" in capsys.readouterr().out


def test_a_bad_rules_file_is_one_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[[rule]]\nid = 'site.x'\nmatch = '(?<=a)b'\nreason = 'r'\n")
    log = tmp_path / "stdout"
    log.write_text(ZYPPER)

    assert main(["explain", str(log), "--rules", str(rules)]) == 2

    err = capsys.readouterr().err
    assert err.startswith("hygiene: error: ")
    assert "site.x" in err
    assert "RE2" in err


def test_an_empty_log_says_there_is_no_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "stdout"
    log.write_bytes(b"")

    assert main(["explain", str(log), "--exit-code", "7"]) == 0

    assert "failed with exit code 7, no output available" in capsys.readouterr().out


# --------------------------------------------------------------------------- hygiene report


ROOT = Path(__file__).resolve().parents[3]
COMMAND = ROOT / "tests/fixtures/report/0b4f9a2e-6c1d-4e8f-9a7b-3c2d1e0f4a5b"
SCHEMA = json.loads((ROOT / "docs/digest-schema.json").read_text())


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["report", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_digest_from_files_groups_and_reads_local_logs(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys,
        "--invocations",
        str(COMMAND / "invocations.json"),
        "--logs",
        str(COMMAND / "logs"),
        "--format",
        "json",
    )

    assert (code, err) == (1, ""), "failures found: exit 1"
    digest = json.loads(out)
    jsonschema.validate(digest, SCHEMA)
    assert digest["counts"] == {
        "targets": 6,
        "succeeded": 1,
        "failed": 4,
        "timed_out": 1,
        "cancelled": 0,
        "other": 0,
    }
    assert [g["count"] for g in digest["groups"]] == [2, 1, 1, 1]
    by_id = {f["instance_id"]: f for g in digest["groups"] for f in g["failures"]}
    assert by_id["i-0a1b2c3d4e5f60001"]["log"]["source"] == "local"
    assert by_id["i-0a1b2c3d4e5f60001"]["log"]["complete"] is True
    assert by_id["i-0a1b2c3d4e5f60004"]["log"]["source"] == "api", (
        "no local log: falls back to the API output"
    )
    assert by_id["i-0a1b2c3d4e5f60003"]["step"] == "PatchWindows", "skipped PatchLinux is not the failed step"
    assert by_id["i-0a1b2c3d4e5f60006"]["step"] is None
    assert any("have no log" in note for note in digest["notes"])


def test_text_digest_is_the_email_rendering(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "--invocations", str(COMMAND / "invocations.json"), "--logs", str(COMMAND / "logs")
    )

    assert code == 1
    assert out.startswith("eu-west-2: AWS-RunPatchBaseline Failed on 5 of 6 instances")
    assert "yum lock" in out
    assert "https://eu-west-2.console.aws.amazon.com/" in out


def test_chat_rendering(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--invocations", str(COMMAND / "invocations.json"), "--format", "chat")

    assert code == 1
    assert json.loads(out)["source"] == "custom"


def test_a_command_that_succeeded_everywhere_exits_0(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    document = json.loads((COMMAND / "invocations.json").read_text())
    document["CommandInvocations"] = [i for i in document["CommandInvocations"] if i["Status"] == "Success"]
    clean = tmp_path / "invocations.json"
    clean.write_text(json.dumps(document))

    code, out, err = run(capsys, "--invocations", str(clean))

    assert (code, err) == (0, "")
    assert "on 0 of 1 instances" in out


def test_invocations_on_standard_input_read_as_the_file(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (COMMAND / "invocations.json").read_text()
    from_file = run(capsys, "--invocations", str(COMMAND / "invocations.json"), "--format", "json")
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))

    from_stdin = run(capsys, "--invocations", "-", "--format", "json")

    assert from_stdin == from_file
    assert from_stdin[0] == 1


def test_a_slow_report_says_what_it_does_on_stderr_and_keeps_stdout_the_report(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ("--invocations", str(COMMAND / "invocations.json"), "--logs", str(COMMAND / "logs"))
    quiet = run(capsys, *args)
    monkeypatch.setattr(cli_main, "PROGRESS_AFTER_SECONDS", 0.0)

    code, out, err = run(capsys, *args)

    assert (code, out) == quiet[:2]
    assert quiet[2] == "", "a quick report says nothing on stderr"
    assert err.startswith("hygiene: reading the invocations and their logs ...\n")
    assert re.search(r"^hygiene: done in [0-9.]+ s$", err, re.MULTILINE)


def test_without_credentials_a_report_from_the_account_exits_3(
    no_aws_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "--command-id", "0b4f9a2e-6c1d-4e8f-9a7b-3c2d1e0f4a5b", "--region", "eu-west-2"
    )

    assert (code, out) == (3, "")
    assert err.startswith("hygiene: AWS error: Unable to locate credentials")


def test_an_unreachable_account_exits_3(
    unreachable_aws: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # botocore retries the connection with backoff: on a slow machine that passes the progress
    # line's second, and the line would come before the error (a CI run saw 5.0 s).
    monkeypatch.setattr(cli_main, "PROGRESS_AFTER_SECONDS", 3600.0)
    code, _, err = run(
        capsys, "--command-id", "0b4f9a2e-6c1d-4e8f-9a7b-3c2d1e0f4a5b", "--region", "eu-west-2"
    )

    assert code == 3
    assert err.startswith("hygiene: AWS error: ")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--command-id", "c", "--profile", "nope", "--region", "eu-west-2"], "nope"),
        (["--command-id", "c"], "You must specify a region"),
        (
            ["--invocations", str(COMMAND / "invocations.json"), "--profile", "p"],
            "--profile is for --command-id",
        ),
    ],
)
def test_a_profile_or_region_problem_is_a_usage_error(
    no_aws_config: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):  # no region anywhere but --region
        monkeypatch.delenv(name, raising=False)

    code, _, err = run(capsys, *argv)

    assert code == 2
    assert err.startswith("hygiene: error: ")
    assert message in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "Expecting value"),
        ('{"x": 1}', "'CommandInvocations' list"),
        ('{"CommandInvocations": []}', "empty"),
        ('{"CommandInvocations": [{"Status": "Failed"}]}', "lacks a field"),
        ('{"CommandInvocations": [{"InstanceId": "i-1", "Status": "Failed"}]}', "one command"),
        ('{"CommandInvocations": "nope"}', "'CommandInvocations' list"),
    ],
)
def test_malformed_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, message: str
) -> None:
    bad = tmp_path / "invocations.json"
    bad.write_text(content)

    code, out, err = run(capsys, "--invocations", str(bad))

    assert code == 2
    assert out == ""
    assert err.startswith("hygiene: error: ")
    assert message in err
    assert err.count("\n") == 1, "one line, no traceback"


def test_missing_files_and_folders_are_clear_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(capsys, "--invocations", str(tmp_path / "absent.json"))[0] == 2
    code, _, err = run(
        capsys, "--invocations", str(COMMAND / "invocations.json"), "--logs", str(tmp_path / "none")
    )
    assert code == 2
    assert "log folder not found" in err


# --------------------------------------------------------------------------- hygiene schedule


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
    # Given `python -m hygiene_cli schedule ...`
    monkeypatch.setattr(
        sys,
        "argv",
        ["hygiene_cli", "schedule", "rate(7 days)", "--start", "2026-01-01T00:00Z", "--count", "1"],
    )

    # When the package runs as __main__
    with pytest.raises(SystemExit) as exit_:
        runpy.run_module("hygiene_cli", run_name="__main__", alter_sys=True)

    # Then it exits 0 with the listing
    assert exit_.value.code == 0
    assert "rate(7 days) in Europe/London: next 1 run from" in capsys.readouterr().out
