"""EventBridge off AWS: the stack's rules read from template.yaml, content filtering, routing.

`template_rules(deployment)` is every EventBridgeRule / CloudWatchEvent event of every function the
deploy creates (the function's Condition holds), its Pattern resolved for that deploy (the
healthcheck document's name, the window's id, WatchAllCommands...) and the bus it listens on
(EventBusName; the account's default bus without one). `bus_forwards(deployment)` is every
AWS::Events::Rule the deploy creates whose target is an event bus (a member stack's
ForwardToCentralRule). `matches` is EventBridge's content filtering for the operators listed in
OPERATORS and for "$or", and fails loudly on any other; `route` names the function the first
matching rule on a bus invokes, `forwarded` the buses the matching forward rules send an event to.
`template_schedules()` is every ScheduleV2 event (EventBridge Scheduler) of the template's
functions: the parameter its expression is, and the keys of the Input it invokes the function with.
"""

from __future__ import annotations

import json
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
DEFAULT_BUS = "default"
"""The bus a rule without EventBusName is on, the one AWS services put their events on."""
OR = "$or"
"""Either of several patterns (EventBridge user guide, "Content filtering in Amazon EventBridge
event patterns", "$or matching"): a list of two or more patterns, one of which must match too."""


class PatternError(ValueError):
    """A pattern uses an operator (or a form of one) that is not modelled here."""


@dataclass(frozen=True)
class Rule:
    function: str
    """The logical id of the function the rule invokes."""
    pattern: Mapping[str, Any]
    name: str = ""
    """The event's name in the function's Events."""
    bus: str = DEFAULT_BUS
    """The name of the event bus the rule is on, in the deploy's account and region."""


@dataclass(frozen=True)
class Forward:
    """A rule that sends the events it matches on `bus` to another event bus (`target`, its ARN)."""

    name: str
    """The rule's logical id."""
    pattern: Mapping[str, Any]
    target: str
    bus: str = DEFAULT_BUS


def _created(deployment: Deployment, resource: Mapping[str, Any]) -> bool:
    """Whether the deploy creates the resource: it has no Condition, or its Condition holds."""
    return "Condition" not in resource or deployment.condition(resource["Condition"])


def _bus(deployment: Deployment, properties: Mapping[str, Any]) -> str:
    """The EventBusName a rule's properties resolve to (AWS::NoValue or none: the default bus)."""
    resolved = deployment.resolve([properties["EventBusName"]]) if "EventBusName" in properties else []
    return str(resolved[0]) if resolved else DEFAULT_BUS


def template_rules(deployment: Deployment) -> tuple[Rule, ...]:
    """Every rule the deploy's functions subscribe with, patterns and buses resolved (in template
    order); a function whose Condition does not hold is not created, nor are its rules."""
    rules = []
    for logical_id, resource in deployment.source()["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function" or not _created(deployment, resource):
            continue
        for name, event in resource.get("Properties", {}).get("Events", {}).items():
            if event.get("Type") not in RULE_EVENT_TYPES:
                continue
            pattern = deployment.resolve(event["Properties"]["Pattern"])
            check_pattern(pattern)
            rules.append(Rule(logical_id, pattern, name, _bus(deployment, event["Properties"])))
    return tuple(rules)


@dataclass(frozen=True)
class Schedule:
    """A function's ScheduleV2 event: EventBridge Scheduler invokes it with `Input`, no rule."""

    function: str
    name: str
    """The event's name in the function's Events."""
    parameter: str | None
    """The template parameter its ScheduleExpression is (`!Ref`), None for a literal one."""
    input_keys: frozenset[str]
    """The keys of its Input (a JSON object): what tells its invocation from an event's."""


def template_schedules(deployment: Deployment | None = None) -> tuple[Schedule, ...]:
    """Every ScheduleV2 event of the template's functions, created by the deploy or not (a
    scheduled function is often created only when its schedule parameter is set)."""
    schedules = []
    for logical_id, resource in (deployment or Deployment()).source()["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for name, event in resource.get("Properties", {}).get("Events", {}).items():
            if event.get("Type") != "ScheduleV2":
                continue
            properties = event["Properties"]
            expression = properties.get("ScheduleExpression")
            parameter = expression.get("Ref") if isinstance(expression, Mapping) else None
            document = json.loads(properties.get("Input", "{}"))
            keys = frozenset(document) if isinstance(document, Mapping) else frozenset()
            schedules.append(Schedule(logical_id, name, parameter, keys))
    return tuple(schedules)


def bus_forwards(deployment: Deployment) -> tuple[Forward, ...]:
    """Every AWS::Events::Rule the deploy creates with an event bus among its targets (one Forward
    per such target), its EventPattern resolved."""
    forwards: list[Forward] = []
    for logical_id, resource in deployment.source()["Resources"].items():
        if resource.get("Type") != "AWS::Events::Rule" or not _created(deployment, resource):
            continue
        properties = resource.get("Properties", {})
        if "EventPattern" not in properties:
            continue
        targets = [deployment.resolve(target["Arn"]) for target in properties.get("Targets", [])]
        buses = [arn for arn in targets if isinstance(arn, str) and ":event-bus/" in arn]
        if not buses:
            continue
        pattern = deployment.resolve(properties["EventPattern"])
        check_pattern(pattern)
        bus = _bus(deployment, properties)
        forwards.extend(Forward(logical_id, pattern, arn, bus) for arn in buses)
    return tuple(forwards)


def event_bus_arn(name: str, *, region: str, account: str, partition: str = "aws") -> str:
    """The ARN of the bus `name` in an account and region (what a rule's target names it by)."""
    return f"arn:{partition}:events:{region}:{account}:event-bus/{name}"


def check_pattern(pattern: Mapping[str, Any], where: str = "") -> None:
    """Raise PatternError on anything `matches` would not evaluate as EventBridge does."""
    for key, expected in pattern.items():
        path = f"{where}.{key}" if where else key
        if key == OR:
            if not isinstance(expected, list) or len(expected) < 2:
                raise PatternError(f"{path}: a list of two or more patterns, got {expected!r}")
            for number, alternative in enumerate(expected):
                if not isinstance(alternative, Mapping) or not alternative:
                    raise PatternError(f"{path}[{number}]: a pattern (an object), got {alternative!r}")
                check_pattern(alternative, f"{path}[{number}]")
        elif isinstance(expected, Mapping):
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
    object, or one matcher of the list matching the value or, for an array, one of its items); a
    "$or" key matches when one of its patterns matches the same object."""
    for key, expected in pattern.items():
        if key == OR:
            if not any(matches(alternative, event) for alternative in expected):
                return False
            continue
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


def route(rules: Sequence[Rule], event: Mapping[str, Any], bus: str = DEFAULT_BUS) -> str | None:
    """The function the first rule on `bus` matching `event` invokes (None: no rule matches it)."""
    return next((rule.function for rule in rules if rule.bus == bus and matches(rule.pattern, event)), None)


def forwarded(forwards: Sequence[Forward], event: Mapping[str, Any], bus: str = DEFAULT_BUS) -> list[str]:
    """The ARNs of the buses the rules on `bus` matching `event` send it to (every matching rule
    acts, in template order)."""
    return [f.target for f in forwards if f.bus == bus and matches(f.pattern, event)]
