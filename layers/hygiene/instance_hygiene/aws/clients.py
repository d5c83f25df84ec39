"""The AWS clients the functions use: one retry and timeout configuration, built lazily, one per region.

Throttling and 5xx are retried with backoff (botocore's standard mode; its adaptive mode, which
also slows the client down, is documented as experimental and nothing here measured a need); bounded
timeouts keep one hung connection from eating the time the digest needs. Nothing is built at import
time; `clear_cache()` forgets every client (tests that swap the endpoint or credentials call it).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_ssm import SSMClient

RETRIES = Config(
    retries={"mode": "standard", "max_attempts": 8},
    max_pool_connections=32,
    connect_timeout=5,
    read_timeout=20,
)


@dataclass(frozen=True)
class Clients:
    """What notify_command reads and writes with."""

    ssm: SSMClient
    s3: S3Client
    ec2: EC2Client
    sns: SNSClient
    iam: IAMClient | None = None
    """Only for the account's alias (optional: without it the message names the account by id)."""
    dynamodb: DynamoDBClient | None = None
    """The history table's (None: history off)."""


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


def command_clients(region: str | None = None) -> Clients:
    """Clients for one event region: the command and its instances are read where they ran (an event
    routed from another region's bus names that region); the bucket and topic are the function's own."""
    return Clients(ssm=ssm(region), s3=s3(), ec2=ec2(region), sns=sns(), iam=iam(), dynamodb=dynamodb())


def deploy_s3() -> S3Client:
    """The deploy-time function's client (a custom resource runs once: the SDK's defaults, uncached)."""
    return boto3.client("s3")


_CACHED = (ssm, ec2, s3, sns, iam, dynamodb)
"""The caches themselves (a test may replace the module's factories while one is held)."""


def clear_cache() -> None:
    """Forget every client built so far."""
    for factory in _CACHED:
        factory.cache_clear()
