"""Every sample event through `sam local invoke`: the built functions and layer, in a Lambda container,
against the offline stand-in. What a subscriber receives is read back from a queue on the topic.

Given the state each sample event refers to (its command, window and execution ids) in the stand-in,
when its function is invoked with it in a container, then the invocation succeeds and the topic
carries exactly the notification expected (none for the success events: every instance succeeded and
NOTIFY_ON_SUCCESS=false).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from local.fleet_sim import (
    InstanceResult,
    PlayedCommand,
    Step,
    TaskRun,
    create_window,
    play_command,
    play_window_execution,
    skipped,
)
from local.template import raw_template
from tests.support.container import BUCKET, EVENTS, REGION, ROOT, SamLocal, Stack

pytestmark = pytest.mark.container

LOGS = ROOT / "tests" / "fixtures" / "logs"
SH, PS = "aws:runShellScript", "aws:runPowerShellScript"
FUNCTIONS = {"command-": "CommandFailedFunction", "window-": "WindowFailedFunction"}
HEALTHCHECK = "instance-hygiene-Healthcheck"  # as named in the sample events

# What the topic carries for each sample event: the subject's pattern, or None for no message. The
# commands are sent by hand here (no window execution in their parameters): the document and the
# UTC date of the request name them, and the worst cause ends the subject.
DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
WINDOW = rf"window PatchWithHealthcheck {DATE}"
EXPECTED: dict[str, str | None] = {
    "command-failed.json": rf"FAILED AWS-RunPatchBaseline {DATE}: 2/3 - .+",
    "command-timed-out.json": rf"TIMEDOUT AWS-RunPatchBaseline {DATE}: 1/3 - .+",
    "command-cancelled.json": rf"CANCELLED {HEALTHCHECK} {DATE}: 3/3 - .+",
    "command-healthcheck-failed.json": rf"FAILED {HEALTHCHECK} {DATE}: 1/3 - .+",
    "command-success.json": None,
    # The failed execution's patch command is listed: its instances are counted.
    "window-failed.json": (rf"FAILED {WINDOW}: 2 of 2 tasks, [0-9]+ of [0-9]+ instances did not succeed"),
    "window-timed-out.json": f"TIMED_OUT {WINDOW}: 2 of 2 tasks did not succeed",
    "window-cancelled.json": f"CANCELLED {WINDOW}: 2 of 2 tasks did not succeed",
    "window-skipped-overlapping.json": (f"SKIPPED_OVERLAPPING {WINDOW}: 2 of 2 tasks did not succeed"),
    "window-success.json": None,
}


def sample_events() -> list[Path]:
    return sorted(EVENTS.glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def function_for(event: Path) -> str:
    for prefix, function in FUNCTIONS.items():
        if event.name.startswith(prefix):
            return function
    raise AssertionError(f"events/{event.name}: no function takes it (prefixes: {', '.join(FUNCTIONS)})")


def log(name: str) -> str:
    return (LOGS / name).read_text()


def patch_steps(status: str, code: int, stdout: str) -> tuple[Step, ...]:
    return (
        Step("PatchLinux", SH, status=status, response_code=code, stdout=stdout),
        skipped("PatchWindows", PS, "Windows"),
        skipped("PatchMacOS", SH, "MacOS"),
    )


def healthcheck_steps(status: str, code: int, stdout: str, stderr: str = "") -> tuple[Step, ...]:
    return (
        Step("DownloadLinuxHealthcheck", "aws:downloadContent"),
        Step("RunLinuxHealthcheck", SH, status=status, response_code=code, stdout=stdout, stderr=stderr),
        skipped("DownloadWindowsHealthcheck", "aws:downloadContent", "Windows"),
        skipped("RunWindowsHealthcheck", PS, "Windows"),
    )


def outcomes_for(status: str, document: str) -> list[InstanceResult]:
    """How the three instances of a sample command ended, given the status the event reports."""
    if document == "AWS-RunPatchBaseline":
        ok = InstanceResult(
            "Success", "Success", patch_steps("Success", 0, log("linux_install_success_with_summary.stdout"))
        )
        if status == "Failed":
            failed = InstanceResult(
                "Failed", "Failed", patch_steps("Failed", 1, log("linux_yum_lock.stdout"))
            )
            return [failed, failed, ok]
        if status == "TimedOut":
            return [InstanceResult("TimedOut", "Delivery Timed Out"), ok, ok]
    else:
        ok = InstanceResult(
            "Success", "Success", healthcheck_steps("Success", 0, "HEALTHCHECK PASS 6 of 6 checks\n")
        )
        if status == "Failed":
            steps = healthcheck_steps(
                "Failed", 1, log("healthcheck_fail.stdout"), log("healthcheck_fail.stderr")
            )
            return [InstanceResult("Failed", "Failed", steps), ok, ok]
    if status == "Cancelled":
        return [InstanceResult("Cancelled", "Cancelled")] * 3
    if status == "Success":
        return [ok] * 3
    raise AssertionError(f"no sample outcome for a {status} {document} command")


def seed_command(stack: Stack, event: dict[str, Any]) -> PlayedCommand:
    detail = event["detail"]
    document = detail["document-name"]
    reservation = stack.client("ec2").run_instances(
        ImageId="ami-760aaa0f",
        MinCount=3,
        MaxCount=3,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Patch Group", "Value": "prod"}]}],
    )
    instance_ids = [i["InstanceId"] for i in reservation["Instances"]]
    for n, instance_id in enumerate(instance_ids, start=1):
        stack.client("ec2").create_tags(
            Resources=[instance_id], Tags=[{"Key": "Name", "Value": f"web-{n:02d}"}]
        )
    task = "patch" if document == "AWS-RunPatchBaseline" else "healthcheck"
    return play_command(
        ssm=stack.client("ssm"),
        s3=stack.client("s3"),
        region=REGION,
        document_name=document,
        outcomes=dict(zip(instance_ids, outcomes_for(detail["status"], document), strict=True)),
        bucket=BUCKET,
        comment=f"PatchWithHealthcheck {task}",
        command_id=detail["command-id"],
    )


@pytest.fixture(scope="module")
def seeded(stack: Stack) -> Stack:
    """The commands, the window and its executions that the sample events name, as AWS would have them."""
    stack.client("ssm").create_document(
        Name=HEALTHCHECK,
        Content=(ROOT / "documents" / "healthcheck.yaml").read_text(),
        DocumentType="Command",
        DocumentFormat="YAML",
    )
    # Every sample command, the successful one too: a Success is checked against ListCommands.
    commands = {
        event["detail"]["command-id"]: seed_command(stack, event)
        for event in map(load, sorted(EVENTS.glob("command-*.json")))
    }
    failed_patch = commands[load(EVENTS / "command-failed.json")["detail"]["command-id"]]
    succeeded = commands[load(EVENTS / "command-success.json")["detail"]["command-id"]]
    window_ids = {load(path)["detail"]["window-id"] for path in EVENTS.glob("window-*.json")}
    assert len(window_ids) == 1, "the sample window events are executions of one window"
    window = create_window(
        ssm=stack.client("ssm"), region=REGION, healthcheck_document=HEALTHCHECK, window_id=window_ids.pop()
    )
    for path in sorted(EVENTS.glob("window-*.json")):
        detail = load(path)["detail"]
        status = detail["status"]
        if status == "SUCCESS":
            # Both tasks ran on the instances: a SUCCESS that ran on none would be told.
            tasks = [
                TaskRun(window.patch_task_id, "SUCCESS", command=succeeded),
                TaskRun(window.healthcheck_task_id, "SUCCESS", command=succeeded),
            ]
        elif status == "SKIPPED_OVERLAPPING":
            tasks = []
        elif status == "FAILED":
            tasks = [
                TaskRun(
                    window.patch_task_id, "FAILED", "The maximum number of errors was exceeded.", failed_patch
                )
            ]
        else:
            tasks = [TaskRun(window.patch_task_id, status)]
        play_window_execution(
            region=REGION,
            window=window,
            status=status,
            status_details="One or more tasks in the orchestration failed." if status == "FAILED" else "",
            tasks=tasks,
            window_execution_id=detail["window-execution-id"],
        )
    stack.received()  # nothing published yet; start from an empty queue
    return stack


def test_every_sample_event_has_an_expectation() -> None:
    assert sorted(p.name for p in sample_events()) == sorted(EXPECTED)


def test_every_function_that_events_invoke_has_sample_events() -> None:
    resources = raw_template()["Resources"]
    triggered = {
        name
        for name, resource in resources.items()
        if resource["Type"] == "AWS::Serverless::Function" and resource["Properties"].get("Events")
    }

    assert triggered == set(FUNCTIONS.values())
    assert {function_for(event) for event in sample_events()} == triggered


@pytest.mark.parametrize("event_file", sample_events(), ids=lambda path: path.name)
def test_sample_event_in_a_lambda_container(sam_local: SamLocal, seeded: Stack, event_file: Path) -> None:
    event = load(event_file)
    expected_subject = EXPECTED[event_file.name]

    invocation = sam_local.invoke(function_for(event_file), event_file)

    output = f"stdout:\n{invocation.stdout}\nstderr:\n{invocation.stderr}"
    assert invocation.returncode == 0, output
    assert "errorType" not in invocation.stdout, f"the handler raised (sam exits 0 all the same)\n{output}"
    result = invocation.result
    received = seeded.received()
    if expected_subject is None:
        assert received == [], "a success is not notified (NOTIFY_ON_SUCCESS=false)"
        assert result["notified"] is False
        return
    assert len(received) == 1, output
    assert re.fullmatch(expected_subject, received[0]["Subject"]), f"{received[0]['Subject']}\n{output}"
    message = json.loads(received[0]["Message"])
    detail = event["detail"]
    assert message["status"] == detail["status"]
    if "command-id" in detail:
        assert message["command_id"] == detail["command-id"]
    else:
        assert message["window_execution_id"] == detail["window-execution-id"]
    if event_file.name == "window-failed.json":
        patch, healthcheck = message["tasks"]
        assert patch["command_ids"] == [load(EVENTS / "command-failed.json")["detail"]["command-id"]]
        assert healthcheck["status"] == "NOT_RUN"
