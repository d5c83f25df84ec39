"""Role trust on AssumeRole (local/standin/sts.py, role_trust.py) over moto, and sts:AssumeRole
under the IAM enforcement (local/standin/iam.py): a central account's notifier reading member
accounts of an organization through their member role, as issue 16 has it.

Pages of the IAM user guide: "AWS JSON policy elements: Principal", "Policy evaluation logic",
"AWS global condition context keys" (aws:PrincipalArn: "For IAM roles, the request context returns
the ARN of the role"; aws:PrincipalOrgID), "IAM and AWS STS condition context keys"
(sts:ExternalId, sts:RoleSessionName), "Troubleshooting IAM roles" ("I can't assume a role"). The
STS API reference, AssumeRole (in botocore's model), for identity policies across accounts. The
wording of the denial is the one STS users quote in public bug reports (see local/standin/sts.py).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sts.responses import TokenResponse

from local.standin import organizations
from local.standin.iam import enforced
from local.standin.iam_policy import PolicyError
from local.standin.organizations import Organization, create_organization
from local.standin.role_trust import Principal, assume_role_context, evaluate_trust
from local.standin.sts import TrustDecision, trust_enforced
from tests.support.stack import moto_endpoint

REGION: Final = "eu-west-2"
MANAGEMENT: Final = DEFAULT_ACCOUNT_ID
OUTSIDE: Final = "999999999999"  # in no organization
NOTIFIER: Final = "instance-hygiene-notifier"
MEMBER_ROLE: Final = "instance-hygiene-member-read"
EXTERNAL_ID: Final = "hygiene-7f3a"
SESSION: Final = "hygiene-notify"
LAMBDA_TRUST: Final = {
    "Effect": "Allow",
    "Principal": {"Service": "lambda.amazonaws.com"},
    "Action": "sts:AssumeRole",
}

Keys = Mapping[str, str]


def policy(*statements: Mapping[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def member_trust(central: str, org_id: str, principal: Any = None) -> dict[str, Any]:
    """The member role's trust: the central account, its notifier role, the external id, the org."""
    return {
        "Effect": "Allow",
        "Principal": principal or {"AWS": f"arn:aws:iam::{central}:root"},
        "Action": "sts:AssumeRole",
        "Condition": {
            "StringEquals": {"sts:ExternalId": EXTERNAL_ID, "aws:PrincipalOrgID": org_id},
            "ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::*:role/{NOTIFIER}"},
        },
    }


@dataclass(frozen=True)
class Aws:
    """moto in-process (endpoint_url None) or a ThreadedMotoServer, with an organization in it:
    accounts central, member-a (with the member role) and member-b (without)."""

    endpoint_url: str | None
    org: Organization

    @property
    def central(self) -> str:
        return self.org.members["central"]

    @property
    def member_a(self) -> str:
        return self.org.members["member-a"]

    def client(self, service: str, keys: Keys | None = None) -> Any:
        session = boto3.Session()
        if keys is not None:
            session = boto3.Session(
                aws_access_key_id=keys["AccessKeyId"],
                aws_secret_access_key=keys["SecretAccessKey"],
                aws_session_token=keys["SessionToken"],
            )
        make: Any = session.client  # boto3-stubs types each service by its literal name
        return make(service, endpoint_url=self.endpoint_url)

    def assume(self, role_arn: str, keys: Keys | None = None, **params: str) -> Keys:
        params.setdefault("RoleSessionName", SESSION)
        return self.client("sts", keys).assume_role(RoleArn=role_arn, **params)["Credentials"]  # type: ignore[no-any-return]

    def admin(self, account: str) -> Keys:
        """Keys in `account` from moto's own AssumeRole (call with trust not enforced): its
        OrganizationAccountAccessRole for a member, any ARN at all for the outside account."""
        return self.assume(f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole")

    def role(self, account: str, name: str, *trust: Mapping[str, Any]) -> str:
        """A role `name` in `account` whose trust policy has these statements; its ARN."""
        iam = self.client("iam", self.admin(account))
        document = json.dumps(policy(*trust))
        return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=document)["Role"]["Arn"])

    def session(self, account: str, name: str) -> Keys:
        """A session of a Lambda role `name` in `account`, as the function's runtime gets it."""
        return self.assume(self.role(account, name, LAMBDA_TRUST), RoleSessionName=name)

    def member_role_arn(self, account: str) -> str:
        return f"arn:aws:iam::{account}:role/{MEMBER_ROLE}"


def _aws(endpoint_url: str | None) -> Aws:
    aws = Aws(endpoint_url, create_organization(MANAGEMENT, ["central", "member-a", "member-b"]))
    aws.role(aws.member_a, MEMBER_ROLE, member_trust(aws.central, aws.org.id))
    return aws


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "MOTO_ACCOUNT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    organizations.install()
    yield
    organizations.uninstall()


@pytest.fixture
def aws(environment: None) -> Iterator[Aws]:
    with mock_aws():
        yield _aws(None)


def refusal(error: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = error.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


def denied(caller: str, role_arn: str) -> tuple[str, str, int]:
    """STS's AccessDenied (403) for a role that does not exist or does not trust the caller."""
    return (
        "AccessDenied",
        f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
        403,
    )


def session_arn(account: str, role: str, session: str) -> str:
    return f"arn:aws:sts::{account}:assumed-role/{role}/{session}"


# ---------------------------------------------------------------- trust, through moto


def test_a_member_role_that_trusts_the_notifier_hands_out_the_member_account_s_credentials(aws: Aws) -> None:
    notifier = aws.session(aws.central, NOTIFIER)

    with trust_enforced() as trust:
        member = aws.assume(aws.member_role_arn(aws.member_a), notifier, ExternalId=EXTERNAL_ID)
        identity = aws.client("sts", member).get_caller_identity()
        organization = aws.client("organizations", member).describe_organization()["Organization"]

    assert (identity["Account"], identity["Arn"]) == (
        aws.member_a,
        session_arn(aws.member_a, MEMBER_ROLE, SESSION),
    )
    assert organization["Id"] == aws.org.id
    caller = session_arn(aws.central, NOTIFIER, NOTIFIER)
    assert trust.decisions == [
        TrustDecision(caller, aws.member_role_arn(aws.member_a), True, "#0", "trusted")
    ]


@pytest.mark.parametrize(
    ("member", "caller_role", "params", "reason"),
    [
        pytest.param("member-b", NOTIFIER, {"ExternalId": EXTERNAL_ID}, "no such role", id="missing-role"),
        pytest.param(
            "member-a", NOTIFIER, {"ExternalId": "someone-else"}, "not trusted", id="other-external-id"
        ),
        # sts:ExternalId is in the request context only when the caller provides one.
        pytest.param("member-a", NOTIFIER, {}, "not trusted", id="no-external-id"),
        # ArnLike on aws:PrincipalArn: the role of the session, here not the notifier's.
        pytest.param(
            "member-a",
            "instance-hygiene-other",
            {"ExternalId": EXTERNAL_ID},
            "not trusted",
            id="other-caller-role",
        ),
    ],
)
def test_a_role_that_does_not_trust_the_caller_is_refused_as_a_missing_role_is(
    aws: Aws, member: str, caller_role: str, params: dict[str, str], reason: str
) -> None:
    caller = aws.session(aws.central, caller_role)
    role_arn = aws.member_role_arn(aws.org.members[member])

    with trust_enforced() as trust, pytest.raises(ClientError) as refused:
        aws.assume(role_arn, caller, **params)

    caller_arn = session_arn(aws.central, caller_role, caller_role)
    assert refusal(refused) == denied(caller_arn, role_arn)
    assert [(d.allowed, d.reason) for d in trust.decisions] == [(False, reason)]


def test_a_caller_outside_the_organization_is_refused_by_aws_principal_org_id(aws: Aws) -> None:
    # The principal admits the outside account too: only aws:PrincipalOrgID keeps it out.
    trusted = {"AWS": [f"arn:aws:iam::{aws.central}:root", OUTSIDE]}
    role_arn = aws.role(aws.member_a, "org-only", member_trust(aws.central, aws.org.id, trusted))
    inside, outside = aws.session(aws.central, NOTIFIER), aws.session(OUTSIDE, NOTIFIER)

    with trust_enforced():
        aws.assume(role_arn, inside, ExternalId=EXTERNAL_ID)
        with pytest.raises(ClientError) as refused:
            aws.assume(role_arn, outside, ExternalId=EXTERNAL_ID)

    assert refusal(refused) == denied(session_arn(OUTSIDE, NOTIFIER, NOTIFIER), role_arn)


def test_an_explicit_deny_in_the_trust_policy_wins_over_its_allow(aws: Aws) -> None:
    no_break_glass = {
        "Sid": "NoBreakGlassSessions",
        "Effect": "Deny",
        "Principal": {"AWS": f"arn:aws:iam::{aws.central}:root"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringLike": {"sts:RoleSessionName": "break-glass-*"}},
    }
    role_arn = aws.role(aws.member_a, "guarded", member_trust(aws.central, aws.org.id), no_break_glass)
    notifier = aws.session(aws.central, NOTIFIER)

    with trust_enforced() as trust:
        aws.assume(role_arn, notifier, ExternalId=EXTERNAL_ID, RoleSessionName="nightly")
        with pytest.raises(ClientError) as refused:
            aws.assume(role_arn, notifier, ExternalId=EXTERNAL_ID, RoleSessionName="break-glass-1")

    assert refusal(refused)[0] == "AccessDenied"
    assert [(d.allowed, d.statement, d.reason) for d in trust.decisions] == [
        (True, "#0", "trusted"),
        (False, "NoBreakGlassSessions", "explicit deny"),
    ]


def test_a_lambda_role_does_not_trust_an_iam_caller(aws: Aws) -> None:
    # A service principal names the service, never an IAM user or role session.
    role_arn = aws.role(aws.central, "lambda-only", LAMBDA_TRUST)
    notifier = aws.session(aws.central, NOTIFIER)

    with trust_enforced(), pytest.raises(ClientError) as refused:
        aws.assume(role_arn, notifier)

    assert refusal(refused) == denied(session_arn(aws.central, NOTIFIER, NOTIFIER), role_arn)


def test_a_trust_policy_operator_not_modelled_fails_loudly_even_when_the_caller_swallows_it(aws: Aws) -> None:
    # "Troubleshooting IAM roles" shows trust conditions on aws:CurrentTime (DateLessThan): not modelled.
    until = {
        **member_trust(aws.central, aws.org.id),
        "Condition": {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
    }
    role_arn = aws.role(aws.member_a, "until-2030", until)
    notifier = aws.session(aws.central, NOTIFIER)

    with pytest.raises(PolicyError, match="DateLessThan"), trust_enforced():
        aws.assume(role_arn, notifier)
    with pytest.raises(PolicyError, match="DateLessThan"), trust_enforced(), contextlib.suppress(Exception):
        aws.assume(role_arn, notifier)


def test_a_key_moto_never_issued_is_refused_as_sts_refuses_an_unknown_key(aws: Aws) -> None:
    with trust_enforced(), pytest.raises(ClientError) as refused:
        aws.assume(aws.member_role_arn(aws.member_a), ExternalId=EXTERNAL_ID)  # the "testing" keys

    assert refusal(refused) == (
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
        403,
    )


def test_trust_is_not_enforced_again_after_the_block_even_when_it_raised(aws: Aws) -> None:
    notifier = aws.session(aws.central, NOTIFIER)
    missing = aws.member_role_arn(aws.org.members["member-b"])

    with pytest.raises(ClientError), trust_enforced():
        aws.assume(missing, notifier)
    with pytest.raises(RuntimeError, match="already"), trust_enforced(), trust_enforced():
        pass

    assert TokenResponse.assume_role.__module__ == "moto.sts.responses"
    assert aws.assume(missing, notifier)["AccessKeyId"], "moto's own AssumeRole: any role ARN will do"


def test_through_threaded_moto_server(environment: None) -> None:
    with moto_endpoint("server") as url:
        aws = _aws(url)
        notifier = aws.session(aws.central, NOTIFIER)
        missing = aws.member_role_arn(aws.org.members["member-b"])
        with trust_enforced():
            member = aws.assume(aws.member_role_arn(aws.member_a), notifier, ExternalId=EXTERNAL_ID)
            identity = aws.client("sts", member).get_caller_identity()
            organization = aws.client("organizations", member).describe_organization()["Organization"]
            with pytest.raises(ClientError) as refused:
                aws.assume(missing, notifier, ExternalId=EXTERNAL_ID)

    assert identity["Arn"] == session_arn(aws.member_a, MEMBER_ROLE, SESSION)
    assert organization["Id"] == aws.org.id
    assert refusal(refused) == denied(session_arn(aws.central, NOTIFIER, NOTIFIER), missing)


# ---------------------------------------------------------------- the caller's own policies (iam.enforced)

ASSUME_MEMBER_ROLES = {
    "Effect": "Allow",
    "Action": "sts:AssumeRole",
    "Resource": f"arn:aws:iam::*:role/{MEMBER_ROLE}",
}


def test_under_iam_enforcement_the_notifier_also_needs_sts_assume_role_on_the_member_role(aws: Aws) -> None:
    # STS API reference, AssumeRole: a caller of another account must be allowed by its own
    # identity policy as well as trusted by the role.
    read_org = policy({"Effect": "Allow", "Action": "organizations:DescribeOrganization", "Resource": "*"})
    aws.client("iam", aws.admin(aws.member_a)).put_role_policy(
        RoleName=MEMBER_ROLE, PolicyName="read", PolicyDocument=json.dumps(read_org)
    )
    notifier = aws.session(aws.central, NOTIFIER)
    role_arn = aws.member_role_arn(aws.member_a)

    with enforced(), trust_enforced(), pytest.raises(ClientError) as refused:
        aws.assume(role_arn, notifier, ExternalId=EXTERNAL_ID)
    aws.client("iam", aws.admin(aws.central)).put_role_policy(  # the grant, with enforcement off
        RoleName=NOTIFIER, PolicyName="assume", PolicyDocument=json.dumps(policy(ASSUME_MEMBER_ROLES))
    )
    with enforced() as iam, trust_enforced():
        member = aws.assume(role_arn, notifier, ExternalId=EXTERNAL_ID)
        organization = aws.client("organizations", member).describe_organization()["Organization"]

    code, message, _ = refusal(refused)
    assert code == "AccessDenied"
    assert message.endswith("because no identity-based policy allows the sts:AssumeRole action")
    assert organization["Id"] == aws.org.id
    assert [(d.action, d.allowed) for d in iam.decisions] == [
        ("sts:AssumeRole", True),
        ("organizations:DescribeOrganization", True),
    ]


def test_within_its_own_account_a_trust_policy_naming_the_caller_needs_no_identity_policy(aws: Aws) -> None:
    # STS API reference, AssumeRole: in the same account the user may instead be "a principal
    # directly in the role's trust policy"; an account principal leaves it to identity policies.
    notifier = aws.session(aws.central, NOTIFIER)
    notifier_role = f"arn:aws:iam::{aws.central}:role/{NOTIFIER}"
    names_it = aws.role(
        aws.central, "names-the-notifier", {**LAMBDA_TRUST, "Principal": {"AWS": notifier_role}}
    )
    names_the_account = aws.role(
        aws.central, "names-the-account", {**LAMBDA_TRUST, "Principal": {"AWS": aws.central}}
    )

    with enforced() as iam, trust_enforced():
        aws.assume(names_it, notifier)
        with pytest.raises(ClientError) as refused:
            aws.assume(names_the_account, notifier)

    assert refusal(refused)[0] == "AccessDenied"
    assert [(d.resource, d.allowed, d.statement) for d in iam.decisions] == [
        (names_it, True, "trust-policy:#0"),
        (names_the_account, False, None),
    ]


# ---------------------------------------------------------------- the evaluator (no moto)

CALLER = Principal(
    session_arn("111111111111", "reader", "s1"), "arn:aws:iam::111111111111:role/reader", "111111111111"
)


def trusted(principal: Any, **context: str) -> tuple[bool, bool]:
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    evaluation = evaluate_trust(
        policy(statement), CALLER, assume_role_context(CALLER, None, "s1", None) | context
    )
    return evaluation.allowed, evaluation.direct


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        ("*", (True, True)),
        ({"AWS": "*"}, (True, True)),
        ({"AWS": "111111111111"}, (True, False)),  # the account: "delegates authority to the account"
        ({"AWS": "arn:aws:iam::111111111111:root"}, (True, False)),
        ({"AWS": "arn:aws:iam::111111111111:role/reader"}, (True, True)),  # IAM role principal
        ({"AWS": session_arn("111111111111", "reader", "s1")}, (True, True)),  # assumed-role session
        ({"AWS": ["222222222222", "arn:aws:iam::111111111111:role/reader"]}, (True, True)),  # OR-ed
        ({"AWS": "222222222222"}, (False, False)),
        ({"AWS": "arn:aws:iam::111111111111:role/writer"}, (False, False)),
        ({"Service": "lambda.amazonaws.com"}, (False, False)),
        ({"Federated": "accounts.google.com"}, (False, False)),
    ],
)
def test_principals_name_the_caller_as_the_principal_element_page_describes(
    principal: Any, expected: tuple[bool, bool]
) -> None:
    assert trusted(principal) == expected


def test_the_request_context_of_an_assume_role() -> None:
    context = assume_role_context(CALLER, "o-abcdefghij", "s1", "ext")

    assert context == {
        "aws:PrincipalArn": "arn:aws:iam::111111111111:role/reader",  # the role's ARN, not the session's
        "aws:PrincipalAccount": "111111111111",
        "aws:PrincipalOrgID": "o-abcdefghij",
        "sts:RoleSessionName": "s1",
        "sts:ExternalId": "ext",
    }
    assert set(assume_role_context(CALLER, None, "s1", None)) == {
        "aws:PrincipalArn",
        "aws:PrincipalAccount",
        "sts:RoleSessionName",
    }


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "NotPrincipal": {"AWS": "111111111111"}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole", "Resource": "*"},
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111111111111:role/*"},
            "Action": "sts:AssumeRole",
        },
        {"Effect": "Allow", "Principal": {"Group": "admins"}, "Action": "sts:AssumeRole"},
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "sts:AssumeRole",
            "Condition": {"StringNotEquals": {"sts:ExternalId": "x"}},
        },
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "sts:AssumeRole",
            "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        },
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "sts:AssumeRole",
            "Condition": {"ForAnyValue:StringLike": {"aws:TagKeys": "x"}},
        },
    ],
)
def test_what_role_trust_does_not_model_fails_loudly(statement: dict[str, Any]) -> None:
    with pytest.raises(PolicyError):
        evaluate_trust(policy(statement), CALLER, assume_role_context(CALLER, None, "s1", None))
