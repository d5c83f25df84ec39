"""`hygiene report --window-execution-id`: every command of one maintenance-window execution.

What a night's notifications say, read from the account and printed one after the other: the
window's report (aws/windows.read_window_report, rendered by render/window as WindowFailedFunction
sends it), then the digest of each command of its tasks that did not succeed everywhere (the digest
of `hygiene report --command-id`, with the night's window, name and date, rendered by
render/command as CommandFailedFunction sends it). The window report's top causes come from those
digests' groups, read as the window function reads a command's full report from S3.

The window id: in botocore's ssm model GetMaintenanceWindowExecution,
GetMaintenanceWindowExecutionTask and DescribeMaintenanceWindowExecutionTaskInvocations take the
execution id (and a task id) only, and GetMaintenanceWindowExecution's answer names no window.
The window report also reads GetMaintenanceWindow (its name and time zone: the night's date),
DescribeMaintenanceWindowTasks (the registered tasks: their names, and which never ran) and
DescribeMaintenanceWindowExecutions (that the window did run this execution), and each of those
requires the WindowId. So it is given (--window-id), read from the stack's MaintenanceWindowId
output (--stack-name), or else found: the account's window (DescribeMaintenanceWindows) whose
executions around the execution's start include it (aws/night.window_that_ran).

A central stack (DeploymentRole central) runs no window: a member account's night is read with
that account's credentials, in its Region, where its member stack runs the window.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Final

from hygiene_cli.sources import Account, command_digest
from hygiene_cli.stack import MissingOutputError, output_of, stack_outputs
from hygiene_cli.usage import WINDOW_ID, ReportUsageError
from instance_hygiene.aws.night import executed_by, window_that_ran
from instance_hygiene.aws.windows import read_details, read_window_report
from instance_hygiene.digest.model import CommandDigest, to_dict
from instance_hygiene.digest.window import (
    CommandRun,
    ReportShapeError,
    WindowDigest,
    parse_command_report,
    shortfalls,
)
from instance_hygiene.notify.statuses import judge_window
from instance_hygiene.render.command import Rendered
from instance_hygiene.render.command import render as render_command
from instance_hygiene.render.window import render as render_window

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_ssm import SSMClient

__all__ = ["WINDOW_OUTPUT", "NightReport", "read_night_report", "render_night", "window_from_stack"]

WINDOW_OUTPUT: Final = "MaintenanceWindowId"
"""The template's output naming its maintenance window (`!Ref MaintenanceWindow`)."""
CENTRAL_OUTPUT: Final = "CentralEventBusArn"
"""The output only a central stack has (Condition IsCentral): it runs no window of its own."""


@dataclass(frozen=True)
class NightReport:
    """The window's report and the digest of each command that did not succeed everywhere."""

    window: WindowDigest
    commands: tuple[CommandDigest, ...] = ()
    """In the window's task order."""

    @property
    def failed(self) -> bool:
        """Some command did not succeed on every instance, or the execution is one the window
        function tells (FAILED, TIMED_OUT, ...; a SUCCESS with a task that never ran or ran on no
        instance)."""
        if any(digest.counts.not_succeeded or digest.failure_count for digest in self.commands):
            return True
        status = self.window.status
        return judge_window(status, status, shortfalls(self.window), on_success=False).notify


def window_from_stack(cloudformation: CloudFormationClient, stack_name: str) -> str:
    """The stack's `MaintenanceWindowId` output (ClientError when there is no such stack)."""
    outputs = stack_outputs(cloudformation, stack_name)
    if CENTRAL_OUTPUT in outputs and WINDOW_OUTPUT not in outputs:
        raise ReportUsageError(
            f"stack {stack_name} is a central stack (it has a {CENTRAL_OUTPUT} output): its windows run"
            " in the member accounts; read a member's night with that account's credentials"
            " (--profile) in its --region, with --stack-name of the member stack there or no"
            " --stack-name at all (the window that ran the execution is then found)"
        )
    try:
        window_id = output_of(outputs, stack_name, WINDOW_OUTPUT)
    except MissingOutputError as error:
        raise ReportUsageError(f"{error}; pass --window-id") from None
    if WINDOW_ID.fullmatch(window_id) is None:
        raise ReportUsageError(f"stack {stack_name}'s {WINDOW_OUTPUT} is not a window id: {window_id!r}")
    return window_id


def window_of_execution(ssm: SSMClient, window_execution_id: str, region: str) -> str:
    """The id of the account's window that ran the execution (aws/night.window_that_ran). An
    execution that does not exist is AWS's error (ClientError); one no window of the account ran
    (its window deleted since) is a ReportUsageError."""
    started = ssm.get_maintenance_window_execution(WindowExecutionId=window_execution_id).get("StartTime")
    window = window_that_ran(ssm, window_execution_id, started) if isinstance(started, datetime) else None
    if window is None:
        raise ReportUsageError(
            f"no maintenance window of this account in {region or 'this region'} ran window execution"
            f" {window_execution_id} (deleted since, or another account's or Region's):"
            " pass the --window-id of the window that ran it, with that account's credentials"
        )
    return window.get("WindowId", "")


def read_night_report(
    session: boto3.session.Session, *, window_id: str | None, window_execution_id: str
) -> NightReport:
    """The execution of `window_id` (when None, of the account's window that ran it) as the window
    function reads it, and a digest of each of its commands that did not succeed everywhere. An
    execution that does not exist is AWS's error (ClientError); one that another window ran is a
    ReportUsageError."""
    account = Account.of(session)
    # A window found by its executions has been shown to run this one; a given one is checked below.
    given = window_id is not None
    window_id = window_id or window_of_execution(account.ssm, window_execution_id, account.region)
    window = read_window_report(
        account.ssm,
        window_id=window_id,
        window_execution_id=window_execution_id,
        region=account.region,
        details=False,
    )
    started = window.start
    ran = not given or started is None or executed_by(account.ssm, window_id, window_execution_id, started)
    if not ran:
        raise ReportUsageError(
            f"window execution {window_execution_id} is not one of window {window_id}'s:"
            " pass the --window-id (or --stack-name) of the window that ran it"
        )
    window = read_details(account.ssm, window, reports=None)
    digests: list[CommandDigest] = []
    tasks = []
    for task in window.tasks:
        commands = []
        for command in task.commands:
            if not command.report_due:
                commands.append(command)
                continue
            digest = _of_the_night(command_digest(account, command.command_id), window)
            digests.append(digest)
            commands.append(_with_causes(command, digest))
        tasks.append(replace(task, commands=tuple(commands)))
    return NightReport(replace(window, tasks=tuple(tasks)), tuple(digests))


def _of_the_night(digest: CommandDigest, window: WindowDigest) -> CommandDigest:
    """The digest with the night the command function gives it (aws/night.read_night)."""
    return replace(
        digest,
        window_id=window.window_id,
        window_execution_id=window.window_execution_id,
        window_name=window.window_name or None,
        local_date=window.local_date,
    )


def _with_causes(command: CommandRun, digest: CommandDigest) -> CommandRun:
    """The command with its digest's groups, read as the window function reads a full report (its
    `to_dict`, validated), so that the window report shows the night's top causes."""
    try:
        status, groups = parse_command_report(to_dict(digest), command_id=command.command_id)
    except ReportShapeError as error:
        return replace(command, report_note=f"its causes are not counted in the top causes ({error})")
    return replace(command, report_status=status or None, groups=groups)


def render_night(report: NightReport, output_format: str) -> str:
    """The window's message, then each failed command's, as the topic would carry them: for a
    terminal (text) each e-mail under its subject; json and chat one message per line."""
    messages = [render_window(report.window), *(render_command(digest) for digest in report.commands)]
    if output_format == "text":
        return "\n".join(f"== {message.subject}\n{_ended(message.text)}" for message in messages)
    return "".join(_ended(_body(message, output_format)) for message in messages)


def _body(message: Rendered, output_format: str) -> str:
    return {"json": message.machine, "chat": message.chat}[output_format]


def _ended(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"
