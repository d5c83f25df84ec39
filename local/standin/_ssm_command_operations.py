"""Response bodies of the Run Command operations moto lacks (or answers unrealistically).

ListCommandInvocations, and ListCommands, GetCommandInvocation and SendCommand as the stand-in
answers them. Every ``*_body`` function reads moto's ``SimpleSystemManagerBackend`` (its Command
objects), moto's EC2 backend of the same account and region, and the stand-in records kept beside
them (``_ssm_state``); it returns a body for ``_ssm_wire.to_wire``.

Behaviour that could not be confirmed against AWS is marked UNVERIFIED where it is decided.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from moto.ec2.models import ec2_backends
from moto.ssm.exceptions import SSMException
from moto.ssm.models import Command, SimpleSystemManagerBackend

from local.standin._ssm_state import (
    COMMAND_INVOCATION_STATUSES,
    TERMINAL_INVOCATION_STATUSES,
    CommandRequest,
    CommandStatusRules,
    InvocationRecord,
    PluginResult,
    SsmState,
    as_utc,
    state_of,
)
from local.standin._ssm_wire import (
    Body,
    Paging,
    epoch_seconds,
    max_results,
    paginate,
    parse_time,
    service_error,
    validation_error,
)

# CommandPlugins[].Output: the agent's MaximumPluginOutputSize and its markers (amazon-ssm-agent,
# iohandler.TruncateOutput).
PLUGIN_OUTPUT_LIMIT = 2500
ERROR_TITLE = "\n----------ERROR-------\n"
OUTPUT_TRUNCATED = "\n---Output truncated---"
ERROR_TRUNCATED = "\n---Error truncated----"
# GetCommandInvocation StandardOutputContent / StandardErrorContent.
STDOUT_CONTENT_LIMIT = 24000
STDERR_CONTENT_LIMIT = 8000
CONTENT_TRUNCATED = "--output truncated--"

DEFAULT_PLUGIN_NAME = "aws:runShellScript"  # what moto's send_command gives every invocation
EMPTY_NOTIFICATION_CONFIG: Body = {"NotificationArn": "", "NotificationEvents": []}
EMPTY_CLOUD_WATCH_OUTPUT_CONFIG: Body = {"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": False}


# --- plugin output --------------------------------------------------------------------------


def truncate_plugin_output(stdout: str, stderr: str, capacity: int = PLUGIN_OUTPUT_LIMIT) -> str:
    """CommandPlugins[].Output: stdout, the ERROR title, stderr, cut to ``capacity`` the way the
    agent's TruncateOutput cuts them (it counts UTF-8 bytes, this counts characters)."""
    title = ERROR_TITLE if stderr else ""
    available = capacity - len(title)
    if len(stdout) + len(stderr) < available:
        return f"{stdout}{title}{stderr}"
    half = available // 2
    both_long = len(stdout) > half and len(stderr) > half
    if not both_long and len(stdout) < half:
        keep = available - len(ERROR_TRUNCATED) - len(stdout)
        return f"{stdout}{title}{stderr[:keep]}{ERROR_TRUNCATED}"
    keep = available - len(OUTPUT_TRUNCATED) - len(stderr)
    if both_long or keep < 0:  # keep < 0: where the agent's slice would panic
        each = (available - len(ERROR_TRUNCATED) - len(OUTPUT_TRUNCATED)) // 2
        return f"{stdout[:each]}{OUTPUT_TRUNCATED}{title}{stderr[:each]}{ERROR_TRUNCATED}"
    return f"{stdout[:keep]}{OUTPUT_TRUNCATED}{title}{stderr}"


def first_chars(text: str, limit: int) -> str:
    """GetCommandInvocation content: the first ``limit`` characters. UNVERIFIED: where the agent
    puts its ``--output truncated--`` marker; here it ends the kept text, within the limit."""
    if len(text) <= limit:
        return text
    return text[: limit - len(CONTENT_TRUNCATED)] + CONTENT_TRUNCATED


def plugin_output_key(
    key_prefix: str, command_id: str, instance_id: str, plugin: PluginResult, *, index: int, stream: str
) -> str | None:
    """The S3 key the agent writes a stream to (facts file, section 2), or None when it cannot be
    known (a schema 2.x step recorded without its ``action``)."""
    if ":" in plugin.name:  # schema 1.2: the plugin name is the action; the step is "<i>.<action>"
        action = plugin.name.replace(":", "")
        step = f"{index}.{action}"
    elif plugin.action:
        action = plugin.action.replace(":", "")
        step = plugin.name.replace(":", "")
    else:
        return None
    parts = [key_prefix.strip("/"), command_id, instance_id, action, step, stream]
    return "/".join(part for part in parts if part)


# --- commands and their invocations ----------------------------------------------------------


def _moto_time(value: str) -> datetime | None:
    try:
        return as_utc(datetime.fromisoformat(value))
    except (TypeError, ValueError):
        return None


def default_record(moto_invocation: Mapping[str, Any] | None) -> InvocationRecord:
    """moto's own (Success) invocation, for an instance nobody recorded a result for."""
    if moto_invocation is None:
        plugin = PluginResult(DEFAULT_PLUGIN_NAME, "Success", "Success", 0)
        return InvocationRecord("Success", "Success", (plugin,))
    plugin = PluginResult(
        name=str(moto_invocation.get("PluginName") or DEFAULT_PLUGIN_NAME),
        status=str(moto_invocation.get("Status", "Success")),
        status_details=str(moto_invocation.get("StatusDetails", "Success")),
        response_code=int(moto_invocation.get("ResponseCode", 0)),
        stdout=str(moto_invocation.get("StandardOutputContent", "")),
        stderr=str(moto_invocation.get("StandardErrorContent", "")),
        start=_moto_time(str(moto_invocation.get("ExecutionStartDateTime", ""))),
        finish=_moto_time(str(moto_invocation.get("ExecutionEndDateTime", ""))),
    )
    return InvocationRecord(plugin.status, plugin.status_details, (plugin,))


def command_by_id(backend: SimpleSystemManagerBackend, command_id: str) -> Command:
    for command in backend._commands:
        if command.command_id == command_id:
            return command
    raise service_error("InvalidCommandId", "Invalid command id.")


def known_command(backend: SimpleSystemManagerBackend, command_id: str) -> Command:
    """A command of moto's backend for the record functions (ValueError when there is none)."""
    try:
        return command_by_id(backend, command_id)
    except SSMException:
        raise ValueError(
            f"no command {command_id} in account {backend.account_id}, region {backend.region_name}"
        ) from None


def invocation_records(state: SsmState, command: Command) -> list[tuple[str, InvocationRecord]]:
    """(instance id, record) for every instance of the command, sorted by instance id."""
    moto_invocations = {inv["InstanceId"]: inv for inv in command.invocations}
    with state.lock:
        recorded = {iid: state.invocations.get((command.command_id, iid)) for iid in command.instance_ids}
    return [
        (iid, recorded[iid] or default_record(moto_invocations.get(iid)))
        for iid in sorted(command.instance_ids)
    ]


@dataclass(frozen=True)
class CommandSummary:
    status: str
    status_details: str
    target_count: int
    completed_count: int
    error_count: int
    delivery_timed_out_count: int


def allowed_errors(max_errors: str | None, target_count: int) -> int:
    """MaxErrors as a count ("0", "10", "10%"). UNVERIFIED: how AWS rounds a percentage."""
    text = (max_errors or "0").strip()
    if text.endswith("%"):
        return math.floor(float(text[:-1]) * target_count / 100)
    return int(text)


def summarise_command(
    command: Command, records: Sequence[InvocationRecord], rules: CommandStatusRules | None = None
) -> CommandSummary:
    """ListCommands counts and aggregate status from the invocation results (AWS semantics:
    CompletedCount = terminal invocations; ErrorCount = Failed or Execution Timed Out;
    DeliveryTimedOutCount; Status Failed once errors exceed MaxErrors). Where AWS's documentation
    leaves the Status open, `rules` decide (CommandStatusRules, both UNVERIFIED): the Status of a
    command whose StatusDetails is "Incomplete", and whether delivery timeouts count against
    MaxErrors."""
    rules = rules or CommandStatusRules()
    statuses = [r.status for r in records]
    delivery_timeouts = sum(
        r.status == "TimedOut" and r.status_details == "Delivery Timed Out" for r in records
    )
    execution_timeouts = statuses.count("TimedOut") - delivery_timeouts
    failed = statuses.count("Failed")
    completed = sum(s in TERMINAL_INVOCATION_STATUSES for s in statuses)
    counts = (len(records), completed, failed + execution_timeouts, delivery_timeouts)
    if not records:
        return CommandSummary(command.status, "Success", *counts)
    allowed = allowed_errors(command.max_errors, len(records))
    if completed < len(records):
        if "Cancelling" in statuses:
            status = ("Cancelling", "Cancelling")
        elif all(s == "Pending" for s in statuses):
            status = ("Pending", "Pending")
        else:
            status = ("InProgress", "In Progress")
    elif "Cancelled" in statuses:
        status = ("Cancelled", "Cancelled")
    elif completed == statuses.count("Success"):
        status = ("Success", "Success")
    elif failed + execution_timeouts > allowed:
        status = ("TimedOut", "Execution Timed Out") if execution_timeouts > failed else ("Failed", "Failed")
    elif rules.delivery_timeouts_count and delivery_timeouts > allowed:
        status = ("TimedOut", "Delivery Timed Out")
    else:
        status = (rules.incomplete_status, "Incomplete")
    return CommandSummary(*status, *counts)


def _request(state: SsmState, command: Command) -> CommandRequest | None:
    with state.lock:
        return state.command_requests.get(command.command_id)


def _notification_config(command: Command, request: CommandRequest | None) -> Body:
    if request is None:
        return dict(command.notification_config)
    return dict(request.notification_config or EMPTY_NOTIFICATION_CONFIG)


def _cloud_watch_output_config(request: CommandRequest | None) -> Body:
    if request is None or not request.cloud_watch_output_config:
        return dict(EMPTY_CLOUD_WATCH_OUTPUT_CONFIG)
    return dict(request.cloud_watch_output_config)


def _document_version(request: CommandRequest | None) -> str:
    return request.document_version if request is not None else "$DEFAULT"


def command_body(backend: SimpleSystemManagerBackend, state: SsmState, command: Command) -> Body:
    """A Command as ListCommands returns it: moto's fields, counts and status recomputed."""
    records = [record for _, record in invocation_records(state, command)]
    with state.lock:
        rules = state.command_rules
    summary = summarise_command(command, records, rules)
    request = _request(state, command)
    body = dict(command.response_object())
    body.update(
        InstanceIds=list(command.instance_ids),
        DocumentVersion=_document_version(request),
        Status=summary.status,
        StatusDetails=summary.status_details,
        TargetCount=summary.target_count,
        CompletedCount=summary.completed_count,
        ErrorCount=summary.error_count,
        DeliveryTimedOutCount=summary.delivery_timed_out_count,
        NotificationConfig=_notification_config(command, request),
        CloudWatchOutputConfig=_cloud_watch_output_config(request),
    )
    return body


def sent_command_body(state: SsmState, command: Command) -> Body:
    """SendCommand's Command: moto's, plus what moto drops from the request."""
    request = _request(state, command)
    body = dict(command.response_object())
    body.update(
        DocumentVersion=_document_version(request),
        NotificationConfig=_notification_config(command, request),
        CloudWatchOutputConfig=_cloud_watch_output_config(request),
    )
    return body


def adopt_sent_command(state: SsmState, command: Command, params: Mapping[str, Any]) -> None:
    """Keep what moto's send_command drops, and correct its target list: with an empty Targets
    moto 5.2 adds every EC2 instance of the region to the command (it resolves ``{}`` as an
    EC2 filter), and counts a requested instance twice."""
    if not params.get("Targets"):
        requested = list(dict.fromkeys(params.get("InstanceIds") or []))
        command.instance_ids = requested
        command.invocations = [command.invocation_response(iid, DEFAULT_PLUGIN_NAME) for iid in requested]
        command.target_count = command.completed_count = len(requested)
    request = CommandRequest(
        document_version=str(params.get("DocumentVersion") or "$DEFAULT"),
        notification_config=params.get("NotificationConfig"),
        cloud_watch_output_config=params.get("CloudWatchOutputConfig"),
    )
    with state.lock:
        state.command_requests[command.command_id] = request


class InstanceNames:
    """InstanceName of an invocation: an EC2 instance's Name tag, a managed node's Name.
    UNVERIFIED: the API reference calls it the node's host name; the shape is InstanceTagName."""

    def __init__(self, backend: SimpleSystemManagerBackend, state: SsmState) -> None:
        self._tags: Mapping[str, Mapping[str, str]] = ec2_backends[backend.account_id][
            backend.region_name
        ].tags
        with state.lock:
            self._managed = {iid: node.name for iid, node in state.managed_instances.items()}

    def __call__(self, instance_id: str) -> str:
        if instance_id in self._managed:
            return self._managed[instance_id]
        tags = self._tags.get(instance_id) or {}
        return str(tags.get("Name", ""))


class _OutputLocation:
    """Where a command's plugins write to S3, if the command has an output bucket."""

    def __init__(self, backend: SimpleSystemManagerBackend, command: Command) -> None:
        self.bucket = command.output_s3_bucket_name or ""
        self.prefix = command.output_s3_key_prefix or ""
        self.region = command.output_s3_region or backend.region_name

    def url(self, command_id: str, instance_id: str, plugin: PluginResult, index: int, stream: str) -> str:
        """UNVERIFIED: the URL format (never parse it)."""
        if not self.bucket:
            return ""
        key = plugin_output_key(self.prefix, command_id, instance_id, plugin, index=index, stream=stream)
        return f"https://s3.{self.region}.amazonaws.com/{self.bucket}/{key}" if key else ""


def _plugin_body(
    command: Command, instance_id: str, plugin: PluginResult, index: int, where: _OutputLocation
) -> Body:
    start = plugin.start or command.requested_date_time
    finish = plugin.finish
    return {
        "Name": plugin.name,
        "Status": plugin.status,
        "StatusDetails": plugin.status_details,
        "ResponseCode": plugin.response_code,
        "ResponseStartDateTime": as_utc(start),
        "ResponseFinishDateTime": as_utc(finish) if finish is not None else None,
        "Output": truncate_plugin_output(plugin.stdout, plugin.stderr),
        "StandardOutputUrl": where.url(command.command_id, instance_id, plugin, index, "stdout"),
        "StandardErrorUrl": where.url(command.command_id, instance_id, plugin, index, "stderr"),
        # UNVERIFIED: whether AWS extends the prefix with <command>/<instance>/... here.
        "OutputS3Region": where.region,
        "OutputS3BucketName": where.bucket,
        "OutputS3KeyPrefix": where.prefix,
    }


@dataclass(frozen=True)
class _InvocationRow:
    command: Command
    instance_id: str
    record: InvocationRecord

    def sort_key(self) -> tuple[Any, ...]:
        # Newest command first, then by instance id.
        return (
            -float(epoch_seconds(self.command.requested_date_time)),
            self.command.command_id,
            self.instance_id,
        )


def _invocation_body(
    backend: SimpleSystemManagerBackend,
    state: SsmState,
    row: _InvocationRow,
    names: InstanceNames,
    details: bool,
) -> Body:
    command, record = row.command, row.record
    request = _request(state, command)
    where = _OutputLocation(backend, command)
    plugins = [_plugin_body(command, row.instance_id, p, i, where) for i, p in enumerate(record.plugins)]
    single = plugins[0] if len(plugins) == 1 else None
    return {
        "CommandId": command.command_id,
        "InstanceId": row.instance_id,
        "InstanceName": names(row.instance_id),
        "Comment": command.comment,
        "DocumentName": command.document_name,
        "DocumentVersion": _document_version(request),
        "RequestedDateTime": as_utc(command.requested_date_time),
        "Status": record.status,
        "StatusDetails": record.status_details,
        "TraceOutput": record.trace_output,
        "StandardOutputUrl": single["StandardOutputUrl"] if single else "",
        "StandardErrorUrl": single["StandardErrorUrl"] if single else "",
        # AWS answers an empty list without Details (UNVERIFIED: it may leave the member out).
        "CommandPlugins": plugins if details else [],
        "ServiceRole": command.service_role_arn,
        "NotificationConfig": _notification_config(command, request),
        "CloudWatchOutputConfig": _cloud_watch_output_config(request),
    }


_COMMAND_FILTER_KEYS = frozenset(
    {"InvokedAfter", "InvokedBefore", "Status", "ExecutionStage", "DocumentName"}
)


@dataclass(frozen=True)
class _CommandCondition:
    """One of the Filters of ListCommands / ListCommandInvocations, over (command, status)."""

    key: str
    value: str
    moment: datetime | None = None

    def holds(self, command: Command, status: str) -> bool:
        if self.moment is not None:
            requested = as_utc(command.requested_date_time)
            return requested >= self.moment if self.key == "InvokedAfter" else requested <= self.moment
        if self.key == "Status":
            return status == self.value
        if self.key == "ExecutionStage":
            return (status in TERMINAL_INVOCATION_STATUSES) is (self.value == "Complete")
        return bool(command.document_name == self.value)


def _command_conditions(
    filters: Sequence[Mapping[str, Any]] | None, statuses: frozenset[str]
) -> list[_CommandCondition]:
    conditions = []
    for item in filters or []:
        key, value = str(item.get("key", "")), str(item.get("value", ""))
        if key not in _COMMAND_FILTER_KEYS:
            raise service_error("InvalidFilterKey", f"The filter key {key} isn't valid.")
        if key == "Status" and value not in statuses:
            raise validation_error(f"Value '{value}' of filter 'Status' isn't a valid status")
        if key == "ExecutionStage" and value not in {"Executing", "Complete"}:
            raise validation_error(f"Value '{value}' of filter 'ExecutionStage' isn't Executing or Complete")
        moment = parse_time(value, key) if key in {"InvokedAfter", "InvokedBefore"} else None
        conditions.append(_CommandCondition(key, value, moment))
    return conditions


def _command_filter(
    filters: Sequence[Mapping[str, Any]] | None, statuses: frozenset[str]
) -> Callable[[Command, str], bool]:
    """A predicate over (command, status) for ListCommands / ListCommandInvocations Filters."""
    conditions = _command_conditions(filters, statuses)
    return lambda command, status: all(c.holds(command, status) for c in conditions)


def list_command_invocations_body(backend: SimpleSystemManagerBackend, params: Mapping[str, Any]) -> Body:
    state = state_of(backend)
    paging = Paging("ListCommandInvocations", params, max_results(params, low=1, high=50, default=50))
    command_id, instance_id = params.get("CommandId"), params.get("InstanceId")
    commands = [command_by_id(backend, command_id)] if command_id else list(backend._commands)
    keep = _command_filter(params.get("Filters"), COMMAND_INVOCATION_STATUSES)
    rows = [
        _InvocationRow(command, iid, record)
        for command in commands
        for iid, record in invocation_records(state, command)
        if (not instance_id or iid == instance_id) and keep(command, record.status)
    ]
    page, token = paginate(rows, _InvocationRow.sort_key, paging)
    names = InstanceNames(backend, state)
    details = bool(params.get("Details", False))
    return {
        "CommandInvocations": [_invocation_body(backend, state, row, names, details) for row in page],
        "NextToken": token,
    }


_COMMAND_STATUSES = frozenset(
    {"Pending", "InProgress", "Success", "Cancelled", "Failed", "TimedOut", "Cancelling"}
)


def list_commands_body(backend: SimpleSystemManagerBackend, params: Mapping[str, Any]) -> Body:
    state = state_of(backend)
    paging = Paging("ListCommands", params, max_results(params, low=1, high=50, default=50))
    commands = backend.list_commands(params.get("CommandId"), params.get("InstanceId"))
    keep = _command_filter(params.get("Filters"), _COMMAND_STATUSES)
    bodies = [command_body(backend, state, command) for command in commands]
    selected = [(c, b) for c, b in zip(commands, bodies, strict=True) if keep(c, b["Status"])]

    def newest_first(item: tuple[Command, Body]) -> tuple[Any, ...]:
        return (-float(epoch_seconds(item[0].requested_date_time)), item[0].command_id)

    page, token = paginate(selected, newest_first, paging)
    return {"Commands": [body for _, body in page], "NextToken": token}


def _elapsed(start: datetime | None, finish: datetime | None) -> str:
    if start is None or finish is None:
        return ""
    return f"PT{max((as_utc(finish) - as_utc(start)).total_seconds(), 0.0):.3f}S"


def _iso(moment: datetime | None) -> str:
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z" if moment is not None else ""


def get_command_invocation_body(
    backend: SimpleSystemManagerBackend, params: Mapping[str, Any]
) -> Body | None:
    """GetCommandInvocation of a recorded invocation; None leaves the call to moto."""
    state = state_of(backend)
    command_id, instance_id = str(params.get("CommandId", "")), str(params.get("InstanceId", ""))
    with state.lock:
        record = state.invocations.get((command_id, instance_id))
    if record is None:
        return None
    command = command_by_id(backend, command_id)
    plugin_name = params.get("PluginName")
    if plugin_name:
        matches = [(i, p) for i, p in enumerate(record.plugins) if p.name == plugin_name]
        if not matches:
            raise service_error(
                "InvocationDoesNotExist", "An invocation with that plugin name doesn't exist."
            )
        index, plugin = matches[0]
    elif len(record.plugins) == 1:
        index, plugin = 0, record.plugins[0]
    else:
        # UNVERIFIED: the error AWS gives when PluginName is missing for a multi-step document.
        raise service_error(
            "InvalidPluginName", "PluginName is required for a document with more than one step."
        )
    finished = plugin.status in TERMINAL_INVOCATION_STATUSES
    where = _OutputLocation(backend, command)
    request = _request(state, command)
    return {
        "CommandId": command_id,
        "InstanceId": instance_id,
        "Comment": command.comment,
        "DocumentName": command.document_name,
        "DocumentVersion": _document_version(request),
        "PluginName": plugin.name,
        "ResponseCode": plugin.response_code,
        "ExecutionStartDateTime": _iso(plugin.start),
        "ExecutionElapsedTime": _elapsed(plugin.start, plugin.finish),
        "ExecutionEndDateTime": _iso(plugin.finish),
        "Status": plugin.status,
        "StatusDetails": plugin.status_details,
        "StandardOutputContent": first_chars(plugin.stdout, STDOUT_CONTENT_LIMIT) if finished else "",
        "StandardOutputUrl": where.url(command_id, instance_id, plugin, index, "stdout"),
        "StandardErrorContent": first_chars(plugin.stderr, STDERR_CONTENT_LIMIT) if finished else "",
        "StandardErrorUrl": where.url(command_id, instance_id, plugin, index, "stderr"),
        "CloudWatchOutputConfig": _cloud_watch_output_config(request),
    }
