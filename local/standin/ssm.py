"""SSM stand-in: the Run Command and maintenance-window reads moto 5.2 lacks, over moto's own state.

``install()`` adds these operations to moto's ``SimpleSystemManagerResponse`` (moto dispatches an
operation to the method named after it in snake_case), in-process under ``moto.mock_aws()`` and
through ``moto.server.ThreadedMotoServer`` in the same process (not a separate ``moto_server``):

- ListCommandInvocations, DescribeInstanceInformation, DescribeMaintenanceWindowExecutions,
  GetMaintenanceWindowExecution, DescribeMaintenanceWindowExecutionTasks,
  GetMaintenanceWindowExecutionTask, DescribeMaintenanceWindowExecutionTaskInvocations,
  DescribeInstancePatchStates (answering the states ``record_patch_state`` recorded);
- ListCommands with counts and status computed from the invocation results, pagination and
  Filters; GetCommandInvocation answering recorded results; SendCommand keeping DocumentVersion,
  NotificationConfig and CloudWatchOutputConfig, and targeting only the requested instances
  (InstanceIds, or Targets keyed InstanceIds; tag targets stay moto's EC2 filters).

The functions below play what the SSM agent and the maintenance-window service would do (the
window records are written by ``_ssm_windows``, exported here). Their records are kept beside
moto's SSM backend of the account and region, so moto's reset clears them.
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
from moto.ssm.models import SimpleSystemManagerBackend, ssm_backends
from moto.ssm.responses import SimpleSystemManagerResponse

from local.standin import _ssm_command_operations as commands
from local.standin import _ssm_instance_operations as instances
from local.standin import _ssm_patch_operations as patches
from local.standin import _ssm_window_operations as windows
from local.standin._ssm_command_operations import known_command as _command
from local.standin._ssm_state import (
    COMMAND_INVOCATION_STATUSES,
    INCOMPLETE_STATUSES,
    PATCH_OPERATIONS,
    PING_STATUSES,
    PLATFORM_TYPES,
    PLUGIN_STATUSES,
    REBOOT_OPTIONS,
    STATE_ATTRIBUTE,
    CommandStatusRules,
    InstanceInformationOverride,
    InvocationRecord,
    ManagedInstance,
    PatchStateRecord,
    PluginResult,
    as_utc,
    now,
    state_of,
)
from local.standin._ssm_state import backend_of as _backend
from local.standin._ssm_state import require as _require
from local.standin._ssm_windows import (
    record_window_execution,
    record_window_task,
    record_window_task_invocation,
)
from local.standin._ssm_wire import Body, to_wire

__all__ = [
    "PLUGIN_OUTPUT_LIMIT",
    "PluginResult",
    "install",
    "installed",
    "plugin_output_key",
    "record_invocation",
    "record_patch_state",
    "record_window_execution",
    "record_window_task",
    "record_window_task_invocation",
    "register_managed_instance",
    "reset",
    "set_command_status_rules",
    "set_instance_information",
    "truncate_plugin_output",
    "uninstall",
]

PLUGIN_OUTPUT_LIMIT = commands.PLUGIN_OUTPUT_LIMIT
truncate_plugin_output = commands.truncate_plugin_output
plugin_output_key = commands.plugin_output_key

# Operation name -> body builder, for the operations moto 5.2 does not implement.
NEW_OPERATIONS: dict[str, Callable[[SimpleSystemManagerBackend, Mapping[str, Any]], Body]] = {
    "list_command_invocations": commands.list_command_invocations_body,
    "describe_instance_information": instances.describe_instance_information_body,
    "describe_instance_patch_states": patches.describe_instance_patch_states_body,
    "describe_maintenance_window_executions": windows.describe_maintenance_window_executions_body,
    "get_maintenance_window_execution": windows.get_maintenance_window_execution_body,
    "describe_maintenance_window_execution_tasks": windows.describe_maintenance_window_execution_tasks_body,
    "get_maintenance_window_execution_task": windows.get_maintenance_window_execution_task_body,
    "describe_maintenance_window_execution_task_invocations": (
        windows.describe_maintenance_window_execution_task_invocations_body
    ),
}

_MANAGED_INSTANCE_ID = re.compile(r"^mi-\w{17}$")
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
        return to_wire(body)

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
    command = commands.command_by_id(self.ssm_backend, str(sent["Command"]["CommandId"]))
    state = state_of(self.ssm_backend)
    commands.adopt_sent_command(state, command, params)
    if by_instance_ids:
        command.targets = targets
    return ActionResult({"Command": commands.sent_command_body(state, command)})


def _list_commands(self: SimpleSystemManagerResponse) -> str:
    backend = self.ssm_backend
    with state_of(backend).lock:
        body = commands.list_commands_body(backend, _params(self))
    return to_wire(body)


def _get_command_invocation(self: SimpleSystemManagerResponse) -> Any:
    backend = self.ssm_backend
    with state_of(backend).lock:
        body = commands.get_command_invocation_body(backend, _params(self))
    if body is None:
        return _original("get_command_invocation")(self)
    return to_wire(body)


def _methods() -> dict[str, Callable[..., Any]]:
    methods: dict[str, Callable[..., Any]] = {
        name: _operation(build) for name, build in NEW_OPERATIONS.items()
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


def set_command_status_rules(
    account_id: str, region: str, *, incomplete_status: str = "Failed", delivery_timeouts_count: bool = True
) -> None:
    """Choose how ListCommands words what AWS leaves open (CommandStatusRules, UNVERIFIED): the
    Status of an Incomplete command, and whether delivery timeouts count against MaxErrors.
    The defaults are the stand-in's own; moto's reset restores them."""
    rules = CommandStatusRules(
        _require(incomplete_status, INCOMPLETE_STATUSES, "incomplete_status"), delivery_timeouts_count
    )
    state = state_of(_backend(account_id, region))
    with state.lock:
        state.command_rules = rules


# --- Patch Manager: what an AWS-RunPatchBaseline run leaves -----------------------------------

_BASELINE_ID = re.compile(r"^[a-zA-Z0-9_\-:/]{20,128}$")


def record_patch_state(
    account_id: str,
    region: str,
    instance_id: str,
    *,
    operation: str,
    patch_group: str,
    baseline_id: str,
    operation_start: datetime,
    operation_end: datetime,
    installed: int = 0,
    installed_other: int = 0,
    installed_pending_reboot: int = 0,
    installed_rejected: int = 0,
    missing: int = 0,
    failed: int = 0,
    not_applicable: int = 0,
    critical_non_compliant: int = 0,
    security_non_compliant: int = 0,
    other_non_compliant: int = 0,
    snapshot_id: str | None = None,
    reboot_option: str | None = None,
) -> None:
    """Record (or replace) the patch state DescribeInstancePatchStates answers for an instance, as
    Patch Manager keeps the last operation's counts. Values are checked against botocore's
    InstancePatchState (Operation Scan|Install, BaselineId pattern, RebootOption); counts are
    not negative (the API has no -1: a failed Windows run's -1 is not recorded)."""
    if not patches.INSTANCE_ID.match(instance_id):
        raise ValueError(f"{instance_id!r} is not an instance id")
    _require(operation, PATCH_OPERATIONS, "operation")
    if reboot_option is not None:
        _require(reboot_option, REBOOT_OPTIONS, "reboot_option")
    if not _BASELINE_ID.match(baseline_id):
        raise ValueError(f"baseline id {baseline_id!r} does not match the model's pattern")
    if not 1 <= len(patch_group) <= 256:
        raise ValueError("patch_group must have 1 to 256 characters")
    record = PatchStateRecord(
        instance_id=instance_id,
        patch_group=patch_group,
        baseline_id=baseline_id,
        operation=operation,
        operation_start=as_utc(operation_start),
        operation_end=as_utc(operation_end),
        installed=installed,
        installed_other=installed_other,
        installed_pending_reboot=installed_pending_reboot,
        installed_rejected=installed_rejected,
        missing=missing,
        failed=failed,
        not_applicable=not_applicable,
        critical_non_compliant=critical_non_compliant,
        security_non_compliant=security_non_compliant,
        other_non_compliant=other_non_compliant,
        snapshot_id=snapshot_id,
        reboot_option=reboot_option,
    )
    counts = [value for name, value in record.__dict__.items() if isinstance(value, int)]
    if any(value < 0 for value in counts):
        raise ValueError("patch counts are not negative")
    state = state_of(_backend(account_id, region))
    with state.lock:
        state.patch_states[instance_id] = record


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
    agent_version: str = instances.DEFAULT_AGENT_VERSION,
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
    platform_type: str | None = None,
) -> None:
    """Override what DescribeInstanceInformation derives for a moto EC2 instance (by default:
    every instance not terminated, Online while running, ConnectionLost otherwise; Windows or
    Linux by its image, ``platform_type="MacOS"`` for an EC2 Mac instance). With
    ``managed=False`` the instance is not listed at all (no agent, or no instance profile)."""
    if instance_id not in {i.id for i in ec2_backends[account_id][region].all_instances()}:
        raise ValueError(f"no EC2 instance {instance_id} in account {account_id}, region {region}")
    if ping_status is not None:
        _require(ping_status, PING_STATUSES, "ping_status")
    if platform_type is not None:
        _require(platform_type, PLATFORM_TYPES, "platform_type")
    override = InstanceInformationOverride(
        managed=managed,
        ping_status=ping_status,
        last_ping=as_utc(last_ping) if last_ping else None,
        agent_version=agent_version,
        platform_name=platform_name,
        platform_version=platform_version,
        computer_name=computer_name,
        iam_role=iam_role,
        platform_type=platform_type,
    )
    state = state_of(_backend(account_id, region))
    with state.lock:
        state.instance_overrides[instance_id] = override
