"""IAM enforcement for the stand-in: every request moto serves is allowed or denied as IAM would.

`with enforced():` keeps moto's SigV4 signature check and caller lookup (an IAM user's key or an
sts.assume_role session) and replaces moto's permission decision with `evaluate` (identity
policies, IAM user guide "Policy evaluation logic"). Requests become the action, resource ARN and
condition context of the Service Authorization Reference; one not mapped here raises
UnmappedOperation. S3's 403 for a missing object and the KMS permissions S3 and SNS need from the
caller are modelled over moto's state (see `_authorize_s3`, `_authorize_sns_kms`).
sts:AssumeRole is authorised as the STS API reference describes it (`_authorize_assume_role`);
whether the role trusts the caller is checked by `local.standin.sts.trust_enforced()`.
The Deny statements for every principal (`"Principal": "*"`) of the bucket policies handed to
`enforced(bucket_policies=...)` are honoured: an explicit deny in a resource-based policy wins over
any Allow (IAM user guide, "Policy evaluation logic"). They are not stored in moto, whose own check
treats a Deny whose condition does not hold as a denial of every request.
Not modelled: the Allow statements of resource policies (a bucket policy Allow raises PolicyError;
topic, queue and key policies are ignored: right for a key policy that delegates to IAM, as the
template's does), boundaries, SCPs, session policies, set operators and policy variables (both
raise PolicyError), DynamoDB's use of a table's customer key (through a grant). Works under
moto.mock_aws and ThreadedMotoServer in one process (one switch).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import escape

from moto.core.authorization import ActionAuthenticatorMixin
from moto.kms.models import kms_backends
from moto.s3.models import s3_backends
from moto.sns.models import sns_backends
from moto.utilities.utils import get_partition
from werkzeug.exceptions import HTTPException

from local.standin.iam_policy import AuthzRequest, Evaluation, PolicyError, bucket_policy_denial, evaluate
from local.standin.role_trust import Principal, trust_of


class UnmappedOperation(RuntimeError):
    """A request whose IAM action, resource or context is not mapped here."""


# ---------------------------------------------------------------- requests as IAM sees them


@dataclass(frozen=True)
class Caller:
    arn: str  # as error messages name it: the assumed-role session's ARN for a role
    principal_arn: str  # aws:PrincipalArn: the role's own ARN for a role session
    account: str
    policies: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class Call:
    """One request as moto received it."""

    service: str
    operation: str
    method: str
    region: str
    account: str
    secure: bool
    params: Mapping[str, Any]
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    bucket: str = ""
    key: str = ""

    @property
    def partition(self) -> str:
        return get_partition(self.region)

    def __str__(self) -> str:
        return f"{self.service} {self.method} {self.operation or f'/{self.bucket}/{self.key}'}"


def global_context(call: Call, caller: Caller) -> dict[str, str]:
    """The global condition keys every request carries here."""
    return {
        "aws:SecureTransport": "true" if call.secure else "false",
        "aws:PrincipalArn": caller.principal_arn,
        "aws:PrincipalAccount": caller.account,
        "aws:RequestedRegion": call.region,
    }


# (method, sub-resource) -> (S3 operation, IAM action) per the S3 API reference and the S3 user
# guide's "Required permissions for Amazon S3 API operations"; "list-type" stands for list-type=2.
_S3_BUCKET = {
    ("GET", "list-type"): ("ListObjectsV2", "s3:ListBucket"),
    ("GET", ""): ("ListObjects", "s3:ListBucket"),
    ("GET", "location"): ("GetBucketLocation", "s3:GetBucketLocation"),
    ("GET", "encryption"): ("GetBucketEncryption", "s3:GetEncryptionConfiguration"),
}
_S3_OBJECT = {
    ("GET", ""): ("GetObject", "s3:GetObject"),
    ("HEAD", ""): ("HeadObject", "s3:GetObject"),
    ("PUT", ""): ("PutObject", "s3:PutObject"),
    ("DELETE", ""): ("DeleteObject", "s3:DeleteObject"),
}
_S3_LISTING = frozenset({"prefix", "delimiter", "marker", "max-keys", "encoding-type", "continuation-token"})
# x-id names the operation for the SDK's routing; response-* only override response headers.
_S3_NEUTRAL = frozenset({"x-id", "partNumber", "start-after", "fetch-owner"})


def s3_operation(call: Call) -> tuple[str, str]:
    """(S3 operation, IAM action) of a request; UnmappedOperation for anything not listed above."""
    if call.bucket in ("", "*") or "x-amz-copy-source" in call.headers:
        raise UnmappedOperation(f"S3 request without a bucket, or a copy (two objects): {call}")
    names = {n for n in call.query if n not in _S3_NEUTRAL and not n.startswith("response-")}
    if not call.key:
        names -= _S3_LISTING
        if names == {"list-type"} and call.query["list-type"] != ["2"]:
            names = {"list-type=1"}
    operation = (_S3_OBJECT if call.key else _S3_BUCKET).get((call.method, next(iter(names), "")))
    if operation is None or len(names) > 1:  # versionId too: object versions are not mapped
        raise UnmappedOperation(f"S3 operation not mapped: {call} {sorted(call.query)}")
    return operation


def _s3_context(call: Call) -> dict[str, str]:
    """S3 condition keys of the request (Service Authorization Reference, Amazon S3 condition keys)."""
    context = {f"s3:{n}": call.query[n][0] for n in ("prefix", "delimiter", "max-keys") if n in call.query}
    headers = ("x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id", "x-amz-acl")
    return context | {f"s3:{h}": call.headers[h] for h in headers if h in call.headers}


def _region_arn(call: Call, service: str, resource: str) -> str:
    return f"arn:{call.partition}:{service}:{call.region}:{call.account}:{resource}"


_UNSCOPED_SSM = (
    *("ListCommands", "ListCommandInvocations", "DescribeInstanceInformation"),
    *("GetMaintenanceWindowExecution", "GetMaintenanceWindowExecutionTask"),
    "DescribeMaintenanceWindowExecutionTaskInvocations",
    # UNVERIFIED whether it takes instance ARNs; authorised against "*", which any grant covers.
    "DescribeInstancePatchStates",
)
# Resource ARN per operation our code calls (Service Authorization Reference, the "Resource types"
# of each action; "*" for actions that support no resource-level permissions).
_RESOURCES: dict[tuple[str, str], Callable[[Call], str]] = {
    ("sns", "Publish"): lambda call: str(call.params["TopicArn"]),
    **{
        ("dynamodb", op): lambda call: _region_arn(call, "dynamodb", f"table/{call.params['TableName']}")
        for op in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query")
    },
    # One table per batch in our calls (the history's): authorised against it.
    ("dynamodb", "BatchWriteItem"): lambda call: _region_arn(
        call, "dynamodb", f"table/{next(iter(call.params['RequestItems']))}"
    ),
    **{
        ("ssm", op): lambda call: _region_arn(call, "ssm", f"maintenancewindow/{call.params['WindowId']}")
        for op in (
            "GetMaintenanceWindow",
            "DescribeMaintenanceWindowTasks",
            "DescribeMaintenanceWindowExecutions",
        )
    },
    **{("ssm", op): lambda call: "*" for op in _UNSCOPED_SSM},
    ("iam", "ListAccountAliases"): lambda call: "*",
    ("sts", "AssumeRole"): lambda call: str(call.params["RoleArn"]),  # the role resource type
    # UNVERIFIED that the reference lists no resource type for it; authorised against "*".
    ("organizations", "DescribeOrganization"): lambda call: "*",
}


def resource_of(call: Call) -> str:
    """The resource ARN IAM authorises a (non-S3) call against."""
    if call.service == "ec2" and call.operation.startswith("Describe"):
        return "*"
    resource = _RESOURCES.get((call.service, call.operation))
    if resource is None:
        raise UnmappedOperation(f"no IAM resource mapping for {call.service}:{call.operation}")
    try:
        return resource(call)
    except KeyError as missing:
        raise UnmappedOperation(f"{call.service}:{call.operation} without {missing}") from None


def kms_key_arn(account: str, region: str, key_id: str) -> str | None:
    """The ARN of a customer managed key in moto; None for an AWS managed one (alias/aws/...)."""
    if "alias/aws/" in key_id:
        return None
    backend = kms_backends[account][region]
    try:
        key = backend.keys[backend.any_id_to_key_id(key_id)]
    except (KeyError, TypeError, AttributeError):
        raise UnmappedOperation(f"KMS key {key_id} is not in the stand-in") from None
    return None if key.key_manager == "AWS" else str(key.arn)


# ---------------------------------------------------------------- denials, as each protocol shapes them


class Denied(HTTPException):
    """An error response in the service's own shape; moto (and its server) send it as it is."""

    def __init__(self, status: int, code: str, body: str) -> None:
        super().__init__(description=body)
        self.code, self.error_type, self.body = status, code, body

    def get_body(self, *args: Any, **kwargs: Any) -> str:
        return self.body


def _message(caller: Caller, request: AuthzRequest, evaluation: Evaluation) -> str:
    """The wording of the IAM user guide's "Troubleshoot access denied error messages"."""
    because = (
        "with an explicit deny in an identity-based policy"
        if evaluation.explicit_deny
        else f"because no identity-based policy allows the {request.action} action"
    )
    action, resource = request.action, request.resource
    return f"User: {caller.arn} is not authorized to perform: {action} on resource: {resource} {because}"


def denial(call: Call, message: str, *, code: str = "", status: int = 0) -> Denied:
    """AccessDenied (S3 XML; HEAD has no body), UnauthorizedOperation (EC2), AuthorizationError
    (SNS), AccessDeniedException (JSON protocols), AccessDenied (other query protocols)."""
    if "x-amz-target" in call.headers:
        code = code or "AccessDeniedException"
        return Denied(status or 400, code, json.dumps({"__type": code, "message": message}))
    error = f"<Code>{code or 'AccessDenied'}</Code><Message>{escape(message)}</Message>"
    if call.service == "s3":
        return Denied(403, "AccessDenied", "" if call.method == "HEAD" else f"<Error>{error}</Error>")
    if call.service == "ec2":
        code = code or "UnauthorizedOperation"
        error = f"<Code>{code}</Code><Message>{escape(message)}</Message>"
        return Denied(status or 403, code, f"<Response><Errors><Error>{error}</Error></Errors></Response>")
    code = code or ("AuthorizationError" if call.service == "sns" else "AccessDenied")
    error = f"<Type>Sender</Type><Code>{code}</Code><Message>{escape(message)}</Message>"
    return Denied(status or 403, code, f"<ErrorResponse><Error>{error}</Error></ErrorResponse>")


# ---------------------------------------------------------------- the decisions


@dataclass(frozen=True)
class Decision:
    caller: str
    action: str
    resource: str
    allowed: bool
    statement: str | None
    via: str = ""
    # why the check was made when not for the call itself: kms-via-s3, kms-via-sns, missing-object


@dataclass
class Enforcement:
    """Every decision while enforcement was on, in order, and the operations that were not mapped."""

    decisions: list[Decision] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    bucket_policies: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Bucket name -> bucket policy whose Deny statements apply (see the module docstring)."""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def denied(self) -> list[Decision]:
        return [d for d in self.decisions if not d.allowed]

    def check(self, caller: Caller, request: AuthzRequest, via: str = "") -> Evaluation:
        evaluation = evaluate(caller.policies, request)
        verdict = evaluation.allowed, evaluation.statement
        with self.lock:
            self.decisions.append(Decision(caller.arn, request.action, request.resource, *verdict, via))
        return evaluation

    def require(self, caller: Caller, call: Call, request: AuthzRequest, via: str = "", **error: Any) -> None:
        evaluation = self.check(caller, request, via)
        if not evaluation.allowed:
            raise denial(call, _message(caller, request, evaluation), **error)

    def require_no_resource_deny(
        self, caller: Caller, call: Call, request: AuthzRequest, policy: Mapping[str, Any] | None
    ) -> None:
        """Deny (and record) the request when a Deny of the resource's policy applies to it."""
        sid = bucket_policy_denial(policy, request) if policy else None
        if sid is None:
            return
        with self.lock:
            self.decisions.append(
                Decision(caller.arn, request.action, request.resource, False, f"bucket-policy:{sid}")
            )
        message = (
            f"User: {caller.arn} is not authorized to perform: {request.action} on resource: "
            f"{request.resource} with an explicit deny in a resource-based policy"
        )
        raise denial(call, message)


def _kms_context(call: Call, caller: Caller, via: str) -> dict[str, str]:
    return {
        **global_context(call, caller),
        "kms:ViaService": f"{via}.{call.region}.amazonaws.com",
        "kms:CallerAccount": caller.account,
    }


def _authorize_s3(call: Call, caller: Caller, gate: Enforcement) -> None:
    """The S3 action on the bucket or object ARN, then what S3 itself needs of the caller.

    A GetObject/HeadObject of a missing key: see `_missing_object`. An object under a customer
    KMS key needs kms:Decrypt to be read; a PutObject under one (the request's header, else the
    bucket's default encryption) kms:GenerateDataKey (S3 user guide, "Using server-side encryption
    with AWS KMS keys"). HeadObject is held to GetObject's rule: the conservative reading, as its
    API reference lists s3:GetObject only. AES256 and AWS managed keys need nothing.
    """
    operation, action = s3_operation(call)
    bucket_arn = f"arn:{call.partition}:s3:::{call.bucket}"
    resource = f"{bucket_arn}/{call.key}" if call.key else bucket_arn
    context = {**global_context(call, caller), **_s3_context(call)}
    backend = s3_backends[call.account][call.partition]
    bucket = backend.buckets.get(call.bucket)
    request = AuthzRequest(action, resource, context)
    gate.require_no_resource_deny(caller, call, request, gate.bucket_policies.get(call.bucket))
    gate.require(caller, call, request)
    if bucket is None or operation not in ("GetObject", "HeadObject", "PutObject"):
        return  # nothing more to check (for a missing bucket moto answers NoSuchBucket)
    if operation == "PutObject":
        kms_action = "kms:GenerateDataKey"
        default = (bucket.encryption or {}).get("Rule", {}).get("ApplyServerSideEncryptionByDefault", {})
        asked = call.headers.get("x-amz-server-side-encryption")  # the request's own choice wins
        algorithm = asked or default.get("SSEAlgorithm", "")
        key_header = "x-amz-server-side-encryption-aws-kms-key-id"
        key_id = call.headers.get(key_header) if asked else default.get("KMSMasterKeyID")
    else:
        kms_action = "kms:Decrypt"
        stored = backend.get_object(call.bucket, call.key)  # s3_operation refuses versionId
        if stored is None:
            _missing_object(call, caller, gate, bucket_arn)
            return
        algorithm, key_id = stored.encryption or "", stored.kms_key_id
    key_arn = kms_key_arn(call.account, call.region, key_id) if key_id else None
    if key_arn and algorithm.startswith("aws:kms"):
        request = AuthzRequest(kms_action, key_arn, _kms_context(call, caller, "s3"))
        gate.require(caller, call, request, via="kms-via-s3")


def _missing_object(call: Call, caller: Caller, gate: Enforcement, bucket_arn: str) -> None:
    """GetObject/HeadObject of a key S3 does not hold: 404 only for a caller that may list the bucket.

    How S3 applies the conditions of an s3:ListBucket statement in this check is not documented
    (the request has no prefix). The model is the conservative reading: ListBucket must be allowed
    with the request's global keys alone, so a statement conditioned on s3:prefix does not count.
    """
    listing = AuthzRequest("s3:ListBucket", bucket_arn, global_context(call, caller))
    if not gate.check(caller, listing, via="missing-object").allowed:
        raise denial(call, "Access Denied")


def _authorize_sns_kms(call: Call, caller: Caller, gate: Enforcement) -> None:
    """A publisher to a topic encrypted with a customer key needs kms:GenerateDataKey and
    kms:Decrypt on it (SNS developer guide, "Key management"); SNS answers KMSAccessDenied (400)."""
    topic = sns_backends[call.account][call.region].topics.get(str(call.params["TopicArn"]))
    key_id = topic.kms_master_key_id if topic else ""
    key_arn = kms_key_arn(call.account, call.region, key_id) if key_id else None
    for action in ("kms:GenerateDataKey", "kms:Decrypt") if key_arn else ():
        request = AuthzRequest(action, str(key_arn), _kms_context(call, caller, "sns"))
        gate.require(caller, call, request, via="kms-via-sns", code="KMSAccessDenied", status=400)


def _authorize_assume_role(call: Call, caller: Caller, gate: Enforcement) -> None:
    """sts:AssumeRole on the role's ARN, with the request's sts:ExternalId and sts:RoleSessionName
    (Service Authorization Reference, AWS STS condition keys of AssumeRole).

    The STS API reference (AssumeRole): a user of another account must be allowed by an identity
    policy; within the role's own account it is enough that the trust policy names the caller itself
    ("When a resource-based policy grants access to a principal in the same account, no additional
    identity-based policy is required"), unless an identity policy denies it ("Policy evaluation
    logic": an explicit deny in any policy wins). Whether the role trusts the caller at all is
    `local.standin.sts.trust_enforced`'s check.
    """
    role_arn = resource_of(call)
    names = {"sts:ExternalId": "ExternalId", "sts:RoleSessionName": "RoleSessionName"}
    keys = {key: str(call.params[name]) for key, name in names.items() if name in call.params}
    request = AuthzRequest("sts:AssumeRole", role_arn, {**global_context(call, caller), **keys})
    identity = evaluate(caller.policies, request)
    same_account = role_arn.split(":")[4:5] == [caller.account]  # the role ARN's account field
    if same_account and not identity.allowed and not identity.explicit_deny:
        principal = Principal(caller.arn, caller.principal_arn, caller.account)
        trust = trust_of(principal, role_arn, keys.get("sts:RoleSessionName", ""), keys.get("sts:ExternalId"))
        if trust is not None and trust.allowed and trust.direct:
            with gate.lock:
                gate.decisions.append(
                    Decision(caller.arn, request.action, role_arn, True, f"trust-policy:{trust.statement}")
                )
            return
    gate.require(caller, call, request)


def authorize(call: Call, caller: Caller, gate: Enforcement) -> None:
    """Allow the call or raise its Denied; UnmappedOperation when it cannot be mapped."""
    if call.service == "s3":
        _authorize_s3(call, caller, gate)
    elif (call.service, call.operation) == ("sts", "AssumeRole"):
        _authorize_assume_role(call, caller, gate)
    elif (call.service, call.operation) != ("sts", "GetCallerIdentity"):  # STS: needs no permission
        action = f"{call.service}:{call.operation}"
        gate.require(caller, call, AuthzRequest(action, resource_of(call), global_context(call, caller)))
        if action == "sns:Publish":
            _authorize_sns_kms(call, caller, gate)


# ---------------------------------------------------------------- the hook into moto

_ACTIVE: Enforcement | None = None
_ORIGINAL = ActionAuthenticatorMixin._authenticate_and_authorize_action


def _policy_document(policy: Any) -> Mapping[str, Any]:
    """moto hands inline policies as JSON text and attached ones as Policy objects."""
    if hasattr(policy, "versions"):
        policy = next(v for v in policy.versions if v.is_default).document
    document = json.loads(policy) if isinstance(policy, str) else policy
    if not isinstance(document, Mapping):
        raise PolicyError(f"not a policy document: {document!r}")
    return document


def _caller(iam_request: Any) -> Caller:
    key = iam_request._access_key
    arn, account = str(key.arn), str(key.account_id)
    principal = (
        f"arn:{key.partition}:iam::{account}:role/{arn.split('/')[1]}" if ":assumed-role/" in arn else arn
    )
    return Caller(arn, principal, account, tuple(_policy_document(p) for p in key.collect_policies()))


def _call_of(response: Any, service: str, resource: str) -> Call:
    url = urlparse(response.uri)
    headers = {str(k).lower(): str(v) for k, v in response.headers.items()}
    bucket = key = op = ""
    params: Mapping[str, Any] = {}
    if service == "s3":
        bucket, _, key = resource.split(":::", 1)[-1].partition("/")
    else:
        op = str(response._get_action())
        if "x-amz-target" in headers:
            raw = response.raw_body or b"{}"
            params = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
        else:
            params = {k: v[0] for k, v in response.querystring.items() if isinstance(v, list) and v}
    where = str(response.method), str(response.region), str(response.current_account), url.scheme == "https"
    return Call(
        service, op, *where, params, parse_qs(url.query, keep_blank_values=True), headers, bucket, key
    )


def _authenticate_and_authorize(self: Any, iam_request_cls: type, resource: str = "*") -> None:
    """moto's hook while enforced: moto's signature check and caller lookup, then `authorize`."""
    gate = _ACTIVE
    if gate is None:
        _ORIGINAL(self, iam_request_cls, resource)
        return
    query = urlparse(self.uri).query
    iam_request = iam_request_cls(
        account_id=self.current_account,
        method=self.method,
        path=self.raw_path + (f"?{query}" if query else ""),
        data=self.data,
        body=self.raw_body,
        headers=self.headers,
        action=self._get_action(),
    )
    iam_request.check_signature()
    try:
        authorize(_call_of(self, iam_request._service, resource), _caller(iam_request), gate)
    except UnmappedOperation as error:
        with gate.lock:
            gate.unmapped.append(str(error))
        raise


@contextmanager
def enforced(bucket_policies: Mapping[str, Mapping[str, Any]] | None = None) -> Iterator[Enforcement]:
    """Enforce IAM on every request moto serves until the block ends, then switch it off again.
    `bucket_policies` (bucket name -> policy) adds those policies' Deny statements.

    Raises UnmappedOperation at the end if a request could not be mapped, even when the code
    under test swallowed the error it got.
    """
    global _ACTIVE  # noqa: PLW0603 - one switch, read by the server's request threads too
    if _ACTIVE is not None:
        raise RuntimeError("IAM enforcement is already on")
    gate = Enforcement(bucket_policies=dict(bucket_policies or {}))
    ActionAuthenticatorMixin._authenticate_and_authorize_action = _authenticate_and_authorize  # type: ignore[method-assign]
    _ACTIVE = gate
    try:
        yield gate
    except BaseException as error:
        if gate.unmapped and not isinstance(error, UnmappedOperation):
            raise UnmappedOperation("; ".join(gate.unmapped)) from error
        raise
    finally:
        _ACTIVE = None
        ActionAuthenticatorMixin._authenticate_and_authorize_action = _ORIGINAL  # type: ignore[method-assign]
    if gate.unmapped:
        raise UnmappedOperation("; ".join(gate.unmapped))
