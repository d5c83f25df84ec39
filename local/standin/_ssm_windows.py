"""What the maintenance-window service records, over moto's windows, targets and tasks.

Re-exported by ``local.standin.ssm``: an execution of a window, its task executions and their
invocations, read back by the Describe/GetMaintenanceWindowExecution* operations the stand-in
serves. Kept beside moto's SSM backend of the account and region, so moto's reset clears them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from moto.moto_api._internal import mock_random
from moto.ssm.models import Command, SimpleSystemManagerBackend

from local.standin._ssm_command_operations import known_command as _command
from local.standin._ssm_state import (
    TERMINAL_WINDOW_STATUSES,
    WINDOW_EXECUTION_STATUSES,
    WINDOW_TASK_TYPES,
    WindowExecution,
    WindowTask,
    WindowTaskInvocation,
    as_utc,
    now,
    state_of,
)
from local.standin._ssm_state import backend_of as _backend
from local.standin._ssm_state import require as _require

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _window(backend: SimpleSystemManagerBackend, window_id: str) -> Any:
    window = backend.windows.get(window_id)
    if window is None:
        raise ValueError(f"no maintenance window {window_id} in moto (create_maintenance_window first)")
    return window


def _times(
    status: str, start_time: datetime | None, end_time: datetime | None, terminal: frozenset[str]
) -> tuple[datetime, datetime | None]:
    start = as_utc(start_time) if start_time else now()
    end = as_utc(end_time) if end_time else (now() if status in terminal else None)
    return start, end


_TERMINAL_WINDOW = TERMINAL_WINDOW_STATUSES


def _start_of(record: WindowExecution | WindowTask | WindowTaskInvocation | None) -> datetime | None:
    return record.start_time if record is not None else None


def _execution_id(value: str | None, what: str) -> str:
    """Window execution, task execution and invocation ids are UUIDs in the API."""
    if value is None:
        return str(mock_random.uuid4())  # moto's generator: seeded by /moto-api/seed like its own ids
    if not _UUID.match(value):
        raise ValueError(f"{what} {value!r} is not a UUID (8-4-4-4-12 hex digits)")
    return value


def _check_details(status_details: str) -> None:
    if len(status_details) > 250:
        raise ValueError("status_details is longer than 250 characters")


def record_window_execution(
    account_id: str,
    region: str,
    window_id: str,
    *,
    status: str,
    status_details: str = "",
    start_time: datetime | None = None,
    end_time: datetime | None = None,
    window_execution_id: str | None = None,
) -> str:
    """Record (or update, by ``window_execution_id``) an execution of a moto maintenance window.

    Returns the WindowExecutionId. Start defaults to now; end to now once the status is
    terminal. Updating keeps the execution's tasks.
    """
    backend = _backend(account_id, region)
    _window(backend, window_id)
    _require(status, WINDOW_EXECUTION_STATUSES, "window execution status")
    _check_details(status_details)
    state = state_of(backend)
    with state.lock:
        existing = state.window_executions.get(window_execution_id or "")
        if existing is not None and existing.window_id != window_id:
            raise ValueError(f"window execution {window_execution_id} belongs to {existing.window_id}")
        start, end = _times(status, start_time or _start_of(existing), end_time, _TERMINAL_WINDOW)
        execution = WindowExecution(
            window_id=window_id,
            window_execution_id=_execution_id(window_execution_id, "window_execution_id"),
            status=status,
            status_details=status_details,
            start_time=start,
            end_time=end,
            tasks=existing.tasks if existing else {},
        )
        state.window_executions[execution.window_execution_id] = execution
    return execution.window_execution_id


def _recorded_execution(backend: SimpleSystemManagerBackend, window_execution_id: str) -> WindowExecution:
    execution = state_of(backend).window_executions.get(window_execution_id)
    if execution is None:
        raise ValueError(f"no recorded window execution {window_execution_id}")
    return execution


def _registered_task_parameters(task: Any) -> list[dict[str, Any]]:
    if task.task_parameters:
        return [dict(task.task_parameters)]
    run_command = (task.task_invocation_parameters or {}).get("RunCommand") or {}
    parameters = run_command.get("Parameters") or {}
    return [{name: {"Values": list(values)} for name, values in parameters.items()}] if parameters else []


def _registered_task(backend: SimpleSystemManagerBackend, window_id: str, window_task_id: str) -> WindowTask:
    """A task registered with moto's register_task_with_maintenance_window, as a template."""
    registered = _window(backend, window_id).tasks.get(window_task_id)
    if registered is None:
        raise ValueError(f"no task {window_task_id} registered on window {window_id}")
    return WindowTask(
        task_execution_id="",
        task_arn=registered.task_arn,
        task_type=registered.task_type,
        status="PENDING",
        status_details="",
        start_time=None,
        end_time=None,
        priority=registered.priority if registered.priority is not None else 1,
        max_concurrency=registered.max_concurrency,
        max_errors=registered.max_errors,
        service_role=registered.service_role_arn,
        task_parameters=_registered_task_parameters(registered),
        alarm_configuration=registered.alarm_configurations,
        triggered_alarms=None,
    )


def record_window_task(
    account_id: str,
    region: str,
    window_execution_id: str,
    *,
    status: str,
    window_task_id: str | None = None,
    task_arn: str | None = None,
    task_type: str | None = None,
    status_details: str = "",
    start_time: datetime | None = None,
    end_time: datetime | None = None,
    priority: int | None = None,
    max_concurrency: str | None = None,
    max_errors: str | None = None,
    service_role: str | None = None,
    task_parameters: Sequence[Mapping[str, Any]] | None = None,
    alarm_configuration: Mapping[str, Any] | None = None,
    triggered_alarms: Sequence[Mapping[str, str]] | None = None,
    task_execution_id: str | None = None,
) -> str:
    """Record (or update, by ``task_execution_id``) a task execution of a window execution.

    ``window_task_id`` names a task registered on the window with moto's
    register_task_with_maintenance_window: TaskArn, TaskType, Priority, MaxConcurrency,
    MaxErrors, ServiceRole, TaskParameters and AlarmConfiguration default to it (on an update,
    to the recorded task); explicit arguments win. Returns the TaskExecutionId (the TaskId of
    the Get/Describe task calls).
    """
    backend = _backend(account_id, region)
    _require(status, WINDOW_EXECUTION_STATUSES, "task execution status")
    _check_details(status_details)
    with state_of(backend).lock:
        execution = _recorded_execution(backend, window_execution_id)
        existing = execution.tasks.get(task_execution_id or "")
        base = _registered_task(backend, execution.window_id, window_task_id) if window_task_id else existing
        arn = task_arn or (base.task_arn if base else None)
        if not arn:
            raise ValueError("give task_arn, or window_task_id of a registered task")
        start, end = _times(status, start_time or _start_of(existing), end_time, _TERMINAL_WINDOW)
        task = WindowTask(
            task_execution_id=_execution_id(task_execution_id, "task_execution_id"),
            task_arn=arn,
            task_type=_require(
                task_type or (base.task_type if base else "RUN_COMMAND"), WINDOW_TASK_TYPES, "task_type"
            ),
            status=status,
            status_details=status_details,
            start_time=start,
            end_time=end,
            priority=priority if priority is not None else (base.priority if base else 1),
            max_concurrency=max_concurrency or (base.max_concurrency if base else None),
            max_errors=max_errors or (base.max_errors if base else None),
            service_role=service_role or (base.service_role if base else None),
            task_parameters=[dict(p) for p in task_parameters]
            if task_parameters is not None
            else (base.task_parameters if base else []),
            alarm_configuration=dict(alarm_configuration)
            if alarm_configuration
            else (base.alarm_configuration if base else None),
            triggered_alarms=[dict(a) for a in triggered_alarms] if triggered_alarms else None,
            invocations=existing.invocations if existing else {},
        )
        execution.tasks[task.task_execution_id] = task
    return task.task_execution_id


def _run_command_parameters(command: Command) -> str:
    """Parameters of a RUN_COMMAND task invocation: the SendCommand request as a JSON string.
    UNVERIFIED: the exact members AWS puts there (these follow the AWS CLI examples)."""
    request = {
        "comment": command.comment or None,
        "documentName": command.document_name,
        "instanceIds": list(command.instance_ids),
        "maxConcurrency": command.max_concurrency,
        "maxErrors": command.max_errors,
        "parameters": command.parameters,
        "outputS3BucketName": command.output_s3_bucket_name or None,
        "outputS3KeyPrefix": command.output_s3_key_prefix or None,
        "serviceRoleArn": command.service_role_arn or None,
        "timeoutSeconds": command.timeout_seconds,
    }
    return json.dumps({k: v for k, v in request.items() if v is not None}, separators=(",", ":"))


def record_window_task_invocation(
    account_id: str,
    region: str,
    window_execution_id: str,
    task_execution_id: str,
    *,
    status: str,
    execution_id: str | None = None,
    status_details: str = "",
    start_time: datetime | None = None,
    end_time: datetime | None = None,
    parameters: str | Mapping[str, Any] | None = None,
    owner_information: str | None = None,
    window_target_id: str | None = None,
    invocation_id: str | None = None,
) -> str:
    """Record (or update, by ``invocation_id``) one invocation of a task execution.

    For a RUN_COMMAND task, ``execution_id`` is the command id of a command sent with moto's
    send_command (its Parameters string is derived from the command unless given).
    ``window_target_id`` must be a target registered on the window. Returns the InvocationId.
    """
    backend = _backend(account_id, region)
    _require(status, WINDOW_EXECUTION_STATUSES, "task invocation status")
    _check_details(status_details)
    with state_of(backend).lock:
        execution = _recorded_execution(backend, window_execution_id)
        task = execution.tasks.get(task_execution_id)
        if task is None:
            raise ValueError(
                f"no task execution {task_execution_id} in window execution {window_execution_id}"
            )
        if (
            window_target_id is not None
            and window_target_id not in _window(backend, execution.window_id).targets
        ):
            raise ValueError(f"no target {window_target_id} registered on window {execution.window_id}")
        existing = task.invocations.get(invocation_id or "")
        if existing is not None:  # an update keeps what it does not change
            execution_id = execution_id or existing.execution_id
            owner_information = owner_information or existing.owner_information
            window_target_id = window_target_id or existing.window_target_id
            parameters = parameters if parameters is not None else existing.parameters
        command = (
            _command(backend, execution_id) if execution_id and task.task_type == "RUN_COMMAND" else None
        )
        if isinstance(parameters, Mapping):
            parameters = json.dumps(parameters, separators=(",", ":"))
        elif parameters is None:
            parameters = _run_command_parameters(command) if command else "{}"
        start, end = _times(status, start_time or _start_of(existing), end_time, _TERMINAL_WINDOW)
        invocation = WindowTaskInvocation(
            invocation_id=_execution_id(invocation_id, "invocation_id"),
            execution_id=execution_id or "",
            task_type=task.task_type,
            parameters=parameters,
            status=status,
            status_details=status_details,
            start_time=start,
            end_time=end,
            owner_information=owner_information,
            window_target_id=window_target_id,
        )
        task.invocations[invocation.invocation_id] = invocation
    return invocation.invocation_id
