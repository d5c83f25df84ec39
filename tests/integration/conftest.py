"""The stack's runtime resources in moto (with our SSM stand-in), and what a subscriber received."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.runtime import create_runtime
from local.standin import ssm as standin
from tests.faults import RetryClock
from tests.functions import load_function

REGION = "eu-west-2"
BUCKET = "instance-hygiene-logbucket-1a2b3c4d5e6f"
TABLE = "idempotency"
EVENTS = Path(__file__).resolve().parents[2] / "events"
LINUX_AMI = "ami-760aaa0f"
WINDOWS_AMI = "ami-12c6146b"


@dataclass
class Stack:
    """What `sam deploy` creates that the functions use at run time, plus a subscribed queue."""

    ssm: Any
    s3: Any
    ec2: Any
    sns: Any
    sqs: Any
    topic_arn: str
    queue_url: str

    def received(self) -> list[dict[str, Any]]:
        """Every notification on the subscribed queue (SNS envelope with Subject and Message)."""
        messages = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not batch:
                return messages
            for message in batch:
                messages.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def instances(self, count: int, *, windows: bool = False, name: str = "web") -> list[str]:
        reservation = self.ec2.run_instances(
            ImageId=WINDOWS_AMI if windows else LINUX_AMI,
            MinCount=count,
            MaxCount=count,
            TagSpecifications=[
                {"ResourceType": "instance", "Tags": [{"Key": "Patch Group", "Value": "prod"}]}
            ],
        )
        ids = [i["InstanceId"] for i in reservation["Instances"]]
        for n, instance_id in enumerate(ids, start=1):
            self.ec2.create_tags(Resources=[instance_id], Tags=[{"Key": "Name", "Value": f"{name}-{n:02d}"}])
        return ids


class FakeContext:
    function_name = "hygiene-test"
    memory_limit_in_mb = 512
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:hygiene-test"
    aws_request_id = "c0ffee00-0000-4000-8000-000000000001"
    log_stream_name = "2026/11/26/[$LATEST]0123456789abcdef"

    def __init__(self, remaining_ms: int = 300_000) -> None:
        self._remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self._remaining_ms


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "InstanceHygiene",
        "POWERTOOLS_SERVICE_NAME": "instance-hygiene",
        "IDEMPOTENCY_TABLE": TABLE,
        "REPORT_BUCKET": BUCKET,
        "REPORT_PREFIX": "reports/",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    standin.install()
    with mock_aws():
        runtime = create_runtime(
            boto3.client, region=REGION, bucket=BUCKET, table=TABLE, topic="hygiene-notifications"
        )
        topic_arn, queue_url = runtime.topic_arn, str(runtime.queue_url)
        s3, sns, sqs = boto3.client("s3"), boto3.client("sns"), boto3.client("sqs")
        monkeypatch.setenv("TOPIC_ARN", topic_arn)
        yield Stack(
            ssm=boto3.client("ssm"),
            s3=s3,
            ec2=boto3.client("ec2"),
            sns=sns,
            sqs=sqs,
            topic_arn=topic_arn,
            queue_url=queue_url,
        )
    standin.reset()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> RetryClock:
    """botocore's retry backoff on a virtual clock: retries are counted, never waited for."""
    retry_clock = RetryClock()
    retry_clock.install(monkeypatch)
    return retry_clock


@pytest.fixture
def command_function(stack: Stack) -> ModuleType:
    app = load_function("command_failed")
    app._clients.cache_clear()
    return app


@pytest.fixture
def window_function(stack: Stack) -> ModuleType:
    app = load_function("window_failed")
    app._clients.cache_clear()
    return app


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())  # type: ignore[no-any-return]
