"""The deployed stack's outputs, which `hygiene` reads to find the topic or the window by stack name."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient


class MissingOutputError(LookupError):
    """The stack exists but has no such output; the message names the outputs it has."""


def stack_outputs(cloudformation: CloudFormationClient, stack_name: str) -> dict[str, str]:
    """The stack's outputs by key (ClientError when there is no such stack)."""
    stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    return {
        key: o.get("OutputValue", "")
        for s in stacks
        for o in s.get("Outputs", [])
        if (key := o.get("OutputKey"))
    }


def stack_output(cloudformation: CloudFormationClient, stack_name: str, key: str) -> str:
    """The value of the stack's output `key` (ClientError when there is no such stack)."""
    return output_of(stack_outputs(cloudformation, stack_name), stack_name, key)


def output_of(outputs: dict[str, str], stack_name: str, key: str) -> str:
    """`outputs[key]`, or MissingOutputError naming the outputs the stack has."""
    value = outputs.get(key)
    if not value:
        names = ", ".join(sorted(outputs)) or "none"
        raise MissingOutputError(f"stack {stack_name} has no {key} output (outputs: {names})")
    return value
