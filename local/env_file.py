"""The env-vars file of a deployed stack, for `sam local invoke --env-vars` against real AWS:
`make env-file [STACK=...] [REGION=...] [OUT=env.json]`.

    python -m local.env_file [--stack-name NAME] [--region REGION] [--out FILE]

Reads the stack with CloudFormation (DescribeStacks: its parameters, outputs and account;
ListStackResources: each resource's physical id) and writes {function logical id: {variable:
value}} for every function of template.yaml, with the variables the template gives it (Globals,
then its own), resolved for that stack (local.template.Deployment): Ref of a resource is its
physical id, Ref of a parameter the stack's value, Fn::GetAtt the output of the template whose
value is that same Fn::GetAtt, Fn::Sub from those. AWS_ENDPOINT_URL is left out (real AWS). The
stack name and region default to samconfig.toml's (what `sam deploy` used). Uses the caller's AWS
credentials; reads only.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from local.lambda_env import ENDPOINT_VARIABLE, function_environment, function_ids, function_spec
from local.template import ROOT, TEMPLATE, Deployment, UnresolvedError, raw_template

SAMCONFIG = ROOT / "samconfig.toml"
FUNCTION_TYPE = "AWS::Lambda::Function"


class StackError(Exception):
    """The stack cannot give the env file: it does not exist, or is not a deploy of the template."""


def samconfig_defaults(path: Path = SAMCONFIG) -> dict[str, str]:
    """stack_name and region of samconfig.toml's [default.global.parameters] (empty when absent)."""
    if not path.is_file():
        return {}
    parameters = tomllib.loads(path.read_text()).get("default", {}).get("global", {}).get("parameters", {})
    return {key: str(parameters[key]) for key in ("stack_name", "region") if key in parameters}


def _attributes_from_outputs(outputs: Mapping[str, str], template: Path) -> dict[str, str]:
    """Each output of the template that is one Fn::GetAtt: "LogicalId.Attribute" -> its value."""
    attributes = {}
    for name, output in raw_template(template).get("Outputs", {}).items():
        value = output.get("Value")
        if isinstance(value, dict) and set(value) == {"Fn::GetAtt"} and name in outputs:
            target = value["Fn::GetAtt"]
            logical_id, attribute = target.split(".", 1) if isinstance(target, str) else target
            attributes[f"{logical_id}.{attribute}"] = outputs[name]
    return attributes


def stack_deployment(cloudformation: Any, stack_name: str, *, template: Path = TEMPLATE) -> Deployment:
    """The deploy of `template` that the stack is: parameters, physical ids, outputs, account."""
    region = cloudformation.meta.region_name
    try:
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    except ClientError as error:
        message = error.response.get("Error", {}).get("Message", str(error))
        if "does not exist" in message:
            raise StackError(f"no stack {stack_name} in {region}") from None
        raise
    resources: dict[str, dict[str, Any]] = {}
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name):
        for summary in page["StackResourceSummaries"]:
            if summary.get("PhysicalResourceId"):
                resources[summary["LogicalResourceId"]] = summary
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    deployment = Deployment(
        refs={logical_id: summary["PhysicalResourceId"] for logical_id, summary in resources.items()},
        attributes=_attributes_from_outputs(outputs, template),
        parameters={p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])},
        region=region,
        account=stack["StackId"].split(":")[4],
        stack_name=stack["StackName"],
        template=template,
    )
    missing = [
        function
        for function in created_functions(deployment)
        if resources.get(function, {}).get("ResourceType") != FUNCTION_TYPE
    ]
    if missing:
        raise StackError(
            f"stack {stack_name} in {region} ({stack['StackStatus']}) is not a deploy of "
            f"{template.name}: it has no function {', '.join(missing)}"
        )
    return deployment


def created_functions(deployment: Deployment) -> list[str]:
    """The template's functions this deploy creates: a member stack has no notifier, a central one
    no scripts publisher, and the morning summary needs a SummarySchedule (their Conditions)."""
    resources = deployment.source()["Resources"]
    return [
        function
        for function in function_ids(deployment.template)
        if "Condition" not in resources[function] or deployment.condition(resources[function]["Condition"])
    ]


def env_vars(deployment: Deployment) -> dict[str, dict[str, str]]:
    """{function: the variables the template declares for it, resolved}, AWS_ENDPOINT_URL left out."""
    file = {}
    for function in created_functions(deployment):
        declared = set(function_spec(function, deployment.template).variables) - {ENDPOINT_VARIABLE}
        try:
            environment = function_environment(function, deployment)
        except UnresolvedError as error:
            raise StackError(
                f"stack {deployment.stack_name}: {function}'s environment names what the stack "
                f"does not give ({error.args[0]})"
            ) from None
        file[function] = {name: value for name, value in environment.items() if name in declared}
    return file


def write_env_file(cloudformation: Any, stack_name: str, out: Path, *, template: Path = TEMPLATE) -> Path:
    values = env_vars(stack_deployment(cloudformation, stack_name, template=template))
    out.write_text(json.dumps(values, indent=2) + "\n")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    defaults = samconfig_defaults()
    parser = argparse.ArgumentParser(
        prog="python -m local.env_file",
        description="Write the env-vars file of a deployed stack for sam local invoke --env-vars.",
    )
    parser.add_argument(
        "--stack-name",
        default=defaults.get("stack_name"),
        help=f"the stack (default samconfig.toml's: {defaults.get('stack_name')})",
    )
    parser.add_argument(
        "--region", default=defaults.get("region"), help=f"its Region (default {defaults.get('region')})"
    )
    parser.add_argument("--out", type=Path, default=Path("env.json"), help="the file to write (env.json)")
    args = parser.parse_args(argv)
    if not args.stack_name:
        parser.error("name the stack: --stack-name (samconfig.toml names none)")
    try:
        cloudformation = boto3.session.Session(region_name=args.region).client("cloudformation")
        out = write_env_file(cloudformation, args.stack_name, args.out)
    except StackError as error:
        print(f"env-file: {error}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as error:
        print(f"env-file: reading stack {args.stack_name} failed: {error}", file=sys.stderr)
        return 1
    functions = ", ".join(json.loads(out.read_text()))
    print(f"wrote {out} for stack {args.stack_name} in {cloudformation.meta.region_name}: {functions}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
