"""Role trust: whether an IAM role's trust policy lets a caller assume it, read from moto's state.

`evaluate_trust` (pure) decides one sts:AssumeRole request against a role's trust policy (its
AssumeRolePolicyDocument, a resource-based policy) as the IAM user guide's "Policy evaluation logic"
does: an applicable Deny denies, else an applicable Allow allows, else the implicit deny. A statement
applies when its Principal names the caller, its Action (or NotAction) covers sts:AssumeRole and
all its conditions hold over the request context of `assume_role_context`; actions and conditions
are matched by `local.standin.iam_policy`.

Principal, as the IAM user guide's "AWS JSON policy elements: Principal" describes it: "*" (or
``{"AWS": "*"}``) is everyone; ``{"AWS": ...}`` an account (its id or ``arn:aws:iam::<id>:root``,
which "delegates authority to the account"), an IAM user or role ARN, or an assumed-role session
ARN. A Service, Federated or CanonicalUser principal never names an IAM user or role session. "You
cannot use a wildcard to match part of a principal name or ARN": such a principal raises PolicyError,
as do NotPrincipal, Resource, and condition operators other than the four the project's trust
policies use (StringEquals, StringLike, ArnEquals, ArnLike).

`trust_of` reads the role's trust policy from moto's IAM in the role's account and the caller's
organization from moto's Organizations (`local.standin.organizations`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from moto.iam.exceptions import NotFoundException
from moto.iam.models import iam_backends

from local.standin.iam_policy import AuthzRequest, PolicyError, statement_applies
from local.standin.organizations import organization_of

__all__ = [
    "TRUST_OPERATORS",
    "Principal",
    "TrustEvaluation",
    "assume_role_context",
    "evaluate_trust",
    "role_trust_policy",
    "trust_of",
]

TRUST_OPERATORS = frozenset({"StringEquals", "StringLike", "ArnEquals", "ArnLike"})


@dataclass(frozen=True)
class Principal:
    """The caller of AssumeRole: an IAM user, or a role session."""

    arn: str  # as STS names it: the user's ARN, or arn:<p>:sts::<account>:assumed-role/<role>/<session>
    principal_arn: str  # aws:PrincipalArn: for a role session the role's ARN ("AWS global condition keys")
    account: str

    @property
    def partition(self) -> str:
        return self.arn.split(":")[1]


@dataclass(frozen=True)
class TrustEvaluation:
    allowed: bool
    explicit_deny: bool = False
    statement: str | None = None
    # Sid (else #index) of the statement that decided: the Deny, or the first Allow
    direct: bool = False
    # an allowing statement names the caller itself (or everyone), not only its account


def assume_role_context(
    caller: Principal, organization_id: str | None, session_name: str, external_id: str | None
) -> dict[str, str]:
    """The condition keys of an AssumeRole request that the trust policy is evaluated against.

    IAM user guide, "AWS global condition context keys": aws:PrincipalArn and aws:PrincipalAccount
    are always present, aws:PrincipalOrgID "only if the principal is a member of an organization"
    (the management account included). "IAM and AWS STS condition context keys": sts:ExternalId is
    present when the caller provides an external ID, sts:RoleSessionName on any AssumeRole.
    """
    context = {
        "aws:PrincipalArn": caller.principal_arn,
        "aws:PrincipalAccount": caller.account,
        "sts:RoleSessionName": session_name,
    }
    if organization_id:
        context["aws:PrincipalOrgID"] = organization_id
    if external_id is not None:
        context["sts:ExternalId"] = external_id
    return context


def evaluate_trust(
    document: Mapping[str, Any], caller: Principal, context: Mapping[str, str]
) -> TrustEvaluation:
    """The trust policy's decision on `caller` assuming the role; every statement is checked, so
    what is not modelled raises PolicyError even where a Deny decides."""
    denied_by: str | None = None
    allowed_by: str | None = None
    direct = False
    for n, statement in enumerate(_as_list(document.get("Statement", []))):
        applies, names_caller = _statement_applies(statement, caller, context)
        if not applies:
            continue
        sid = str(statement.get("Sid") or f"#{n}")
        if statement["Effect"] == "Deny":
            denied_by = denied_by or sid
        else:
            allowed_by, direct = allowed_by or sid, direct or names_caller
    if denied_by is not None:
        return TrustEvaluation(allowed=False, explicit_deny=True, statement=denied_by)
    return TrustEvaluation(allowed=allowed_by is not None, statement=allowed_by, direct=direct)


_TRUST_ELEMENTS = frozenset({"Sid", "Effect", "Principal", "Action", "NotAction", "Condition"})


def _statement_applies(
    statement: Mapping[str, Any], caller: Principal, context: Mapping[str, str]
) -> tuple[bool, bool]:
    """(the statement applies to the request, its Principal names the caller itself)."""
    if not isinstance(statement, Mapping) or "Principal" not in statement or set(statement) - _TRUST_ELEMENTS:
        raise PolicyError(f"not a trust-policy statement this stand-in models: {statement!r}")
    condition = statement.get("Condition", {})
    if not isinstance(condition, Mapping) or set(condition) - TRUST_OPERATORS:
        raise PolicyError(f"trust-policy condition operator not modelled: {condition!r}")
    named, directly = _names(statement["Principal"], caller)
    # As an identity statement on the role: Action/NotAction and Condition matched as iam_policy does.
    as_identity = {k: v for k, v in statement.items() if k != "Principal"} | {"Resource": "*"}
    applies = statement_applies(as_identity, AuthzRequest("sts:AssumeRole", "*", context))
    return named and applies, directly


_PRINCIPAL_TYPES = frozenset({"AWS", "Service", "Federated", "CanonicalUser"})


def _names(principal: Any, caller: Principal) -> tuple[bool, bool]:
    """(the Principal element names the caller, it names the caller itself rather than its account)."""
    if principal == "*":
        return True, True
    if not isinstance(principal, Mapping) or not principal or set(principal) - _PRINCIPAL_TYPES:
        raise PolicyError(f"not a Principal this stand-in models: {principal!r}")
    named = {str(value) for value in _as_list(principal.get("AWS", []))}
    partial = sorted(value for value in named if value != "*" and ("*" in value or "?" in value))
    if partial:
        raise PolicyError(f"IAM refuses a wildcard in part of a principal: {partial}")
    if named & {"*", caller.arn, caller.principal_arn}:
        return True, True
    return bool(named & {caller.account, f"arn:{caller.partition}:iam::{caller.account}:root"}), False


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ---------------------------------------------------------------- over moto's state

_ROLE_ARN = re.compile(r"arn:(?P<partition>[\w-]+):iam::(?P<account>\d{12}):role/.+")


def role_trust_policy(role_arn: str) -> Mapping[str, Any] | None:
    """The trust policy of the role `role_arn` names, in moto's IAM of the role's account; None
    when there is no such role (or the ARN names no role)."""
    match = _ROLE_ARN.fullmatch(role_arn)
    if match is None:
        return None
    try:
        role = iam_backends[match["account"]][match["partition"]].get_role_by_arn(role_arn)
    except NotFoundException:
        return None
    document = role.assume_role_policy_document
    policy = json.loads(document) if isinstance(document, str) else document
    if not isinstance(policy, Mapping):
        raise PolicyError(f"not a trust policy: {policy!r}")
    return policy


def trust_of(
    caller: Principal, role_arn: str, session_name: str, external_id: str | None
) -> TrustEvaluation | None:
    """The decision of the role's trust policy on this AssumeRole request; None: no such role."""
    policy = role_trust_policy(role_arn)
    if policy is None:
        return None
    organization = organization_of(caller.account, caller.partition)
    organization_id = None if organization is None else str(organization.id)
    context = assume_role_context(caller, organization_id, session_name, external_id)
    return evaluate_trust(policy, caller, context)
