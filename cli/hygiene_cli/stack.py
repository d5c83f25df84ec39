"""The deployed stack's outputs, which `hygiene` reads to find the topic or the window by stack name."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient


class MissingOutputError(LookupError):
    """The stack exists but has no such output; the message names the outputs it has."""


def stack_output(cloudformation: CloudFormationClient, stack_name: str, key: str) -> str:
    """The value of the stack's output `key` (ClientError when there is no such stack)."""
    stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {o.get("OutputKey"): o.get("OutputValue") for s in stacks for o in s.get("Outputs", [])}
    value = outputs.get(key)
    if not value:
        names = ", ".join(sorted(k for k in outputs if k)) or "none"
        raise MissingOutputError(f"stack {stack_name} has no {key} output (outputs: {names})")
    return value
