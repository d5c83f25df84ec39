"""Reads of the fleet's state from Systems Manager and EC2: commands, invocations, instance names,
maintenance-window executions. The only module besides logs/publish that talks to AWS.

Responses are parsed into plain dataclasses by pure functions, so the same parsing serves the
API and a file saved with `aws ssm list-command-invocations --details --output json`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ssm import SSMClient

LOGGER = logging.getLogger(__name__)

API_OUTPUT_SEPARATOR = "\n----------ERROR-------\n"
"""Between stdout and stderr in ListCommandInvocations' 2,500-character plugin Output."""


class CommandNotFound(LookupError):
    """ListCommands knows no such command (wrong id, wrong region, or expired after 30 days)."""


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


def read_command(ssm: SSMClient, command_id: str) -> Command:
    try:
        commands = ssm.list_commands(CommandId=command_id).get("Commands", [])
    except ClientError as error:
        if _code(error) != "InvalidCommandId":
            raise
        commands = []
    if not commands:
        raise CommandNotFound(f"command {command_id} not found (expired, or another region?)")
    return parse_command(commands[0])


def read_invocations(ssm: SSMClient, command_id: str) -> Iterator[Invocation]:
    """Every invocation with its steps, page by page (at most 50 a page).

    Errors are raised (after botocore's retries), never taken for "no invocations": a throttled
    or denied listing must not produce a digest that says nothing failed.
    """
    paginator = ssm.get_paginator("list_command_invocations")
    try:
        for page in paginator.paginate(CommandId=command_id, Details=True):
            for raw in page.get("CommandInvocations", []):
                yield parse_invocation(raw)
    except ClientError as error:
        if _code(error) == "InvalidCommandId":
            raise CommandNotFound(f"command {command_id} not found while listing its invocations") from error
        raise


def _tag(tags: Iterable[Mapping[str, str]], key: str) -> str | None:
    return next((t.get("Value") for t in tags if t.get("Key") == key), None)


def describe_instances(
    instance_ids: Iterable[str], *, ec2: EC2Client, ssm: SSMClient
) -> tuple[dict[str, Instance], list[str]]:
    """Names and platforms, best effort: a denied or throttled call leaves ids only, with a note."""
    ids = sorted(set(instance_ids))
    found: dict[str, Instance] = {}
    notes: list[str] = []
    ec2_ids = [i for i in ids if i.startswith("i-")]
    managed_ids = [i for i in ids if i.startswith("mi-")]
    try:
        paginator = ec2.get_paginator("describe_instances")
        for start in range(0, len(ec2_ids), 200):
            for page in paginator.paginate(
                Filters=[{"Name": "instance-id", "Values": ec2_ids[start : start + 200]}]
            ):
                for reservation in page.get("Reservations", []):
                    for raw in reservation.get("Instances", []):
                        instance_id = raw["InstanceId"]
                        found[instance_id] = Instance(
                            instance_id=instance_id,
                            name=_tag(raw.get("Tags", []), "Name"),  # type: ignore[arg-type]
                            platform="Windows" if raw.get("Platform") == "windows" else "Linux",
                        )
    except (ClientError, BotoCoreError) as error:
        LOGGER.warning("EC2 names unavailable: %s", error)
        notes.append(
            f"EC2 instance names unavailable ({_code(error)}{_denied_hint(error, 'ec2:DescribeInstances')}); "
            "instances are shown by the name Systems Manager reports for them, else by id."
        )
    try:
        info_pages = ssm.get_paginator("describe_instance_information")
        for start in range(0, len(managed_ids), 50):
            batch = managed_ids[start : start + 50]
            for info_page in info_pages.paginate(Filters=[{"Key": "InstanceIds", "Values": batch}]):
                for info in info_page.get("InstanceInformationList", []):
                    instance_id = info.get("InstanceId", "")
                    found[instance_id] = Instance(
                        instance_id=instance_id,
                        name=info.get("Name") or info.get("ComputerName"),
                        platform=info.get("PlatformType"),
                    )
    except (ClientError, BotoCoreError) as error:
        LOGGER.warning("managed instance names unavailable: %s", error)
        notes.append(
            f"Managed instance names unavailable ({_code(error)}"
            f"{_denied_hint(error, 'ssm:DescribeInstanceInformation')}); instances are shown by the name "
            "Systems Manager reports for them, else by id."
        )
    return found, notes


def _denied_hint(error: Exception, permission: str) -> str:
    code = _code(error)
    denied = code in {"UnauthorizedOperation", "AccessDenied", "AccessDeniedException"}
    return f": the function's role lacks {permission}" if denied else ""


def _code(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "error"))
    return type(error).__name__


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
