"""What the SSM stand-in records next to moto's own SSM backend (one per account and region).

The records live in an attribute of moto's ``SimpleSystemManagerBackend`` instance, so moto's own
reset (``mock_aws`` stopping, ``/moto-api/reset``) drops them together with moto's state.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.ssm.models import SimpleSystemManagerBackend, ssm_backends

# Enumerations of the botocore service model (ssm 2014-11-06).
COMMAND_INVOCATION_STATUSES = frozenset(
    {"Pending", "InProgress", "Delayed", "Success", "Cancelled", "TimedOut", "Failed", "Cancelling"}
)
TERMINAL_INVOCATION_STATUSES = frozenset({"Success", "Cancelled", "TimedOut", "Failed"})
PLUGIN_STATUSES = frozenset({"Pending", "InProgress", "Success", "TimedOut", "Cancelled", "Failed"})
WINDOW_EXECUTION_STATUSES = frozenset(
    {
        "PENDING",
        "IN_PROGRESS",
        "SUCCESS",
        "FAILED",
        "TIMED_OUT",
        "CANCELLING",
        "CANCELLED",
        "SKIPPED_OVERLAPPING",
    }
)
TERMINAL_WINDOW_STATUSES = frozenset({"SUCCESS", "FAILED", "TIMED_OUT", "CANCELLED", "SKIPPED_OVERLAPPING"})
WINDOW_TASK_TYPES = frozenset({"RUN_COMMAND", "AUTOMATION", "STEP_FUNCTIONS", "LAMBDA"})
PLATFORM_TYPES = frozenset({"Windows", "Linux", "MacOS"})
PING_STATUSES = frozenset({"Online", "ConnectionLost", "Inactive"})
INCOMPLETE_STATUSES = frozenset({"Failed", "Success"})
PATCH_OPERATIONS = frozenset({"Scan", "Install"})
REBOOT_OPTIONS = frozenset({"RebootIfNeeded", "NoReboot"})

STATE_ATTRIBUTE = "_standin_ssm_state"
_CREATE_LOCK = threading.Lock()


def as_utc(moment: datetime) -> datetime:
    """moto keeps naive UTC datetimes; the stand-in works with aware ones."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def now() -> datetime:
    return datetime.now(UTC)


def backend_of(account_id: str, region: str) -> SimpleSystemManagerBackend:
    return ssm_backends[account_id][region]


def require(value: str, allowed: frozenset[str], what: str) -> str:
    """`value` if it is one of `allowed`, else ValueError (a caller's mistake, not an API error)."""
    if value not in allowed:
        raise ValueError(f"{what} {value!r} is not one of {sorted(allowed)}")
    return value


@dataclass(frozen=True)
class PluginResult:
    """One plugin (schema 1.2) or step (schema 2.x) of an invocation, as the agent reports it.

    ``stdout``/``stderr`` are the full streams; the API truncates them where AWS does.
    ``action`` is the plugin action of a schema 2.x step (e.g. ``aws:runShellScript``) and is
    only used to build the S3 output URLs; schema 1.2 plugin names are their own action.
    """

    name: str
    status: str
    status_details: str
    response_code: int
    stdout: str = ""
    stderr: str = ""
    start: datetime | None = None
    finish: datetime | None = None
    action: str | None = None


@dataclass(frozen=True)
class InvocationRecord:
    status: str
    status_details: str
    plugins: tuple[PluginResult, ...]
    trace_output: str = ""


@dataclass(frozen=True)
class CommandRequest:
    """What moto's send_command receives but does not keep."""

    document_version: str
    notification_config: dict[str, Any] | None
    cloud_watch_output_config: dict[str, Any] | None


@dataclass
class ManagedInstance:
    """A hybrid (``mi-``) node registered with an activation."""

    instance_id: str
    name: str
    platform_type: str
    platform_name: str
    platform_version: str
    ip_address: str
    computer_name: str
    agent_version: str
    ping_status: str
    iam_role: str
    activation_id: str
    registration_date: datetime
    last_ping: datetime
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class InstanceInformationOverride:
    """Overrides of what DescribeInstanceInformation derives for an EC2 instance."""

    managed: bool = True
    ping_status: str | None = None
    last_ping: datetime | None = None
    agent_version: str | None = None
    platform_name: str | None = None
    platform_version: str | None = None
    computer_name: str | None = None
    iam_role: str | None = None
    platform_type: str | None = None
    """MacOS for an EC2 Mac instance (EC2 itself says only whether an instance is Windows)."""


@dataclass(frozen=True)
class CommandStatusRules:
    """How ListCommands derives a finished command's Status where AWS's documentation leaves it
    open. Both are UNVERIFIED; the defaults are the stand-in's original choices.

    ``incomplete_status``: the Status of a command whose StatusDetails is Incomplete (errors within
    MaxErrors): "Failed" (default) or "Success" (the facts file: such a command "can end with
    Status Success"). ``delivery_timeouts_count``: True (default) makes a command whose delivery
    timeouts exceed MaxErrors TimedOut / "Delivery Timed Out" (a command StatusDetails of the API
    reference); False lets them only make it Incomplete (an invocation's Delivery Timed Out does
    not count against MaxErrors but makes the command Incomplete rather than Success).
    The facts file, section 1, quotes both.
    """

    incomplete_status: str = "Failed"
    delivery_timeouts_count: bool = True


@dataclass
class WindowTaskInvocation:
    invocation_id: str
    execution_id: str
    task_type: str
    parameters: str
    status: str
    status_details: str
    start_time: datetime | None
    end_time: datetime | None
    owner_information: str | None
    window_target_id: str | None


@dataclass
class WindowTask:
    task_execution_id: str
    task_arn: str
    task_type: str
    status: str
    status_details: str
    start_time: datetime | None
    end_time: datetime | None
    priority: int
    max_concurrency: str | None
    max_errors: str | None
    service_role: str | None
    task_parameters: list[dict[str, Any]]
    alarm_configuration: dict[str, Any] | None
    triggered_alarms: list[dict[str, str]] | None
    invocations: dict[str, WindowTaskInvocation] = field(default_factory=dict)


@dataclass
class WindowExecution:
    window_id: str
    window_execution_id: str
    status: str
    status_details: str
    start_time: datetime | None
    end_time: datetime | None
    tasks: dict[str, WindowTask] = field(default_factory=dict)


@dataclass(frozen=True)
class PatchStateRecord:
    """One instance's high-level patch state (an InstancePatchState of botocore's ssm model), as
    Patch Manager records it after an AWS-RunPatchBaseline run that reported its summary."""

    instance_id: str
    patch_group: str
    baseline_id: str
    operation: str
    operation_start: datetime
    operation_end: datetime
    installed: int = 0
    installed_other: int = 0
    installed_pending_reboot: int = 0
    installed_rejected: int = 0
    missing: int = 0
    failed: int = 0
    not_applicable: int = 0
    critical_non_compliant: int = 0
    security_non_compliant: int = 0
    other_non_compliant: int = 0
    snapshot_id: str | None = None
    reboot_option: str | None = None


@dataclass
class SsmState:
    lock: threading.RLock = field(default_factory=threading.RLock)
    invocations: dict[tuple[str, str], InvocationRecord] = field(default_factory=dict)
    command_requests: dict[str, CommandRequest] = field(default_factory=dict)
    managed_instances: dict[str, ManagedInstance] = field(default_factory=dict)
    instance_overrides: dict[str, InstanceInformationOverride] = field(default_factory=dict)
    window_executions: dict[str, WindowExecution] = field(default_factory=dict)
    patch_states: dict[str, PatchStateRecord] = field(default_factory=dict)
    command_rules: CommandStatusRules = field(default_factory=CommandStatusRules)


def state_of(backend: SimpleSystemManagerBackend) -> SsmState:
    state = backend.__dict__.get(STATE_ATTRIBUTE)
    if state is None:
        with _CREATE_LOCK:
            state = backend.__dict__.setdefault(STATE_ATTRIBUTE, SsmState())
    return state  # type: ignore[no-any-return]
