"""The AWS clients the functions use: one retry and timeout configuration, built lazily, one per region.

Throttling and 5xx are retried with backoff (botocore's standard mode; its adaptive mode, which
also slows the client down, is documented as experimental and nothing here measured a need); bounded
timeouts keep one hung connection from eating the time the digest needs. Nothing is built at import
time; `clear_cache()` forgets every client (tests that swap the endpoint or credentials call it).

A member account's event (central role, aws/accounts.py) is read with the member role's
credentials: `member_clients` assumes the role once per warm container and account (the
session's RefreshableCredentials call AssumeRole again before they expire) and builds the
reading clients in the event's region; `member_organization_id` asks the account's Organization
once an hour. What the function writes (topic, tables, reports) stays its own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import (
    CredentialProvider,
    CredentialResolver,
    RefreshableCredentials,
    create_assume_role_refresher,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_sts import STSClient

RETRIES = Config(
    retries={"mode": "standard", "max_attempts": 8},
    max_pool_connections=32,
    connect_timeout=5,
    read_timeout=20,
)


@dataclass(frozen=True)
class Clients:
    """What notify_command reads and writes with: `ssm`, `ec2`, `iam` and `logs` read the event's
    account (the member role's for another account); `s3`, `sns` and `dynamodb` are the function's
    own (its reports bucket, topic and tables)."""

    ssm: SSMClient
    s3: S3Client
    """The function's own: the full reports it writes."""
    logs: S3Client
    """Reads the command's logs in its output bucket (the event's account)."""
    ec2: EC2Client
    sns: SNSClient
    iam: IAMClient | None = None
    """Only for the account's alias (optional: without it the message names the account by id)."""
    dynamodb: DynamoDBClient | None = None
    """The history table's (None: history off)."""
    member: str | None = None
    """`<account>/<region>` when the reading clients are a member account's (central role): history
    scopes carry it, so that accounts sharing the tables never meet. None for the function's own."""


@cache
def ssm(region: str | None = None) -> SSMClient:
    return boto3.client("ssm", region_name=region, config=RETRIES)


@cache
def ec2(region: str | None = None) -> EC2Client:
    return boto3.client("ec2", region_name=region, config=RETRIES)


@cache
def s3() -> S3Client:
    return boto3.client("s3", config=RETRIES)


@cache
def sns() -> SNSClient:
    return boto3.client("sns", config=RETRIES)


@cache
def iam() -> IAMClient:
    """IAM is global: one client, whatever the event's region."""
    return boto3.client("iam", config=RETRIES)


@cache
def dynamodb() -> DynamoDBClient:
    """The idempotency store's and the history's client."""
    return boto3.client("dynamodb", config=RETRIES)


@cache
def sts() -> STSClient:
    """The function's own, in its region (botocore's default STS endpoint is the regional one)."""
    return boto3.client("sts", config=RETRIES)


@cache
def caller_account() -> str:
    """The account of the function's own credentials (sts:GetCallerIdentity, which needs no
    permission), once per container."""
    return sts().get_caller_identity()["Account"]


def command_clients(region: str | None = None) -> Clients:
    """Clients for one event region: the command and its instances are read where they ran (an event
    routed from another region's bus names that region); the bucket and topic are the function's own."""
    return Clients(
        ssm=ssm(region), s3=s3(), logs=s3(), ec2=ec2(region), sns=sns(), iam=iam(), dynamodb=dynamodb()
    )


SESSION_SECONDS = 3600
"""The member role session's DurationSeconds. AssumeRole from the function's own role session is
role chaining, which AWS caps at one hour (botocore's sts model, AssumeRole DurationSeconds); an
hour also covers Lambda's longest timeout (15 minutes) past botocore's refresh windows (a
RefreshableCredentials refreshes when 15 minutes are left and must when 10 are)."""


@dataclass(frozen=True)
class MemberRole:
    """The role to assume in a member account, as sts:AssumeRole is called."""

    arn: str
    session_name: str
    external_id: str | None = None

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]

    def assume_role_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "RoleArn": self.arn,
            "RoleSessionName": self.session_name,
            "DurationSeconds": SESSION_SECONDS,
        }
        if self.external_id:
            params["ExternalId"] = self.external_id
        return params


class _Assumed(CredentialProvider):
    """Hands a botocore session credentials already obtained (the one provider of its resolver)."""

    METHOD = "sts-assume-role"
    CANONICAL_NAME = "instance-hygiene-member-role"

    def __init__(self, credentials: RefreshableCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> RefreshableCredentials:
        return self._credentials


def assumed_session(role: MemberRole) -> boto3.Session:
    """A session signing as `role`, assumed now with the function's own STS client (a denial is
    raised here, before anything is read) and refreshed by botocore before it expires.

    botocore's own refresher for AssumeRole (`create_assume_role_refresher`) feeds
    RefreshableCredentials, handed to the session through a credential resolver of its own (the
    public `register_component`, as the refreshable assume-role sessions of boto/boto3#443 do)."""
    refresh = create_assume_role_refresher(sts(), role.assume_role_params())
    credentials = RefreshableCredentials.create_from_metadata(
        metadata=refresh(), refresh_using=refresh, method=_Assumed.METHOD
    )
    session = botocore.session.Session()
    session.register_component("credential_provider", CredentialResolver(providers=[_Assumed(credentials)]))
    session.register_component("data_loader", _member_loader())
    return boto3.Session(botocore_session=session)


@cache
def _member_loader() -> Any:
    """One botocore loader for every member session: each service model is parsed once per
    container, however many member accounts are read."""
    return botocore.session.Session().get_component("data_loader")


@cache
def member_session(role: MemberRole) -> boto3.Session:
    """`assumed_session(role)`, once per warm container (a failure is not kept: the next event
    tries again)."""
    return assumed_session(role)


@cache
def member_organizations(role: MemberRole) -> Any:
    """Organizations with the member's credentials (Any: the project carries no Organizations stubs)."""
    return member_session(role).client("organizations", config=RETRIES)


MEMBERSHIP_SECONDS = SESSION_SECONDS
"""How long a warm container trusts the Organization a member account was found in before it asks
again: an account that leaves the Organization is refused within the hour, and a night's messages
of one account (two commands and a window execution per Region) make one DescribeOrganization."""

_memberships: dict[MemberRole, tuple[str, float]] = {}
_now = time.monotonic


def member_organization_id(role: MemberRole) -> str:
    """The Organization the member account is in (DescribeOrganization with the member's
    credentials), kept MEMBERSHIP_SECONDS; an error is not kept (the next event asks again)."""
    now = _now()
    known = _memberships.get(role)
    if known is not None and now - known[1] < MEMBERSHIP_SECONDS:
        return known[0]
    found = str(member_organizations(role).describe_organization()["Organization"]["Id"])
    _memberships[role] = (found, now)
    return found


@cache
def member_clients(role: MemberRole, region: str) -> Clients:
    """Clients for an event of the member account in `region`: reads with the member role, writes
    with the function's own clients."""
    session = member_session(role)
    return Clients(
        ssm=session.client("ssm", region_name=region, config=RETRIES),
        s3=s3(),
        logs=session.client("s3", region_name=region, config=RETRIES),
        ec2=session.client("ec2", region_name=region, config=RETRIES),
        sns=sns(),
        iam=session.client("iam", config=RETRIES),
        dynamodb=dynamodb(),
        member=f"{role.account}/{region}",
    )


def deploy_s3() -> S3Client:
    """The deploy-time function's client (a custom resource runs once: the SDK's defaults, uncached)."""
    return boto3.client("s3")


_CACHED = (
    ssm,
    ec2,
    s3,
    sns,
    iam,
    dynamodb,
    sts,
    caller_account,
    member_session,
    member_organizations,
    member_clients,
)
"""The caches themselves (a test may replace the module's factories while one is held)."""


def forget_members() -> None:
    """Forget the member accounts' sessions, clients and Organizations (a new container's state
    for them), keeping the function's own clients."""
    for factory in (member_session, member_organizations, member_clients):
        factory.cache_clear()
    _memberships.clear()


def clear_cache() -> None:
    """Forget every client built so far."""
    for factory in _CACHED:
        factory.cache_clear()
    _memberships.clear()
