"""What an event names, made to exist in the stand-in: its command (three tagged instances, how each
ended, their output in S3), or its window and window execution, with the tasks and the commands
they ran. `make invoke` (local.invoke) seeds one event; the container tests seed every sample event.

How the instances of a command ended follows the status the event reports: a Failed patch fails on
two of three instances with a yum lock, a TimedOut one is not delivered to one instance, a failed
healthcheck fails on one; the logs are tests/fixtures/logs (their README says where they come
from). Must run in the stand-in's process: local.fleet_sim writes the SSM records into its moto.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from local.fleet_sim import (
    InstanceResult,
    PlayedCommand,
    Step,
    TaskRun,
    Window,
    create_window,
    play_command,
    play_window_execution,
    skipped,
)
from local.sam_local import BUCKET, REGION, ROOT, StandinStack

LOGS = ROOT / "tests" / "fixtures" / "logs"
SH, PS = "aws:runShellScript", "aws:runPowerShellScript"
PATCH = "AWS-RunPatchBaseline"
HEALTHCHECK = "instance-hygiene-Healthcheck"  # as named in the sample events


class EventStateError(ValueError):
    """An event names something this module cannot play (a status, a document, no ids)."""


@dataclass
class Seeded:
    """What was made to exist, by id, for the events seeded."""

    commands: dict[str, PlayedCommand] = field(default_factory=dict)
    windows: dict[str, Window] = field(default_factory=dict)
    executions: dict[str, str] = field(default_factory=dict)
    """Window execution id -> its status."""

    def lines(self) -> list[str]:
        """One line per command and window execution, for a person."""
        commands = [
            f"command {c.command_id} ({c.document_name}, {c.status}, {len(c.instance_ids)} instances)"
            for c in self.commands.values()
        ]
        executions = [f"window execution {e} ({status})" for e, status in self.executions.items()]
        return commands + executions


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
    """How the three instances of a command ended, given the status the event reports."""
    if document == PATCH:
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
    elif document == HEALTHCHECK:
        ok = InstanceResult(
            "Success", "Success", healthcheck_steps("Success", 0, "HEALTHCHECK PASS 6 of 6 checks\n")
        )
        if status == "Failed":
            steps = healthcheck_steps(
                "Failed", 1, log("healthcheck_fail.stdout"), log("healthcheck_fail.stderr")
            )
            return [InstanceResult("Failed", "Failed", steps), ok, ok]
    else:
        raise EventStateError(f"no sample instances for document {document} (only {PATCH}, {HEALTHCHECK})")
    if status == "Cancelled":
        return [InstanceResult("Cancelled", "Cancelled")] * 3
    if status == "Success":
        return [ok] * 3
    raise EventStateError(f"no sample outcome for a {status} {document} command")


def _required(detail: Mapping[str, Any], name: str) -> Any:
    if name not in detail:
        raise EventStateError(f"the event's detail has no {name}")
    return detail[name]


def seed_command(stack: StandinStack, detail: Mapping[str, Any]) -> PlayedCommand:
    """The command of an "EC2 Command Status-change Notification" detail, on three new instances
    tagged Patch Group=prod and named web-01..03 (a new command id when the detail has none)."""
    document = _required(detail, "document-name")
    outcomes = outcomes_for(_required(detail, "status"), document)
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
    task = "patch" if document == PATCH else "healthcheck"
    return play_command(
        ssm=stack.client("ssm"),
        s3=stack.client("s3"),
        region=REGION,
        document_name=document,
        outcomes=dict(zip(instance_ids, outcomes, strict=True)),
        bucket=BUCKET,
        comment=f"PatchWithHealthcheck {task}",
        command_id=detail.get("command-id"),
    )


def _task_runs(window: Window, status: str, command: Callable[[str], PlayedCommand]) -> list[TaskRun]:
    """How the window's tasks ended in an execution of `status`; `command(status)` gives a patch
    command that ended so (one of the events', else a new one)."""
    if status == "SUCCESS":
        # Both tasks ran on the instances: a SUCCESS that ran on none would be told.
        succeeded = command("Success")
        return [
            TaskRun(window.patch_task_id, "SUCCESS", command=succeeded),
            TaskRun(window.healthcheck_task_id, "SUCCESS", command=succeeded),
        ]
    if status == "SKIPPED_OVERLAPPING":
        return []
    if status == "FAILED":
        message = "The maximum number of errors was exceeded."
        return [TaskRun(window.patch_task_id, "FAILED", message, command("Failed"))]
    return [TaskRun(window.patch_task_id, status)]


def seed(stack: StandinStack, events: Sequence[Mapping[str, Any]]) -> Seeded:
    """Everything `events` name: the healthcheck document, each command event's command, each
    window event's window (one per window id) and execution. A window execution's patch task
    ran a patch command of the events that ended as it needs (Failed, Success), else a new one."""
    seeded = Seeded()
    stack.client("ssm").create_document(
        Name=HEALTHCHECK,
        Content=(ROOT / "documents" / "healthcheck.yaml").read_text(),
        DocumentType="Command",
        DocumentFormat="YAML",
    )
    details = [event.get("detail", {}) for event in events]
    for detail in details:
        if "command-id" in detail:
            seeded.commands[detail["command-id"]] = seed_command(stack, detail)

    def patch_command(status: str) -> PlayedCommand:
        for played in seeded.commands.values():
            if played.document_name == PATCH and played.status == status:
                return played
        played = seed_command(stack, {"document-name": PATCH, "status": status})
        seeded.commands[played.command_id] = played
        return played

    for detail in details:
        if "window-execution-id" not in detail:
            continue
        window_id = _required(detail, "window-id")
        if window_id not in seeded.windows:
            seeded.windows[window_id] = create_window(
                ssm=stack.client("ssm"), region=REGION, healthcheck_document=HEALTHCHECK, window_id=window_id
            )
        window = seeded.windows[window_id]
        status = _required(detail, "status")
        play_window_execution(
            region=REGION,
            window=window,
            status=status,
            status_details="One or more tasks in the orchestration failed." if status == "FAILED" else "",
            tasks=_task_runs(window, status, patch_command),
            window_execution_id=detail["window-execution-id"],
        )
        seeded.executions[detail["window-execution-id"]] = status
    return seeded
