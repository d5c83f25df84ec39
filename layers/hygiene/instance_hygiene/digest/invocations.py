"""What Systems Manager says about a command and its invocations, as plain dataclasses, and the pure
parsing of its responses (the API's, or a file saved with `aws ssm list-command-invocations --details
--output json`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

API_OUTPUT_SEPARATOR = "\n----------ERROR-------\n"
"""Between stdout and stderr in ListCommandInvocations' 2,500-character plugin Output."""


@dataclass(frozen=True)
class Command:
    command_id: str
    document_name: str
    status: str
    comment: str = ""
    status_details: str = ""
    requested_at: datetime | None = None
    output_bucket: str | None = None
    output_prefix: str | None = None
    target_count: int | None = None
    error_count: int | None = None
    completed_count: int | None = None
    delivery_timed_out_count: int | None = None
    window_execution_id: str | None = None
    """The maintenance-window execution that sent it, from its parameters (`window_execution_id`)."""


@dataclass(frozen=True)
class Plugin:
    """One step of one invocation (CommandPlugins[])."""

    name: str
    status: str
    status_details: str = ""
    response_code: int | None = None
    output: str = ""
    output_bucket: str | None = None
    output_prefix: str | None = None
    output_region: str | None = None


@dataclass(frozen=True)
class Invocation:
    instance_id: str
    status: str
    status_details: str = ""
    instance_name: str = ""
    document_name: str = ""
    plugins: tuple[Plugin, ...] = ()


@dataclass(frozen=True)
class Instance:
    instance_id: str
    name: str | None
    platform: str | None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


WINDOW_EXECUTION_PARAMETERS = ("WindowExecutionId", "SnapshotId")
"""Where a window task records its execution: our healthcheck's WindowExecutionId, and
AWS-RunPatchBaseline's SnapshotId, which AWS documents to set to {{WINDOW_EXECUTION_ID}} in a window."""
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def window_execution_id(parameters: Any) -> str | None:
    """The window execution id a command's Parameters carry, if one of them holds a UUID (a command
    sent by hand leaves them empty, or gives a snapshot id of its own that no window has)."""
    if not isinstance(parameters, Mapping):
        return None
    for name in WINDOW_EXECUTION_PARAMETERS:
        values = parameters.get(name)
        value = values[0] if isinstance(values, list) and values else values
        if isinstance(value, str) and _UUID.fullmatch(value):
            return value
    return None


def parse_command(raw: Mapping[str, Any]) -> Command:
    return Command(
        command_id=str(raw["CommandId"]),
        document_name=_text(raw.get("DocumentName")),
        status=_text(raw.get("Status")),
        comment=_text(raw.get("Comment")),
        status_details=_text(raw.get("StatusDetails")),
        requested_at=raw.get("RequestedDateTime")
        if isinstance(raw.get("RequestedDateTime"), datetime)
        else None,
        output_bucket=raw.get("OutputS3BucketName") or None,
        output_prefix=raw.get("OutputS3KeyPrefix") or None,
        target_count=raw.get("TargetCount"),
        error_count=raw.get("ErrorCount"),
        completed_count=raw.get("CompletedCount"),
        delivery_timed_out_count=raw.get("DeliveryTimedOutCount"),
        window_execution_id=window_execution_id(raw.get("Parameters")),
    )


def parse_invocation(raw: Mapping[str, Any]) -> Invocation:
    """One CommandInvocations[] item, from the API or from the CLI's JSON output."""
    plugins = tuple(
        Plugin(
            name=_text(p.get("Name")),
            status=_text(p.get("Status")),
            status_details=_text(p.get("StatusDetails")),
            response_code=p.get("ResponseCode") if isinstance(p.get("ResponseCode"), int) else None,
            output=_text(p.get("Output")),
            output_bucket=p.get("OutputS3BucketName") or None,
            output_prefix=p.get("OutputS3KeyPrefix") or None,
            output_region=p.get("OutputS3Region") or None,
        )
        for p in raw.get("CommandPlugins") or []
        if isinstance(p, Mapping)
    )
    return Invocation(
        instance_id=str(raw["InstanceId"]),
        status=_text(raw.get("Status")),
        status_details=_text(raw.get("StatusDetails")),
        instance_name=_text(raw.get("InstanceName")),
        document_name=_text(raw.get("DocumentName")),
        plugins=plugins,
    )


def split_api_output(output: str) -> tuple[str, str]:
    """The API's plugin Output as (stdout, stderr)."""
    stdout, _, stderr = output.partition(API_OUTPUT_SEPARATOR)
    return stdout, stderr


class InvocationsFileError(ValueError):
    """The invocations file is not what `aws ssm list-command-invocations --details` prints."""


def parse_invocations_document(document: Any) -> tuple[Command, list[Invocation]]:
    """`aws ssm list-command-invocations --command-id ID --details --output json` as a command.

    The file has no ListCommands data: the document name, output location and counts come from
    the invocations themselves.
    """
    if not isinstance(document, Mapping) or not isinstance(document.get("CommandInvocations"), list):
        raise InvocationsFileError("expected a JSON object with a 'CommandInvocations' list")
    raws = document["CommandInvocations"]
    if not raws:
        raise InvocationsFileError("'CommandInvocations' is empty: nothing to report")
    try:
        invocations = [parse_invocation(raw) for raw in raws]
    except (KeyError, TypeError, AttributeError) as error:
        raise InvocationsFileError(f"an invocation lacks a field or has the wrong type: {error}") from None
    command_ids = {str(raw.get("CommandId", "")) for raw in raws}
    if len(command_ids) != 1 or "" in command_ids:
        raise InvocationsFileError(f"expected invocations of one command, found ids {sorted(command_ids)}")
    plugin = next((p for i in invocations for p in i.plugins if p.output_bucket), None)
    statuses = {i.status for i in invocations}
    status = next((s for s in ("Failed", "TimedOut", "Cancelled") if s in statuses), "Success")
    return (
        Command(
            command_id=command_ids.pop(),
            document_name=next((i.document_name for i in invocations if i.document_name), ""),
            status=status,
            comment=_text(raws[0].get("Comment")),
            output_bucket=plugin.output_bucket if plugin else None,
            output_prefix=plugin.output_prefix if plugin else None,
            target_count=len(invocations),
        ),
        invocations,
    )
