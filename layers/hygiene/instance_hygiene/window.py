"""One maintenance-window execution: its tasks, which never ran and why, and the commands to look at.

Reads (adapter functions taking the SSM client) and the report and its renderings (pure).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from instance_hygiene.redact import clean_field
from instance_hygiene.render import (
    Rendered,
    defang,
    escape_markdown,
    inert,
    safe_subject,
    systems_manager_console,
)

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

LOGGER = logging.getLogger(__name__)

SCHEMA = "instance-hygiene/window-report@1"


@dataclass(frozen=True)
class TaskRun:
    task_id: str
    """The window task id (registered task)."""
    name: str
    task_arn: str
    priority: int | None
    status: str
    status_details: str = ""
    task_execution_id: str | None = None
    max_errors: str | None = None
    command_ids: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    invocations: int | None = None
    """How many task invocations (one per batch of targets) the task had; None when unknown."""


@dataclass(frozen=True)
class WindowReport:
    window_id: str
    window_name: str
    window_execution_id: str
    status: str
    status_details: str
    tasks: tuple[TaskRun, ...]
    region: str = ""
    start: datetime | None = None
    end: datetime | None = None
    notes: tuple[str, ...] = ()


def _stamp(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None


def explain_not_run(task: TaskRun, earlier: Sequence[TaskRun], window_status: str) -> str:
    """Why a registered task has no execution in this window run. Pure."""
    failed_before = [
        t for t in earlier if t.priority is not None and t.status in {"FAILED", "TIMED_OUT", "CANCELLED"}
    ]
    if failed_before:
        first = failed_before[0]
        limit = f" (MaxErrors {first.max_errors})" if first.max_errors else ""
        return f"never ran: earlier task {first.name} (priority {first.priority}) ended {first.status}{limit}"
    if window_status == "TIMED_OUT":
        return "never ran: the window's cutoff was reached before it could start"
    if window_status in {"CANCELLED", "CANCELLING"}:
        return "never ran: the window execution was cancelled"
    if window_status == "SKIPPED_OVERLAPPING":
        return "never ran: the previous execution of this window was still running"
    return "never ran"


def ran_on_no_instance(task: TaskRun) -> bool:
    """A task that executed but was invoked on no target: its target matched nothing."""
    return task.status != "NOT_RUN" and task.invocations == 0


def shortfalls(report: WindowReport) -> tuple[str, ...]:
    """What an execution did not do, whatever its status says: tasks that never ran and tasks that
    ran on no instance. Pure; an empty tuple means every task ran on some target."""
    found = []
    for task in report.tasks:
        if task.status == "NOT_RUN":
            found.append(f"task {task.name} {task.status_details or 'never ran'}")
        elif ran_on_no_instance(task):
            found.append(
                f"task {task.name} ran on no instance: the window's target matched 0 instances, "
                "so nothing was sent to any"
            )
    return tuple(found)


def assemble(
    *,
    execution: Mapping[str, Any],
    registered: Sequence[Mapping[str, Any]],
    executed: Sequence[TaskRun],
    window_name: str = "",
    region: str = "",
) -> WindowReport:
    """Merge the registered tasks with what ran, in priority order; explain the ones that did not."""
    ran = {t.task_id: t for t in executed}
    tasks: list[TaskRun] = []
    for raw in sorted(registered, key=lambda r: (r.get("Priority", 0), r.get("WindowTaskId", ""))):
        task_id = raw.get("WindowTaskId", "")
        if task_id in ran:
            tasks.append(ran.pop(task_id))
            continue
        placeholder = TaskRun(
            task_id=task_id,
            name=raw.get("Name") or raw.get("TaskArn", ""),
            task_arn=raw.get("TaskArn", ""),
            priority=raw.get("Priority"),
            status="NOT_RUN",
            max_errors=raw.get("MaxErrors"),
        )
        reason = explain_not_run(placeholder, tasks, str(execution.get("Status", "")))
        tasks.append(TaskRun(**{**placeholder.__dict__, "status_details": reason}))
    tasks.extend(ran.values())  # executed tasks since deregistered
    return WindowReport(
        window_id=str(execution.get("WindowId", "")),
        # Names, task ARNs (a Run Command task's is a document name) and details are whatever the
        # window's owner and the API put there: redacted on their way into the report.
        window_name=clean_field(window_name, 128),
        window_execution_id=str(execution.get("WindowExecutionId", "")),
        status=str(execution.get("Status", "")),
        status_details=clean_field(execution.get("StatusDetails"), 512),
        tasks=tuple(_redacted(task) for task in tasks),
        region=region,
        start=_stamp(execution.get("StartTime")),
        end=_stamp(execution.get("EndTime")),
    )


def _redacted(task: TaskRun) -> TaskRun:
    return replace(
        task,
        name=clean_field(task.name, 128),
        task_arn=clean_field(task.task_arn, 256),
        status_details=clean_field(task.status_details, 512),
    )


def read_window_report(
    ssm: SSMClient, *, window_id: str, window_execution_id: str, region: str = ""
) -> WindowReport:
    """The execution (whose API response has no window id: it comes from the event) and its tasks.

    The execution and its tasks are what the report is about: a failure to read them is raised
    (after botocore's retries), so the event is retried and kept. The window's name and each
    task's command ids are extras: without them the report is sent with a note saying so.
    """
    notes: list[str] = []
    execution = ssm.get_maintenance_window_execution(WindowExecutionId=window_execution_id)
    try:
        window_name = str(ssm.get_maintenance_window(WindowId=window_id).get("Name", ""))
    except (ClientError, BotoCoreError) as error:
        LOGGER.warning("window name unavailable: %s", error)
        window_name = ""
        notes.append(f"The window's name is unavailable ({_code(error)}); it is shown by id.")
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
                f"Task {name}: its command ids are unavailable ({_code(error)}); each failed command "
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
                start=_stamp(detail.get("StartTime")),
                end=_stamp(detail.get("EndTime")),
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
    return replace(report, notes=tuple(clean_field(note, 2_000) for note in (*report.notes, *notes)))


def _code(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code") or "error")
    return type(error).__name__


def to_dict(report: WindowReport) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "window_id": report.window_id,
        "window_name": report.window_name,
        "window_execution_id": report.window_execution_id,
        "status": report.status,
        "status_details": report.status_details,
        "start": report.start.isoformat() if report.start else None,
        "end": report.end.isoformat() if report.end else None,
        "tasks": [
            {
                "task_id": t.task_id,
                "name": t.name,
                "task_arn": t.task_arn,
                "priority": t.priority,
                "status": t.status,
                "status_details": t.status_details,
                "task_execution_id": t.task_execution_id,
                "command_ids": list(t.command_ids),
                "invocations": t.invocations,
            }
            for t in report.tasks
        ],
        "shortfalls": list(shortfalls(report)),
        "notes": list(report.notes),
    }


def subject(report: WindowReport) -> str:
    name = defang(report.window_name or report.window_id)
    idle = [t for t in report.tasks if t.status == "NOT_RUN" or ran_on_no_instance(t)]
    if report.status == "SUCCESS" and idle:
        # Whatever the status says, the first words say what did not happen.
        if len(idle) == len(report.tasks):
            return safe_subject(f"NOTHING RAN maintenance window {name}: no instance was patched or checked")
        count = f"{len(idle)} of {len(report.tasks)}"
        return safe_subject(f"INCOMPLETE maintenance window {name}: {count} tasks ran on no instance")
    bad = [t for t in report.tasks if t.status not in {"SUCCESS"}]
    tail = f": {len(bad)} of {len(report.tasks)} tasks did not succeed" if report.tasks else ""
    return safe_subject(f"{report.status} maintenance window {name}{tail}")


def console_link(report: WindowReport) -> str:
    return systems_manager_console(report.region, f"maintenance-windows/{report.window_id}/history")


def text(report: WindowReport) -> str:
    lines = [
        f"Maintenance window {inert(report.window_name or report.window_id)} ({report.window_id}): "
        f"{report.status}",
        f"execution {report.window_execution_id}"
        + (
            f", {report.start:%Y-%m-%d %H:%M} to {report.end:%H:%M} UTC"
            if report.start and report.end
            else ""
        ),
    ]
    if report.status_details:
        lines.append(inert(report.status_details))
    missing = shortfalls(report)
    if missing:
        lines += ["", "What did not happen:"]
        lines.extend(f"- {inert(item)}" for item in missing)
    lines.append("")
    for t in report.tasks:
        lines.append(f"- priority {t.priority}: {inert(t.name)} [{inert(t.task_arn)}] {inert(t.status)}")
        if t.status_details:
            lines.append(f"    {inert(t.status_details)}")
        for command_id in t.command_ids:
            lines.append(f"    command {command_id} (its own notification carries the details)")
    lines += ["", f"Console: {console_link(report)}"]
    lines.extend(f"Note: {inert(note)}" for note in report.notes)
    return "\n".join(lines) + "\n"


def chat(report: WindowReport) -> str:
    description = "\n".join(
        f"• P{t.priority} *{escape_markdown(t.name)}*: {escape_markdown(t.status)}"
        + (f" — {escape_markdown(t.status_details)}" if t.status_details else "")
        for t in report.tasks
    )
    payload = {
        "version": "1.0",
        "source": "custom",
        "id": f"{report.window_execution_id}:{report.status}",
        "content": {
            "textType": "client-markdown",
            "title": escape_markdown(subject(report)),
            "description": description[:8000] or escape_markdown(report.status_details or report.status),
            "nextSteps": [f"Window history: {console_link(report)}"],
            "keywords": [escape_markdown(report.status), escape_markdown(report.window_id)],
        },
        "metadata": {
            "threadId": report.window_execution_id,
            "summary": escape_markdown(subject(report)),
            "eventType": "MaintenanceWindowExecution",
            "relatedResources": [report.window_id],
        },
    }
    return json.dumps(payload, ensure_ascii=False)


def render(report: WindowReport) -> Rendered:
    return Rendered(
        subject=subject(report),
        text=text(report),
        chat=chat(report),
        machine=json.dumps(to_dict(report), ensure_ascii=False),
        trimmed=False,
    )
