"""The maintenance-window execution as Systems Manager reports it, each task's commands (their
invocations and the full reports the command function wrote) and the patch task's compliance: the
adapter that reads them. Only the execution and its tasks are required; the rest is read best
effort, each failure a note in the report."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from instance_hygiene.aws.compliance import read_fleet_compliance
from instance_hygiene.aws.night import local_date
from instance_hygiene.digest.model import severity_rank
from instance_hygiene.digest.window import (
    CommandRun,
    ReportShapeError,
    TaskRun,
    WindowDigest,
    assemble,
    count_invocations,
    is_patch_task,
    never_ran,
    parse_command_report,
    stamp,
)
from instance_hygiene.errors import error_code
from instance_hygiene.secrets.redact import clean_field

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_ssm import SSMClient

LOGGER = logging.getLogger(__name__)

REPORT_MAX_BYTES = 16 * 1024 * 1024
"""A full report larger than this is not read (the window function has 256 MB)."""
ON_THE_WAY = "its notification is on the way (its full report is not written yet)"


@dataclass(frozen=True)
class Reports:
    """Where the command function writes each command's full report (NotifierSettings)."""

    s3: S3Client
    bucket: str
    prefix: str

    def folder(self, command_id: str) -> str:
        """`<prefix>/<command id>/`: aws/publish.full_report_key's folder for every status."""
        return f"{self.prefix.rstrip('/')}/{command_id}/"


def read_window_report(
    ssm: SSMClient,
    *,
    window_id: str,
    window_execution_id: str,
    region: str = "",
    account: str = "",
    reports: Reports | None = None,
    details: bool = True,
) -> WindowDigest:
    """The execution (whose API response has no window id: it comes from the event) and its tasks,
    with each task's commands (counts, and with `reports` their full reports' causes) and, after a
    patch task, its instances' patch compliance.

    The execution and its tasks are what the report is about: a failure to read them is raised
    (after botocore's retries), so the event is retried and kept. The window's name, each
    task's command ids, counts, reports and compliance are extras: without them the report is
    sent with a note saying so. `details=False` reads the execution and its tasks only (enough
    to decide whether to tell; `read_details` adds the rest later).
    """
    notes: list[str] = []
    execution = ssm.get_maintenance_window_execution(WindowExecutionId=window_execution_id)
    try:
        window = ssm.get_maintenance_window(WindowId=window_id)
        window_name, time_zone = str(window.get("Name", "")), window.get("ScheduleTimezone")
    except (ClientError, BotoCoreError) as error:
        LOGGER.warning("window name unavailable: %s", error)
        window_name, time_zone = "", None
        notes.append(f"The window's name is unavailable ({error_code(error)}); it is shown by id.")
    registered = [
        task
        for page in ssm.get_paginator("describe_maintenance_window_tasks").paginate(WindowId=window_id)
        for task in page.get("Tasks", [])
    ]
    by_arn_priority = {(t.get("TaskArn"), t.get("Priority")): t for t in registered}
    executed = []
    for task_execution_id in execution.get("TaskIds", []):
        detail = ssm.get_maintenance_window_execution_task(
            WindowExecutionId=window_execution_id, TaskId=task_execution_id
        )
        registered_task = by_arn_priority.get((detail.get("TaskArn"), detail.get("Priority")), {})
        name = str(registered_task.get("Name") or detail.get("TaskArn", ""))
        invocations: int | None
        try:
            identities = [
                inv
                for page in ssm.get_paginator(
                    "describe_maintenance_window_execution_task_invocations"
                ).paginate(WindowExecutionId=window_execution_id, TaskId=task_execution_id)
                for inv in page.get("WindowExecutionTaskInvocationIdentities", [])
            ]
            invocations = len(identities)
            command_ids = tuple(inv["ExecutionId"] for inv in identities if inv.get("ExecutionId"))
        except (ClientError, BotoCoreError) as error:
            LOGGER.warning("task invocations unavailable: %s", error)
            command_ids = ()
            invocations = None
            notes.append(
                f"Task {name}: its command ids are unavailable ({error_code(error)}); each failed command "
                "still sends its own notification."
            )
        executed.append(
            TaskRun(
                task_id=str(registered_task.get("WindowTaskId", task_execution_id)),
                name=name,
                task_arn=str(detail.get("TaskArn", "")),
                priority=detail.get("Priority"),
                status=str(detail.get("Status", "")),
                status_details=str(detail.get("StatusDetails", "")),
                task_execution_id=task_execution_id,
                max_errors=detail.get("MaxErrors"),
                command_ids=tuple(dict.fromkeys(command_ids)),
                start=stamp(detail.get("StartTime")),
                end=stamp(detail.get("EndTime")),
                invocations=invocations,
            )
        )
    report = assemble(
        execution={**execution, "WindowId": window_id},
        registered=registered,
        executed=executed,
        window_name=window_name,
        region=region,
    )
    started = execution.get("StartTime")
    date, _ = local_date(started if isinstance(started, datetime) else None, time_zone)
    report = replace(
        report,
        notes=tuple(clean_field(note, 2_000) for note in (*report.notes, *notes)),
        account=account,
        local_date=date,
    )
    return read_details(ssm, report, reports=reports) if details else report


def read_details(ssm: SSMClient, report: WindowDigest, *, reports: Reports | None) -> WindowDigest:
    """`report` with each task's commands (counts, and with `reports` their full reports) and,
    after a patch task, its instances' patch compliance; what cannot be read is a note."""
    notes: list[str] = []
    tasks = tuple(_with_commands(ssm, task, reports, notes) for task in report.tasks)
    cleaned = tuple(clean_field(note, 2_000) for note in notes)
    return replace(report, tasks=tasks, notes=(*report.notes, *cleaned))


def _with_commands(ssm: SSMClient, task: TaskRun, reports: Reports | None, notes: list[str]) -> TaskRun:
    """`task` with its commands read and, for a patch task, its instances' compliance."""
    commands = tuple(_read_command(ssm, task, command_id, reports, notes) for command_id in task.command_ids)
    compliance = None
    if is_patch_task(task) and commands:
        instance_ids = [i for c in commands for i in c.instance_ids]
        if instance_ids:
            compliance = read_fleet_compliance(ssm, instance_ids, since=task.start)
    return replace(task, commands=commands, compliance=compliance)


def _read_command(
    ssm: SSMClient, task: TaskRun, command_id: str, reports: Reports | None, notes: list[str]
) -> CommandRun:
    try:
        rows = [
            (str(inv.get("InstanceId", "")), str(inv.get("Status", "")), str(inv.get("StatusDetails", "")))
            for page in ssm.get_paginator("list_command_invocations").paginate(CommandId=command_id)
            for inv in page.get("CommandInvocations", [])
        ]
        command = CommandRun(
            command_id=command_id,
            counts=count_invocations((status, details) for _, status, details in rows),
            instance_ids=tuple(dict.fromkeys(i for i, _, _ in rows if i)),
            not_succeeded_ids=tuple(
                dict.fromkeys(i for i, status, details in rows if status != "Success" or never_ran(details))
            ),
        )
    except (ClientError, BotoCoreError) as error:
        LOGGER.warning("command invocations unavailable: %s", error)
        notes.append(
            f"Task {task.name}: the invocations of command {command_id} could not be counted "
            f"({error_code(error)}); its own notification carries them."
        )
        command = CommandRun(command_id=command_id)
    if reports is None or not command.report_due:
        return command
    return _read_full_report(reports, command)


def _read_full_report(reports: Reports, command: CommandRun) -> CommandRun:
    """The command's full report (the worst status it was told about, then the newest), or a note
    saying why there is none: not written yet (events arrive in no set order), or not readable."""
    try:
        listed = [
            item
            for page in reports.s3.get_paginator("list_objects_v2").paginate(
                Bucket=reports.bucket, Prefix=reports.folder(command.command_id)
            )
            for item in page.get("Contents", [])
        ]
    except (ClientError, BotoCoreError) as error:
        LOGGER.warning("full reports not listable: %s", error)
        return replace(command, report_note=f"its full report could not be listed ({error_code(error)})")
    key = _chosen_report(reports.folder(command.command_id), listed)
    if key is None:
        return replace(command, report_note=ON_THE_WAY)
    try:
        document = _read_json(reports, key)
        status, groups = parse_command_report(document, command_id=command.command_id)
    except (ClientError, BotoCoreError) as error:
        LOGGER.warning("full report unreadable: %s", error)
        return replace(command, report_note=f"its full report could not be read ({error_code(error)})")
    except ReportShapeError as error:
        LOGGER.warning("full report malformed: %s", error)
        return replace(command, report_note=f"its full report is not one ({error})")
    return replace(
        command,
        report_bucket=reports.bucket,
        report_key=clean_field(key, 1024),
        report_status=status or None,
        groups=groups,
    )


def _chosen_report(folder: str, listed: Iterable[Any]) -> str | None:
    """The `<status>.json` directly in `folder` of the worst status (severity_rank), then newest."""
    candidates = []
    for item in listed:
        key = str(item.get("Key", ""))
        name = key[len(folder) :] if key.startswith(folder) else ""
        if "/" in name or not name.endswith(".json") or len(name) <= len(".json"):
            continue
        modified = item.get("LastModified")
        moment = modified.timestamp() if isinstance(modified, datetime) else 0.0
        candidates.append((severity_rank(name.removesuffix(".json")), -moment, key))
    return min(candidates)[2] if candidates else None


def _read_json(reports: Reports, key: str) -> Any:
    body = reports.s3.get_object(Bucket=reports.bucket, Key=key)["Body"]
    try:
        data = body.read(REPORT_MAX_BYTES + 1)
    finally:
        body.close()
    if len(data) > REPORT_MAX_BYTES:
        raise ReportShapeError(f"larger than {REPORT_MAX_BYTES // (1024 * 1024)} MiB")
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise ReportShapeError("it is not JSON") from error
