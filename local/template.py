"""template.yaml as CloudFormation reads it, and its intrinsic functions resolved for one deploy.

`raw_template()` is the template with its short tags in their long form ({"Ref": ...},
{"Fn::If": ...}), read with a CloudFormation-tag-aware YAML loader (PyYAML's safe loader plus
the tags: light enough for a process that runs one handler). `Deployment` is what a deploy decides: the
parameters (each one's Default unless given), the pseudo parameters, and the physical value of
each resource the caller created (`Ref`, `Fn::GetAtt`); `resolve` substitutes them into a part of
the template and fails loudly on a name it was not given.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
REGION = "eu-west-2"
ACCOUNT = "123456789012"
STACK_NAME = "instance-hygiene"
NO_VALUE = {"Ref": "AWS::NoValue"}
_SUB = re.compile(r"\$\{([^}!][^}]*)\}")


class UnresolvedError(KeyError):
    """A part of the template names something the caller did not say (a resource, an attribute)."""


class _Loader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags: !Ref X -> {"Ref": "X"}, !GetAtt A.B ->
    {"Fn::GetAtt": ["A", "B"]}, any other !Name -> {"Fn::Name": ...}."""


def _tag(loader: _Loader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix in ("Ref", "Condition"):
        return {suffix: value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_Loader.add_multi_constructor("!", _tag)


@cache
def _raw(path: Path) -> dict[str, Any]:
    # Light on purpose (PyYAML only): a process that runs one handler reads the template too.
    loaded: dict[str, Any] = json.loads(json.dumps(yaml.load(path.read_text(), Loader=_Loader)))  # noqa: S506
    return loaded


def raw_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """template.yaml with intrinsic tags as their long form ({"Ref": ...}, {"Fn::If": ...})."""
    return copy.deepcopy(_raw(path))


@dataclass(frozen=True)
class Deployment:
    """One deploy of the template: parameter values, pseudo parameters and the resources made."""

    refs: Mapping[str, str | None] = field(default_factory=dict)
    """Logical id -> what `Ref` returns (a bucket's name, a topic's ARN, a window's id)."""
    attributes: Mapping[str, str] = field(default_factory=dict)
    """"LogicalId.Attribute" -> what `Fn::GetAtt` returns."""
    parameters: Mapping[str, str] = field(default_factory=dict)
    """Parameter overrides; any other parameter takes the template's Default."""
    region: str = REGION
    account: str = ACCOUNT
    stack_name: str = STACK_NAME
    template: Path = TEMPLATE

    def source(self) -> dict[str, Any]:
        return _raw(self.template)

    def parameter(self, name: str) -> Any:
        declared = self.source().get("Parameters", {}).get(name)
        if declared is None:
            raise UnresolvedError(f"{self.template.name} declares no parameter {name}")
        value = self.parameters.get(name, declared.get("Default"))
        if value is None:
            raise UnresolvedError(f"parameter {name} has no Default: pass its value")
        if declared.get("Type") == "CommaDelimitedList":
            return [item for item in str(value).split(",") if item] if isinstance(value, str) else value
        return str(value)

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::StackName": self.stack_name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.source().get("Parameters", {}):
            return self.parameter(name)
        if name in self.refs:
            return self.refs[name]
        raise UnresolvedError(f"Ref {name}: pass the physical value of {name} (Deployment.refs)")

    def get_att(self, logical_id: str, attribute: str) -> str:
        key = f"{logical_id}.{attribute}"
        if key not in self.attributes:
            raise UnresolvedError(f"Fn::GetAtt {key}: pass its value (Deployment.attributes)")
        return self.attributes[key]

    def condition(self, name: str) -> bool:
        conditions = self.source().get("Conditions", {})
        if name not in conditions:
            raise UnresolvedError(f"{self.template.name} declares no condition {name}")
        return bool(self.resolve(conditions[name]))

    def resolve(self, node: Any) -> Any:
        """`node` with every intrinsic function replaced by its value; AWS::NoValue drops the key
        or list item that holds it."""
        if isinstance(node, list):
            items = [self.resolve(item) for item in node]
            return [item for item in items if item is not _DROPPED]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, value),) = node.items()
            if key in _FUNCTIONS:
                return _FUNCTIONS[key](self, value)
        resolved = {key: self.resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not _DROPPED}

    def substitute(self, text: str, variables: Mapping[str, Any] | None = None) -> str:
        """Fn::Sub: ${Name} and ${LogicalId.Attribute} replaced ("${!Literal}" stays "${Literal}")."""

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if variables and name in variables:
                return str(self.resolve(variables[name]))
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return self.get_att(logical_id, attribute)
            return str(self.ref(name))

        return _SUB.sub(value, text).replace("${!", "${")


class _Dropped:
    """What AWS::NoValue resolves to: the holder leaves the key (or list item) out."""


_DROPPED: Any = _Dropped()


def _ref(deployment: Deployment, name: str) -> Any:
    return _DROPPED if name == "AWS::NoValue" else deployment.ref(name)


def _get_att(deployment: Deployment, value: Any) -> str:
    logical_id, attribute = value.split(".", 1) if isinstance(value, str) else value
    return deployment.get_att(logical_id, attribute)


def _sub(deployment: Deployment, value: Any) -> str:
    if isinstance(value, str):
        return deployment.substitute(value)
    text, variables = value
    return deployment.substitute(text, variables)


def _if(deployment: Deployment, value: Any) -> Any:
    name, when_true, when_false = value
    return deployment.resolve(when_true if deployment.condition(name) else when_false)


def _join(deployment: Deployment, value: Any) -> str:
    separator, items = value
    resolved = deployment.resolve(items)
    return str(separator).join(str(item) for item in resolved)


def _equals(deployment: Deployment, value: Any) -> bool:
    left, right = (deployment.resolve(item) for item in value)
    return bool(left == right)


_FUNCTIONS: dict[str, Any] = {
    "Ref": _ref,
    "Fn::GetAtt": _get_att,
    "Fn::Sub": _sub,
    "Fn::If": _if,
    "Fn::Join": _join,
    "Fn::Equals": _equals,
    "Fn::Not": lambda d, value: not d.resolve(value[0]),
    "Fn::And": lambda d, value: all(d.resolve(item) for item in value),
    "Fn::Or": lambda d, value: any(d.resolve(item) for item in value),
    "Condition": lambda d, name: d.condition(name),
}
