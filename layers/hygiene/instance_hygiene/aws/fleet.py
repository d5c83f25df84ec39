"""Reads of the fleet's state from Systems Manager and EC2: a command, its invocations, instance names.

Responses are parsed into the plain dataclasses of digest/invocations.py by its pure functions.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from instance_hygiene.digest.invocations import Command, Instance, Invocation, parse_command, parse_invocation
from instance_hygiene.errors import error_code

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ssm import SSMClient

LOGGER = logging.getLogger(__name__)


class CommandNotFound(LookupError):
    """ListCommands knows no such command (wrong id, wrong region, or expired after 30 days)."""


def read_command(ssm: SSMClient, command_id: str) -> Command:
    try:
        commands = ssm.list_commands(CommandId=command_id).get("Commands", [])
    except ClientError as error:
        if error_code(error) != "InvalidCommandId":
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
        if error_code(error) == "InvalidCommandId":
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
        notes.append(_names_unavailable("EC2 instance", error, "ec2:DescribeInstances"))
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
        notes.append(_names_unavailable("Managed instance", error, "ssm:DescribeInstanceInformation"))
    return found, notes


def _names_unavailable(what: str, error: Exception, permission: str) -> str:
    """The note for names that could not be read: the instances are still shown, by id."""
    return (
        f"{what} names unavailable ({error_code(error)}{_denied_hint(error, permission)}); "
        "instances are shown by the name Systems Manager reports for them, else by id."
    )


def _denied_hint(error: Exception, permission: str) -> str:
    code = error_code(error)
    denied = code in {"UnauthorizedOperation", "AccessDenied", "AccessDeniedException"}
    return f": the function's role lacks {permission}" if denied else ""
