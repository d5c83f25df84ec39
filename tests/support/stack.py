"""The stack the integration tests run the handlers against (moto in this process, with our SSM
stand-in), built with the off-AWS harness of local/: the runtime resources (local.stack), the
functions' environment read from template.yaml and the Lambda context (local.lambda_env)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws
from moto.server import ThreadedMotoServer

from local import standin
from local.lambda_env import COMMAND_FUNCTION, OFF_AWS, WINDOW_FUNCTION, LambdaContext, frozen_clock
from local.stack import SERVICES, Clients, create_stack, received

REGION = "eu-west-2"
BUCKET = "instance-hygiene-logbucket-1a2b3c4d5e6f"
TABLE = "idempotency"
HISTORY = "history"
TOPIC = "hygiene-notifications"
LINUX_AMI = "ami-760aaa0f"
WINDOWS_AMI = "ami-12c6146b"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@dataclass(frozen=True)
class Stack(Clients):
    """What `sam deploy` creates that the functions use at run time, plus a subscribed queue:
    the harness's clients with the topic and the subscriber's queue."""

    topic_arn: str
    queue_url: str

    def received(self) -> list[dict[str, Any]]:
        """Every notification on the subscribed queue (SNS envelope with Subject and Message)."""
        return received(self.sqs, self.queue_url)

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


@contextmanager
def standin_in_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clients]:
    """moto in this process with the stand-in's extensions, and clients of it; the region and
    test credentials in the environment, no profile and no endpoint. The stand-in is given back
    to moto after, unless it was already installed."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {"AWS_DEFAULT_REGION": REGION, **CREDENTIALS}.items():
        monkeypatch.setenv(name, value)
    already = standin.installed()
    standin.install()
    with mock_aws():
        yield Clients.create(REGION)
    standin.reset()
    if not already:
        standin.uninstall()


@contextmanager
def stack_in_moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """moto in this process with the stand-in's extensions, the stack's resources in it, and the
    environment template.yaml gives both functions (they run in this one process)."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for name, value in {"AWS_DEFAULT_REGION": REGION, **CREDENTIALS}.items():
        monkeypatch.setenv(name, value)
    standin.install()
    with mock_aws():
        resources = create_stack(
            boto3.client, region=REGION, bucket=BUCKET, table=TABLE, topic=TOPIC, history_table=HISTORY
        )
        for function in (COMMAND_FUNCTION, WINDOW_FUNCTION):
            for name, value in resources.function_environment(function, extra=OFF_AWS).items():
                monkeypatch.setenv(name, value)
        clients = Clients.create(REGION)
        yield Stack(
            **{service: getattr(clients, service) for service in SERVICES},
            topic_arn=resources.topic_arn,
            queue_url=str(resources.queue_url),
        )
    standin.reset()


def lambda_context(remaining_ms: int = 300_000) -> LambdaContext:
    """A Lambda context whose remaining time stays `remaining_ms` (a frozen clock)."""
    return LambdaContext(timeout_seconds=remaining_ms / 1000, clock=frozen_clock)


MOTO_MODES = ("mock_aws", "server")
"""The two ways the emulator runs: in this process (tests), or as a server (demo, bench, sam local)."""


@contextmanager
def moto_endpoint(mode: str) -> Iterator[str | None]:
    """moto in-process (yields None: clients need no endpoint), or moto's ThreadedMotoServer in
    this process on an ephemeral port (yields its URL; its state is reset when it stops)."""
    if mode == "mock_aws":
        with mock_aws():
            yield None
        return
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    try:
        yield url
    finally:
        requests.post(f"{url}/moto-api/reset", timeout=10)
        server.stop()
