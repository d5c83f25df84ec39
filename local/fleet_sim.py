"""Play what AWS does when a command runs on a fleet: results, S3 output, EventBridge events.

Uses only the stand-in's public API and ordinary boto3 calls against the emulator: moto's
send_command creates the command, `standin.ssm.record_invocation` records how each instance
ended, and the output objects are written with the agent's key layout (only non-empty streams,
nothing at all when the instance lacks S3/KMS permission). An AWS-RunPatchBaseline run that
printed its patch summary also leaves the instance's patch state (`standin.ssm.record_patch_state`,
read by DescribeInstancePatchStates), as Patch Manager records the counts of the last operation.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from moto.ssm.models import ssm_backends

from instance_hygiene.explain.patchsummary import parse_patch_summary
from local.standin import ssm as standin

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_ssm import SSMClient

ACCOUNT = "123456789012"


@dataclass(frozen=True)
class Step:
    """One step of the document as it ended on one instance."""

    name: str
    action: str
    status: str = "Success"
    response_code: int = 0
    stdout: str = ""
    stderr: str = ""
    status_details: str | None = None
    reaches_s3: bool = True
    """False for a step skipped by its precondition: the agent uploads nothing for it."""


@dataclass(frozen=True)
class InstanceResult:
    """How one instance ended: its status, its steps, and whether its logs reached S3."""

    status: str
    status_details: str
    steps: tuple[Step, ...] = ()
    logs_reach_s3: bool = True


@dataclass
class PlayedCommand:
    command_id: str
    document_name: str
    instance_ids: list[str]
    status: str
    keys_written: list[str] = field(default_factory=list)


def skipped(name: str, action: str, platform: str) -> Step:
    """A step whose platform precondition did not hold (the agent reports it as a success)."""
    return Step(
        name=name,
        action=action,
        status="Success",
        stdout=(
            "Step execution skipped due to unsatisfied preconditions: "
            f"'\"StringEquals\": [platformType, {platform}]'. Step name: {name}"
        ),
        reaches_s3=False,
    )


def _set_requested(region: str, command_id: str, requested: datetime, account: str = ACCOUNT) -> None:
    """The command's RequestedDateTime as the played night has it (moto stamps the wall clock;
    it keeps naive UTC datetimes), its expiry moved with it."""
    for command in ssm_backends[account][region]._commands:
        if command.command_id == command_id:
            naive = requested.astimezone(UTC).replace(tzinfo=None)
            command.expires_after = naive + (command.expires_after - command.requested_date_time)
            command.requested_date_time = naive
            return
    raise ValueError(f"command {command_id} not found")


def _rekey(region: str, old: str, new: str, account: str = ACCOUNT) -> None:
    """Give a command sent through moto the id a sample event names (AWS assigns ids; so do we)."""
    for command in ssm_backends[account][region]._commands:
        if command.command_id == old:
            command.command_id = new
            for invocation in command.invocations:
                invocation["CommandId"] = new
            return
    raise ValueError(f"command {old} not found")


# Command-event statuses beyond the documented seven that AWS's own patch-reporting sample
# (aws-samples/centralized-systems-manager-patching-reporting-and-notifications) matches, read as
# the command's StatusDetails (API reference) they name. UNVERIFIED: whether, and for which
# commands, EventBridge sends them instead of the Status.
DETAILED_EVENT_STATUS = {
    "Incomplete": "Incomplete",
    "Delivery Timed Out": "DeliveryTimedOut",
    "Rate Exceeded": "RateExceeded",
    "Access Denied": "AccessDenied",
    "No Instances In Tag": "No Instances In Tag",
}


def reported_status(ssm: SSMClient, command_id: str) -> tuple[str, str]:
    """(Status, StatusDetails) of the command as ListCommands reports it."""
    (command,) = ssm.list_commands(CommandId=command_id)["Commands"]
    return str(command.get("Status", "")), str(command.get("StatusDetails", ""))


def final_event_status(status: str, status_details: str, *, detailed: bool = False) -> str:
    """The status of the command's final EventBridge event: its Status, or (`detailed`) the
    StatusDetails the sample's patterns name when it is one of them."""
    return DETAILED_EVENT_STATUS.get(status_details, status) if detailed else status


def command_status(outcomes: Sequence[InstanceResult]) -> str:
    """The command's overall status as Run Command derives it from its invocations."""
    statuses = {o.status for o in outcomes}
    for status in ("Failed", "TimedOut", "Cancelled"):
        if status in statuses:
            return status
    return "Success"


PATCH_DOCUMENT = "AWS-RunPatchBaseline"
# The summary's own BaselineId and PatchGroup: `'Key': 'value'` in the Linux dict repr, `Key : value`
# in the Windows block (aws-ssm-facts section 4; local/agent_logs prints both).
_SUMMARY_NAME = re.compile(r"""['"]?(?P<key>BaselineId|PatchGroup)['"]?[ \t]*:[ \t]*'?(?P<value>[^'",\n]+)""")


def _record_patch_state(
    region: str,
    instance_id: str,
    outcome: InstanceResult,
    plugins: Sequence[standin.PluginResult],
    account: str = ACCOUNT,
) -> None:
    """The patch state an AWS-RunPatchBaseline run leaves: the counts of the last summary any of its
    steps printed (explain.patchsummary reads them as the product does). A run that printed none
    (or one without its BaselineId and PatchGroup), or whose operation or counts are unknown, leaves the
    instance's previous state, if any. Patches whose classification the log does not give count
    as other non-compliant."""
    for step, plugin in zip(outcome.steps, plugins, strict=True):
        counts = parse_patch_summary(step.stdout)
        if counts is None or counts.operation not in ("Scan", "Install"):
            continue
        if counts.missing is None or counts.failed is None:  # -1: a failed Windows run's "unknown"
            continue
        names = {m.group("key"): m.group("value").strip() for m in _SUMMARY_NAME.finditer(step.stdout)}
        if not names.get("PatchGroup") or not names.get("BaselineId"):
            continue
        missing, failed = counts.missing or 0, counts.failed or 0
        pending = counts.installed_pending_reboot or 0
        standin.record_patch_state(
            account,
            region,
            instance_id,
            operation=counts.operation,
            patch_group=names["PatchGroup"],
            baseline_id=names["BaselineId"],
            operation_start=plugin.start or datetime.now(UTC),
            operation_end=plugin.finish or datetime.now(UTC),
            installed=counts.installed or 0,
            installed_other=counts.installed_other or 0,
            installed_pending_reboot=pending,
            installed_rejected=counts.installed_rejected or 0,
            missing=missing,
            failed=failed,
            not_applicable=counts.not_applicable or 0,
            other_non_compliant=missing + failed + pending,
        )
        return


def play_command(
    *,
    ssm: SSMClient,
    s3: S3Client,
    region: str,
    document_name: str,
    outcomes: Mapping[str, InstanceResult],
    bucket: str | None,
    prefix: str = "ssm_output/",
    parameters: Mapping[str, list[str]] | None = None,
    comment: str = "",
    command_id: str | None = None,
    requested: datetime | None = None,
    finished: datetime | None = None,
    max_concurrency: str | None = None,
    max_errors: str | None = None,
    timeout_seconds: int | None = None,
    account: str = ACCOUNT,
) -> PlayedCommand:
    """Send `document_name` to the instances and make each end as its outcome says.

    `max_concurrency`, `max_errors` and `timeout_seconds` (the delivery timeout) are passed to
    SendCommand as a maintenance window task passes its own. `requested` (default: when it is
    sent) is its RequestedDateTime, `finished` (default: now) when its steps ended. `account` is
    the account `ssm` and `s3` act in (another than moto's default: clients of assumed credentials).
    """
    request: dict[str, Any] = {
        "InstanceIds": list(outcomes),
        "DocumentName": document_name,
        "Parameters": dict(parameters or {}),
        "Comment": comment,
    }
    if bucket:
        request |= {"OutputS3BucketName": bucket, "OutputS3KeyPrefix": prefix}
    if max_concurrency:
        request["MaxConcurrency"] = max_concurrency
    if max_errors:
        request["MaxErrors"] = max_errors
    if timeout_seconds:
        request["TimeoutSeconds"] = timeout_seconds
    sent = ssm.send_command(**request)["Command"]["CommandId"]
    if command_id and command_id != sent:
        _rekey(region, sent, command_id, account)
    cid = command_id or sent
    if requested is not None:
        _set_requested(region, cid, requested, account)
    end = finished or datetime.now(UTC)
    played = PlayedCommand(
        command_id=cid,
        document_name=document_name,
        instance_ids=list(outcomes),
        status=command_status(list(outcomes.values())),
    )
    for instance_id, outcome in outcomes.items():
        plugins = [
            standin.PluginResult(
                name=step.name,
                status=step.status,
                status_details=step.status_details or step.status,
                response_code=step.response_code,
                stdout=step.stdout,
                stderr=step.stderr,
                start=end - timedelta(minutes=5),
                finish=end,
                action=step.action,
            )
            for step in outcome.steps
        ]
        standin.record_invocation(
            account,
            region,
            cid,
            instance_id,
            status=outcome.status,
            status_details=outcome.status_details,
            plugins=plugins,
        )
        if document_name == PATCH_DOCUMENT:
            _record_patch_state(region, instance_id, outcome, plugins, account)
        if not bucket or not outcome.logs_reach_s3:
            continue
        for index, (step, plugin) in enumerate(zip(outcome.steps, plugins, strict=True)):
            if not step.reaches_s3:
                continue
            for stream, text in (("stdout", plugin.stdout), ("stderr", plugin.stderr)):
                key = standin.plugin_output_key(prefix, cid, instance_id, plugin, index=index, stream=stream)
                if text and key:  # the agent uploads only non-empty streams
                    s3.put_object(Bucket=bucket, Key=key, Body=text.encode())
                    played.keys_written.append(key)
    return played


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def instance_arn(instance_id: str, *, region: str, account: str = ACCOUNT) -> str:
    """The ARN events name an instance by: EC2 instance, or managed instance for a hybrid node."""
    if instance_id.startswith("mi-"):
        return f"arn:aws:ssm:{region}:{account}:managed-instance/{instance_id}"
    return f"arn:aws:ec2:{region}:{account}:instance/{instance_id}"


def _envelope(
    detail_type: str,
    *,
    key: str,
    moment: datetime,
    region: str,
    resources: list[str],
    detail: dict[str, Any],
    account: str = ACCOUNT,
) -> dict[str, Any]:
    """An aws.ssm EventBridge event; its id is derived from `key` (the same change, the same id)."""
    return {
        "version": "0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, key)),
        "detail-type": detail_type,
        "source": "aws.ssm",
        "account": account,
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": resources,
        "detail": detail,
    }


def command_event(
    played: PlayedCommand,
    *,
    region: str,
    status: str | None = None,
    requested: datetime | None = None,
    time: datetime | None = None,
    parameters: Mapping[str, list[str]] | None = None,
    account: str = ACCOUNT,
) -> dict[str, Any]:
    """The EventBridge event AWS emits when the command reaches its final status (or `status`).

    `requested` (default: ten minutes before `time`) and `time` (default: now) date it.
    """
    now = time or datetime.now(UTC)
    return _envelope(
        "EC2 Command Status-change Notification",
        key=f"{played.command_id}/{status or played.status}",
        moment=now,
        region=region,
        account=account,
        resources=[instance_arn(i, region=region, account=account) for i in played.instance_ids],
        detail={
            "command-id": played.command_id,
            "document-name": played.document_name,
            "expire-after": _iso((requested or now) + timedelta(hours=2)),
            "parameters": {name: list(values) for name, values in (parameters or {}).items()},
            "requested-date-time": _iso(requested or now - timedelta(minutes=10)),
            "status": status or played.status,
        },
    )


@dataclass(frozen=True)
class Window:
    window_id: str
    target_id: str
    patch_task_id: str
    healthcheck_task_id: str


WINDOW_TIMEZONE = "Europe/London"
"""The stand-in window's ScheduleTimezone: the nights' local dates are its."""


@dataclass(frozen=True)
class TaskRun:
    """How one registered task ended in a window execution, and the command it ran (if any)."""

    window_task_id: str
    status: str
    status_details: str = ""
    command: PlayedCommand | None = None
    start: datetime | None = None
    end: datetime | None = None


def _rekey_window(region: str, old: str, new: str) -> None:
    windows = ssm_backends[ACCOUNT][region].windows
    window = windows.pop(old)
    window.id = new
    children: list[Any] = [*window.targets.values(), *window.tasks.values()]
    for child in children:
        child.window_id = new
    windows[new] = window


def create_window(
    *,
    ssm: SSMClient,
    region: str,
    name: str = "PatchWithHealthcheck",
    healthcheck_document: str = "HealthcheckDocument",
    window_id: str | None = None,
    max_errors: str = "0",
    max_concurrency: str = "100%",
    cutoff_behavior: str | None = None,
    target_tag: tuple[str, str] = ("Patch Group", "prod"),
) -> Window:
    """The stack's window as the template creates it: a tag target, patch (10), healthcheck (20).

    `cutoff_behavior` (CONTINUE_TASK, the template's, or CANCEL_TASK) is registered on both tasks
    when given.
    """
    created = ssm.create_maintenance_window(
        Name=name,
        Schedule="cron(0 9 ? * * *)",
        ScheduleTimezone=WINDOW_TIMEZONE,
        Duration=3,
        Cutoff=1,
        AllowUnassociatedTargets=False,
    )["WindowId"]
    if window_id and window_id != created:
        _rekey_window(region, created, window_id)
    wid = window_id or created
    target = ssm.register_target_with_maintenance_window(
        WindowId=wid,
        ResourceType="INSTANCE",
        Targets=[{"Key": f"tag:{target_tag[0]}", "Values": [target_tag[1]]}],
    )["WindowTargetId"]

    def task(task_name: str, arn: str, priority: int) -> str:
        request: dict[str, Any] = {
            "WindowId": wid,
            "Name": task_name,
            "TaskArn": arn,
            "TaskType": "RUN_COMMAND",
            "Priority": priority,
            "Targets": [{"Key": "WindowTargetIds", "Values": [target]}],
            "MaxConcurrency": max_concurrency,
            "MaxErrors": max_errors,
        }
        if cutoff_behavior:
            request["CutoffBehavior"] = cutoff_behavior
        return ssm.register_task_with_maintenance_window(**request)["WindowTaskId"]

    return Window(
        window_id=wid,
        target_id=target,
        patch_task_id=task("Patch", "AWS-RunPatchBaseline", 10),
        healthcheck_task_id=task("Healthcheck", healthcheck_document, 20),
    )


def play_window_execution(
    *,
    region: str,
    window: Window,
    status: str,
    status_details: str = "",
    tasks: Sequence[TaskRun] = (),
    window_execution_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    account: str = ACCOUNT,
) -> str:
    """Record an execution of the window: the tasks that ran, and the commands they sent.

    The execution runs from `start` (default: two hours before `end`) to `end` (default: now);
    a task runs from its own start/end, by default the last hour of the execution.
    """
    end = end or datetime.now(UTC)
    execution_id = standin.record_window_execution(
        account,
        region,
        window.window_id,
        status=status,
        status_details=status_details,
        start_time=start or end - timedelta(hours=2),
        end_time=end,
        window_execution_id=window_execution_id,
    )
    for run in tasks:
        task_execution_id = standin.record_window_task(
            account,
            region,
            execution_id,
            status=run.status,
            status_details=run.status_details,
            window_task_id=run.window_task_id,
            start_time=run.start or end - timedelta(hours=1),
            end_time=run.end or end,
        )
        if run.command is None:
            continue
        for instance_id in run.command.instance_ids:
            standin.record_window_task_invocation(
                account,
                region,
                execution_id,
                task_execution_id,
                status=run.status,
                execution_id=run.command.command_id,
                window_target_id=window.target_id,
                owner_information=instance_id,
            )
    return execution_id


def window_event(
    *,
    window_id: str,
    window_execution_id: str,
    status: str,
    region: str,
    start: datetime | None = None,
    end: datetime | None = None,
    account: str = ACCOUNT,
) -> dict[str, Any]:
    """The EventBridge event AWS emits when a window execution changes state."""
    now = end or datetime.now(UTC)
    return _envelope(
        "Maintenance Window Execution State-change Notification",
        key=f"{window_execution_id}/{status}",
        moment=now,
        region=region,
        account=account,
        resources=[f"arn:aws:ssm:{region}:{account}:maintenancewindow/{window_id}"],
        detail={
            "start-time": _iso(start or now - timedelta(hours=2)),
            "end-time": _iso(now),
            "window-id": window_id,
            "window-execution-id": window_execution_id,
            "status": status,
        },
    )


def window_task_event(
    *,
    window_id: str,
    window_execution_id: str,
    task_execution_id: str,
    status: str,
    region: str,
    start: datetime,
    end: datetime | None = None,
    account: str = ACCOUNT,
) -> dict[str, Any]:
    """The EventBridge event AWS emits when a task of a window execution changes state
    (IN_PROGRESS, SUCCESS, FAILED, TIMED_OUT)."""
    return _envelope(
        "Maintenance Window Task Execution State-change Notification",
        key=f"{task_execution_id}/{status}",
        moment=end or start,
        region=region,
        account=account,
        resources=[f"arn:aws:ssm:{region}:{account}:maintenancewindow/{window_id}"],
        detail={
            "start-time": _iso(start),
            "end-time": _iso(end) if end else "",
            "window-id": window_id,
            "window-execution-id": window_execution_id,
            "task-execution-id": task_execution_id,
            "status": status,
        },
    )


def invocation_event(
    *,
    command_id: str,
    document_name: str,
    instance_id: str,
    status: str,
    region: str,
    requested: datetime,
    time: datetime | None = None,
    account: str = ACCOUNT,
) -> dict[str, Any]:
    """The EventBridge event AWS emits when one instance's invocation of a command changes state."""
    return _envelope(
        "EC2 Command Invocation Status-change Notification",
        key=f"{command_id}/{instance_id}/{status}",
        moment=time or datetime.now(UTC),
        region=region,
        account=account,
        resources=[instance_arn(instance_id, region=region, account=account)],
        detail={
            "command-id": command_id,
            "document-name": document_name,
            "instance-id": instance_id,
            "requested-date-time": _iso(requested),
            "status": status,
        },
    )
