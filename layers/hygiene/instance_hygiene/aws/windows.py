"""The maintenance-window execution as Systems Manager reports it: the adapter that reads it."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from instance_hygiene.digest.window import TaskRun, WindowDigest, assemble, stamp
from instance_hygiene.errors import error_code
from instance_hygiene.secrets.redact import clean_field

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

LOGGER = logging.getLogger(__name__)


def read_window_report(
    ssm: SSMClient, *, window_id: str, window_execution_id: str, region: str = ""
) -> WindowDigest:
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
    return replace(report, notes=tuple(clean_field(note, 2_000) for note in (*report.notes, *notes)))
