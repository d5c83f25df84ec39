"""One maintenance-window execution as a digest: its tasks, which never ran and why, each task's
counts, the night's top causes from the commands' full reports, the fleet's patch compliance, and
the commands to look at. Pure (aws/windows.py reads it, render/window.py renders it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from instance_hygiene.digest.causes import CauseCount, merge_causes, outcome_rank
from instance_hygiene.digest.compliance import FleetCompliance, compliance_dict, is_patch_document
from instance_hygiene.digest.model import SCHEMA as DIGEST_SCHEMA
from instance_hygiene.digest.model import SEVERITY_ORDER, Unread, count_statuses, unread_dict
from instance_hygiene.secrets.redact import clean_field

SCHEMA = "instance-hygiene/window-report@1"
TOP_CAUSES = 5
NEVER_RAN_DETAILS = frozenset(
    {"DeliveryTimedOut", "Undeliverable", "Terminated", "InvalidPlatform", "AccessDenied"}
)
"""An invocation's StatusDetails (spaces removed) that mean the command never ran on the instance:
botocore's ssm model documents Delivery Timed Out (not delivered before the delivery timeout),
Undeliverable and Terminated (cancelled by the system after MaxErrors); AWS's patch-reporting
sample (aws-ssm-facts section 1) also matches InvalidPlatform and AccessDenied."""
REPORT_GROUPS_MAX = 1_000
"""Groups read from one full report (a report is product-written; more means it is not one)."""


@dataclass(frozen=True)
class TaskCounts:
    """How a task's invocations ended (ListCommandInvocations), in the product's severity order."""

    targets: int = 0
    succeeded: int = 0
    failed: int = 0
    timed_out: int = 0
    cancelled: int = 0
    not_run: int = 0
    unfinished: int = 0
    """Invocations not yet terminal (Pending, InProgress, Delayed, Cancelling)."""

    def __add__(self, other: TaskCounts) -> TaskCounts:
        pairs = zip(self.__dict__.values(), other.__dict__.values(), strict=True)
        return TaskCounts(*(a + b for a, b in pairs))

    @property
    def not_succeeded(self) -> int:
        return self.targets - self.succeeded


def never_ran(status_details: str) -> bool:
    """Whether an invocation's StatusDetails says the command never ran on the instance."""
    return status_details.replace(" ", "") in NEVER_RAN_DETAILS


def count_invocations(invocations: Iterable[tuple[str, str]]) -> TaskCounts:
    """(Status, StatusDetails) of each invocation as counts: "not run" by StatusDetails (whatever
    Status an Undeliverable invocation has), the rest by Status as `count_statuses` counts them."""
    never = 0
    ran: list[str] = []
    for status, details in invocations:
        if never_ran(details):
            never += 1
        else:
            ran.append(status)
    counts = count_statuses(ran)
    return TaskCounts(
        targets=counts.targets + never,
        succeeded=counts.succeeded,
        failed=counts.failed,
        timed_out=counts.timed_out,
        cancelled=counts.cancelled,
        not_run=never,
        unfinished=counts.other,
    )


ReportGroup = CauseCount
"""One group of a command's full report (instance-hygiene/digest@1 `groups[]`)."""


class ReportShapeError(ValueError):
    """An object at a report's key that is not a full report of that command."""


def _group(raw: Any, index: int) -> ReportGroup:
    if not isinstance(raw, Mapping):
        raise ReportShapeError(f"groups[{index}] is not an object")
    reason, outcome, count, next_step = (raw.get(k) for k in ("reason", "outcome", "count", "next_step"))
    if not isinstance(reason, str) or not reason.strip():
        raise ReportShapeError(f"groups[{index}].reason is not a text")
    if outcome not in SEVERITY_ORDER:
        raise ReportShapeError(f"groups[{index}].outcome is not one of {', '.join(SEVERITY_ORDER)}")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ReportShapeError(f"groups[{index}].count is not a count")
    if next_step is not None and not isinstance(next_step, str):
        raise ReportShapeError(f"groups[{index}].next_step is not a text")
    return ReportGroup(
        # Product-written, but read back from a bucket: redacted like any text from an API.
        reason=clean_field(reason, 500),
        outcome=str(outcome),
        count=count,
        next_step=clean_field(next_step, 500) or None,
    )


def parse_command_report(document: Any, *, command_id: str) -> tuple[str, tuple[ReportGroup, ...]]:
    """The status and groups of `command_id`'s full report (the `to_dict` of digest/model.py),
    validated; ReportShapeError says what is wrong with anything else."""
    if not isinstance(document, Mapping):
        raise ReportShapeError("it is not a JSON object")
    if document.get("schema") != DIGEST_SCHEMA:
        raise ReportShapeError(f"its schema is not {DIGEST_SCHEMA}")
    if document.get("command_id") != command_id:
        raise ReportShapeError("it is about another command")
    groups = document.get("groups")
    if not isinstance(groups, list) or len(groups) > REPORT_GROUPS_MAX:
        raise ReportShapeError("its groups are not a list of at most 1,000")
    return clean_field(document.get("status"), 32), tuple(_group(g, i) for i, g in enumerate(groups))


@dataclass(frozen=True)
class CommandRun:
    """One command a task sent: how its invocations ended and what its full report says."""

    command_id: str
    counts: TaskCounts | None = None
    """None: its invocations could not be listed."""
    instance_ids: tuple[str, ...] = ()
    not_succeeded_ids: tuple[str, ...] = ()
    """The instances it did not succeed on (failed, timed out, cancelled, not run, unfinished)."""
    report_bucket: str | None = None
    report_key: str | None = None
    """The full report's key when one was read."""
    report_status: str | None = None
    groups: tuple[ReportGroup, ...] = ()
    report_note: str | None = None
    """Why the report is not shown ("its notification is on the way"); None when read or not due."""

    @property
    def report_due(self) -> bool:
        """A full report is written for a command that did not succeed everywhere."""
        return self.counts is None or self.counts.not_succeeded > 0


@dataclass(frozen=True)
class Cause:
    """One cause of the night: the same reason and outcome across the commands' reports."""

    reason: str
    outcome: str
    count: int
    next_step: str | None
    command_ids: tuple[str, ...]

    @property
    def severity_rank(self) -> int:
        return outcome_rank(self.outcome)


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
    commands: tuple[CommandRun, ...] = ()
    """The commands of `command_ids` as read (empty when not read)."""
    compliance: FleetCompliance | None = None
    """The patch task's instances' patch states after it ran; None for other tasks."""

    @property
    def counts(self) -> TaskCounts | None:
        """Its commands' counts together; None when none could be counted."""
        known = [c.counts for c in self.commands if c.counts is not None]
        if not known:
            return None
        total = TaskCounts()
        for counts in known:
            total = total + counts
        return total


def instance_totals(report: WindowDigest) -> tuple[int, int] | None:
    """(instances some task did not succeed on, instances any task targeted), each instance once
    however many tasks ran on it; None when no command's invocations could be listed."""
    commands = [c for t in report.tasks for c in t.commands if c.counts is not None]
    if not commands:
        return None
    targeted = {i for c in commands for i in c.instance_ids}
    return len({i for c in commands for i in c.not_succeeded_ids}), len(targeted)


def is_patch_task(task: TaskRun) -> bool:
    """A Run Command task of AWS-RunPatchBaseline (its TaskArn is the document's name or ARN)."""
    return is_patch_document(task.task_arn)


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
    account: str = ""
    local_date: str | None = None
    """The night's date (YYYY-MM-DD) in the window's schedule time zone (UTC when it has none)."""
    account_alias: str | None = None
    """The account's alias, when it could be read (iam:ListAccountAliases is optional)."""
    unread: Unread | None = None
    """Set when the execution could not be read at all: then only the event's fields are known."""


def top_causes(report: WindowDigest, limit: int = TOP_CAUSES) -> tuple[tuple[Cause, ...], int]:
    """The night's causes across every command's report (digest/causes.merge_causes): at most
    `limit`, and how many were left out."""
    causes, omitted = merge_causes(
        (
            (command.command_id, group)
            for task in report.tasks
            for command in task.commands
            for group in command.groups
        ),
        limit,
    )
    return tuple(
        Cause(c.reason, c.outcome, c.count, c.next_step, command_ids=c.sources) for c in causes
    ), omitted


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
    causes, omitted = top_causes(report)
    return {
        "schema": SCHEMA,
        "window_id": report.window_id,
        "window_name": report.window_name,
        "window_execution_id": report.window_execution_id,
        "account": report.account,
        "account_alias": report.account_alias,
        "region": report.region,
        "local_date": report.local_date,
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
                "counts": _counts_dict(t.counts),
                "commands": [_command_dict(c) for c in t.commands],
                "compliance": compliance_dict(t.compliance) if t.compliance else None,
            }
            for t in report.tasks
        ],
        "causes": [
            {
                "reason": c.reason,
                "outcome": c.outcome,
                "count": c.count,
                "next_step": c.next_step,
                "command_ids": list(c.command_ids),
            }
            for c in causes
        ],
        "causes_omitted": omitted,
        "shortfalls": list(shortfalls(report)),
        "notes": list(report.notes),
        "unread": unread_dict(report.unread),
    }


def _counts_dict(counts: TaskCounts | None) -> dict[str, int] | None:
    return dict(counts.__dict__) if counts else None


def _command_dict(command: CommandRun) -> dict[str, Any]:
    return {
        "command_id": command.command_id,
        "counts": _counts_dict(command.counts),
        "report": f"s3://{command.report_bucket}/{command.report_key}"
        if command.report_bucket and command.report_key
        else None,
        "report_status": command.report_status,
        "report_note": command.report_note,
    }
