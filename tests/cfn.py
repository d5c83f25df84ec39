"""Load template.yaml as CloudFormation sees it: raw, and translated by the SAM transform offline."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from cfnlint.decode.cfn_yaml import load as load_cfn_yaml
from samtranslator.translator.transform import transform

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


@cache
def _raw() -> dict[str, Any]:
    return json.loads(json.dumps(load_cfn_yaml(str(TEMPLATE))))


def raw_template() -> dict[str, Any]:
    """template.yaml with intrinsic tags as their long form ({"Ref": ...}, {"Fn::If": ...})."""
    return copy.deepcopy(_raw())


@cache
def _translated() -> dict[str, Any]:
    template = raw_template()
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                # What `sam package` does: the local folder becomes an uploaded artefact.
                props[key] = f"s3://artefacts/{props[key].strip('/')}.zip"
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-2")
    return transform(template, {}, None)  # type: ignore[no-any-return]


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
        return [resolve_if(item, conditions) for item in node if item != {"Ref": "AWS::NoValue"}]
    return node


def policy_statements(template: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every statement of every policy in the template: (logical id, where, statement)."""
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        documents: list[tuple[str, Any]] = []
        if resource["Type"] == "AWS::IAM::Role":
            documents.append(("AssumeRolePolicyDocument", props["AssumeRolePolicyDocument"]))
            for policy in props.get("Policies", []):
                documents.append((f"Policies/{policy['PolicyName']}", policy["PolicyDocument"]))
        elif resource["Type"] in {"AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"}:
            documents.append(("PolicyDocument", props["PolicyDocument"]))
        elif resource["Type"] == "AWS::KMS::Key":
            documents.append(("KeyPolicy", props["KeyPolicy"]))
        elif resource["Type"] in {"AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy"}:
            documents.append(("PolicyDocument", props["PolicyDocument"]))
        for where, document in documents:
            statements = document["Statement"]
            for statement in statements if isinstance(statements, list) else [statements]:
                yield logical_id, where, statement


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
