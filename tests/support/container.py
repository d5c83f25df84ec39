"""What the container tests run with: the constants of their stack, `sam` run and timed, the
Docker engine check, sam's own environment, the stack in the stand-in as a container reaches it,
and `sam local invoke` (fixtures in tests/container/conftest.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from local.lambda_env import OFF_AWS
from local.stack import Stack as Resources
from local.stack import received
from local.standin.server import FAKE_CREDENTIALS, Endpoint

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
BUILD_IMAGE = ROOT / "local" / "lambda-image" / "build.sh"
BIN = Path(sys.executable).parent
REGION = "eu-west-2"
BUCKET = "instance-hygiene-logbucket-1a2b3c4d5e6f"
TABLE = "instance-hygiene-IdempotencyTable-1A2B3C4D5E6F"
TOPIC = "instance-hygiene-NotificationTopic-1A2B3C4D5E6F"
# How a Lambda container reaches this host: the name samconfig.toml maps to the bridge gateway.
CONTAINER_HOST = "host.docker.internal"
ADD_HOST = f"{CONTAINER_HOST}:host-gateway"
# The stand-in listens on every interface: containers arrive through the bridge gateway, not loopback.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104

TIMINGS: dict[str, float] = {}


def run_timed(
    command: list[str], *, what: str, timeout: int, **options: Any
) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT, **options
    )
    TIMINGS[what] = time.monotonic() - started
    return result


def docker_engine_problem() -> str | None:
    """Why no Docker engine can be used here, or None when `docker info` answers."""
    if shutil.which("docker") is None:
        return "the docker command is not installed (apt-get install docker.io)"
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30, check=False)
    except subprocess.TimeoutExpired:
        return "`docker info` did not answer within 30 s"
    if info.returncode != 0:
        lines = (info.stderr or info.stdout).strip().splitlines()
        return f"`docker info` failed: {lines[-1] if lines else f'exit {info.returncode}'}"
    return None


def sam_environment(endpoint: Endpoint, home: Path) -> dict[str, str]:
    """For sam itself: fake credentials, STS on the stand-in, no AWS_* value from this shell
    (AWS_ENDPOINT_URL above all: a declared variable would take it), no real profile."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env |= FAKE_CREDENTIALS
    env |= {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # sam build wants python3.13 first
        "SAM_CLI_TELEMETRY": "0",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL_STS": endpoint.url,
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return env


@dataclass
class Stack:
    """What the functions use at run time in the stand-in, plus a queue subscribed to the topic."""

    endpoint: Endpoint
    resources: Resources | None = None
    clients: dict[str, Any] = field(default_factory=dict)

    @property
    def topic_arn(self) -> str:
        return self._resources().topic_arn

    @property
    def queue_url(self) -> str:
        return str(self._resources().queue_url)

    def _resources(self) -> Resources:
        if self.resources is None:
            raise RuntimeError("the stack's resources are not created yet")
        return self.resources

    def client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = boto3.client(
                service,  # type: ignore[call-overload]
                endpoint_url=self.endpoint.url,
                region_name=REGION,
                aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            )
        return self.clients[service]

    def received(self) -> list[dict[str, Any]]:
        """Every notification on the subscribed queue (SNS envelopes), removed from the queue."""
        return received(self.client("sqs"), self.queue_url)

    def function_environment(self, function: str) -> dict[str, str]:
        """The function's environment from template.yaml, pointed at the stand-in as a container
        reaches it (what `sam local invoke --env-vars` overrides)."""
        return self._resources().function_environment(
            function, endpoint_url=f"http://{CONTAINER_HOST}:{self.endpoint.port}", extra=OFF_AWS
        )


@dataclass(frozen=True)
class Invocation:
    returncode: int
    stdout: str
    stderr: str

    @property
    def result(self) -> Any:
        """The handler's return value: the JSON sam prints last on stdout."""
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        assert lines, f"sam printed no result\nstderr:\n{self.stderr}"
        return json.loads(lines[-1])


@dataclass
class SamLocal:
    template: Path
    env_vars: Path
    env: dict[str, str]

    def invoke(self, function: str, event: Path) -> Invocation:
        result = run_timed(
            [
                str(BIN / "sam"),
                "local",
                "invoke",
                function,
                "--event",
                str(event),
                "--template",
                str(self.template),
                "--env-vars",
                str(self.env_vars),
                "--region",
                REGION,
                "--skip-pull-image",
                "--add-host",
                ADD_HOST,
            ],
            what=f"sam local invoke {function} -e events/{event.name}",
            timeout=300,
            env=self.env,
        )
        return Invocation(result.returncode, result.stdout, result.stderr)
