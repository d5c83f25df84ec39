"""From what was measured here to what it would take and cost on AWS: stated assumptions only.

Durations: the emulator answers in microseconds-to-milliseconds of CPU, AWS in tens of
milliseconds of network, so a run's modelled Lambda duration is its own computing (the time no
call was in flight, scaled to a 512 MB function's CPU share) plus each call's assumed latency,
with S3 reads divided by the concurrency the function actually used.

Prices: us-east-1 list prices as we know them (2025), not fetched; check the pricing pages.

Issue 16 (bench/org_model.py) adds the prices and service quotas an Organization's night meets
(`ORG_PRICES`, `QUOTAS`): quotas vary by region and account and cannot be checked offline, so each
is labelled with where to check it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

FUNCTION_MEMORY_GB = 0.5
LAMBDA_FULL_VCPU_MB = 1769
CPU_FACTOR = LAMBDA_FULL_VCPU_MB / 512
"""A 512 MB function gets 512/1,769 of a vCPU; we assume one core here ~ one Lambda vCPU."""


def cpu_factor(memory_mb: int) -> float:
    """Compute measured here x this = compute on a `memory_mb` function (CPU share ~ memory)."""
    return LAMBDA_FULL_VCPU_MB / memory_mb


LATENCY_SECONDS: dict[str, float] = {
    "ssm:ListCommands": 0.060,
    "ssm:ListCommandInvocations": 0.120,
    "ssm:GetCommandInvocation": 0.040,
    "ssm:DescribeInstanceInformation": 0.080,
    "s3:ListObjectsV2": 0.040,
    "s3:GetObject": 0.020,
    "s3:PutObject": 0.030,
    "ec2:DescribeInstances": 0.150,
    "sns:Publish": 0.025,
    "dynamodb:PutItem": 0.008,
    "dynamodb:UpdateItem": 0.008,
    "dynamodb:GetItem": 0.006,
    "dynamodb:DeleteItem": 0.008,
    "dynamodb:Query": 0.010,
    "dynamodb:BatchWriteItem": 0.025,
    # Issue 16, the central role's first message of a member account (as we know them, not measured):
    # STS's regional endpoint; Organizations has one endpoint (us-east-1), so from another region
    # each DescribeOrganization is a cross-region round trip.
    "sts:AssumeRole": 0.100,
    "sts:GetCallerIdentity": 0.030,
    "organizations:DescribeOrganization": 0.150,
}
DEFAULT_LATENCY_SECONDS = 0.050
BATCH_WRITE_ITEMS = 25
"""A BatchWriteItem is priced as its most: 25 items, one write unit each (<= 1 KB); a Query page
as one read unit (a scope of many instances reads more: its records are ~200 bytes each)."""
S3_BYTES_PER_SECOND = 90e6
"""One GetObject stream's throughput into Lambda, on top of its first-byte latency."""

PRICES: dict[str, float] = {
    "lambda_gb_second": 0.0000166667,
    "lambda_request": 0.20 / 1e6,
    "s3_get": 0.0004 / 1000,
    "s3_put_list": 0.005 / 1000,
    "kms_request": 0.03 / 10_000,
    "sns_publish_64kib": 0.50 / 1e6,
    "sns_email": 2.00 / 100_000,
    "dynamodb_wru": 0.625 / 1e6,
    "dynamodb_rru": 0.125 / 1e6,
    "logs_ingest_gb": 0.50,
}
PRICE_NOTES: dict[str, str] = {
    "lambda_gb_second": "Lambda x86_64, per GB-second (arm64: $0.0000133334)",
    "lambda_request": "Lambda, per request",
    "s3_get": "S3 Standard GET (a 404 is billed too)",
    "s3_put_list": "S3 Standard PUT, LIST",
    "kms_request": "KMS request: upper bound of one Decrypt per SSE-KMS GET (bucket keys cut this)",
    "sns_publish_64kib": "SNS publish, per 64 KiB chunk of payload",
    "sns_email": "SNS e-mail delivery (SQS and Lambda deliveries: no charge)",
    "dynamodb_wru": "DynamoDB on-demand write request unit (after the Nov 2024 cut)",
    "dynamodb_rru": "DynamoDB on-demand read request unit",
    "logs_ingest_gb": "CloudWatch Logs ingestion, per GB (the function's own logs)",
}
FREE = "SSM List*/Get* and EC2 Describe* API calls, and aws.ssm events on the default bus: no charge"


@dataclass(frozen=True)
class Usage:
    """What one handler run (or one baseline) consumed, as counted."""

    operations: Mapping[str, int]
    get_bytes: int
    publish_bytes: tuple[int, ...]
    emails: int
    compute_seconds: float
    """Time with no call in flight, measured here."""
    read_concurrency: int
    log_bytes: int = 0
    lambda_invocations: int = 1


def modelled_seconds(usage: Usage, memory_mb: int = 512) -> float:
    """Lambda duration on AWS under the assumptions above, for a `memory_mb` function."""
    serial = 0.0
    reads = 0.0
    for operation, count in usage.operations.items():
        latency = LATENCY_SECONDS.get(operation, DEFAULT_LATENCY_SECONDS) * count
        if operation == "s3:GetObject":
            reads += latency
        else:
            serial += latency
    reads += usage.get_bytes / S3_BYTES_PER_SECOND
    compute = usage.compute_seconds * cpu_factor(memory_mb)
    return compute + serial + reads / max(1, usage.read_concurrency)


def cost_lines(
    usage: Usage, seconds: float | None, memory_gb: float = FUNCTION_MEMORY_GB
) -> dict[str, float]:
    """Dollar cost by line item for one run (`seconds` None: no Lambda, e.g. SSM native)."""
    ops = Counter(usage.operations)
    lines: dict[str, float] = {}
    if seconds is not None:
        billed = math.ceil(seconds * 1000) / 1000
        lines["Lambda duration"] = billed * memory_gb * PRICES["lambda_gb_second"]
        lines["Lambda requests"] = usage.lambda_invocations * PRICES["lambda_request"]
    lines["S3 GET"] = ops["s3:GetObject"] * PRICES["s3_get"]
    lines["S3 LIST/PUT"] = (ops["s3:ListObjectsV2"] + ops["s3:PutObject"]) * PRICES["s3_put_list"]
    lines["KMS (upper bound)"] = ops["s3:GetObject"] * PRICES["kms_request"]
    chunks = sum(max(1, math.ceil(size / 65_536)) for size in usage.publish_bytes)
    lines["SNS publish"] = chunks * PRICES["sns_publish_64kib"]
    lines["SNS e-mail"] = usage.emails * PRICES["sns_email"]
    writes = ops["dynamodb:PutItem"] + ops["dynamodb:UpdateItem"] + ops["dynamodb:DeleteItem"]
    # History: a BatchWriteItem as its most (25 items of <= 1 KB), a Query page as one read unit.
    writes += ops["dynamodb:BatchWriteItem"] * BATCH_WRITE_ITEMS
    reads = ops["dynamodb:GetItem"] + ops["dynamodb:Query"]
    lines["DynamoDB"] = writes * PRICES["dynamodb_wru"] + reads * PRICES["dynamodb_rru"]
    lines["CloudWatch Logs"] = usage.log_bytes / 1e9 * PRICES["logs_ingest_gb"]
    return lines


# --- issue 16: across an AWS Organization -----------------------------------------------------------

ORG_PRICES: dict[str, float] = {
    "eventbridge_cross_account_event": 1.00 / 1e6,
    "inter_region_gb": 0.02,
}
ORG_PRICE_NOTES: dict[str, str] = {
    "eventbridge_cross_account_event": "EventBridge: an event delivered to another account's bus, per event "
    "(the custom-event price)",
    "inter_region_gb": "Data transfer between two regions, per GB (some region pairs differ)",
}
"""Assumptions, as we know them: check the EventBridge and EC2 (data transfer) pricing pages."""
ORG_FREE = (
    "sts:AssumeRole and sts:GetCallerIdentity, organizations:DescribeOrganization, SSM and EC2 reads, "
    "and aws.ssm events on a member's default bus: no charge (as we know it)"
)
CROSS_REGION_SECONDS = 0.080
"""Added to each call when the function and what it calls are in different regions: one round trip
between e.g. eu-west-2 and us-east-1 (as we know it; neighbouring regions are closer)."""


@dataclass(frozen=True)
class Quota:
    """A service limit the Organization's night runs into, as we know it: not verifiable offline."""

    name: str
    value: float
    unit: str
    note: str


QUOTAS: dict[str, Quota] = {
    "lambda_concurrency": Quota(
        "Lambda concurrent executions, per account and region",
        1000,
        "in flight",
        "default quota, raisable (assumption, check Service Quotas)",
    ),
    "lambda_scaling": Quota(
        "Lambda scaling, per function",
        1000,
        "more in flight every 10 s",
        "as we know it since 2023 (assumption, check the Lambda developer guide)",
    ),
    "eventbridge_put_events_low": Quota(
        "EventBridge PutEvents, smallest regions",
        400,
        "events/s",
        "region-specific, 10,000/s in the largest (assumption, check Service Quotas)",
    ),
    "eventbridge_invocations_low": Quota(
        "EventBridge invocations (rule targets), smallest regions",
        750,
        "invocations/s",
        "region-specific, 18,750/s in the largest (assumption, check Service Quotas)",
    ),
    "sns_publish_low": Quota(
        "SNS Publish, standard topic, smaller regions",
        1500,
        "messages/s",
        "region-specific, 30,000/s in us-east-1 (assumption, check Service Quotas)",
    ),
    "sns_message_bytes": Quota(
        "SNS message size", 262_144, "bytes", "256 KiB, not raisable (SNS developer guide)"
    ),
    "sts_requests": Quota(
        "STS requests, per account and region",
        600,
        "requests/s",
        "as we know it; every AssumeRole is the central account's (assumption, check the IAM user guide)",
    ),
    "kms_crypto_low": Quota(
        "KMS cryptographic requests (Decrypt), per account and region",
        5500,
        "requests/s",
        "shared by symmetric operations, 10,000-50,000/s in larger regions "
        "(assumption, check Service Quotas)",
    ),
}
