"""`hygiene explain`: one log's reason, next step and excerpt, from a file or stdin."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from instance_hygiene.cli import main

LOGS = Path(__file__).resolve().parents[1] / "fixtures" / "logs"
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
