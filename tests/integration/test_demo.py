"""`python -m local.demo`: a window night on the stand-in, delivered to the real handlers.

The demo runs in this process (stand-in server on a free port of 127.0.0.1), as `make demo`
runs it; the tests read what it printed and what it saved, the way a subscriber would.
"""

from __future__ import annotations

import io
import json
import os
import re
import threading
import time
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest
from moto.core.responses import BaseResponse
from moto.sts.models import sts_backends

from local.demo import excerpts
from local.demo import run as demo_run
from local.demo.__main__ import main
from local.eventbridge import RULE_EVENT_TYPES, PatternError, check_pattern, matches, template_rules
from local.lambda_env import COMMAND_FUNCTION, WINDOW_FUNCTION, load_function
from local.stack import Stack
from local.template import raw_template

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "digest-schema.json").read_text())


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    out: Path
    seconds: float
    threads_before: set[int]
    threads_after: set[int]
    environment_before: dict[str, str]
    environment_after: dict[str, str]

    def folders(self, night: str = "") -> list[Path]:
        """Tonight's notification folders, or those of an earlier night (`night-before-1`)."""
        return sorted(p for p in (self.out / night).iterdir() if p.is_dir() and p.name[:2].isdigit())

    def summary(self) -> dict[str, Any]:
        return json.loads((self.out / "summary.json").read_text())  # type: ignore[no-any-return]

    def digest(self, folder: Path) -> dict[str, Any]:
        return json.loads((folder / "digest.json").read_text())  # type: ignore[no-any-return]

    def message(self, prefix: str) -> Path:
        (folder,) = [f for f in self.folders() if (f / "subject.txt").read_text().startswith(prefix)]
        return folder


def play(out: Path, *args: str) -> Run:
    before = {t.ident for t in threading.enumerate() if t.ident}
    environment = dict(os.environ)
    stdout, stderr = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        code = main([*args, "--out", str(out)])
    seconds = time.perf_counter() - started
    return Run(
        code=code,
        stdout=stdout.getvalue(),
        stderr=stderr.getvalue(),
        out=out,
        seconds=seconds,
        threads_before=before,
        threads_after={t.ident for t in threading.enumerate() if t.ident},
        environment_before=environment,
        environment_after=dict(os.environ),
    )


@pytest.fixture(scope="module")
def showcase(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return play(tmp_path_factory.mktemp("demo") / "showcase", "--scenario", "showcase")


def test_showcase_runs_quickly_and_leaves_nothing_behind(showcase: Run) -> None:
    assert showcase.code == 0, showcase.stderr
    assert showcase.stderr == ""
    assert showcase.seconds < 30
    assert showcase.threads_after == showcase.threads_before, "server and worker threads are gone"
    assert showcase.environment_after == showcase.environment_before, "endpoint, settings put back"


def test_one_message_per_failed_command_and_one_window_report(showcase: Run) -> None:
    summary = showcase.summary()

    kinds = sorted(n["kind"] for n in summary["notifications"])
    assert kinds == ["command", "command", "window"]
    assert len(showcase.folders()) == 3
    assert len(summary["events"]["redelivered"]) == 1, "one event delivered twice..."
    assert summary["events"]["matched"] == 4, "...reached its function twice..."
    assert len(summary["notifications"]) == 3, "...and sent one message"
    stream = json.loads((showcase.out / "events.json").read_text())
    (again,) = summary["events"]["redelivered"]
    assert [d["event"]["id"] for d in stream].count(again) == 2


def test_subjects(showcase: Run) -> None:
    subjects = {(f / "subject.txt").read_text().strip() for f in showcase.folders()}

    # The window task, the night's date in the window's time zone, the worst cause.
    patch = (
        rf"FAILED PatchWithHealthcheck patch {DATE}: 14/50 - yum lock held by another process \(pid 3053\)"
    )
    assert any(re.fullmatch(patch, s) for s in subjects), subjects
    window = (
        rf"TIMED_OUT window PatchWithHealthcheck {DATE}: 2 of 2 tasks, 22 of 50 instances did not succeed"
    )
    assert any(re.fullmatch(window, s) for s in subjects), subjects
    # The cutoff cancelled the command, but two disks and a memory check failed first: the
    # subject leads with the worst thing that happened.
    health = rf"FAILED PatchWithHealthcheck healthcheck {DATE}: 12/50 - healthcheck: 1 of 5 checks failed.*"
    assert any(re.fullmatch(health, s) for s in subjects), subjects


def test_a_night_reads_in_one_thread_with_its_account_and_links(showcase: Run) -> None:
    chats = [json.loads((f / "chat.json").read_text()) for f in showcase.folders()]
    report = showcase.digest(showcase.message("TIMED_OUT window"))

    # Every message of the night is in the window execution's thread.
    assert {c["metadata"]["threadId"] for c in chats} == {report["window_execution_id"]}
    patch = showcase.message("FAILED PatchWithHealthcheck patch")
    digest = showcase.digest(patch)
    assert (digest["window_id"], digest["window_name"]) == (report["window_id"], "PatchWithHealthcheck")
    assert digest["window_execution_id"] == report["window_execution_id"]
    email = (patch / "email.txt").read_text()
    lines = email.splitlines()
    assert len(lines) <= 40, "the showcase patch failure reads in at most 40 lines"
    assert lines[0].startswith("account 123456789012 (example-fleet-prod), eu-west-2: AWS-RunPatchBaseline")
    # Clickable: S3 console pages of the logs and of the full report, no s3:// URI to copy.
    assert "   log: https://s3.console.aws.amazon.com/s3/object/" in email
    assert "Full report (nothing cut): https://s3.console.aws.amazon.com/s3/object/" in email
    assert "s3://" not in "".join(line for line in lines if line.startswith("   log"))
    # No package-manager progress boilerplate in the excerpts.
    assert not re.search(r"^\s+\| +(Updating|Verifying|Cleanup) +: ", email, re.MULTILINE)
    # Chat: no backslash escapes, no invisible characters.
    for chat in chats:
        body = json.dumps(chat, ensure_ascii=False)
        assert "\\\\" not in body
        assert not re.search("[\u200b-\u200f\u2060\ufeff]", body)


def test_the_patch_digest_groups_three_kinds_of_failure_on_linux_and_windows(showcase: Run) -> None:
    folder = showcase.message("FAILED PatchWithHealthcheck patch")
    digest = showcase.digest(folder)

    jsonschema.validate(digest, SCHEMA)
    groups = {g["reason"].split(" (pid")[0].split(" https://")[0]: g for g in digest["groups"]}
    assert groups["yum lock held by another process"]["count"] == 5
    assert groups["yum timed out fetching"]["count"] == 3
    windows = groups[
        "Windows Update search failed with 0x80240437: There was a problem authorizing with the service."
    ]
    assert windows["count"] == 2
    assert {f["step"] for f in windows["failures"]} == {"PatchWindows"}
    assert groups["disk full: no space left on device"]["failures"][0]["log"]["complete"] is False, (
        "a 6 MB log"
    )
    assert groups["timed out during execution (step PatchLinux)"]["count"] == 1
    assert groups["timed out before delivery: instance offline or agent not running"]["count"] == 1
    assert digest["counts"] == {
        "targets": 50,
        "succeeded": 36,
        "failed": 12,
        "timed_out": 2,
        "cancelled": 0,
        "other": 0,
    }


def test_the_instance_whose_log_never_reached_s3_is_named_in_a_note(showcase: Run) -> None:
    digest = showcase.digest(showcase.message("FAILED PatchWithHealthcheck patch"))

    (silent,) = [f for g in digest["groups"] for f in g["failures"] if f["log"]["source"] == "api"]
    (note,) = [n for n in digest["notes"] if "wrote no log" in n]
    assert silent["instance_name"] in note
    assert "s3:PutObject" in note
    assert silent["exit_code"] == 126


def test_the_healthcheck_digest_shows_the_failed_checks_and_the_cancelled_rest(showcase: Run) -> None:
    digest = showcase.digest(showcase.message("FAILED PatchWithHealthcheck healthcheck"))

    jsonschema.validate(digest, SCHEMA)
    assert digest["status"] == "Cancelled"
    # worst first: the failed checks, the timeout, then the cancelled rest
    assert [g["outcome"] for g in digest["groups"]] == ["failed", "failed", "timed out", "cancelled"]
    groups = [(g["reason"], g["count"]) for g in digest["groups"]]
    (disk,) = [c for r, c in groups if r.startswith("healthcheck:") and r.endswith("disk:/")]
    assert disk == 2
    (memory,) = [c for r, c in groups if r.startswith("healthcheck:") and r.endswith("memory")]
    assert memory == 1
    # stopped mid-run (a step, partial output) and never started (no step): one cause, one group
    assert [c for r, c in groups if r.startswith("cancelled")] == [8]
    assert digest["counts"]["cancelled"] == 8


def test_the_window_report_says_which_task_timed_out(showcase: Run) -> None:
    report = showcase.digest(showcase.message("TIMED_OUT window"))
    digests = [showcase.digest(f) for f in showcase.folders()]
    commands = {d["document_name"]: d["command_id"] for d in digests if "command_id" in d}

    patch, health = report["tasks"]
    assert (patch["name"], patch["status"]) == ("Patch", "FAILED")
    assert (health["name"], health["status"]) == ("Healthcheck", "TIMED_OUT")
    assert patch["command_ids"] == [commands["AWS-RunPatchBaseline"]]
    assert health["command_ids"] == [commands[health["task_arn"]]]
    email = (showcase.message("TIMED_OUT window") / "email.txt").read_text()
    assert "Healthcheck [instance-hygiene-Healthcheck]" in email
    assert "] TIMED_OUT" in email


def test_every_rendering_is_saved(showcase: Run) -> None:
    for folder in showcase.folders():
        subject = (folder / "subject.txt").read_text().strip()
        published = json.loads((folder / "sns-message.json").read_text())
        assert (folder / "email.txt").read_text() == published["email"]
        chat = json.loads((folder / "chat.json").read_text())
        assert (chat["version"], chat["source"]) == ("1.0", "custom")
        assert chat == json.loads(published["https"])
        assert json.loads((folder / "digest.json").read_text()) == json.loads(published["default"])
        assert subject in showcase.stdout


def test_the_console_shows_each_email_then_points_to_the_other_renderings(showcase: Run) -> None:
    out = showcase.stdout

    assert out.count("Subject: ") == 3
    assert out.count("-> other renderings: chat (HTTPS") == 3
    for folder in showcase.folders():
        email = (folder / "email.txt").read_text()
        assert email.splitlines()[0] in out
        assert out.index(email.splitlines()[0]) < out.index(str(folder.name) + "/chat.json")
    assert "one of them delivered twice" in out
    assert "returned the stored outcome, no second message" in out
    assert f"Saved to {showcase.out}" in out
    assert re.search(r"Done in \d+\.\d s\.", out)


def _intrinsics(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [k for k in node if k == "Ref" or k.startswith("Fn::")] + [
            name for value in node.values() for name in _intrinsics(value)
        ]
    if isinstance(node, list):
        return [name for value in node for name in _intrinsics(value)]
    return []


def test_the_harness_reads_every_rule_of_the_template() -> None:
    resources = raw_template()["Resources"]
    declared = {
        (logical_id, name)
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::Serverless::Function"
        for name, event in resource["Properties"].get("Events", {}).items()
        if event["Type"] in RULE_EVENT_TYPES
    }
    stack = Stack("eu-west-2", "b", "t", "arn:t", healthcheck_document="hc-doc")

    rules = template_rules(stack.deployment(window_id="mw-0123456789abcdef0"))

    assert {(r.function, r.name) for r in rules} == declared
    assert len(rules) == len(declared) >= 2
    for rule in rules:
        assert _intrinsics(rule.pattern) == [], f"{rule.name}: every value resolved"
    by_function = {r.function: r.pattern for r in rules}
    assert by_function[COMMAND_FUNCTION]["detail"]["document-name"] == ["AWS-RunPatchBaseline", "hc-doc"]
    assert by_function[WINDOW_FUNCTION]["detail"]["window-id"] == ["mw-0123456789abcdef0"]


def test_watching_all_commands_drops_the_document_filter() -> None:
    stack = Stack("eu-west-2", "b", "t", "arn:t", healthcheck_document="hc-doc")

    rules = template_rules(stack.deployment(window_id="mw-1", WatchAllCommands="true"))

    command = next(r.pattern for r in rules if r.function == COMMAND_FUNCTION)
    assert "document-name" not in command["detail"]
    assert "status" in command["detail"]


@pytest.mark.parametrize(
    ("pattern", "event", "expected"),
    [
        ({"a": ["x"]}, {"a": "x"}, True),
        ({"a": ["x"]}, {"a": ["y", "x"]}, True),
        ({"a": [{"anything-but": ["x"]}]}, {"a": "y"}, True),
        ({"a": [{"anything-but": ["x"]}]}, {"a": "x"}, False),
        ({"a": [{"anything-but": ["x"]}]}, {}, False),
        ({"a": [{"anything-but": {"prefix": "In"}}]}, {"a": "Failed"}, True),
        ({"a": [{"prefix": "In"}]}, {"a": "InProgress"}, True),
        ({"a": [{"suffix": "ed"}]}, {"a": "Failed"}, True),
        ({"a": [{"exists": False}]}, {}, True),
        ({"a": [{"exists": True}]}, {}, False),
        ({"a": [{"equals-ignore-case": "failed"}]}, {"a": "FAILED"}, True),
        ({"a": [{"numeric": [">", 0, "<=", 5]}]}, {"a": 5}, True),
        ({"a": [{"wildcard": "*Patch*"}]}, {"a": "AWS-RunPatchBaseline"}, True),
        ({"d": {"a": ["x"]}}, {"d": {"a": "x"}}, True),
        ({"d": {"a": ["x"]}}, {"d": "x"}, False),
    ],
)
def test_content_filtering(pattern: dict[str, Any], event: dict[str, Any], expected: bool) -> None:
    assert matches(pattern, event) is expected


def test_an_operator_not_modelled_fails_loudly() -> None:
    with pytest.raises(PatternError, match="not modelled: 'cidr'"):
        check_pattern({"detail": {"ip": [{"cidr": "10.0.0.0/24"}]}})


def test_clean_sends_nothing_and_says_so(tmp_path: Path) -> None:
    run = play(tmp_path / "clean", "--scenario", "clean")

    assert run.code == 0, run.stderr
    assert "No failures" in run.stdout
    assert "no notification was sent" in run.stdout
    assert "Subject:" not in run.stdout
    assert run.folders() == []
    assert run.summary()["notifications"] == []
    # both commands' Success and the window's SUCCESS, one of them delivered twice: each checked
    assert run.summary()["events"]["matched"] == 4


TINY = {
    "description": "two instances, one yum lock",
    "fleet": [{"count": 2, "platform": "linux", "name_prefix": "web"}],
    "window": {"max_errors": "1"},
    "patch": {"outcomes": {"yum-lock": 1}},
}


def test_format_all_prints_the_chat_and_digest_too(tmp_path: Path) -> None:
    scenario = tmp_path / "tiny.json"
    scenario.write_text(json.dumps(TINY))

    run = play(tmp_path / "out", "--scenario", str(scenario), "--format", "all")

    assert run.code == 0, run.stderr
    assert '"source": "custom"' in run.stdout
    assert '"schema": "instance-hygiene/digest@1"' in run.stdout
    assert sorted(f.name.split("-", 1)[1] for f in run.folders()) == [
        "command-AWS-RunPatchBaseline-failed",
        "window-PatchWithHealthcheck-failed",
    ]


def test_a_handler_that_raises_fails_the_demo_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = tmp_path / "tiny.json"
    scenario.write_text(json.dumps(TINY))
    real = load_function

    def broken(function: str) -> Any:
        if function != COMMAND_FUNCTION:
            return real(function)

        def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            raise RuntimeError("boom")

        return SimpleNamespace(handler=handler)

    monkeypatch.setattr(demo_run, "load_function", broken)

    run = play(tmp_path / "out", "--scenario", str(scenario))

    assert run.code == 1
    assert run.stderr.startswith("demo failed: CommandFailedFunction raised on event ")
    assert "RuntimeError: boom" in run.stderr
    assert run.threads_after == run.threads_before


def test_a_broken_scenario_fails_before_anything_starts(tmp_path: Path) -> None:
    scenario = tmp_path / "broken.json"
    scenario.write_text(json.dumps({**TINY, "patch": {"outcomes": {"yum-lock": 5}}}))

    run = play(tmp_path / "out", "--scenario", str(scenario))

    assert run.code == 1
    assert "5 outcomes listed for a fleet of 2" in run.stderr
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- what must not go unnoticed


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Run]:
    """A scenario's run, played once per module."""
    runs: dict[str, Run] = {}

    def get(name: str) -> Run:
        if name not in runs:
            runs[name] = play(tmp_path_factory.mktemp("demo") / name, "--scenario", name)
        return runs[name]

    return get


DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
EXPECTED_SUBJECTS = {
    "partial": {rf"INCOMPLETE PatchWithHealthcheck patch {DATE}: 3/40 - Windows Update search failed.*"},
    "unreachable": {
        rf"INCOMPLETE PatchWithHealthcheck healthcheck {DATE}: 3/24 - timed out before delivery.*"
    },
    "incomplete-event": {
        rf"INCOMPLETE PatchWithHealthcheck healthcheck {DATE}: 3/16 - healthcheck: 1 of 5.*"
    },
    "no-targets": {rf"NOTHING RAN window PatchWithHealthcheck {DATE}: no instance was patched or checked"},
    "macos": {
        rf"FAILED PatchWithHealthcheck healthcheck {DATE}: 2/10 - healthcheck: 1 of 1 checks failed.*",
        rf"FAILED window PatchWithHealthcheck {DATE}: 1 of 2 tasks, 2 of 10 instances did not succeed",
    },
    "task-not-run": {rf"INCOMPLETE window PatchWithHealthcheck {DATE}: 1 of 2 tasks ran on no instance"},
    "recurring": {
        rf"FAILED PatchWithHealthcheck patch {DATE}: 4/20 - yum lock held by another process \(pid \d+\)",
        rf"FAILED PatchWithHealthcheck healthcheck {DATE}: 1/20 - healthcheck: 1 of 5 checks failed: d.*",
        rf"FAILED window PatchWithHealthcheck {DATE}: 2 of 2 tasks, 5 of 20 instances did not succeed",
    },
}
"""Each scenario's subjects, as patterns (the date is the night's, which the demo plays today)."""


@pytest.mark.parametrize("name", sorted(EXPECTED_SUBJECTS))
def test_each_outcome_is_told_exactly_once(night: Callable[[str], Run], name: str) -> None:
    run = night(name)

    assert run.code == 0, run.stderr
    subjects = [(f / "subject.txt").read_text().strip() for f in run.folders()]
    patterns = EXPECTED_SUBJECTS[name]
    assert len(subjects) == len(patterns)
    assert all(any(re.fullmatch(p, s) for s in subjects) for p in patterns), subjects
    assert len(run.summary()["notifications"]) == len(subjects)
    assert all(subject in run.stdout for subject in subjects)
    for folder in run.folders():
        digest = run.digest(folder)
        if digest["schema"].startswith("instance-hygiene/digest"):
            jsonschema.validate(digest, SCHEMA)
    assert len(run.summary()["events"]["redelivered"]) == 1
    assert run.threads_after == run.threads_before


def test_partial_failure_within_maxerrors_is_told_as_incomplete(night: Callable[[str], Run]) -> None:
    run = night("partial")
    digest = run.digest(run.message("INCOMPLETE PatchWithHealthcheck patch"))

    assert digest["status"] == "Incomplete", "not the event's Success"
    assert digest["counts"] == {
        "targets": 40,
        "succeeded": 37,
        "failed": 3,
        "timed_out": 0,
        "cancelled": 0,
        "other": 0,
    }
    assert {g["reason"].split(" (pid")[0].split(" https://")[0] for g in digest["groups"]} == {
        "yum lock held by another process",
        "yum timed out fetching",
        "Windows Update search failed with 0x80240437: There was a problem authorizing with the service.",
    }
    patch = next(c for c in run.summary()["commands"] if c["task"] == "patch")
    assert patch["status"] == "Success", "the command event said Success"
    assert run.summary()["window"]["status"] == "SUCCESS"
    assert "stand-in, UNVERIFIED AWS behaviour" in run.stdout


def test_unreachable_instances_are_one_group_of_the_healthcheck(night: Callable[[str], Run]) -> None:
    run = night("unreachable")
    digest = run.digest(run.message("INCOMPLETE PatchWithHealthcheck healthcheck"))

    assert digest["status"] == "Incomplete"
    (group,) = digest["groups"]
    assert group["reason"] == "timed out before delivery: instance offline or agent not running"
    assert group["count"] == 3
    assert {f["instance_id"] for f in group["failures"]} == set(run.summary()["fleet"]["offline"])
    assert {f["status_details"] for f in group["failures"]} == {"Delivery Timed Out"}
    assert (digest["counts"]["timed_out"], digest["counts"]["succeeded"]) == (3, 21)


def test_an_incomplete_event_is_decided_on_the_api(night: Callable[[str], Run]) -> None:
    run = night("incomplete-event")
    digest = run.digest(run.message("INCOMPLETE PatchWithHealthcheck healthcheck"))
    stream = json.loads((run.out / "events.json").read_text())

    (reached,) = {
        d["event"]["id"]: d
        for d in stream
        if d["function"] == COMMAND_FUNCTION
        and d["event"]["detail"]["document-name"] == "instance-hygiene-Healthcheck"
    }.values()
    assert reached["event"]["detail"]["status"] == "Incomplete", "beyond the documented seven"
    assert reached["error"] is None
    assert digest["status"] == "Incomplete"
    reasons = sorted((g["reason"], g["count"]) for g in digest["groups"])
    assert reasons == [
        ("healthcheck: 1 of 5 checks failed: disk:/", 2),
        ("healthcheck: 1 of 5 checks failed: memory", 1),
    ]


def test_a_night_on_no_instance_is_told_as_nothing_ran(night: Callable[[str], Run]) -> None:
    run = night("no-targets")
    report = run.digest(run.message("NOTHING RAN"))
    stream = json.loads((run.out / "events.json").read_text())

    assert report["status"] == "SUCCESS"
    assert [(t["name"], t["status"], t["invocations"]) for t in report["tasks"]] == [
        ("Patch", "SUCCESS", 0),
        ("Healthcheck", "SUCCESS", 0),
    ]
    assert len(report["shortfalls"]) == 2
    assert all("ran on no instance" in s for s in report["shortfalls"])
    assert not any(d["event"]["detail-type"].startswith("EC2 Command") for d in stream), "no command"
    assert run.summary()["fleet"]["targeted"] == 0
    assert "matches 0 of them (the others are tagged production)" in run.stdout


def test_a_macos_node_fails_the_healthcheck_and_says_why(night: Callable[[str], Run]) -> None:
    run = night("macos")
    digest = run.digest(run.message("FAILED PatchWithHealthcheck healthcheck"))
    report = run.digest(run.message("FAILED window"))

    (group,) = digest["groups"]
    assert group["reason"] == "healthcheck: 1 of 1 checks failed: platform:macOS"
    assert group["count"] == 2
    assert {f["step"] for f in group["failures"]} == {"RunMacOSHealthcheck"}
    assert {f["instance_name"] for f in group["failures"]} == {"mac-01", "mac-02"}
    (failure, _) = group["failures"]
    assert any("no healthcheck script for macOS" in line for line in failure["excerpt"])
    assert failure["log"]["source"] == "s3"
    assert [(t["name"], t["status"]) for t in report["tasks"]] == [
        ("Patch", "SUCCESS"),
        ("Healthcheck", "FAILED"),
    ]
    assert "2 macOS (EC2 Mac)" in run.stdout


def test_a_task_that_never_ran_is_told_although_the_window_succeeded(night: Callable[[str], Run]) -> None:
    run = night("task-not-run")
    report = run.digest(run.message("INCOMPLETE window"))

    assert report["status"] == "SUCCESS"
    assert [(t["name"], t["status"]) for t in report["tasks"]] == [
        ("Patch", "SUCCESS"),
        ("Healthcheck", "NOT_RUN"),
    ]
    assert report["shortfalls"] == ["task Healthcheck never ran"]
    email = (run.message("INCOMPLETE window") / "email.txt").read_text()
    assert "What did not happen:" in email


def test_the_third_night_says_what_recurs_what_is_new_and_what_was_fixed(night: Callable[[str], Run]) -> None:
    # Given the recurring scenario: two earlier nights, one a day, delivered to the handlers first
    run = night("recurring")
    assert run.code == 0, run.stderr

    # Then each earlier night was told as it happened, dated its own day, and saved beside tonight's
    earlier = run.summary()["earlier_nights"]
    tonight = datetime.strptime(re.findall(DATE, run.summary()["notifications"][0]["subject"])[0], "%Y-%m-%d")
    assert [e["nights_before"] for e in earlier] == [2, 1]
    for entry in earlier:
        day = f"{tonight - timedelta(days=entry['nights_before']):%Y-%m-%d}"
        assert entry["date"] == day
        assert len(entry["notifications"]) == 3
        assert all(day in n["subject"] for n in entry["notifications"])
        assert len(run.folders(f"night-before-{entry['nights_before']}")) == 3
        assert all(f"told: {n['subject']}" in run.stdout for n in entry["notifications"])
    # and tonight's patch message says the yum lock is on its third night, the Windows Update error
    # is new, and the mirrors that failed two nights running are fixed
    patch = (run.message("FAILED PatchWithHealthcheck patch") / "email.txt").read_text()
    assert re.search(
        r"^1\. yum lock held by another process \(pid \d+\) - 3 instances \(3rd night in a row\)$",
        patch,
        re.M,
    )
    assert re.search(r"^2\. Windows Update search failed .* - 1 instance \(new tonight\)$", patch, re.M)
    assert re.search(r"^fixed since the last run: 2 instances \(app-\d\d, app-\d\d\)$", patch, re.M)
    # and the Windows instance, whose failed run reported nothing, shows last night's patch state
    assert re.search(
        rf"; last patch state \({DATE} \d\d:\d\d UTC, not this run's\): installed \d+, missing 0", patch
    )
    # and the healthcheck's full disk is on its third night, last night's memory failure fixed
    health = (run.message("FAILED PatchWithHealthcheck healthcheck") / "email.txt").read_text()
    assert "disk:/ - 1 instance (3rd night in a row)" in health
    assert re.search(r"^fixed since the last run: 1 instance \(win-\d\d\)$", health, re.M)
    digest = run.digest(run.message("FAILED PatchWithHealthcheck patch"))
    jsonschema.validate(digest, SCHEMA)
    assert digest["history"]["first_run"] is False


def test_the_readme_and_the_demo_docs_show_what_the_demo_prints() -> None:
    # The trimmed outputs are regenerated from a run with the night pinned (make demo-docs):
    # every id, time and line the docs show comes from the demo itself, today's code included.
    stderr = io.StringIO()
    with redirect_stderr(stderr):
        code = excerpts.main(["--check"])

    assert code == 0, f"{stderr.getvalue().strip()}: run `make demo-docs`"


def test_an_excerpt_keeps_each_causes_headline_and_its_links_past_the_cut() -> None:
    lines = [
        "story line",
        excerpts.BAR,
        "[1/1] Subject: FAILED x patch 2026-12-03: 2/5 - a",
        excerpts.BAR,
        "head",
        "",
        "1. a - 1 instance",
        "   next step: x",
        "2. b - 1 instance",
        "   next step: y",
        "Run Command: https://example.invalid/",
        "",
        "  -> other renderings: ...",
        "Saved to out/demo/x/ (summary.json)",
        "Done in 1.0 s.",
    ]
    excerpt = excerpts.Excerpt("x", "x", "x.md", story=False, messages=(("FAILED x", 3),))

    assert excerpts.trim(excerpt, lines) == [
        "[1/1] Subject: FAILED x patch 2026-12-03: 2/5 - a",
        "head",
        "",
        "1. a - 1 instance",
        "...",
        "2. b - 1 instance",
        "...",
        "Run Command: https://example.invalid/",
        "",
        "Saved to out/demo/x/ (summary.json)",
    ]


# --------------------------------------------------------------------------- across an Organization


@dataclass(frozen=True)
class Call:
    """One request moto served while the demo ran: the account it acted in, its operation, and the
    role whose session signed it ("" for a key of no role session)."""

    account: str
    operation: str
    role: str


@dataclass
class OrganizationRun:
    run: Run
    calls: list[Call]

    def stacks(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Each member stack as played: one per member account and region."""
        return {(m["name"], m["region"]): m for m in self.run.summary()["members"]}

    def stacks_of(self, member: str) -> list[dict[str, Any]]:
        return [m for (name, _), m in self.stacks().items() if name == member]

    def messages(self, member: str, region: str | None = None) -> list[dict[str, Any]]:
        (account,) = {m["account"] for m in self.stacks_of(member)}
        digests = [self.run.digest(folder) for folder in self.run.folders()]
        # The morning summary is about every account: it is tested on its own.
        return [
            d
            for d in digests
            if d.get("kind") != "summary" and d["account"] == account and region in (None, d["region"])
        ]


@pytest.fixture(scope="module")
def organization(tmp_path_factory: pytest.TempPathFactory) -> OrganizationRun:
    """`org` played once, with every request moto serves recorded (moto dispatches each one to
    its response class's call_action; S3's own dispatch is not among them)."""
    calls: list[Call] = []
    original = BaseResponse.call_action

    def recording(self: BaseResponse) -> Any:
        key = self.get_access_key()
        sessions = sts_backends[self.current_account]["aws"].assumed_roles
        role = next((s.role_arn for s in sessions if s.access_key_id == key), "")
        calls.append(Call(self.current_account, self._get_action(), role))
        return original(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BaseResponse, "call_action", recording)
        run = play(tmp_path_factory.mktemp("demo") / "org", "--scenario", "org")
    return OrganizationRun(run, calls)


def test_an_organizations_night_is_told_by_the_central_stack_and_leaves_nothing_behind(
    organization: OrganizationRun,
) -> None:
    run = organization.run
    summary = run.summary()

    assert run.code == 0, run.stderr
    assert run.seconds < 40
    assert run.threads_after == run.threads_before, "server and worker threads are gone"
    assert run.environment_after == run.environment_before, "endpoint, credentials, settings put back"
    # Two regions, every member account in the Organization, the central account managing it.
    assert {m["region"] for m in summary["members"]} == {"eu-west-2", "us-east-1"}
    assert summary["central"]["account"] == summary["organization"]["management_account"]
    # One member stack per account and region; at least 3 accounts in both regions.
    stacks = [(m["account"], m["region"]) for m in summary["members"]]
    assert len(set(stacks)) == len(stacks)
    accounts = {account for account, _ in stacks}
    assert len(accounts) >= 4
    assert sum(1 for a in accounts if {r for b, r in stacks if b == a} == {"eu-west-2", "us-east-1"}) >= 3
    # Only the command and window-execution events the members' forward rule matched reached the
    # central bus, and from there the central functions.
    stream = json.loads((run.out / "events.json").read_text())
    forwarded = sum(m["events"]["forwarded"] for m in summary["members"])
    assert (
        summary["events"]["on_central_bus"]
        == forwarded
        < sum(m["events"]["emitted"] for m in summary["members"])
    )
    assert len(stream) == forwarded + 1, "one of them delivered twice"
    assert {d["event"]["detail-type"] for d in stream} == {
        "EC2 Command Status-change Notification",
        "Maintenance Window Execution State-change Notification",
    }
    assert all(d["function"] for d in stream), "the central rules take every forwarded event"
    assert summary["events"]["errors"] == []
    # The functions assumed roles only as themselves: sessions of the central stack's roles.
    central = summary["central"]["account"]
    assert summary["assume_role"], "the member roles were assumed"
    for decision in summary["assume_role"]:
        assert decision["caller"].startswith(f"arn:aws:sts::{central}:assumed-role/instance-hygiene-central-")


def test_each_member_with_its_role_gets_one_message_per_failed_command_and_window_naming_it(
    organization: OrganizationRun,
) -> None:
    stacks = organization.stacks()
    readable = [key for key, m in stacks.items() if m["member_role"]]

    assert len({name for name, _ in readable}) >= 3
    for name, region in readable:
        member = stacks[name, region]
        failed = {c["command_id"] for c in member["commands"] if set(c["invocations"]) != {"Success"}}
        windows = {member["window"]["execution_id"]} if member["window"]["status"] != "SUCCESS" else set()
        messages = organization.messages(name, region)
        for digest in messages:
            if "command_id" in digest:
                jsonschema.validate(digest, SCHEMA)
            assert (digest["account"], digest["region"], digest["account_alias"]) == (
                member["account"],
                member["region"],
                member["alias"],
            ), f"{name} {region}: named by its account, alias and region"
            assert digest["unread"] is None, f"{name}: read through its member role"
        assert sorted(d["command_id"] for d in messages if "command_id" in d) == sorted(failed), name
        assert {d["window_execution_id"] for d in messages if "tasks" in d} == windows, name
    assert organization.messages("ledger") == [], "a clean night is checked and told nothing"
    emails = [(folder / "email.txt").read_text() for folder in organization.run.folders()]
    for name, region in readable:
        member = stacks[name, region]
        head = f"account {member['account']} ({member['alias']}), {member['region']}: "
        assert sum(e.startswith(head) for e in emails) == len(organization.messages(name, region))


def test_the_member_without_its_role_is_told_unread_once_a_night_and_nothing_is_read_there(
    organization: OrganizationRun,
) -> None:
    stacks = organization.stacks_of("payments")
    (account,) = {m["account"] for m in stacks}

    assert len(stacks) == 2, "payments runs in both regions"
    for payments in stacks:
        region = payments["region"]
        messages = organization.messages("payments", region)
        assert payments["member_role"] is None
        # None of its events could be checked, and each would say the same: the first of the night
        # is told, in this Region; the others reach only the ledger.
        assert payments["events"]["forwarded"] >= 2
        assert len(messages) == 1
        for digest in messages:
            assert "could not be assumed (AccessDenied" in digest["unread"]["reason"]
            assert f"instance-hygiene-member-read-{region} in account {account}" in digest["unread"]["reason"]
            assert digest["unread"]["next_step"].startswith(
                f"Deploy the member stack in account {account}, region {region}"
            )
            assert digest["account_alias"] is None, "not even the alias was read"
        subjects = [(f / "subject.txt").read_text().strip() for f in organization.run.folders()]
        assert sum(s.endswith(f": not read in account {account}, {region}") for s in subjects) == len(
            messages
        )
    # STS refused the member role (there is none), and no session of it ever read the account.
    refused = [d for d in organization.run.summary()["assume_role"] if f"::{account}:" in d["role"]]
    assert refused
    assert all((d["allowed"], d["reason"]) == (False, "no such role") for d in refused)
    setup = f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    assert {c.role for c in organization.calls if c.account == account} == {setup}, "only the demo's setup"
    # The other members were read through their role: ListCommands in their account, signed by it.
    for retail in organization.stacks_of("retail"):
        assert any(
            (c.account, c.operation, c.role) == (retail["account"], "ListCommands", retail["member_role"])
            for c in organization.calls
        ), retail["region"]


def test_the_morning_summary_adds_up_the_night_across_every_account(organization: OrganizationRun) -> None:
    digests = [organization.run.digest(folder) for folder in organization.run.folders()]
    (summary,) = [d for d in digests if d.get("kind") == "summary"]
    members = organization.run.summary()["members"]
    accounts = {m["account"] for m in members}
    payments = {m["account"] for m in organization.stacks_of("payments")}
    by_account = {a["account"]: a for a in summary["accounts"]}

    # Every member account reported, each in the regions of its member stacks.
    assert set(by_account) == accounts
    for account in accounts:
        assert by_account[account]["regions"] == sorted(
            {m["region"] for m in members if m["account"] == account}
        )
    # Payments could not be read in either region, and says so; it is listed first.
    (unread,) = payments
    assert summary["accounts"][0]["account"] == unread
    assert by_account[unread]["not_read_in"] == ["eu-west-2", "us-east-1"]
    # Instances and failures add up to what the read messages told.
    told = [d for d in digests if d.get("kind") != "summary" and not d.get("unread") and "counts" in d]
    assert summary["totals"]["failed"] <= sum(d["counts"]["targets"] for d in told)
    assert summary["totals"]["failed"] > 0
    # The management account runs no member stack: the Organization lists it, nothing came from it.
    management = organization.run.summary()["organization"]["management_account"]
    assert [a["account"] for a in summary["never_reported"]] == [management]


def test_the_member_whose_instances_write_no_logs_is_told_so(organization: OrganizationRun) -> None:
    (analytics,) = organization.stacks_of("analytics")

    commands = [d for d in organization.messages("analytics") if "command_id" in d]

    assert analytics["instance_role_writes_logs"] is False
    assert len(commands) == 2
    for digest in commands:
        (note,) = [n for n in digest["notes"] if "wrote no log to s3://" in n]
        assert f"s3://{analytics['bucket']}/ssm_output/" in note
        assert "the instance role likely lacks s3:PutObject" in note
        assert {f["log"]["source"] for g in digest["groups"] for f in g["failures"]} == {"api"}
