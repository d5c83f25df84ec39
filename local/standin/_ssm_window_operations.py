"""Response bodies of the maintenance-window execution reads moto lacks.

DescribeMaintenanceWindowExecutions, GetMaintenanceWindowExecution,
DescribeMaintenanceWindowExecutionTasks, GetMaintenanceWindowExecutionTask and
DescribeMaintenanceWindowExecutionTaskInvocations, over the records ``_ssm_windows`` writes
beside moto's SSM backend (``_ssm_state``); each returns a body for ``_ssm_wire.to_wire``.

Behaviour that could not be confirmed against AWS is marked UNVERIFIED where it is decided.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from moto.ssm.models import SimpleSystemManagerBackend

from local.standin._ssm_state import (
    WINDOW_EXECUTION_STATUSES,
    SsmState,
    WindowExecution,
    WindowTask,
    WindowTaskInvocation,
    now,
    state_of,
)
from local.standin._ssm_wire import (
    Body,
    Paging,
    max_results,
    paginate,
    parse_time,
    service_error,
    sort_time,
    validation_error,
)

# --- maintenance window executions ------------------------------------------------------------


def _window_execution(state: SsmState, window_execution_id: str) -> WindowExecution:
    with state.lock:
        execution = state.window_executions.get(window_execution_id)
    if execution is None:
        raise service_error("DoesNotExistException", f"Window execution {window_execution_id} does not exist")
    return execution


def _window_task(state: SsmState, window_execution_id: str, task_id: str) -> WindowTask:
    task = _window_execution(state, window_execution_id).tasks.get(task_id)
    if task is None:
        raise service_error(
            "DoesNotExistException",
            f"Task {task_id} of window execution {window_execution_id} does not exist",
        )
    return task


@dataclass(frozen=True)
class _WindowCondition:
    """One of the Filters of the maintenance window reads: ExecutedBefore / ExecutedAfter on a
    start time (DescribeMaintenanceWindowExecutions), Status (the task and invocation reads)."""

    key: str
    values: tuple[str, ...]
    moments: tuple[datetime, ...]

    def holds(self, value: datetime | str | None) -> bool:
        if self.key == "Status":
            return value in self.values
        moment = value if isinstance(value, datetime) else now()
        if self.key == "ExecutedBefore":
            return all(moment <= limit for limit in self.moments)
        return all(moment >= limit for limit in self.moments)


def _window_filter[R](
    filters: Sequence[Mapping[str, Any]] | None, fields: Mapping[str, Callable[[R], datetime | str | None]]
) -> Callable[[R], bool]:
    conditions: list[tuple[Callable[[R], datetime | str | None], _WindowCondition]] = []
    for item in filters or []:
        key, values = str(item.get("Key", "")), tuple(str(v) for v in item.get("Values") or [])
        if key not in fields:
            raise validation_error(f"Value '{key}' at 'filters.key' isn't a valid filter key")
        if key == "Status":
            bad = [v for v in values if v not in WINDOW_EXECUTION_STATUSES]
            if bad:
                raise validation_error(f"Value '{bad[0]}' at 'filters.values' isn't a valid status")
            moments: tuple[datetime, ...] = ()
        else:
            moments = tuple(parse_time(v, key) for v in values)
        conditions.append((fields[key], _WindowCondition(key, values, moments)))
    return lambda item: all(condition.holds(pick(item)) for pick, condition in conditions)


def _started(execution: WindowExecution) -> datetime | None:
    return execution.start_time


def _task_status(task: WindowTask) -> str:
    return task.status


def _invocation_status(invocation: WindowTaskInvocation) -> str:
    return invocation.status


def _window_paging(operation: str, params: Mapping[str, Any]) -> Paging:
    return Paging(operation, params, max_results(params, low=10, high=100, default=100))


def _execution_body(execution: WindowExecution) -> Body:
    return {
        "WindowId": execution.window_id,
        "WindowExecutionId": execution.window_execution_id,
        "Status": execution.status,
        "StatusDetails": execution.status_details,
        "StartTime": execution.start_time,
        "EndTime": execution.end_time,
    }


def describe_maintenance_window_executions_body(
    backend: SimpleSystemManagerBackend, params: Mapping[str, Any]
) -> Body:
    state = state_of(backend)
    paging = _window_paging("DescribeMaintenanceWindowExecutions", params)
    keep = _window_filter(params.get("Filters"), {"ExecutedBefore": _started, "ExecutedAfter": _started})
    window_id = params.get("WindowId")
    with state.lock:
        executions = [e for e in state.window_executions.values() if e.window_id == window_id and keep(e)]
    page, token = paginate(
        executions, lambda e: (-sort_time(e.start_time), e.window_execution_id), paging
    )  # newest first
    return {"WindowExecutions": [_execution_body(e) for e in page], "NextToken": token}


def get_maintenance_window_execution_body(
    backend: SimpleSystemManagerBackend, params: Mapping[str, Any]
) -> Body:
    execution = _window_execution(state_of(backend), str(params.get("WindowExecutionId", "")))
    body = _execution_body(execution)
    del body["WindowId"]
    body["TaskIds"] = list(execution.tasks)
    return body


def _task_order(task: WindowTask) -> tuple[Any, ...]:
    return (task.priority, sort_time(task.start_time), task.task_execution_id)


def describe_maintenance_window_execution_tasks_body(
    backend: SimpleSystemManagerBackend, params: Mapping[str, Any]
) -> Body:
    state = state_of(backend)
    paging = _window_paging("DescribeMaintenanceWindowExecutionTasks", params)
    execution = _window_execution(state, str(params.get("WindowExecutionId", "")))
    keep = _window_filter(params.get("Filters"), {"Status": _task_status})
    with state.lock:
        tasks = [t for t in execution.tasks.values() if keep(t)]
    page, token = paginate(tasks, _task_order, paging)
    identities = [
        {
            "WindowExecutionId": execution.window_execution_id,
            "TaskExecutionId": t.task_execution_id,
            "Status": t.status,
            "StatusDetails": t.status_details,
            "StartTime": t.start_time,
            "EndTime": t.end_time,
            "TaskArn": t.task_arn,
            "TaskType": t.task_type,
            "AlarmConfiguration": t.alarm_configuration,
            "TriggeredAlarms": t.triggered_alarms,
        }
        for t in page
    ]
    return {"WindowExecutionTaskIdentities": identities, "NextToken": token}


def get_maintenance_window_execution_task_body(
    backend: SimpleSystemManagerBackend, params: Mapping[str, Any]
) -> Body:
    execution_id = str(params.get("WindowExecutionId", ""))
    task = _window_task(state_of(backend), execution_id, str(params.get("TaskId", "")))
    return {
        "WindowExecutionId": execution_id,
        "TaskExecutionId": task.task_execution_id,
        "TaskArn": task.task_arn,
        "ServiceRole": task.service_role,
        "Type": task.task_type,
        "TaskParameters": task.task_parameters,
        "Priority": task.priority,
        "MaxConcurrency": task.max_concurrency,
        "MaxErrors": task.max_errors,
        "Status": task.status,
        "StatusDetails": task.status_details,
        "StartTime": task.start_time,
        "EndTime": task.end_time,
        "AlarmConfiguration": task.alarm_configuration,
        "TriggeredAlarms": task.triggered_alarms,
    }


def _task_invocation_body(execution_id: str, task: WindowTask, invocation: WindowTaskInvocation) -> Body:
    return {
        "WindowExecutionId": execution_id,
        "TaskExecutionId": task.task_execution_id,
        "InvocationId": invocation.invocation_id,
        "ExecutionId": invocation.execution_id,
        "TaskType": invocation.task_type,
        "Parameters": invocation.parameters,
        "Status": invocation.status,
        "StatusDetails": invocation.status_details,
        "StartTime": invocation.start_time,
        "EndTime": invocation.end_time,
        "OwnerInformation": invocation.owner_information,
        "WindowTargetId": invocation.window_target_id,
    }


def describe_maintenance_window_execution_task_invocations_body(
    backend: SimpleSystemManagerBackend, params: Mapping[str, Any]
) -> Body:
    state = state_of(backend)
    paging = _window_paging("DescribeMaintenanceWindowExecutionTaskInvocations", params)
    execution_id = str(params.get("WindowExecutionId", ""))
    task = _window_task(state, execution_id, str(params.get("TaskId", "")))
    keep = _window_filter(params.get("Filters"), {"Status": _invocation_status})
    with state.lock:
        invocations = [i for i in task.invocations.values() if keep(i)]
    page, token = paginate(invocations, lambda i: (sort_time(i.start_time), i.invocation_id), paging)
    return {
        "WindowExecutionTaskInvocationIdentities": [
            _task_invocation_body(execution_id, task, i) for i in page
        ],
        "NextToken": token,
    }
