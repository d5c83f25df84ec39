"""`hygiene report` offline: saved list-command-invocations output plus a local copy of the logs."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from instance_hygiene.cli import main

ROOT = Path(__file__).resolve().parents[2]
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

    assert (code, err) == (0, "")
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

    assert code == 0
    assert out.startswith("AWS-RunPatchBaseline Failed: 5 of 6 instances did not succeed")
    assert "yum lock" in out
    assert "https://eu-west-2.console.aws.amazon.com/" in out


def test_chat_rendering(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--invocations", str(COMMAND / "invocations.json"), "--format", "chat")

    assert code == 0
    assert json.loads(out)["source"] == "custom"


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
