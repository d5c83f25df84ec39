"""SSM stand-in: the Run Command and maintenance-window reads moto 5.2 lacks, over moto's own state.

``install()`` adds these operations to moto's ``SimpleSystemManagerResponse`` (moto dispatches an
operation to the method named after it in snake_case), in-process under ``moto.mock_aws()`` and
through ``moto.server.ThreadedMotoServer`` in the same process (not a separate ``moto_server``):

- ListCommandInvocations, DescribeInstanceInformation, DescribeMaintenanceWindowExecutions,
  GetMaintenanceWindowExecution, DescribeMaintenanceWindowExecutionTasks,
  GetMaintenanceWindowExecutionTask, DescribeMaintenanceWindowExecutionTaskInvocations;
- ListCommands with counts and status computed from the invocation results, pagination and
  Filters; GetCommandInvocation answering recorded results; SendCommand keeping DocumentVersion,
  NotificationConfig and CloudWatchOutputConfig, and targeting only the requested instances
  (InstanceIds, or Targets keyed InstanceIds; tag targets stay moto's EC2 filters).

The functions below play what the SSM agent and the maintenance-window service would do. Their
records are kept beside moto's SSM backend of the account and region, so moto's reset clears them.
Commands come from moto's ``send_command``, windows, targets and tasks from moto's own calls, and
EC2 instances from moto's EC2 backend.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from moto.core.responses import ActionResult
from moto.ec2.models import ec2_backends
from moto.ssm.exceptions import SSMException
from moto.ssm.models import Command, SimpleSystemManagerBackend, ssm_backends
from moto.ssm.responses import SimpleSystemManagerResponse

from local.standin import _ssm_operations as operations
from local.standin._ssm_state import (
    COMMAND_INVOCATION_STATUSES,
    PING_STATUSES,
    PLATFORM_TYPES,
    PLUGIN_STATUSES,
    STATE_ATTRIBUTE,
    WINDOW_EXECUTION_STATUSES,
    WINDOW_TASK_TYPES,
    InstanceInformationOverride,
    InvocationRecord,
    ManagedInstance,
    PluginResult,
    WindowExecution,
    WindowTask,
    WindowTaskInvocation,
    as_utc,
    now,
    state_of,
)

__all__ = [
    "PLUGIN_OUTPUT_LIMIT",
    "PluginResult",
    "install",
    "installed",
    "plugin_output_key",
    "record_invocation",
    "record_window_execution",
    "record_window_task",
    "record_window_task_invocation",
    "register_managed_instance",
    "reset",
    "set_instance_information",
    "truncate_plugin_output",
    "uninstall",
]

PLUGIN_OUTPUT_LIMIT = operations.PLUGIN_OUTPUT_LIMIT
truncate_plugin_output = operations.truncate_plugin_output
plugin_output_key = operations.plugin_output_key

_MANAGED_INSTANCE_ID = re.compile(r"^mi-\w{17}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_INSTALL_LOCK = threading.Lock()
# Methods of SimpleSystemManagerResponse as they were before install(); None = not there.
_ORIGINALS: dict[str, Callable[..., Any] | None] = {}


# --- installation ------------------------------------------------------------------------------


def _params(response: SimpleSystemManagerResponse) -> dict[str, Any]:
    body = response.body
    if isinstance(body, bytes):
        body = body.decode()
    return cast(dict[str, Any], json.loads(body)) if body else {}


def _operation(
    build: Callable[[SimpleSystemManagerBackend, Mapping[str, Any]], dict[str, Any]],
) -> Callable[[SimpleSystemManagerResponse], str]:
    def respond(self: SimpleSystemManagerResponse) -> str:
        backend = self.ssm_backend
        with state_of(backend).lock:  # a simulator may record from another thread
            body = build(backend, _params(self))
        return operations.to_wire(body)

    respond.__name__ = build.__name__.removesuffix("_body")
    return respond


def _original(name: str) -> Callable[..., Any]:
    method = _ORIGINALS.get(name)
    if method is None:  # pragma: no cover - install() saves every method it wraps
        raise RuntimeError(f"moto's SimpleSystemManagerResponse.{name} was not saved")
    return method


def _send_command(self: SimpleSystemManagerResponse) -> ActionResult:
    params = _params(self)
    targets = params.get("Targets") or []
    by_instance_ids = bool(targets) and all(t.get("Key") == "InstanceIds" for t in targets)
    if by_instance_ids:
        # moto hands Targets to EC2 as filters, and EC2 has no "InstanceIds" filter.
        listed = [iid for t in targets for iid in t.get("Values") or []]
        params = {**params, "Targets": [], "InstanceIds": [*(params.get("InstanceIds") or []), *listed]}
        self.body = json.dumps(params)
    sent = cast(Mapping[str, Any], _original("send_command")(self).result)
    command = operations.command_by_id(self.ssm_backend, str(sent["Command"]["CommandId"]))
    state = state_of(self.ssm_backend)
    operations.adopt_sent_command(state, command, params)
    if by_instance_ids:
        command.targets = targets
    return ActionResult({"Command": operations.sent_command_body(state, command)})


def _list_commands(self: SimpleSystemManagerResponse) -> str:
    backend = self.ssm_backend
    with state_of(backend).lock:
        body = operations.list_commands_body(backend, _params(self))
    return operations.to_wire(body)


def _get_command_invocation(self: SimpleSystemManagerResponse) -> Any:
    backend = self.ssm_backend
    with state_of(backend).lock:
        body = operations.get_command_invocation_body(backend, _params(self))
    if body is None:
        return _original("get_command_invocation")(self)
    return operations.to_wire(body)


def _methods() -> dict[str, Callable[..., Any]]:
    methods: dict[str, Callable[..., Any]] = {
        name: _operation(build) for name, build in operations.NEW_OPERATIONS.items()
    }
    methods.update(
        send_command=_send_command,
        list_commands=_list_commands,
        get_command_invocation=_get_command_invocation,
    )
    return methods


def installed() -> bool:
    return bool(_ORIGINALS)


def install() -> None:
    """Patch moto's SSM response class. Idempotent; affects every moto backend in the process."""
    with _INSTALL_LOCK:
        if _ORIGINALS:
            return
        for name, method in _methods().items():
            _ORIGINALS[name] = SimpleSystemManagerResponse.__dict__.get(name)
            setattr(SimpleSystemManagerResponse, name, method)


def uninstall() -> None:
    """Give moto its own methods back (the recorded state stays until reset)."""
    with _INSTALL_LOCK:
        for name, method in _ORIGINALS.items():
            if method is None:
                delattr(SimpleSystemManagerResponse, name)
            else:
                setattr(SimpleSystemManagerResponse, name, method)
        _ORIGINALS.clear()


def reset() -> None:
    """Forget everything recorded here, in every account and region (moto's reset clears moto's)."""
    for account_backends in list(ssm_backends.values()):
        for backend in list(account_backends.values()):
            backend.__dict__.pop(STATE_ATTRIBUTE, None)


# --- Run Command: what the agent reports -------------------------------------------------------


def _backend(account_id: str, region: str) -> SimpleSystemManagerBackend:
    return ssm_backends[account_id][region]


def _command(backend: SimpleSystemManagerBackend, command_id: str) -> Command:
    try:
        return operations.command_by_id(backend, command_id)
    except SSMException:
        raise ValueError(
            f"no command {command_id} in account {backend.account_id}, region {backend.region_name}"
        ) from None


def _require(value: str, allowed: frozenset[str], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"{what} {value!r} is not one of {sorted(allowed)}")
    return value


def record_invocation(
    account_id: str,
    region: str,
    command_id: str,
    instance_id: str,
    *,
    status: str,
    status_details: str,
    plugins: Sequence[PluginResult],
    trace_output: str = "",
) -> None:
    """Record (or replace) the result of one instance of a command sent with moto's send_command.

    ``status`` is a CommandInvocationStatus (Pending, InProgress, Delayed, Success, Cancelled,
    TimedOut, Failed, Cancelling) and ``status_details`` the detailed one AWS shows (e.g.
    "Failed", "Execution Timed Out", "Delivery Timed Out", "Undeliverable"). ``plugins`` hold
    the full stdout/stderr; the API truncates them where AWS does. Instances of the command with
    no record keep moto's default: Success, one ``aws:runShellScript`` plugin, empty output.
    """
    backend = _backend(account_id, region)
    command = _command(backend, command_id)
    if instance_id not in command.instance_ids:
        raise ValueError(f"command {command_id} was not sent to {instance_id}")
    _require(status, COMMAND_INVOCATION_STATUSES, "invocation status")
    names = [plugin.name for plugin in plugins]
    if len(set(names)) != len(names):
        raise ValueError(f"plugin names repeat: {names}")
    for plugin in plugins:
        _require(plugin.status, PLUGIN_STATUSES, f"status of plugin {plugin.name}")
    if len(status_details) > 100:
        raise ValueError("status_details is longer than 100 characters")
    record = InvocationRecord(status, status_details, tuple(plugins), trace_output[:2500])
    state = state_of(backend)
    with state.lock:
        state.invocations[(command_id, instance_id)] = record


# --- instance information ----------------------------------------------------------------------


def register_managed_instance(
    account_id: str,
    region: str,
    instance_id: str | None = None,
    *,
    name: str,
    platform_type: str = "Linux",
    platform_name: str = "Ubuntu",
    platform_version: str = "22.04",
    ip_address: str = "192.168.1.10",
    computer_name: str | None = None,
    agent_version: str = operations.DEFAULT_AGENT_VERSION,
    ping_status: str = "Online",
    iam_role: str = "SSMServiceRole",
    activation_id: str | None = None,
    registration_date: datetime | None = None,
    last_ping: datetime | None = None,
    tags: Mapping[str, str] | None = None,
) -> str:
    """Register a hybrid node (ResourceType ManagedInstance); returns its ``mi-`` id."""
    node_id = instance_id or "mi-" + uuid.uuid4().hex[:17]
    if not _MANAGED_INSTANCE_ID.match(node_id):
        raise ValueError(f"{node_id!r} is not a managed instance id (mi- and 17 characters)")
    registered = as_utc(registration_date) if registration_date else now()
    node = ManagedInstance(
        instance_id=node_id,
        name=name,
        platform_type=_require(platform_type, PLATFORM_TYPES, "platform_type"),
        platform_name=platform_name,
        platform_version=platform_version,
        ip_address=ip_address,
        computer_name=computer_name or name,
        agent_version=agent_version,
        ping_status=_require(ping_status, PING_STATUSES, "ping_status"),
        iam_role=iam_role,
        activation_id=activation_id or str(uuid.uuid4()),
        registration_date=registered,
        last_ping=as_utc(last_ping) if last_ping else registered,
        tags=dict(tags or {}),
    )
    state = state_of(_backend(account_id, region))
    with state.lock:
        state.managed_instances[node_id] = node
    return node_id


def set_instance_information(
    account_id: str,
    region: str,
    instance_id: str,
    *,
    managed: bool = True,
    ping_status: str | None = None,
    last_ping: datetime | None = None,
    agent_version: str | None = None,
    platform_name: str | None = None,
    platform_version: str | None = None,
    computer_name: str | None = None,
    iam_role: str | None = None,
) -> None:
    """Override what DescribeInstanceInformation derives for a moto EC2 instance (by default:
    every instance not terminated, Online while running, ConnectionLost otherwise). With
    ``managed=False`` the instance is not listed at all (no agent, or no instance profile)."""
    if instance_id not in {i.id for i in ec2_backends[account_id][region].all_instances()}:
        raise ValueError(f"no EC2 instance {instance_id} in account {account_id}, region {region}")
    if ping_status is not None:
        _require(ping_status, PING_STATUSES, "ping_status")
    override = InstanceInformationOverride(
        managed=managed,
        ping_status=ping_status,
        last_ping=as_utc(last_ping) if last_ping else None,
        agent_version=agent_version,
        platform_name=platform_name,
        platform_version=platform_version,
        computer_name=computer_name,
        iam_role=iam_role,
    )
    state = state_of(_backend(account_id, region))
    with state.lock:
        state.instance_overrides[instance_id] = override


# --- maintenance windows: what the window service records --------------------------------------


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


_TERMINAL_WINDOW = operations.TERMINAL_WINDOW_STATUSES


def _start_of(record: WindowExecution | WindowTask | WindowTaskInvocation | None) -> datetime | None:
    return record.start_time if record is not None else None


def _execution_id(value: str | None, what: str) -> str:
    """Window execution, task execution and invocation ids are UUIDs in the API."""
    if value is None:
        return str(uuid.uuid4())
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
