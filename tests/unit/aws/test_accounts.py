"""Whose credentials read an event (aws/accounts.py): the function's own for its own account, the
member role's for another account of the organization in central role, nobody's otherwise.

moto plays the accounts in this process: its sts:AssumeRole into `arn:aws:iam::<B>:role/<name>`
returns credentials that moto serves as account B (moto's documentation, "Multi-account support"),
and Organizations' create_account makes B a member whose DescribeOrganization names A's
organization. moto grants every AssumeRole, so STS's AccessDenied (and Organizations'
AccessDeniedException) are stubbed with botocore's Stubber, which checks each request and
response against botocore's model, on the client the factory hands out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import boto3
import pytest
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from instance_hygiene.aws import clients
from instance_hygiene.aws.accounts import (
    AccountRejected,
    Function,
    RoleNotAssumed,
    event_clients,
    member_role,
    scoped_key,
)
from instance_hygiene.aws.clients import MEMBERSHIP_SECONDS, SESSION_SECONDS, Clients
from instance_hygiene.settings import NotifierSettings

OWN = "123456789012"
"""moto's default account: the one the test credentials (and so the function) are in."""
REGION = "eu-west-2"
MEMBER_REGION = "eu-west-1"
EXTERNAL_ID = "hygiene-2f6c1e"
FUNCTION = Function.of_arn(f"arn:aws:lambda:{REGION}:{OWN}:function:hygiene-CommandFailedFunction-1A2B3C4D")
STRANGER = "210987654321"
"""An account outside any organization unless a test puts it in one."""
ABOUT = "command 0b4f2a9c-1d2e-4f30-8a1b-2c3d4e5f6071"
ROLE_NAME = "instance-hygiene-member-read"
"""MEMBER_ROLE_NAME: what each member stack's role is named after."""
MEMBER_ROLE = f"{ROLE_NAME}-{MEMBER_REGION}"
"""The role the member stack of MEMBER_REGION makes: <MemberRoleName>-<region>."""
ACCESS_DENIED_MESSAGE = (
    # The shape of STS's answer (IAM user guide, "Troubleshoot IAM roles"; HackTricks' page on
    # unauthenticated IAM enumeration quotes it in full).
    f"User: arn:aws:sts::{OWN}:assumed-role/hygiene-CommandFailedFunctionRole/instance-hygiene-x is not "
    "authorized to perform: sts:AssumeRole on resource: arn:aws:iam::210987654321:role/" + MEMBER_ROLE
)


def settings(organization_id: str = "o-a1b2c3d4e5", **changes: Any) -> NotifierSettings:
    base = NotifierSettings(
        topic_arn=f"arn:aws:sns:{REGION}:{OWN}:hygiene-notifications",
        idempotency_table="idempotency",
        report_bucket="logs",
        report_prefix="reports/",
        deployment_role="central",
        organization_id=organization_id,
        member_external_id=EXTERNAL_ID,
    )
    return replace(base, **changes)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in this process, the function's region and test credentials, no client kept."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    clients.clear_cache()
    with mock_aws():
        yield
    clients.clear_cache()


def session_in(account: str) -> boto3.Session:
    """A session acting in `account` (moto's AssumeRole), for the test's own setup."""
    credentials = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="setup"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=MEMBER_REGION,
    )


@dataclass(frozen=True)
class Organization:
    id: str
    member: str
    """An account of the organization, with the member role."""


@pytest.fixture
def organization(aws: None) -> Organization:
    organizations = boto3.client("organizations")
    organization_id = organizations.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    member = organizations.create_account(AccountName="member", Email="member@example.com")[
        "CreateAccountStatus"
    ]["AccountId"]
    session_in(member).client("iam").create_role(
        RoleName=MEMBER_ROLE,
        AssumeRolePolicyDocument=(
            '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", '
            f'"Principal": {{"AWS": "arn:aws:iam::{OWN}:root"}}, '
            f'"Condition": {{"StringEquals": {{"sts:ExternalId": "{EXTERNAL_ID}"}}}}}}]}}'
        ),
    )
    return Organization(organization_id, member)


def assume_role_calls() -> list[dict[str, Any]]:
    """The parameters of every AssumeRole the function's own STS client sends from now on."""
    calls: list[dict[str, Any]] = []
    clients.sts().meta.events.register(
        "provide-client-params.sts.AssumeRole", lambda params, **_: calls.append(dict(params))
    )
    return calls


def accounts_log(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "instance_hygiene.aws.accounts"]


# ------------------------------------------------------------------ the function itself


@pytest.mark.parametrize(
    ("arn", "partition", "account", "name"),
    [
        (f"arn:aws:lambda:{REGION}:{OWN}:function:hygiene-fn", "aws", OWN, "hygiene-fn"),
        (f"arn:aws:lambda:{REGION}:{OWN}:function:hygiene-fn:live", "aws", OWN, "hygiene-fn"),
        (f"arn:aws-us-gov:lambda:us-gov-west-1:{OWN}:function:fn", "aws-us-gov", OWN, "fn"),
    ],
)
def test_the_function_is_known_by_its_invoked_arn(arn: str, partition: str, account: str, name: str) -> None:
    assert Function.of_arn(arn) == Function(partition=partition, account=account, name=name)


def test_an_arn_that_is_no_function_is_refused() -> None:
    with pytest.raises(ValueError, match="not a Lambda function ARN"):
        Function.of_arn(f"arn:aws:iam::{OWN}:role/hygiene")


def test_the_session_name_is_the_function_name_in_stss_characters_and_length() -> None:
    # botocore's sts model: RoleSessionName is 2 to 64 of [\w+=,.@-].
    long = Function(partition="aws", account=OWN, name="hygiene_" + "x" * 80)

    assert FUNCTION.session_name() == "instance-hygiene-hygiene-CommandFailedFunction-1A2B3C4D"
    assert len(long.session_name()) == 64
    assert long.session_name().startswith("instance-hygiene-hygiene_x")


def test_the_member_role_is_named_in_the_functions_partition_and_the_events_account() -> None:
    gov = Function(partition="aws-us-gov", account=OWN, name="fn")

    role = member_role(settings(), gov, "210987654321", "us-gov-west-1")

    assert role.arn == f"arn:aws-us-gov:iam::210987654321:role/{ROLE_NAME}-us-gov-west-1"
    assert role.external_id == EXTERNAL_ID
    assert role.assume_role_params() == {
        "RoleArn": role.arn,
        "RoleSessionName": "instance-hygiene-fn",
        "DurationSeconds": SESSION_SECONDS,
        "ExternalId": EXTERNAL_ID,
    }


def test_without_an_external_id_none_is_sent() -> None:
    role = member_role(settings(member_external_id=None), FUNCTION, "210987654321", MEMBER_REGION)

    assert "ExternalId" not in role.assume_role_params()


def test_the_session_lasts_the_hour_role_chaining_allows_and_outlives_any_lambda_timeout() -> None:
    # botocore's sts model, AssumeRole DurationSeconds: at least 900; role chaining, at most 3600.
    # RefreshableCredentials refresh 15 minutes before expiry; Lambda's timeout is at most 15 minutes.
    assert 900 <= SESSION_SECONDS <= 3600
    assert SESSION_SECONDS >= 15 * 60 + 15 * 60


# ------------------------------------------------------------------ the choice


@pytest.mark.parametrize("role", ["single", "member", "central"])
def test_given_an_event_of_the_functions_own_account_then_its_own_clients_read_it_in_the_events_region(
    aws: None, role: str
) -> None:
    access = event_clients(
        settings(deployment_role=role), FUNCTION, account=OWN, region=MEMBER_REGION, about=ABOUT
    )

    assert isinstance(access, Clients)
    assert access.member is None
    assert access.ssm is clients.ssm(MEMBER_REGION)
    assert access.ec2 is clients.ec2(MEMBER_REGION)
    assert access.logs is access.s3 is clients.s3()
    assert clients.sts.cache_info().currsize == 0, "no STS call: the invoked ARN names the account"


def test_given_an_emulators_placeholder_arn_then_the_credentials_account_is_the_own_one(aws: None) -> None:
    # The Lambda Runtime Interface Emulator (sam local invoke) names account 012345678912 in every
    # invoked ARN; the function's credentials (moto's default account here) name the real one.
    emulated = Function(partition="aws", account="012345678912", name="CommandFailedFunction")
    key = {"command_id": "0b4f2a9c-1d2e-4f30-8a1b-2c3d4e5f6071", "status": "Failed"}

    access = event_clients(
        settings(deployment_role="single"), emulated, account=OWN, region=REGION, about=ABOUT
    )

    assert isinstance(access, Clients)
    assert access.member is None
    assert scoped_key(key, function=emulated, account=OWN, region=REGION) == key


@pytest.mark.parametrize("role", ["single", "member"])
def test_given_another_accounts_event_outside_the_central_role_then_it_is_rejected_in_one_log_line(
    aws: None, role: str, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(AccountRejected) as rejected:
        event_clients(
            settings(deployment_role=role), FUNCTION, account=STRANGER, region=MEMBER_REGION, about=ABOUT
        )

    (line,) = accounts_log(caplog)
    assert line == str(rejected.value)
    assert f"account 210987654321, region {MEMBER_REGION}, {ABOUT}: " in line
    assert f"DEPLOYMENT_ROLE is {role}, not central" in line
    assert clients.member_session.cache_info().currsize == 0, "nothing assumed, nothing read"


def test_given_a_member_accounts_event_in_central_role_then_the_member_role_reads_it_in_its_region(
    organization: Organization,
) -> None:
    member = session_in(organization.member)
    member.client("ssm").put_parameter(Name="/where", Value="member", Type="String")
    member.client("s3").create_bucket(
        Bucket="member-logs", CreateBucketConfiguration={"LocationConstraint": MEMBER_REGION}
    )
    calls = assume_role_calls()

    access = event_clients(
        settings(organization.id), FUNCTION, account=organization.member, region=MEMBER_REGION, about=ABOUT
    )

    assert isinstance(access, Clients)
    assert access.member == f"{organization.member}/{MEMBER_REGION}"
    assert calls == [
        {
            "RoleArn": f"arn:aws:iam::{organization.member}:role/{MEMBER_ROLE}",
            "RoleSessionName": FUNCTION.session_name(),
            "DurationSeconds": SESSION_SECONDS,
            "ExternalId": EXTERNAL_ID,
        }
    ]
    # The reads are the member's, in the event's region ...
    assert access.ssm.meta.region_name == MEMBER_REGION
    assert access.ssm.get_parameter(Name="/where")["Parameter"]["Value"] == "member"
    assert [b["Name"] for b in access.logs.list_buckets()["Buckets"]] == ["member-logs"]
    role = member_role(settings(organization.id), FUNCTION, organization.member, MEMBER_REGION)
    identity = clients.member_session(role).client("sts").get_caller_identity()
    assert identity["Arn"] == (
        f"arn:aws:sts::{organization.member}:assumed-role/{MEMBER_ROLE}/{FUNCTION.session_name()}"
    )
    assert isinstance(clients.member_session(role).get_credentials(), RefreshableCredentials)
    # ... the writes the function's own.
    assert access.s3 is clients.s3()
    assert access.sns is clients.sns()
    assert access.dynamodb is clients.dynamodb()
    assert [b["Name"] for b in access.s3.list_buckets()["Buckets"]] == []


def test_each_region_s_member_role_is_assumed_once_per_container(
    organization: Organization,
) -> None:
    calls = assume_role_calls()
    chosen = settings(organization.id)

    first = event_clients(chosen, FUNCTION, account=organization.member, region=MEMBER_REGION, about=ABOUT)
    again = event_clients(chosen, FUNCTION, account=organization.member, region=MEMBER_REGION, about=ABOUT)
    elsewhere = event_clients(chosen, FUNCTION, account=organization.member, region="us-east-1", about=ABOUT)

    # One member stack per account and Region, each with its own role (<MemberRoleName>-<region>).
    assert [c["RoleArn"] for c in calls] == [
        f"arn:aws:iam::{organization.member}:role/{ROLE_NAME}-{MEMBER_REGION}",
        f"arn:aws:iam::{organization.member}:role/{ROLE_NAME}-us-east-1",
    ]
    assert first is again
    assert isinstance(elsewhere, Clients)
    assert elsewhere.ssm.meta.region_name == "us-east-1"
    assert elsewhere.member == f"{organization.member}/us-east-1"


def test_the_members_organization_is_asked_once_an_hour_per_container(
    organization: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = settings(organization.id)
    role = member_role(chosen, FUNCTION, organization.member, MEMBER_REGION)
    asked: list[str] = []
    clients.member_organizations(role).meta.events.register(
        "provide-client-params.organizations.DescribeOrganization", lambda **_: asked.append("asked")
    )
    clock = [1_000.0]
    monkeypatch.setattr(clients, "_now", lambda: clock[0])

    def read() -> Clients | RoleNotAssumed:
        return event_clients(chosen, FUNCTION, account=organization.member, region=MEMBER_REGION, about=ABOUT)

    for _ in range(3):  # a night's two commands and window execution in one warm container
        assert isinstance(read(), Clients)
    clock[0] += MEMBERSHIP_SECONDS - 1
    read()
    assert len(asked) == 1
    clock[0] += 1
    read()
    assert len(asked) == 2, "asked again once the hour is up"


def test_given_an_account_of_another_organization_then_it_is_rejected_and_nothing_else_is_read(
    organization: Organization, caplog: pytest.LogCaptureFixture
) -> None:
    stranger = STRANGER
    theirs = session_in(stranger).client("organizations").create_organization(FeatureSet="ALL")
    their_id = theirs["Organization"]["Id"]

    with pytest.raises(AccountRejected, match=f"in organization {their_id}, not {organization.id}"):
        event_clients(
            settings(organization.id), FUNCTION, account=stranger, region=MEMBER_REGION, about=ABOUT
        )

    (line,) = accounts_log(caplog)
    assert f"account {stranger}, region {MEMBER_REGION}, {ABOUT}: " in line
    assert clients.member_clients.cache_info().currsize == 0, "no reading client was built"


def test_given_an_account_in_no_organization_then_it_is_rejected(
    organization: Organization, caplog: pytest.LogCaptureFixture
) -> None:
    # botocore's organizations model: DescribeOrganization raises AWSOrganizationsNotInUseException.
    with pytest.raises(AccountRejected, match="AWSOrganizationsNotInUseException"):
        event_clients(
            settings(organization.id), FUNCTION, account="310987654321", region=MEMBER_REGION, about=ABOUT
        )

    assert len(accounts_log(caplog)) == 1
    assert clients.member_clients.cache_info().currsize == 0


def stubbed(service: str) -> tuple[Any, Stubber]:
    client = boto3.client(
        service, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x", aws_session_token="x"
    )
    return client, Stubber(client)


def test_given_the_member_organization_cannot_be_read_then_the_account_is_rejected(
    aws: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Stubbed: moto lets any credentials describe the organization. The member role's client is the
    # one the factory hands out; the error is botocore's organizations model's.
    organizations, stub = stubbed("organizations")
    stub.add_client_error("describe_organization", "AccessDeniedException", "not allowed", 400)
    monkeypatch.setattr(clients, "member_organizations", lambda _role: organizations)

    with stub, pytest.raises(AccountRejected, match="could not be read \\(AccessDeniedException\\)"):
        event_clients(settings(), FUNCTION, account=STRANGER, region=MEMBER_REGION, about=ABOUT)

    assert len(accounts_log(caplog)) == 1
    stub.assert_no_pending_responses()


def own_identity(stub: Stubber) -> None:
    """GetCallerIdentity's answer for the function's own role (botocore's sts model)."""
    stub.add_response(
        "get_caller_identity",
        {
            "UserId": "AROAEXAMPLEID:instance-hygiene-fn",
            "Account": OWN,
            "Arn": f"arn:aws:sts::{OWN}:assumed-role/hygiene-CommandFailedFunctionRole/fn",
        },
    )


def deny_assume_role(monkeypatch: pytest.MonkeyPatch, times: int = 1) -> Stubber:
    """The function's own STS client answers AssumeRole with AccessDenied (stubbed: moto grants
    every AssumeRole; the code and message are STS's, see ACCESS_DENIED_MESSAGE)."""
    sts, stub = stubbed("sts")
    role = member_role(settings(), FUNCTION, STRANGER, MEMBER_REGION)
    own_identity(stub)
    for _ in range(times):
        stub.add_client_error(
            "assume_role",
            "AccessDenied",
            ACCESS_DENIED_MESSAGE,
            403,
            expected_params=role.assume_role_params(),
        )
    stub.activate()
    monkeypatch.setattr(clients, "sts", lambda: sts)
    return stub


def test_given_the_member_role_cannot_be_assumed_then_the_notification_path_is_chosen(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    clients.clear_cache()
    stub = deny_assume_role(monkeypatch)

    access = event_clients(settings(), FUNCTION, account=STRANGER, region=MEMBER_REGION, about=ABOUT)

    assert access == RoleNotAssumed(
        account=STRANGER,
        region=MEMBER_REGION,
        role_name=MEMBER_ROLE,
        organization_id="o-a1b2c3d4e5",
        code="AccessDenied",
        message=ACCESS_DENIED_MESSAGE,
    )
    (line,) = accounts_log(caplog)
    assert f"member role not assumed: account 210987654321, region {MEMBER_REGION}, {ABOUT}" in line
    stub.assert_no_pending_responses()


def test_a_denied_role_is_not_remembered_the_next_event_tries_again(monkeypatch: pytest.MonkeyPatch) -> None:
    clients.clear_cache()
    stub = deny_assume_role(monkeypatch, times=2)

    for _ in range(2):
        access = event_clients(settings(), FUNCTION, account=STRANGER, region=MEMBER_REGION, about=ABOUT)
        assert isinstance(access, RoleNotAssumed)

    stub.assert_no_pending_responses()
    clients.clear_cache()


def test_another_sts_error_is_raised_for_a_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    # botocore's sts model: RegionDisabledException (STS not activated in the region).
    clients.clear_cache()
    sts, stub = stubbed("sts")
    own_identity(stub)
    stub.add_client_error("assume_role", "RegionDisabledException", "STS is not activated", 403)
    monkeypatch.setattr(clients, "sts", lambda: sts)

    with stub, pytest.raises(ClientError, match="RegionDisabledException"):
        event_clients(settings(), FUNCTION, account=STRANGER, region=MEMBER_REGION, about=ABOUT)
    clients.clear_cache()


def test_what_the_notification_says_when_the_role_cannot_be_assumed() -> None:
    denied = RoleNotAssumed(
        account=STRANGER,
        region=MEMBER_REGION,
        role_name=MEMBER_ROLE,
        organization_id="o-a1b2c3d4e5",
        code="AccessDenied",
        message=ACCESS_DENIED_MESSAGE + " (aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY)",
    )

    unread = denied.unread()

    assert unread.reason.startswith(
        f"The member role {MEMBER_ROLE} in account 210987654321 could not be assumed (AccessDenied: User: "
    )
    assert "not authorized to perform: sts:AssumeRole" in unread.reason
    assert "wJalrXUtnFEMI" not in unread.reason, "redacted like every text"
    assert unread.next_step == (
        f"Deploy the member stack in account 210987654321, region {MEMBER_REGION}, with OrganizationId "
        "o-a1b2c3d4e5 and this stack's ExternalId and MemberRoleName "
        f"(the role it makes there is {MEMBER_ROLE})."
    )


# ------------------------------------------------------------------ idempotency keys


def test_the_idempotency_key_of_the_own_account_is_unchanged_and_another_accounts_carries_it(
    aws: None,
) -> None:
    key = {"command_id": "0b4f2a9c-1d2e-4f30-8a1b-2c3d4e5f6071", "status": "Failed"}

    assert scoped_key(key, function=FUNCTION, account=OWN, region=REGION) == key
    assert scoped_key(key, function=FUNCTION, account=STRANGER, region=MEMBER_REGION) == {
        **key,
        "account": "210987654321",
        "region": MEMBER_REGION,
    }
