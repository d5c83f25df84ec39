"""Load template.yaml as CloudFormation sees it: raw, and translated by the SAM transform offline."""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from samtranslator.translator.transform import transform

from local.template import raw_template

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


def translate(raw: Mapping[str, Any]) -> dict[str, Any]:
    """`raw` (long-form intrinsics, as raw_template() gives) after the AWS::Serverless transform,
    offline, with each local CodeUri and ContentUri replaced as `sam package` replaces it."""
    template = copy.deepcopy(dict(raw))
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                # What `sam package` does: the local folder becomes an uploaded artefact.
                props[key] = f"s3://artefacts/{props[key].strip('/')}.zip"
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-2")
    return transform(template, {}, None)  # type: ignore[no-any-return]


@cache
def _translated() -> dict[str, Any]:
    return translate(raw_template())


def translated_template() -> dict[str, Any]:
    """The template after the AWS::Serverless transform, as CloudFormation would deploy it."""
    return copy.deepcopy(_translated())


def include_location(node: Mapping[str, Any]) -> str:
    transform_node = node["Fn::Transform"]
    assert transform_node["Name"] == "AWS::Include"
    return str(transform_node["Parameters"]["Location"])


def load_document(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())  # type: ignore[no-any-return]


def resolve_if(node: Any, conditions: Mapping[str, bool]) -> Any:
    """Resolve Fn::If (and drop AWS::NoValue) for the given condition values, recursively."""
    if isinstance(node, dict):
        if set(node) == {"Fn::If"}:
            name, when_true, when_false = node["Fn::If"]
            return resolve_if(when_true if conditions[name] else when_false, conditions)
        resolved = {k: resolve_if(v, conditions) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v != {"Ref": "AWS::NoValue"}}
    if isinstance(node, list):
        resolved_items = [resolve_if(item, conditions) for item in node]
        return [item for item in resolved_items if item != {"Ref": "AWS::NoValue"}]
    return node


def policy_statements(template: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every statement of every policy in the template: (logical id, where, statement)."""
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        documents: list[tuple[str, Any]] = []
        if resource["Type"] == "AWS::IAM::Role":
            documents.append(("AssumeRolePolicyDocument", props["AssumeRolePolicyDocument"]))
            for entry in props.get("Policies", []):
                # A conditional policy (`!If [Cond, policy, AWS::NoValue]`) counts when its condition holds.
                policy = entry["Fn::If"][1] if "Fn::If" in entry else entry
                documents.append((f"Policies/{policy['PolicyName']}", policy["PolicyDocument"]))
        elif resource["Type"] in {"AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"}:
            documents.append(("PolicyDocument", props["PolicyDocument"]))
        elif resource["Type"] == "AWS::KMS::Key":
            documents.append(("KeyPolicy", props["KeyPolicy"]))
        elif resource["Type"] in {"AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy"}:
            documents.append(("PolicyDocument", props["PolicyDocument"]))
        elif resource["Type"] == "AWS::Events::EventBusPolicy":
            documents.append(("Statement", {"Statement": props["Statement"]}))
        for where, document in documents:
            statements = document["Statement"]
            for statement in statements if isinstance(statements, list) else [statements]:
                # A conditional statement (`!If [Cond, statement, AWS::NoValue]`) counts when it holds.
                yield logical_id, where, statement["Fn::If"][1] if "Fn::If" in statement else statement


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ---------------------------------------------------------------- the functions' roles, deployed


class UnresolvedIntrinsic(ValueError):
    """An intrinsic function or reference the resolver cannot resolve: never guessed."""


_NO_VALUE = object()
_PSEUDO_PARAMETERS = ("AWS::Region", "AWS::AccountId", "AWS::Partition", "AWS::StackName", "AWS::URLSuffix")


@dataclass(frozen=True)
class Deployment:
    """What the stack's resources are called once deployed, and the pseudo parameters' values.

    `resources` maps a logical id to its attributes: "Ref" for !Ref, any other name for !GetAtt.
    Parameters take their template defaults unless `parameters` overrides them.
    """

    resources: Mapping[str, Mapping[str, str]]
    region: str
    account: str
    stack_name: str = "instance-hygiene"
    partition: str = "aws"
    parameters: Mapping[str, str] = field(default_factory=dict)

    def pseudo(self) -> dict[str, str]:
        values = (self.region, self.account, self.partition, self.stack_name, "amazonaws.com")
        return dict(zip(_PSEUDO_PARAMETERS, values, strict=True))


class _Resolver:
    """Ref, Fn::GetAtt, Fn::Sub (both forms), Fn::Join, Fn::If, AWS::NoValue and the Conditions."""

    def __init__(self, template: Mapping[str, Any], deployment: Deployment) -> None:
        self.template, self.deployment = template, deployment
        self.refs: dict[str, Any] = dict(deployment.pseudo())
        for name, parameter in template.get("Parameters", {}).items():
            value = deployment.parameters.get(name, parameter.get("Default"))
            if value is None:
                raise UnresolvedIntrinsic(f"parameter {name} has no default and no value")
            is_list = parameter["Type"] == "CommaDelimitedList"
            self.refs[name] = str(value).split(",") if is_list else str(value)
        for logical_id, attributes in deployment.resources.items():
            if "Ref" in attributes:
                self.refs[logical_id] = attributes["Ref"]
        self.conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = self._truth(self.template["Conditions"][name])
        return self.conditions[name]

    def _truth(self, node: Any) -> bool:
        (function, args), *rest = node.items()
        if rest:
            raise UnresolvedIntrinsic(f"not a condition function: {node}")
        if function == "Condition":
            return self.condition(args)
        if function == "Fn::Equals":
            left, right = (self.resolve(a) for a in args)
            return str(left) == str(right)
        if function == "Fn::Not":
            return not self._truth(args[0])
        if function in ("Fn::And", "Fn::Or"):
            results = [self._truth(a) for a in args]
            return all(results) if function == "Fn::And" else any(results)
        raise UnresolvedIntrinsic(f"condition function not resolved: {function}")

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name not in self.refs:
            raise UnresolvedIntrinsic(f"no value for Ref {name}")
        return self.refs[name]

    def _get_att(self, logical_id: str, attribute: str) -> str:
        value = self.deployment.resources.get(logical_id, {}).get(attribute)
        if value is None:
            raise UnresolvedIntrinsic(f"no value for Fn::GetAtt {logical_id}.{attribute}")
        return value

    def _sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                found = variables[name]
            elif "." in name and not name.startswith("AWS::"):
                found = self._get_att(*name.split(".", 1))
            else:
                found = self._ref(name)
            if not isinstance(found, str):
                raise UnresolvedIntrinsic(f"Fn::Sub variable {name} is not a string: {found!r}")
            return found

        return re.sub(r"\$\{([^}]*)\}", value, text)

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.resolve(item) for item in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, args), *_ = node.items()
            if key == "Ref":
                return self._ref(args)
            if key == "Fn::GetAtt":
                logical_id, attribute = args.split(".", 1) if isinstance(args, str) else args
                return self._get_att(logical_id, attribute)
            if key == "Fn::Sub":
                text, variables = (args, {}) if isinstance(args, str) else args
                return self._sub(text, {k: self.resolve(v) for k, v in variables.items()})
            if key == "Fn::Join":
                delimiter, items = args
                return delimiter.join(str(i) for i in self.resolve(items))
            if key == "Fn::If":
                name, when_true, when_false = args
                return self.resolve(when_true if self.condition(name) else when_false)
            if key.startswith("Fn::") or key == "Condition":
                raise UnresolvedIntrinsic(f"intrinsic function not resolved: {key}")
        resolved = {k: self.resolve(v) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}


def resolve(node: Any, template: Mapping[str, Any], deployment: Deployment) -> Any:
    """`node` (part of `template`) with every intrinsic resolved; UnresolvedIntrinsic otherwise."""
    return _Resolver(template, deployment).resolve(node)


# A parameter set for each DeploymentRole of template.yaml, with what that role's Rules require
# (tests/unit/template/test_organization.py checks that CloudFormation would accept each).
DEPLOYMENT_ROLES: dict[str, dict[str, str]] = {
    "single": {},
    "member": {
        "DeploymentRole": "member",
        "OrganizationId": "o-a1b2c3d4e5",
        "CentralAccountId": "111122223333",
        "CentralRegion": "eu-west-1",
        "ExternalId": "hygiene-7f3a9c21",
    },
    "central": {
        "DeploymentRole": "central",
        "OrganizationId": "o-a1b2c3d4e5",
        "ExternalId": "hygiene-7f3a9c21",
    },
}


def conditions_for(
    template: Mapping[str, Any], parameters: Mapping[str, str] | None = None
) -> dict[str, bool]:
    """Every condition of `template` for these parameter values (any other parameter takes its
    Default), evaluated as CloudFormation does: Fn::Equals of the values as strings, Fn::Not,
    Fn::And, Fn::Or, Condition, and Ref / Fn::Join / Fn::Sub of parameters and pseudo parameters."""
    unknown = set(parameters or {}) - set(template.get("Parameters", {}))
    if unknown:
        raise UnresolvedIntrinsic(f"not parameters of the template: {sorted(unknown)}")
    deployment = Deployment(
        resources={}, region="eu-west-2", account="123456789012", parameters=parameters or {}
    )
    resolver = _Resolver(template, deployment)
    return {name: resolver.condition(name) for name in template.get("Conditions", {})}


def as_deployed(template: Mapping[str, Any], parameters: Mapping[str, str] | None = None) -> dict[str, Any]:
    """`template` as CloudFormation creates it for these parameter values: each resource and output
    whose Condition is false left out, and every Fn::If replaced by the branch its condition picks
    (an AWS::NoValue branch drops the key or list item). Ref, Fn::Sub and Fn::GetAtt stay as written."""
    conditions = conditions_for(template, parameters)

    def created(entry: Mapping[str, Any]) -> bool:
        return "Condition" not in entry or conditions[entry["Condition"]]

    deployed = copy.deepcopy(dict(template))
    for section in ("Resources", "Outputs"):
        entries = template.get(section, {}).items()
        deployed[section] = {name: resolve_if(entry, conditions) for name, entry in entries if created(entry)}
    return deployed


@dataclass(frozen=True)
class FunctionRole:
    """A function's execution role as deployed: its inline policies and managed policy ARNs."""

    function: str
    role: str
    inline: dict[str, dict[str, Any]]
    managed: tuple[str, ...]


def function_roles(template: Mapping[str, Any], deployment: Deployment) -> dict[str, FunctionRole]:
    """Each AWS::Lambda::Function's role in the (translated) template, with its policies resolved."""
    resolver = _Resolver(template, deployment)
    roles = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        role_ref = resource["Properties"]["Role"]
        if set(role_ref) != {"Fn::GetAtt"} or role_ref["Fn::GetAtt"][1] != "Arn":
            raise UnresolvedIntrinsic(f"{logical_id}: Role is not the Arn of a role in the template")
        role_id = role_ref["Fn::GetAtt"][0]
        props = resolver.resolve(template["Resources"][role_id]["Properties"])
        policies = [p for p in props.get("Policies", []) if "PolicyName" in p]
        inline = {p["PolicyName"]: p["PolicyDocument"] for p in policies}
        roles[logical_id] = FunctionRole(
            logical_id, role_id, inline, tuple(props.get("ManagedPolicyArns", []))
        )
    return roles


@dataclass(frozen=True)
class RoleCredentials:
    role_arn: str
    access_key_id: str
    secret_access_key: str
    session_token: str

    def environment(self) -> dict[str, str]:
        """The variables boto3 (and Lambda) take a function's credentials from."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }


def _attachable(account: str, arn: str) -> bool:
    """Make moto's copy of an AWS managed policy attachable (moto loads them only when configured)."""
    # Imported here: the unit tests read templates through this module and need no moto.
    from moto.iam.aws_managed_policies import aws_managed_policies_data  # noqa: PLC0415
    from moto.iam.models import AWSManagedPolicy, iam_backends  # noqa: PLC0415

    if ":iam::aws:policy/" not in arn:
        return True  # the account's own policy: attaching fails loudly if it does not exist
    backend = iam_backends[account][arn.split(":")[1]]
    name = arn.rsplit("/", 1)[1]
    data = json.loads(aws_managed_policies_data).get(name)
    if arn not in backend.managed_policies and data is not None:
        backend.managed_policies[arn] = AWSManagedPolicy.from_data(name, account, backend.region_name, data)
    return arn in backend.managed_policies


def deploy_role(
    clients: Any,
    *,
    name: str,
    inline: Mapping[str, Mapping[str, Any]],
    managed: Sequence[str] = (),
    service: str = "lambda.amazonaws.com",
) -> tuple[RoleCredentials, tuple[str, ...]]:
    """Create the role in the stand-in's IAM (inline policies as role policies, managed ones
    attached) and assume it with its STS; call with IAM enforcement off. Returns the session's
    credentials and a note per AWS managed policy moto does not know (left unattached: the
    functions' grant only CloudWatch Logs and X-Ray, which the handlers do not call).
    `clients(service)` returns a boto3 client for the stand-in (boto3.client will do)."""
    iam, sts = clients("iam"), clients("sts")
    trust = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    document = json.dumps({"Version": "2012-10-17", "Statement": [trust]})
    role_arn = str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=document)["Role"]["Arn"])
    for policy_name, policy in inline.items():
        iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(policy))
    notes = []
    for arn in managed:
        if _attachable(role_arn.split(":")[4], arn):
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        else:
            notes.append(f"{arn} is not in moto's copy of the AWS managed policies: not attached")
    session = sts.assume_role(RoleArn=role_arn, RoleSessionName=name[:64])["Credentials"]
    keys = session["AccessKeyId"], session["SecretAccessKey"], session["SessionToken"]
    return RoleCredentials(role_arn, *keys), tuple(notes)
