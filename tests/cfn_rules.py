"""CloudFormation's `Rules` section, evaluated offline for a set of parameter values.

What CloudFormation does before it changes anything (CloudFormation user guide, "Rules" and
"Rule functions"): for each rule whose RuleCondition holds (or that has none), every Assertion's
Assert must hold, else the create or update fails with that assertion's AssertDescription.
Parameter values reach the rule functions as strings (a CommaDelimitedList as a list of strings).
Only the rule functions CloudFormation documents are accepted; anything else raises, so a rule
this evaluator cannot read is a failing test, not a silent pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

RULE_FUNCTIONS = frozenset(
    {
        "Fn::And",
        "Fn::Or",
        "Fn::Not",
        "Fn::Equals",
        "Fn::Contains",
        "Fn::EachMemberEquals",
        "Fn::EachMemberIn",
        "Fn::RefAll",
        "Fn::ValueOf",
        "Fn::ValueOfAll",
        "Ref",
    }
)


@dataclass(frozen=True)
class Refusal:
    rule: str
    description: str


def parameter_values(template: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter's value as CloudFormation hands it to rules: the default unless overridden."""
    values: dict[str, Any] = {}
    for name, parameter in template["Parameters"].items():
        value = overrides.get(name, parameter.get("Default"))
        if value is None:
            raise ValueError(f"parameter {name} has no default and no value")
        if parameter["Type"] == "CommaDelimitedList":
            values[name] = value if isinstance(value, list) else str(value).split(",")
        else:
            values[name] = str(value)
    unknown = set(overrides) - set(values)
    if unknown:
        raise ValueError(f"not parameters of the template: {sorted(unknown)}")
    return values


def _evaluate(node: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(node, str):
        return node
    if isinstance(node, list):
        return [_evaluate(item, values) for item in node]
    if not isinstance(node, dict) or len(node) != 1:
        raise ValueError(f"not a rule expression: {node!r}")
    ((function, argument),) = node.items()
    if function not in RULE_FUNCTIONS:
        raise ValueError(f"{function} is not a rule function")
    if function == "Ref":
        if argument not in values:
            raise ValueError(f"Ref to unknown parameter {argument}")
        return values[argument]
    args = _evaluate(argument, values)
    if function == "Fn::And":
        return all(_truth(a) for a in args)
    if function == "Fn::Or":
        return any(_truth(a) for a in args)
    if function == "Fn::Not":
        (only,) = args
        return not _truth(only)
    if function == "Fn::Equals":
        left, right = args
        return left == right
    if function == "Fn::Contains":
        haystack, needle = args
        return needle in haystack
    if function == "Fn::EachMemberEquals":
        members, value = args
        return all(m == value for m in members)
    if function == "Fn::EachMemberIn":
        members, allowed = args
        return all(m in allowed for m in members)
    raise ValueError(f"{function} needs parameter attributes this evaluator does not model")


def _truth(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"a condition evaluated to {value!r}, not true or false")
    return value


def refusals(template: Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> list[Refusal]:
    """The assertions the given parameter values break (empty: CloudFormation goes ahead)."""
    values = parameter_values(template, overrides or {})
    refused = []
    for name, rule in template.get("Rules", {}).items():
        if "RuleCondition" in rule and not _truth(_evaluate(rule["RuleCondition"], values)):
            continue
        for assertion in rule["Assertions"]:
            if not _truth(_evaluate(assertion["Assert"], values)):
                refused.append(Refusal(rule=name, description=assertion["AssertDescription"]))
    return refused
