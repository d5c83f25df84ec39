"""STS stand-in: AssumeRole refused as AWS refuses it, over moto's IAM and Organizations state.

Stock moto 5.2 hands out credentials for any RoleArn (``STSBackend.assume_role``: "the role does not
need to exist"), in the account the ARN names, without reading the role's trust policy. (Its own IAM
authorization, off unless configured, checks trust only for a role of the caller's account, and
`local.standin.iam.enforced` replaces that check.)

`with trust_enforced():` makes AssumeRole first look the role up in moto's IAM of the role's account
and evaluate its trust policy for the caller (`local.standin.role_trust`). A role that does not exist
and a role that does not trust the caller get the same answer, as from STS: 403 AccessDenied,
"User: <caller ARN> is not authorized to perform: sts:AssumeRole on resource: <role ARN>". The
wording is the one STS users quote publicly, e.g. aws-solutions/instance-scheduler-on-aws#558 (a role
session calling across accounts), amzn/selling-partner-api-models#891 ("Status Code: 403; Error
Code: AccessDenied"); that a missing role gets it too is noted in HackTricks' "AWS - IAM & STS
Unauthenticated Enum" ("if the role exists or not you always get this error") and shown by
amzn/selling-partner-api-models#2523 (a user ARN as RoleArn). The caller is the IAM user or role
session moto knows by the request's access key (`caller_of`); a key moto does not know gets moto's
InvalidClientTokenId, as STS answers an unknown key. The caller's own identity policies are checked
by `local.standin.iam.enforced` when that is on too.

Set up the sessions tests start from (e.g. a Lambda role's, whose trust names a service) before
switching this on: a service principal never trusts an IAM caller. Works under moto.mock_aws and
ThreadedMotoServer in one process (one switch).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from moto.core.exceptions import InvalidClientTokenIdError
from moto.iam.models import iam_backends
from moto.sts.models import sts_backends
from moto.sts.responses import TokenResponse
from moto.utilities.utils import get_partition

from local.standin.iam import Call, Denied, denial
from local.standin.iam_policy import PolicyError
from local.standin.role_trust import Principal, TrustEvaluation, trust_of

__all__ = ["TrustDecision", "TrustEnforcement", "assume_role_denial", "caller_of", "trust_enforced"]


def caller_of(account: str, partition: str, access_key_id: str) -> Principal:
    """The role session or IAM user moto issued `access_key_id` to; InvalidClientTokenId otherwise."""
    for session in sts_backends[account][partition].assumed_roles:
        if session.access_key_id == access_key_id:
            return Principal(session.arn, session.role_arn, account)
    user = iam_backends[account][partition].get_user_from_access_key_id(access_key_id)
    if user is None:
        raise InvalidClientTokenIdError
    return Principal(str(user.arn), str(user.arn), account)


def assume_role_denial(call: Call, caller: Principal, role_arn: str) -> Denied:
    """AccessDenied (403) in STS's query-protocol error shape, worded as in the module docstring."""
    message = f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    return denial(call, message)


@dataclass(frozen=True)
class TrustDecision:
    caller: str
    role: str
    allowed: bool
    statement: str | None  # of the trust policy: the Deny, or the first Allow
    reason: str  # "trusted", "no such role", "explicit deny" or "not trusted"


def _reason(trust: TrustEvaluation | None) -> str:
    if trust is None:
        return "no such role"
    if trust.explicit_deny:
        return "explicit deny"
    return "trusted" if trust.allowed else "not trusted"


@dataclass
class TrustEnforcement:
    """Every AssumeRole decision while trust was enforced, in order, and the policies not modelled."""

    decisions: list[TrustDecision] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def denied(self) -> list[TrustDecision]:
        return [d for d in self.decisions if not d.allowed]

    def decide(self, caller: Principal, role_arn: str, session_name: str, external_id: str | None) -> bool:
        try:
            trust = trust_of(caller, role_arn, session_name, external_id)
        except PolicyError as error:
            with self.lock:
                self.errors.append(str(error))
            raise
        allowed = trust is not None and trust.allowed
        statement = None if trust is None else trust.statement
        decision = TrustDecision(caller.arn, role_arn, allowed, statement, _reason(trust))
        with self.lock:
            self.decisions.append(decision)
        return allowed


# ---------------------------------------------------------------- the hook into moto

_ACTIVE: TrustEnforcement | None = None
_ORIGINAL = TokenResponse.assume_role


def _assume_role(self: TokenResponse) -> Any:
    """moto's AssumeRole once the role's trust policy lets the caller in."""
    gate = _ACTIVE
    if gate is None:
        return _ORIGINAL(self)
    role_arn = str(self._get_param("RoleArn") or "")
    external_id = self._get_param("ExternalId")
    session_name = str(self._get_param("RoleSessionName") or "")
    account, partition = str(self.current_account), get_partition(str(self.region))
    caller = caller_of(account, partition, str(self.get_access_key()))
    if not gate.decide(caller, role_arn, session_name, None if external_id is None else str(external_id)):
        secure = urlparse(str(self.uri)).scheme == "https"
        call = Call("sts", "AssumeRole", str(self.method), str(self.region), account, secure, {}, {}, {})
        raise assume_role_denial(call, caller, role_arn)
    return _ORIGINAL(self)


@contextmanager
def trust_enforced() -> Iterator[TrustEnforcement]:
    """Evaluate role trust on every AssumeRole moto serves until the block ends, then stop.

    Raises PolicyError at the end if a trust policy used what is not modelled, even when the code
    under test swallowed the error it got.
    """
    global _ACTIVE  # noqa: PLW0603 - one switch, read by the server's request threads too
    if _ACTIVE is not None:
        raise RuntimeError("role trust is already enforced")
    gate = TrustEnforcement()
    TokenResponse.assume_role = _assume_role  # type: ignore[method-assign]
    _ACTIVE = gate
    try:
        yield gate
    except BaseException as error:
        if gate.errors and not isinstance(error, PolicyError):
            raise PolicyError("; ".join(gate.errors)) from error
        raise
    finally:
        _ACTIVE = None
        TokenResponse.assume_role = _ORIGINAL  # type: ignore[method-assign]
    if gate.errors:
        raise PolicyError("; ".join(gate.errors))
