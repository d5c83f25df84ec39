"""The window function end to end: task statuses, tasks that never ran and why, command ids, each
task's counts, the night's top causes from the commands' full reports, the patch task's compliance
and the links, whichever of the window's and the commands' events arrives first."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest

from instance_hygiene.notify import window as notify_window
from instance_hygiene.render.command import Rendered
from instance_hygiene.render.window import render as render_window
from local.fleet_sim import (
    InstanceResult,
    PlayedCommand,
    Step,
    TaskRun,
    command_event,
    create_window,
    play_command,
    play_window_execution,
    window_event,
)
from tests.integration.test_command_handler import linux_patch, log
from tests.support.events import EVENTS, load_event
from tests.support.stack import BUCKET, REGION, Stack, lambda_context


def failed_patch_night(stack: Stack) -> tuple[str, str, str]:
    """`played_patch_night`'s window, execution and command ids."""
    window_id, execution, patch = played_patch_night(stack)
    return window_id, execution, patch.command_id


def played_patch_night(stack: Stack) -> tuple[str, str, PlayedCommand]:
    """The patch task failed: one instance on yum's lock (no patch summary, so no patch state), one
    patched cleanly, one with two failed packages and three installed pending a reboot (exit 195);
    the logs are tests/fixtures/logs'. The healthcheck never ran."""
    window = create_window(ssm=stack.ssm, region=REGION, healthcheck_document="AWS-RunShellScript")
    ids = stack.instances(3)
    outcomes = {
        ids[0]: InstanceResult("Failed", "Failed", linux_patch("Failed", 1, log("linux_yum_lock.stdout"))),
        ids[1]: InstanceResult(
            "Success", "Success", linux_patch("Success", 0, log("linux_install_success_with_summary.stdout"))
        ),
        ids[2]: InstanceResult(
            "Failed", "Failed", linux_patch("Failed", 195, log("linux_reboot_with_failures.stdout"))
        ),
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
    return window.window_id, execution, patch


def test_window_report_lists_tasks_and_explains_the_one_that_never_ran(
    stack: Stack, window_function: ModuleType
) -> None:
    window_id, execution, command_id = failed_patch_night(stack)

    window_function.handler(
        window_event(window_id=window_id, window_execution_id=execution, status="FAILED", region=REGION),
        lambda_context(),
    )

    (envelope,) = stack.received()
    report = json.loads(envelope["Message"])
    # The night's date in the window's time zone (aws/night.local_date, tests/unit/aws/test_night.py)
    assert envelope["Subject"] == (
        f"FAILED window PatchWithHealthcheck {report['local_date']}: "
        "2 of 2 tasks, 2 of 3 instances did not succeed"
    )
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
        window_function.handler(window, lambda_context())
        command_function.handler(command, lambda_context())

    subjects = sorted(" ".join(m["Subject"].split()[:3]) for m in stack.received())
    assert len(subjects) == 2
    assert subjects[0].startswith("FAILED AWS-RunPatchBaseline")
    assert subjects[1] == "FAILED window PatchWithHealthcheck"


@pytest.fixture
def emails(monkeypatch: pytest.MonkeyPatch) -> list[Rendered]:
    """Every window notification as rendered (the queue receives the machine JSON only)."""
    rendered: list[Rendered] = []

    def keep(report: Any) -> Rendered:
        rendered.append(render_window(report))
        return rendered[-1]

    monkeypatch.setattr(notify_window, "render_window", keep)
    return rendered


def test_the_window_report_closes_the_night_with_counts_causes_compliance_and_links(
    stack: Stack, window_function: ModuleType, command_function: ModuleType, emails: list[Rendered]
) -> None:
    # Given the failed night, whose command was told (and its full report written) first
    window_id, execution, command_id = failed_patch_night(stack)
    command_function.handler(command_event_for(stack, command_id), lambda_context())
    stack.received()

    # When the window's event arrives
    window_function.handler(
        window_event(window_id=window_id, window_execution_id=execution, status="FAILED", region=REGION),
        lambda_context(),
    )

    # Then the patch task's line has its counts, the night's causes come from the full report
    (envelope,) = stack.received()
    report = json.loads(envelope["Message"])
    patch = report["tasks"][0]
    assert patch["counts"] == {
        "targets": 3,
        "succeeded": 1,
        "failed": 2,
        "timed_out": 0,
        "cancelled": 0,
        "not_run": 0,
        "unfinished": 0,
    }
    (command,) = patch["commands"]
    assert command["report"] == f"s3://{BUCKET}/reports/{command_id}/Failed.json"
    stored = json.loads(
        stack.s3.get_object(Bucket=BUCKET, Key=f"reports/{command_id}/Failed.json")["Body"].read()
    )
    assert [(c["reason"], c["count"], c["next_step"]) for c in report["causes"]] == [
        (g["reason"], g["count"], g["next_step"]) for g in stored["groups"]
    ]
    assert any("yum" in c["reason"] for c in report["causes"])
    # ... and the compliance is what DescribeInstancePatchStates says after the run: the clean
    # instance compliant, the 195 one with failed and pending-reboot patches, the yum one unknown
    assert patch["compliance"] == {
        "instances": 3,
        "compliant": 1,
        "with_missing": 0,
        "with_failed": 1,
        "installed_pending_reboot": 1,
        "critical_non_compliant": 0,
        "security_non_compliant": 0,
        "no_patch_state": 1,
        "stale": 0,
        "unavailable": None,
    }
    assert report["notes"] == []
    # ... and the e-mail links the execution, the command's Run Command page and its full report
    (email,) = emails
    assert (
        f"systems-manager/maintenance-windows/{window_id}/history/{execution}?region={REGION}" in email.text
    )
    assert f"systems-manager/run-command/{command_id}?region={REGION}" in email.text
    assert f"s3/object/{BUCKET}?region={REGION}&prefix=reports/{command_id}/Failed.txt" in email.text
    assert "patch compliance: 1 of 3 instances compliant, 1 with failed patches" in email.text
    first_cause = report["causes"][0]
    assert f"1. {first_cause['reason']} - {first_cause['count']} instance" in email.text


def test_a_report_not_written_yet_is_on_the_way_and_the_counts_still_stand(
    stack: Stack, window_function: ModuleType, emails: list[Rendered]
) -> None:
    # Events arrive in no set order: the window's before the command's.
    window_id, execution, _ = failed_patch_night(stack)

    window_function.handler(
        window_event(window_id=window_id, window_execution_id=execution, status="FAILED", region=REGION),
        lambda_context(),
    )

    report = json.loads(stack.received()[0]["Message"])
    (command,) = report["tasks"][0]["commands"]
    assert command["report"] is None
    assert command["report_note"].startswith("its notification is on the way")
    assert command["counts"]["failed"] == 2
    assert report["causes"] == []
    assert "its notification is on the way" in emails[0].text


@pytest.mark.parametrize(
    ("body", "note"),
    [
        (b"<html>not a report</html>", "its full report is not one (it is not JSON)"),
        (
            b'{"schema": "instance-hygiene/digest@1", "command_id": "x", "groups": []}',
            "about another command",
        ),
    ],
)
def test_an_unreadable_report_is_a_note_not_a_lost_report(
    stack: Stack, window_function: ModuleType, body: bytes, note: str
) -> None:
    window_id, execution, command_id = failed_patch_night(stack)
    stack.s3.put_object(Bucket=BUCKET, Key=f"reports/{command_id}/Failed.json", Body=body)

    window_function.handler(
        window_event(window_id=window_id, window_execution_id=execution, status="FAILED", region=REGION),
        lambda_context(),
    )

    report = json.loads(stack.received()[0]["Message"])
    (command,) = report["tasks"][0]["commands"]
    assert note in command["report_note"]
    assert command["counts"]["targets"] == 3


def command_event_for(stack: Stack, command_id: str) -> dict[str, object]:
    command = stack.ssm.list_commands(CommandId=command_id)["Commands"][0]
    played = PlayedCommand(command_id, command["DocumentName"], [], command["Status"])
    return command_event(played, region=REGION)


def successful_night(
    stack: Stack, *, targets: int = 2, healthcheck_runs: bool = True, status: str = "SUCCESS"
) -> tuple[str, str]:
    """An execution (SUCCESS unless told) whose tasks succeeded on `targets` instances (0: the
    target matched none)."""
    window = create_window(ssm=stack.ssm, region=REGION, healthcheck_document="AWS-RunShellScript")
    ids = stack.instances(targets) if targets else []
    patch = play_command(
        ssm=stack.ssm,
        s3=stack.s3,
        region=REGION,
        document_name="AWS-RunPatchBaseline",
        outcomes={
            i: InstanceResult("Success", "Success", (Step("PatchLinux", "aws:runShellScript"),)) for i in ids
        },
        bucket=BUCKET,
    )
    runs = [TaskRun(window.patch_task_id, "SUCCESS", command=patch if targets else None)]
    if healthcheck_runs:
        runs.append(TaskRun(window.healthcheck_task_id, "SUCCESS", command=patch if targets else None))
    execution = play_window_execution(region=REGION, window=window, status=status, tasks=runs)
    return window.window_id, execution


def succeed(window_function: ModuleType, window_id: str, execution: str) -> dict[str, object]:
    """Deliver the execution's SUCCESS event to the window function."""
    event = window_event(window_id=window_id, window_execution_id=execution, status="SUCCESS", region=REGION)
    return window_function.handler(event, lambda_context())  # type: ignore[no-any-return]


def test_success_on_every_target_is_quiet_unless_asked(
    stack: Stack, window_function: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    window_id, execution = successful_night(stack)

    quiet = succeed(window_function, window_id, execution)
    monkeypatch.setenv("NOTIFY_ON_SUCCESS", "true")
    told = succeed(window_function, window_id, execution)

    assert quiet == {"notified": False, "status": "SUCCESS", "why": "every task ran on its targets"}
    (envelope,) = stack.received()
    date = json.loads(envelope["Message"])["local_date"]
    assert envelope["Subject"] == (
        f"SUCCESS window PatchWithHealthcheck {date}: 0 of 2 tasks, 0 of 2 instances did not succeed"
    )
    assert told["subject"] == envelope["Subject"]


def test_a_success_that_ran_on_no_instance_is_told_whatever_notify_on_success(
    stack: Stack, window_function: ModuleType
) -> None:
    # The tag matched nothing (or every instance id is gone): the window "succeeds" and nothing
    # was patched. That is the most important message there is.
    window_id, execution = successful_night(stack, targets=0)

    succeed(window_function, window_id, execution)

    (envelope,) = stack.received()
    report = json.loads(envelope["Message"])
    assert envelope["Subject"] == (
        f"NOTHING RAN window PatchWithHealthcheck {report['local_date']}: no instance was patched or checked"
    )
    assert report["status"] == "SUCCESS"
    assert [t["invocations"] for t in report["tasks"]] == [0, 0]
    assert report["shortfalls"][0].startswith("task Patch ran on no instance")


def test_a_success_with_a_task_that_never_ran_is_told(stack: Stack, window_function: ModuleType) -> None:
    window_id, execution = successful_night(stack, healthcheck_runs=False)

    succeed(window_function, window_id, execution)

    (envelope,) = stack.received()
    date = json.loads(envelope["Message"])["local_date"]
    assert (
        envelope["Subject"]
        == f"INCOMPLETE window PatchWithHealthcheck {date}: 1 of 2 tasks ran on no instance"
    )
    assert json.loads(envelope["Message"])["shortfalls"] == ["task Healthcheck never ran"]


@pytest.mark.parametrize(
    ("api_status", "told"), [("SUCCESS", False), ("FAILED", True), ("IN_PROGRESS", False)]
)
def test_a_window_status_the_product_does_not_know_is_decided_on_the_api(
    stack: Stack, window_function: ModuleType, api_status: str, told: bool
) -> None:
    window_id, execution = successful_night(stack, targets=1, status=api_status)

    result = window_function.handler(
        window_event(window_id=window_id, window_execution_id=execution, status="EXPLODED", region=REGION),
        lambda_context(),
    )

    assert (len(stack.received()) == 1) is told
    assert result.get("notified", True) is told


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

    window_function.handler(event, lambda_context())

    (envelope,) = stack.received()
    report = json.loads(envelope["Message"])
    assert report["status"] == detail["status"]
    assert envelope["Subject"].startswith(detail["status"])
    assert all(task["status_details"] for task in report["tasks"] if task["status"] == "NOT_RUN")
