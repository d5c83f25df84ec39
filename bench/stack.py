"""The stack's runtime resources, and the real handler loaded as Lambda loads it.

`create_stack()` makes the bucket, idempotency table and topic the function uses, through
whatever boto3 points at (moto in-process, or a stand-in server). Nothing here imports moto, so
a handler process measured on its own (`bench.server_mode`) carries only the function's weight.
"""

from __future__ import annotations

import importlib.util
import os
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3

from local.runtime import create_runtime

ROOT = Path(__file__).resolve().parent.parent
REGION = "eu-west-2"
ACCOUNT = "123456789012"
BUCKET = "instance-hygiene-logbucket-bench"
TABLE = "idempotency"
FUNCTION_TIMEOUT_SECONDS = 300.0
FUNCTION_MEMORY_MB = 512

PRODUCT_ENV = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    # Not in Lambda: X-Ray is off here (the template turns Tracing on; see docs/benchmarks.md).
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "instance-hygiene",
    "POWERTOOLS_METRICS_NAMESPACE": "InstanceHygiene",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "IDEMPOTENCY_TABLE": TABLE,
    "REPORT_BUCKET": BUCKET,
    "REPORT_PREFIX": "reports/",
}


@dataclass
class Stack:
    ssm: Any
    s3: Any
    ec2: Any
    sns: Any
    dynamodb: Any
    topic_arn: str


def create_stack() -> Stack:
    """Bucket, idempotency table and topic, as `sam deploy` makes them (clients from the env)."""
    runtime = create_runtime(
        boto3.client, region=REGION, bucket=BUCKET, table=TABLE, topic="hygiene-notifications", queue=None
    )
    return connect_stack(runtime.topic_arn)


def connect_stack(topic_arn: str) -> Stack:
    """Clients for a stack that already exists (a stand-in served by another process)."""
    os.environ["TOPIC_ARN"] = topic_arn
    return Stack(
        ssm=boto3.client("ssm"),
        s3=boto3.client("s3"),
        ec2=boto3.client("ec2"),
        sns=boto3.client("sns"),
        dynamodb=boto3.client("dynamodb"),
        topic_arn=topic_arn,
    )


def set_product_env() -> None:
    os.environ.update(PRODUCT_ENV)
    os.environ.pop("AWS_ENDPOINT_URL", None)


def forget_idempotency(stack: Stack) -> None:
    """Delete every idempotency record, so the next invocation does the work again."""
    pages = stack.dynamodb.get_paginator("scan").paginate(TableName=TABLE, ProjectionExpression="id")
    for page in pages:
        for item in page.get("Items", []):
            stack.dynamodb.delete_item(TableName=TABLE, Key={"id": item["id"]})


# --- the function --------------------------------------------------------------------------------


def load_function(name: str) -> ModuleType:
    """functions/<name>/app.py imported by path, as the Lambda runtime does."""
    path = ROOT / "functions" / name / "app.py"
    spec = importlib.util.spec_from_file_location(f"bench_functions_{name}_app", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class LambdaContext:
    """What the handler reads from Lambda's context; the clock runs from construction."""

    function_name = "CommandFailedFunction"
    function_version = "$LATEST"
    memory_limit_in_mb = FUNCTION_MEMORY_MB
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:CommandFailedFunction"
    aws_request_id = "c0ffee00-0000-4000-8000-00000000bench"
    log_group_name = "/aws/lambda/CommandFailedFunction"
    log_stream_name = "2026/11/26/[$LATEST]bench"

    def __init__(self, timeout_seconds: float = FUNCTION_TIMEOUT_SECONDS) -> None:
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
