"""IAM policy evaluation (pure): identity policies, and the Deny statements of bucket policies.

`evaluate` decides one request (an action on a resource, with its condition context) against
identity policies as the IAM user guide's "Policy evaluation logic" does: an explicit Deny wins,
else an Allow, else the implicit deny. `bucket_policy_denial` finds the Deny statement for every
principal of a bucket policy that applies. What this does not model raises PolicyError (see
`local.standin.iam`, which turns moto's requests into these and enforces the result).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any


class PolicyError(ValueError):
    """A policy uses something this evaluator does not model: it fails loudly, never guesses."""


@dataclass(frozen=True)
class AuthzRequest:
    """What IAM evaluates: one action on one resource, with the request's condition context."""

    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Evaluation:
    allowed: bool
    explicit_deny: bool = False
    statement: str | None = None
    # Sid (else #index) of the statement that decided: the Deny, or the first Allow


def evaluate(policies: Iterable[Mapping[str, Any]], request: AuthzRequest) -> Evaluation:
    """Identity policies of one account: an applicable Deny denies, else an applicable Allow allows."""
    allowed_by: str | None = None
    for policy in policies:
        for n, statement in enumerate(_as_list(policy.get("Statement", []))):
            if statement_applies(statement, request):
                sid = str(statement.get("Sid") or f"#{n}")
                if statement["Effect"] == "Deny":
                    return Evaluation(allowed=False, explicit_deny=True, statement=sid)
                allowed_by = allowed_by or sid
    return Evaluation(allowed=allowed_by is not None, statement=allowed_by)


_ELEMENTS = frozenset({"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"})


def statement_applies(statement: Mapping[str, Any], request: AuthzRequest) -> bool:
    """Action (or NotAction), Resource (or NotResource) and every condition match the request."""
    one_of = {"Action", "NotAction"}, {"Resource", "NotResource"}
    if set(statement) - _ELEMENTS or statement.get("Effect") not in ("Allow", "Deny"):
        raise PolicyError(f"not an identity-policy statement: {dict(statement)}")
    if any(len(pair & set(statement)) != 1 for pair in one_of):
        raise PolicyError(f"needs one of Action/NotAction and of Resource/NotResource: {dict(statement)}")
    actions = _as_list(statement.get("Action", statement.get("NotAction")))
    if any(_like(str(a), request.action, ignore_case=True) for a in actions) != ("Action" in statement):
        return False
    resources = _as_list(statement.get("Resource", statement.get("NotResource")))
    if any(resource_matches(str(r), request.resource) for r in resources) != ("Resource" in statement):
        return False
    return conditions_hold(statement.get("Condition", {}), request.context)


def bucket_policy_denial(policy: Mapping[str, Any], request: AuthzRequest) -> str | None:
    """The Sid (else #index) of the bucket policy's Deny for everyone that applies, else None.

    Only what the template's bucket policy uses is accepted: Deny statements whose Principal is
    everyone; any other principal, or an Allow, raises PolicyError (never guessed)."""
    for n, statement in enumerate(_as_list(policy.get("Statement", []))):
        if statement.get("Effect") != "Deny":
            raise PolicyError(f"bucket policy Allow statements are not modelled: {dict(statement)}")
        if statement.get("Principal") not in ("*", {"AWS": "*"}):
            raise PolicyError(
                f"bucket policy principals other than everyone are not modelled: {dict(statement)}"
            )
        as_identity = {k: v for k, v in statement.items() if k != "Principal"}
        if statement_applies(as_identity, request):
            return str(statement.get("Sid") or f"#{n}")
    return None


def resource_matches(pattern: str, resource: str) -> bool:
    """`*`/`?` wildcards over the whole ARN, case-sensitive: a `*` that ends an ARN segment may
    expand past the colons (IAM user guide, "IAM JSON policy elements: Resource")."""
    if "${" in pattern:
        raise PolicyError(f"policy variables are not modelled: {pattern}")
    return _like(pattern, resource)


def conditions_hold(condition: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    """Every operator and every key must hold (AND); a key's several values are OR-ed.

    Context key names are not case-sensitive (IAM user guide, "IAM JSON policy elements: Condition").
    """
    present = {key.lower(): value for key, value in context.items()}
    return all(
        _condition_holds(operator, [_text(v) for v in _as_list(values)], present.get(key.lower()))
        for operator, keys in condition.items()
        for key, values in keys.items()
    )


def _arn_like(pattern: str, value: str) -> bool:
    """ArnLike/ArnEquals: each of the six colon-delimited components matched on its own."""
    wanted, actual = pattern.split(":", 5), value.split(":", 5)
    return len(wanted) == len(actual) == 6 and all(_like(w, a) for w, a in zip(wanted, actual, strict=True))


_MATCHERS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda wanted, actual: wanted == actual,
    "StringEqualsIgnoreCase": lambda wanted, actual: wanted.lower() == actual.lower(),
    "StringLike": lambda wanted, actual: _like(wanted, actual),  # noqa: PLW0108 - _like takes a flag
    "ArnEquals": _arn_like,
    "ArnLike": _arn_like,
    "Bool": lambda wanted, actual: wanted.lower() == actual.lower(),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _condition_holds(operator: str, wanted: list[str], actual: str | None) -> bool:
    """IAM user guide, "Condition operators": a key absent from the request context fails the
    condition, except that a negated operator (StringNotLike, ArnNotLike, ...) then holds, and
    ...IfExists and Null test the key's presence themselves."""
    if ":" in operator or any("${" in w for w in wanted):
        raise PolicyError(f"set operators and policy variables are not modelled: {operator} {wanted}")
    if operator == "Null":
        return any((w.lower() == "true") == (actual is None) for w in wanted)
    base = operator.removesuffix("IfExists")
    matcher = _MATCHERS.get(_NEGATED.get(base, base))
    if matcher is None:
        raise PolicyError(f"condition operator not modelled: {operator}")
    if actual is None:
        return base != operator or base in _NEGATED
    matched = any(matcher(w, actual) for w in wanted)
    return not matched if base in _NEGATED else matched


@cache
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _like(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return _glob(pattern, ignore_case).fullmatch(value) is not None


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
