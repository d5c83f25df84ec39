"""The window function end to end: task statuses, tasks that never ran and why, command ids."""

from __future__ import annotations

import json
from types import ModuleType

import pytest

from local.simulator import (
    Outcome,
    PlayedCommand,
    Step,
    TaskRun,
    command_event,
    create_window,
    play_command,
    play_window_execution,
    window_event,
)
from tests.integration.conftest import BUCKET, EVENTS, REGION, FakeContext, Stack, load_event


def failed_patch_night(stack: Stack) -> tuple[str, str, str]:
    window = create_window(ssm=stack.ssm, region=REGION, healthcheck_document="AWS-RunShellScript")
    ids = stack.instances(3)
    outcomes = {
        ids[0]: Outcome(
            "Failed", "Failed", (Step("PatchLinux", "aws:runShellScript", "Failed", 1, "yum lock"),)
        ),
        ids[1]: Outcome("Success", "Success", (Step("PatchLinux", "aws:runShellScript"),)),
        ids[2]: Outcome("Success", "Success", (Step("PatchLinux", "aws:runShellScript"),)),
    }
    patch = play_command(
        ssm=stack.ssm,
        s3=stack.s3,
        region=REGION,
        document_name="AWS-RunPatchBaseline",
        outcomes=outcomes,
        bucket=BUCKET,
    )
    execution = play_window_execution(
        region=REGION,
        window=window,
        status="FAILED",
        status_details="One or more tasks in the orchestration failed.",
        tasks=[TaskRun(window.patch_task_id, "FAILED", "The maximum number of errors was exceeded.", patch)],
    )
    return window.window_id, execution, patch.command_id


def test_window_report_lists_tasks_and_explains_the_one_that_never_ran(
    stack: Stack, window_function: ModuleType
) -> None:
    window_id, execution, command_id = failed_patch_night(stack)

    window_function.handler(
        window_event(window_id=window_id, window_execution_id=execution, status="FAILED", region=REGION),
        FakeContext(),
    )

    (envelope,) = stack.received()
    assert (
        envelope["Subject"] == "FAILED maintenance window PatchWithHealthcheck: 2 of 2 tasks did not succeed"
    )
    report = json.loads(envelope["Message"])
    assert report["schema"] == "instance-hygiene/window-report@1"
    patch, health = report["tasks"]
    assert (patch["name"], patch["priority"], patch["status"]) == ("Patch", 10, "FAILED")
    assert patch["status_details"] == "The maximum number of errors was exceeded."
    assert patch["command_ids"] == [command_id]
    assert (health["name"], health["priority"], health["status"]) == ("Healthcheck", 20, "NOT_RUN")
    assert "earlier task Patch (priority 10) ended FAILED (MaxErrors 0)" in health["status_details"]


def test_window_and_command_events_in_any_order_each_notify_once(
    stack: Stack, window_function: ModuleType, command_function: ModuleType
) -> None:
    window_id, execution, command_id = failed_patch_night(stack)
    window = window_event(window_id=window_id, window_execution_id=execution, status="FAILED", region=REGION)
    command = json.loads(json.dumps(command_event_for(stack, command_id)))

    for _ in range(2):
        window_function.handler(window, FakeContext())
        command_function.handler(command, FakeContext())

    subjects = sorted(m["Subject"].split(":")[0] for m in stack.received())
    assert subjects == ["FAILED AWS-RunPatchBaseline", "FAILED maintenance window PatchWithHealthcheck"]


def command_event_for(stack: Stack, command_id: str) -> dict[str, object]:
    command = stack.ssm.list_commands(CommandId=command_id)["Commands"][0]
    played = PlayedCommand(command_id, command["DocumentName"], [], command["Status"])
    return command_event(played, region=REGION)


def test_success_is_quiet_unless_asked(stack: Stack, window_function: ModuleType) -> None:
    result = window_function.handler(load_event("window-success.json"), FakeContext())

    assert result == {"notified": False}
    assert stack.received() == []


@pytest.mark.parametrize(
    "name", sorted(p.name for p in EVENTS.glob("window-*.json") if "success" not in p.name)
)
def test_every_sample_window_event_runs_through_the_handler(
    stack: Stack, window_function: ModuleType, name: str
) -> None:
    event = load_event(name)
    detail = event["detail"]
    window = create_window(
        ssm=stack.ssm, region=REGION, healthcheck_document="AWS-RunShellScript", window_id=detail["window-id"]
    )
    tasks = (
        [] if detail["status"] == "SKIPPED_OVERLAPPING" else [TaskRun(window.patch_task_id, detail["status"])]
    )
    play_window_execution(
        region=REGION,
        window=window,
        status=detail["status"],
        tasks=tasks,
        window_execution_id=detail["window-execution-id"],
    )

    window_function.handler(event, FakeContext())

    (envelope,) = stack.received()
    report = json.loads(envelope["Message"])
    assert report["status"] == detail["status"]
    assert envelope["Subject"].startswith(detail["status"])
    assert all(task["status_details"] for task in report["tasks"] if task["status"] == "NOT_RUN")
