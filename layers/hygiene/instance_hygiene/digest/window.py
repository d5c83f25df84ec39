"""One maintenance-window execution as a digest: its tasks, which never ran and why, and the commands
to look at. Pure (aws/windows.py reads it, render/window.py renders it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from instance_hygiene.secrets.redact import clean_field

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
class WindowDigest:
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


def stamp(value: Any) -> datetime | None:
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


def shortfalls(report: WindowDigest) -> tuple[str, ...]:
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
) -> WindowDigest:
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
    return WindowDigest(
        window_id=str(execution.get("WindowId", "")),
        # Names, task ARNs (a Run Command task's is a document name) and details are whatever the
        # window's owner and the API put there: redacted on their way into the report.
        window_name=clean_field(window_name, 128),
        window_execution_id=str(execution.get("WindowExecutionId", "")),
        status=str(execution.get("Status", "")),
        status_details=clean_field(execution.get("StatusDetails"), 512),
        tasks=tuple(_redacted(task) for task in tasks),
        region=region,
        start=stamp(execution.get("StartTime")),
        end=stamp(execution.get("EndTime")),
    )


def _redacted(task: TaskRun) -> TaskRun:
    return replace(
        task,
        name=clean_field(task.name, 128),
        task_arn=clean_field(task.task_arn, 256),
        status_details=clean_field(task.status_details, 512),
    )


def to_dict(report: WindowDigest) -> dict[str, Any]:
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
