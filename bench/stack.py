"""The stack the bench runs the real handler against, through the off-AWS harness of local/.

`create_stack()` makes the bucket, idempotency and history tables and topic the function uses (local.stack),
through whatever boto3 points at (moto in-process, or a stand-in server); the function's
environment, its context and its module come from local.lambda_env (template.yaml's). Nothing
here imports moto, so a handler process measured on its own (`bench.server_mode`) carries only
the function's weight.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from local.lambda_env import COMMAND_FUNCTION, OFF_AWS, LambdaContext, function_environment, function_spec
from local.stack import Stack as Resources
from local.stack import create_stack as create_resources
from local.template import Deployment

ROOT = Path(__file__).resolve().parent.parent
REGION = "eu-west-2"
ACCOUNT = "123456789012"
BUCKET = "instance-hygiene-logbucket-bench"
TABLE = "idempotency"
TOPIC = "hygiene-notifications"
HISTORY = "instance-hygiene-history"
WINDOW_ID = "mw-0be4c4000000000a1"
"""The stack's window: every command the bench plays is one of its executions' patch task
(bench.scenarios gives the window this id)."""
RESOURCES = Resources(
    region=REGION,
    bucket=BUCKET,
    table=TABLE,
    topic_arn=f"arn:aws:sns:{REGION}:{ACCOUNT}:{TOPIC}",
    history_table=HISTORY,
)
"""What create_stack makes (moto's topic ARN is the account's and region's)."""
FUNCTION_TIMEOUT_SECONDS = float(function_spec(COMMAND_FUNCTION).timeout_seconds)
FUNCTION_MEMORY_MB = function_spec(COMMAND_FUNCTION).memory_mb

# The command function's environment from template.yaml, off AWS (X-Ray is off here, the template
# turns Tracing on; see docs/benchmarks.md), with the bench's fake credentials.
PRODUCT_ENV = function_environment(
    COMMAND_FUNCTION,
    RESOURCES.deployment(window_id=WINDOW_ID),
    extra=OFF_AWS | {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"},
)


@dataclass
class Stack:
    ssm: Any
    s3: Any
    ec2: Any
    sns: Any
    dynamodb: Any
    topic_arn: str


def create_stack() -> Stack:
    """Bucket, idempotency and history tables and topic, as `sam deploy` makes them (clients from
    the env); the window is bench.scenarios' (it needs the stand-in's own state)."""
    resources = create_resources(
        boto3.client,
        region=REGION,
        bucket=BUCKET,
        table=TABLE,
        topic=TOPIC,
        queue=None,
        history_table=HISTORY,
    )
    return connect_stack(resources.topic_arn)


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


def lambda_context(timeout_seconds: float = FUNCTION_TIMEOUT_SECONDS) -> LambdaContext:
    """The command function's context; its clock runs from construction."""
    return LambdaContext.of(
        COMMAND_FUNCTION,
        Deployment(region=REGION, account=ACCOUNT),
        function_name=COMMAND_FUNCTION,
        timeout_seconds=timeout_seconds,
        aws_request_id="c0ffee00-0000-4000-8000-00000000bench",
        log_stream_name="2026/11/26/[$LATEST]bench",
    )
