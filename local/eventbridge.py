"""EventBridge off AWS: the stack's rules read from template.yaml, content filtering, routing.

`template_rules(deployment)` is every EventBridgeRule / CloudWatchEvent event of every function in
the template, its Pattern resolved for one deploy (the healthcheck document's name, the window's
id, WatchAllCommands...). `matches` is EventBridge's content filtering for the operators listed in
OPERATORS and fails loudly on any other; `route` names the function the first matching rule invokes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from local.template import Deployment

RULE_EVENT_TYPES = frozenset({"EventBridgeRule", "CloudWatchEvent"})
OPERATORS = frozenset(
    {"anything-but", "prefix", "suffix", "equals-ignore-case", "exists", "numeric", "wildcard"}
)
"""Content-filter operators modelled (EventBridge user guide, "Content filtering")."""
_MISSING = object()


class PatternError(ValueError):
    """A pattern uses an operator (or a form of one) that is not modelled here."""


@dataclass(frozen=True)
class Rule:
    function: str
    """The logical id of the function the rule invokes."""
    pattern: Mapping[str, Any]
    name: str = ""
    """The event's name in the function's Events."""


def template_rules(deployment: Deployment) -> tuple[Rule, ...]:
    """Every rule the template's functions subscribe with, patterns resolved (in template order)."""
    rules = []
    for logical_id, resource in deployment.source()["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for name, event in resource.get("Properties", {}).get("Events", {}).items():
            if event.get("Type") not in RULE_EVENT_TYPES:
                continue
            pattern = deployment.resolve(event["Properties"]["Pattern"])
            check_pattern(pattern)
            rules.append(Rule(logical_id, pattern, name))
    return tuple(rules)


def check_pattern(pattern: Mapping[str, Any], where: str = "") -> None:
    """Raise PatternError on anything `matches` would not evaluate as EventBridge does."""
    for key, expected in pattern.items():
        path = f"{where}.{key}" if where else key
        if isinstance(expected, Mapping):
            check_pattern(expected, path)
        elif not isinstance(expected, list):
            raise PatternError(f"{path}: a pattern's leaf is a list of matchers, got {expected!r}")
        else:
            for matcher in expected:
                if isinstance(matcher, Mapping):
                    _check_operator(path, matcher)


def _check_operator(path: str, matcher: Mapping[str, Any]) -> None:
    if len(matcher) != 1:
        raise PatternError(f"{path}: one operator per matcher, got {dict(matcher)}")
    ((operator, operand),) = matcher.items()
    if operator not in OPERATORS:
        raise PatternError(f"{path}: pattern operator not modelled: {operator!r}")
    if operator == "anything-but" and isinstance(operand, Mapping):
        _check_operator(path, operand)


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """EventBridge content filtering: every key of the pattern matches the event's value (a nested
    object, or one matcher of the list matching the value or, for an array, one of its items)."""
    for key, expected in pattern.items():
        value = event.get(key, _MISSING) if isinstance(event, Mapping) else _MISSING
        if isinstance(expected, Mapping):
            if not isinstance(value, Mapping) or not matches(expected, value):
                return False
        elif not _leaf_matches(expected, value):
            return False
    return True


def _leaf_matches(matchers: Sequence[Any], value: Any) -> bool:
    if value is _MISSING:
        return any(isinstance(m, Mapping) and m.get("exists") is False for m in matchers)
    values: Iterable[Any] = value if isinstance(value, list) else [value]
    return any(_matcher_matches(m, v) for m in matchers for v in values)


def _matcher_matches(matcher: Any, value: Any) -> bool:
    if not isinstance(matcher, Mapping):
        return bool(matcher == value)
    ((operator, operand),) = matcher.items()
    if operator == "exists":
        return bool(operand)
    if operator == "anything-but":
        if isinstance(operand, Mapping):
            return not _matcher_matches(operand, value)
        excluded = operand if isinstance(operand, list) else [operand]
        return value not in excluded
    if operator == "prefix":
        return isinstance(value, str) and value.startswith(operand)
    if operator == "suffix":
        return isinstance(value, str) and value.endswith(operand)
    if operator == "equals-ignore-case":
        return isinstance(value, str) and value.lower() == str(operand).lower()
    if operator == "wildcard":
        return isinstance(value, str) and _wildcard(str(operand), value)
    if operator == "numeric":
        return _numeric(operand, value)
    raise PatternError(f"pattern operator not modelled: {operator!r}")


def _wildcard(pattern: str, value: str) -> bool:
    head, *rest = pattern.split("*")
    if not rest:
        return value == head
    if not value.startswith(head):
        return False
    position = len(head)
    *middle, tail = rest
    for part in middle:
        found = value.find(part, position)
        if found < 0:
            return False
        position = found + len(part)
    return len(value) - position >= len(tail) and value.endswith(tail)


_COMPARE = {
    "=": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _numeric(operand: Sequence[Any], value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    pairs = list(zip(operand[::2], operand[1::2], strict=True))
    for comparison, bound in pairs:
        if comparison not in _COMPARE:
            raise PatternError(f"numeric comparison not modelled: {comparison!r}")
        if not _COMPARE[comparison](value, bound):
            return False
    return True


def route(rules: Sequence[Rule], event: Mapping[str, Any]) -> str | None:
    """The function the first rule matching `event` invokes (None: no rule matches it)."""
    return next((rule.function for rule in rules if matches(rule.pattern, event)), None)
